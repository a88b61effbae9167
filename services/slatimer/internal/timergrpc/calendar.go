package timergrpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Branch is what the calendar needs to know of a branch.
type Branch struct {
	ID, CalendarID string
	Location       *time.Location
}

// Calendar implements CalendarService.
type Calendar struct {
	slatimerv1.UnimplementedCalendarServiceServer
	Store     *timerpg.Store
	Calendars *calendars.Registry
	// Branches looks a branch up in the caller's bank (routing).
	Branches func(ctx context.Context, branchID string) (Branch, error)
	// Recounted publishes the deadlines a change moved, in its transaction.
	Recounted func(ctx context.Context, tx pgx.Tx, reason string, version int64, moved []calendars.Recounted) error
	Now       func() time.Time
}

// RoutingBranches returns a Branches func over routing's GetBranch that
// passes the caller's credentials on, so routing applies its own scoping.
func RoutingBranches(client routingv1.RoutingServiceClient) func(ctx context.Context, id string) (Branch, error) {
	return func(ctx context.Context, id string) (Branch, error) {
		rctx, cancel := context.WithTimeout(auth.ForwardCaller(ctx), 3*time.Second)
		defer cancel()
		resp, err := client.GetBranch(rctx, &routingv1.GetBranchRequest{BranchId: id})
		switch status.Code(err) {
		case codes.OK:
		case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
			// The branch is the resource of the path: another bank's (or
			// an unknown) branch is not found.
			return Branch{}, status.Error(codes.NotFound, "branch not found in the caller's bank")
		default:
			return Branch{}, status.Error(codes.Unavailable, "branch directory unavailable; retry")
		}
		b := Branch{ID: resp.GetBranch().GetId(), CalendarID: resp.GetBranch().GetCalendarId(), Location: calendar.DefaultLocation()}
		if b.CalendarID == "" {
			b.CalendarID = calendar.ChinaID
		}
		if tz := resp.GetBranch().GetTimeZone(); tz != "" {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return Branch{}, status.Errorf(codes.FailedPrecondition, "branch %s has an unknown time zone", id)
			}
			b.Location = loc
		}
		return b, nil
	}
}

// GetCalendar answers a national calendar's years and their provenance.
func (s *Calendar) GetCalendar(ctx context.Context, req *slatimerv1.GetCalendarRequest) (*slatimerv1.GetCalendarResponse, error) {
	if _, err := authorize(ctx, actReadCalendar); err != nil {
		return nil, err
	}
	var resp *slatimerv1.GetCalendarResponse
	err := pgdb.InTx(calendarScope(ctx), s.Store.Pool(), func(tx pgx.Tx) error {
		st, err := s.Calendars.Current(ctx, tx)
		if err != nil {
			return err
		}
		cal, ok := st.National(s.Calendars.Base, req.GetCalendarId())
		if !ok {
			return status.Errorf(codes.NotFound, "no calendar %q (national calendars: %q)", req.GetCalendarId(), calendar.ChinaID)
		}
		resp = s.describe(st, cal)
		return nil
	})
	return resp, err
}

func (s *Calendar) describe(st *calendars.State, cal *calendar.Calendar) *slatimerv1.GetCalendarResponse {
	now := s.Now()
	last, days := cal.DataHorizon(now.In(cal.Location()))
	resp := &slatimerv1.GetCalendarResponse{CalendarId: cal.ID(), DataHorizon: last.String(), DataHorizonDays: int32(days),
		ProvisionalRule: calendar.ChinaProvisionalRule}
	sources := map[int]calendar.YearSource{}
	for _, src := range cal.Sources() {
		sources[src.Year] = src
	}
	years := cal.Years()
	for _, y := range years {
		resp.Years = append(resp.Years, s.year(st, cal, y, sources[y]))
	}
	next := now.In(cal.Location()).Year()
	if len(years) > 0 {
		next = max(next, years[len(years)-1]+1)
	}
	resp.Years = append(resp.Years, s.year(st, cal, next, calendar.YearSource{}))
	return resp
}

func (s *Calendar) year(st *calendars.State, cal *calendar.Calendar, y int, src calendar.YearSource) *slatimerv1.CalendarYear {
	out := &slatimerv1.CalendarYear{Year: int32(y), Status: "official", Source: src.Source}
	data, ok := cal.Year(y)
	if !ok {
		out.Status = "provisional"
		out.Source = calendar.ChinaProvisionalRule
		for _, d := range calendar.StatutoryHolidays(y) {
			out.Holidays = append(out.Holidays, &slatimerv1.HolidayRange{Name: d.Name, From: d.Date.String(), To: d.Date.String()})
		}
		return out
	}
	if src.Unconfirmed {
		out.Status = "unconfirmed"
	}
	n := src.Notice
	out.Notice = &slatimerv1.HolidayNotice{Title: n.Title, DocumentNo: deref(n.DocumentNo), Issued: deref(n.Issued), Url: deref(n.URL), Note: deref(n.Note)}
	out.Holidays, out.Workdays = rangesProto(data.Holidays), datesProto(data.Workdays)
	if l, ok := st.Load(cal.ID(), y); ok {
		out.Version, out.LoadedBy, out.LoadedAt = l.Version, l.LoadedBy, timestamppb.New(l.LoadedAt)
		out.Source, out.Status, out.Notice = l.Source, "official", nil
	}
	return out
}

func rangesProto(hs []calendar.Holiday) []*slatimerv1.HolidayRange {
	out := make([]*slatimerv1.HolidayRange, 0, len(hs))
	for _, h := range hs {
		out = append(out, &slatimerv1.HolidayRange{Name: h.Name, From: h.From.String(), To: h.To.String()})
	}
	return out
}

func datesProto(ds []calendar.Date) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// PutCalendarYear loads a national year (operator only).
func (s *Calendar) PutCalendarYear(ctx context.Context, req *slatimerv1.PutCalendarYearRequest) (*slatimerv1.PutCalendarYearResponse, error) {
	p, err := authorize(ctx, actLoadYear)
	if err != nil {
		return nil, err
	}
	y := calendars.YearLoad{CalendarID: req.GetCalendarId(), Year: int(req.GetYear()), Source: req.GetSource(),
		LoadedBy: p.Subject, LoadedAt: s.Now()}
	var bad []*errdetails.BadRequest_FieldViolation
	for i, h := range req.GetHolidays() {
		from, err1 := calendar.ParseDate(h.GetFrom())
		to, err2 := calendar.ParseDate(h.GetTo())
		if err1 != nil {
			bad = append(bad, violation(fmt.Sprintf("holidays[%d].from", i), "must be a date YYYY-MM-DD"))
		}
		if err2 != nil {
			bad = append(bad, violation(fmt.Sprintf("holidays[%d].to", i), "must be a date YYYY-MM-DD"))
		}
		y.Holidays = append(y.Holidays, calendar.Holiday{Name: h.GetName(), From: from, To: to})
	}
	for i, w := range req.GetWorkdays() {
		d, err := calendar.ParseDate(w)
		if err != nil {
			bad = append(bad, violation(fmt.Sprintf("workdays[%d]", i), "must be a date YYYY-MM-DD"))
		}
		y.Workdays = append(y.Workdays, d)
	}
	if len(bad) > 0 {
		return nil, badRequest("invalid calendar year", bad)
	}
	var (
		stored calendars.YearLoad
		moved  []calendars.Recounted
	)
	err = pgdb.InTx(calendarScope(ctx), s.Store.Pool(), func(tx pgx.Tx) error {
		var err error
		if stored, moved, err = s.Calendars.LoadYear(ctx, tx, y); err != nil {
			return err
		}
		return s.Recounted(ctx, tx, calendars.ReasonYearLoaded, stored.Version, moved)
	})
	if err != nil {
		return nil, changeStatus(err, "invalid calendar year")
	}
	out := &slatimerv1.CalendarYear{Year: int32(stored.Year), Status: "official", Source: stored.Source, Version: stored.Version,
		LoadedBy: stored.LoadedBy, LoadedAt: timestamppb.New(stored.LoadedAt),
		Holidays: rangesProto(stored.Holidays), Workdays: datesProto(stored.Workdays)}
	return &slatimerv1.PutCalendarYearResponse{Year: out, RecomputedDeadlines: proto.Int32(int32(movedDue(moved)))}, nil
}

// CreateBranchClosure closes a branch of the caller's bank (head office only).
func (s *Calendar) CreateBranchClosure(ctx context.Context, req *slatimerv1.CreateBranchClosureRequest) (*slatimerv1.CreateBranchClosureResponse, error) {
	p, err := authorize(ctx, actCloseBranch)
	if err != nil {
		return nil, err
	}
	var bad []*errdetails.BadRequest_FieldViolation
	from, err := calendar.ParseDate(req.GetFrom())
	if err != nil {
		bad = append(bad, violation("from", "must be a date YYYY-MM-DD"))
	}
	to, err := calendar.ParseDate(req.GetTo())
	if err != nil {
		bad = append(bad, violation("to", "must be a date YYYY-MM-DD"))
	}
	if len(bad) > 0 {
		return nil, badRequest("invalid closure", bad)
	}
	br, err := s.Branches(ctx, req.GetBranchId())
	if err != nil {
		return nil, err
	}
	c := calendars.Closure{Tenant: p.Tenant, Branch: br.ID, From: from, To: to, Reason: req.GetReason(),
		CreatedBy: p.Subject, CreatedAt: s.Now()}
	var moved []calendars.Recounted
	err = pgdb.InTx(calendarScope(ctx), s.Store.Pool(), func(tx pgx.Tx) error {
		var err error
		if c, moved, err = s.Calendars.CloseBranch(ctx, tx, c); err != nil {
			return err
		}
		return s.Recounted(ctx, tx, calendars.ReasonBranchClosure, c.Version, moved)
	})
	if err != nil {
		return nil, changeStatus(err, "invalid closure")
	}
	return &slatimerv1.CreateBranchClosureResponse{Closure: closureProto(c), RecomputedDeadlines: proto.Int32(int32(movedDue(moved)))}, nil
}

// ListBranchClosures lists a branch's closures, newest first.
func (s *Calendar) ListBranchClosures(ctx context.Context, req *slatimerv1.ListBranchClosuresRequest) (*slatimerv1.ListBranchClosuresResponse, error) {
	p, err := authorize(ctx, actReadClosures)
	if err != nil {
		return nil, err
	}
	br, err := s.Branches(ctx, req.GetBranchId())
	if err != nil {
		return nil, err
	}
	cs, err := s.Store.Closures(ctx, nil, p.Tenant, br.ID)
	if err != nil {
		return nil, err
	}
	resp := &slatimerv1.ListBranchClosuresResponse{}
	for _, c := range cs {
		resp.Closures = append(resp.Closures, closureProto(c))
	}
	return resp, nil
}

// AddToCalendar adds one amount to an instant on the branch's calendar.
func (s *Calendar) AddToCalendar(ctx context.Context, req *slatimerv1.AddToCalendarRequest) (*slatimerv1.AddToCalendarResponse, error) {
	p, err := authorize(ctx, actQueryCalendar)
	if err != nil {
		return nil, err
	}
	from, err := parseInstant("from", req.GetFrom())
	if err != nil {
		return nil, err
	}
	n := 0
	for _, set := range []bool{req.WorkingDays != nil, req.BusinessHours != nil, req.CalendarDays != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, grpcserver.FieldError("workingDays", fmt.Sprintf("give exactly one of workingDays, businessHours and calendarDays (got %d)", n))
	}
	if req.BusinessHours != nil && (math.IsNaN(req.GetBusinessHours()) || req.GetBusinessHours() < 0) {
		return nil, grpcserver.FieldError("businessHours", "must be a number of hours >= 0")
	}
	var resp *slatimerv1.AddToCalendarResponse
	err = s.onBranchCalendar(ctx, p, req.GetBranchId(), func(cal *calendar.Calendar, loc *time.Location) error {
		t := from.In(loc)
		var r time.Time
		switch {
		case req.WorkingDays != nil:
			r = cal.AddWorkingDaysSameTime(t, int(req.GetWorkingDays()))
		case req.BusinessHours != nil:
			r = cal.AddBusinessTime(t, time.Duration(req.GetBusinessHours()*float64(time.Hour)).Round(time.Second))
		default:
			r = cal.AddCalendarDays(t, int(req.GetCalendarDays()))
		}
		resp = &slatimerv1.AddToCalendarResponse{Result: r.In(loc).Format(time.RFC3339), Provisional: proto.Bool(cal.Provisional(t, r)), TimeZone: loc.String()}
		return nil
	})
	return resp, err
}

// maxBetween bounds CalendarBetween's span, which is counted day by day.
const maxBetween = 20 * 366 * 24 * time.Hour

// CalendarBetween counts the working days and business hours between two instants.
func (s *Calendar) CalendarBetween(ctx context.Context, req *slatimerv1.CalendarBetweenRequest) (*slatimerv1.CalendarBetweenResponse, error) {
	p, err := authorize(ctx, actQueryCalendar)
	if err != nil {
		return nil, err
	}
	from, err := parseInstant("from", req.GetFrom())
	if err != nil {
		return nil, err
	}
	to, err := parseInstant("to", req.GetTo())
	if err != nil {
		return nil, err
	}
	if d := to.Sub(from); d > maxBetween || d < -maxBetween {
		return nil, grpcserver.FieldError("to", "must be within 20 years of from")
	}
	var resp *slatimerv1.CalendarBetweenResponse
	err = s.onBranchCalendar(ctx, p, req.GetBranchId(), func(cal *calendar.Calendar, loc *time.Location) error {
		a, b := from.In(loc), to.In(loc)
		resp = &slatimerv1.CalendarBetweenResponse{
			WorkingDays:   proto.Int32(int32(cal.WorkingDaysBetween(a, b))),
			BusinessHours: cal.BusinessTimeBetween(a, b).Hours(),
			Provisional:   proto.Bool(cal.Provisional(a, b)), TimeZone: loc.String(),
		}
		return nil
	})
	return resp, err
}

// onBranchCalendar runs fn on the calendar the branch's deadlines are counted
// on, with the bank's opening hours.
func (s *Calendar) onBranchCalendar(ctx context.Context, p auth.Principal, branchID string, fn func(*calendar.Calendar, *time.Location) error) error {
	br, err := s.Branches(ctx, branchID)
	if err != nil {
		return err
	}
	return pgdb.InTx(calendarScope(ctx), s.Store.Pool(), func(tx pgx.Tx) error {
		st, err := s.Calendars.Current(ctx, tx)
		if err != nil {
			return err
		}
		cal, ok := st.Branch(s.Calendars.Base, p.Tenant, br.ID, br.CalendarID)
		if !ok {
			return status.Errorf(codes.FailedPrecondition, "branch %s uses calendar %q, which this installation does not have", br.ID, br.CalendarID)
		}
		pol, _, err := s.Store.Policy(ctx, tx, p.Tenant)
		if err != nil {
			return err
		}
		if cal, err = cal.WithWorkHours(pol.WorkHours); err != nil {
			return err
		}
		return fn(cal, br.Location)
	})
}

func parseInstant(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, grpcserver.FieldError(field, "is required: an RFC 3339 instant, e.g. 2026-12-31T10:00:00+08:00")
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, grpcserver.FieldError(field, "must be an RFC 3339 instant, e.g. 2026-12-31T10:00:00+08:00")
	}
	if t.Year() < calendar.MinYear || t.Year() > calendar.MaxYear {
		return time.Time{}, grpcserver.FieldError(field, fmt.Sprintf("must be between %d and %d", calendar.MinYear, calendar.MaxYear))
	}
	return t, nil
}

func closureProto(c calendars.Closure) *slatimerv1.BranchClosure {
	return &slatimerv1.BranchClosure{Version: c.Version, BranchId: c.Branch, From: c.From.String(), To: c.To.String(),
		Reason: c.Reason, CreatedBy: c.CreatedBy, CreatedAt: timestamppb.New(c.CreatedAt)}
}

// movedDue counts the recounted deadlines whose due time moved.
func movedDue(moved []calendars.Recounted) int {
	n := 0
	for _, m := range moved {
		if !m.New.DueAt.Equal(m.Old.DueAt) {
			n++
		}
	}
	return n
}

func violation(field, desc string) *errdetails.BadRequest_FieldViolation {
	return &errdetails.BadRequest_FieldViolation{Field: field, Description: desc}
}

func badRequest(msg string, vs []*errdetails.BadRequest_FieldViolation) error {
	text := msg
	for i, v := range vs {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		text += sep + v.GetField() + ": " + v.GetDescription()
	}
	st, _ := status.New(codes.InvalidArgument, text).WithDetails(&errdetails.BadRequest{FieldViolations: vs})
	return st.Err()
}

// changeStatus maps the domain's validation errors to 400 with field
// violations; other errors pass through.
func changeStatus(err error, msg string) error {
	if errors.Is(err, calendars.ErrUnknownCalendar) {
		return status.Error(codes.NotFound, err.Error())
	}
	fes := calendar.FieldErrors(err)
	if len(fes) == 0 {
		return err
	}
	vs := make([]*errdetails.BadRequest_FieldViolation, 0, len(fes))
	for _, fe := range fes {
		vs = append(vs, violation(fe.Field, fe.Problem))
	}
	return badRequest(msg, vs)
}

// calendarScope opens the calendar's transactions to every bank's rows:
// the calendar state (national years and every bank's branch closures) is
// one installation-wide state that the registry caches for all banks, and a
// year load or a closure recounts open deadlines wherever they fall.
// Callers were authorised before, and what a call returns or writes is
// scoped by the explicit tenant it passes (the caller's own).
func calendarScope(ctx context.Context) context.Context {
	return pgdb.WithTenant(ctx, pgdb.AllTenants)
}
