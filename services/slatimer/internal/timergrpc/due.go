package timergrpc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Deadline states (slatimer.v1.Deadline.state).
const (
	stateOpen     = "open"
	statePaused   = "paused"
	stateMet      = "met"
	stateBreached = "breached"
)

// Bounds of ListDueDeadlines.
const (
	defaultWithin   = 4 * time.Hour
	maxWithin       = 90 * 24 * time.Hour
	defaultPageSize = 100
	maxPageSize     = 1000
)

// longAgo bounds the overdue list below: every deadline is due after it.
var longAgo = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)

// ListDueDeadlines lists a bank's running deadlines (not met, not paused)
// due within `within` of now (DUE_STATE_DUE_SOON: due after now, at most
// now+within) or already past due (DUE_STATE_OVERDUE: due at or before
// now), in due order, earliest first: for the overdue list the longest
// overdue comes first. Keyset pages: the token holds the last row's due
// time, case and kind, and is bound to the query it came from.
//
// Scope, as for reports: head office the whole bank, a regional supervisor
// their region, a branch head or complaint manager their branch; other
// roles (SREs and bank systems among them) are refused. branch_id and
// region_id narrow within the scope; one outside it (another branch, another
// region) gives an empty list, as a branch that does not exist does, so the
// answer tells nothing of what lies outside the caller's scope.
func (s *Server) ListDueDeadlines(ctx context.Context, req *slatimerv1.ListDueDeadlinesRequest) (*slatimerv1.ListDueDeadlinesResponse, error) {
	p, err := authorize(ctx, actListDue)
	if err != nil {
		return nil, err
	}
	scope, err := dueScope(p)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	q := timerpg.DueQuery{Tenant: p.Tenant, Branch: req.GetBranchId(), Region: req.GetRegionId()}
	switch req.GetState() {
	case slatimerv1.DueState_DUE_STATE_DUE_SOON:
		within := defaultWithin
		if req.GetWithin() != nil {
			if err := req.GetWithin().CheckValid(); err != nil {
				return nil, grpcserver.FieldError("within", "must be a valid duration")
			}
			within = req.GetWithin().AsDuration()
		}
		if within <= 0 || within > maxWithin {
			return nil, grpcserver.FieldError("within", fmt.Sprintf("must be more than 0 and at most %s (90 days)", maxWithin))
		}
		q.After, q.Until = now, now.Add(within)
	case slatimerv1.DueState_DUE_STATE_OVERDUE:
		q.After, q.Until = longAgo, now
	default:
		return nil, grpcserver.FieldError("state", "must be DUE_STATE_DUE_SOON or DUE_STATE_OVERDUE")
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > maxPageSize:
		return nil, grpcserver.FieldError("pageSize", fmt.Sprintf("must be between 0 and %d", maxPageSize))
	case size == 0:
		size = defaultPageSize
	}
	qk := queryKey(req)
	if t := req.GetPageToken(); t != "" {
		c, err := decodePageToken(t, qk)
		if err != nil {
			return nil, err
		}
		q.From = &c
	}
	resp := &slatimerv1.ListDueDeadlinesResponse{}
	// A filter outside the caller's scope selects nothing.
	if q.Branch, q.Region, err = narrow(scope, q.Branch, q.Region); err != nil {
		return resp, nil
	}
	q.Limit = size + 1
	vs, err := s.Store.DueDeadlines(ctx, q)
	if err != nil {
		return nil, err
	}
	more := len(vs) > size
	if more {
		vs = vs[:size]
	}
	cals := s.lazyCalendars(ctx)
	for _, v := range vs {
		if !p.CanSeeBranch(v.Branch, v.Region) { // the query's scope already holds; never show more
			continue
		}
		d, err := deadlineProto(v, now, p.Tenant, cals)
		if err != nil {
			return nil, err
		}
		resp.Deadlines = append(resp.Deadlines, &slatimerv1.DueDeadline{CaseId: v.CaseID, BranchId: v.Branch, RegionId: v.Region, Deadline: d})
	}
	if more {
		last := vs[len(vs)-1]
		resp.NextPageToken = encodePageToken(timerpg.DueCursor{DueAt: last.DueAt, CaseID: last.CaseID, Kind: last.Kind}, qk)
	}
	return resp, nil
}

// scope is the part of a bank a caller's due lists cover; empty fields do
// not restrict.
type scope struct{ branch, region string }

// dueScope is what p's due lists cover, as reports scope: head office the
// whole bank, a regional supervisor their region, a branch head or
// complaint manager their branch. (The role table has refused every other
// role already.)
func dueScope(p auth.Principal) (scope, error) {
	switch p.Role {
	case auth.RoleHeadOffice:
		return scope{}, nil
	case auth.RoleRegionalSupervisor:
		if p.Region == "" {
			return scope{}, status.Error(codes.PermissionDenied, "the regional supervisor's credential names no region")
		}
		return scope{region: p.Region}, nil
	case auth.RoleBranchHead, auth.RoleComplaintManager:
		if p.Branch == "" {
			return scope{}, status.Error(codes.PermissionDenied, "the caller's credential names no branch")
		}
		return scope{branch: p.Branch}, nil
	}
	return scope{}, status.Errorf(codes.PermissionDenied, "the %s role may not %s", p.Role, actListDue)
}

// errOutsideScope marks a filter that selects nothing the caller may see.
var errOutsideScope = errors.New("filter outside the caller's scope")

// narrow combines the request's branch and region filters with the scope.
func narrow(sc scope, branch, region string) (string, string, error) {
	if sc.branch != "" {
		if branch != "" && branch != sc.branch {
			return "", "", errOutsideScope
		}
		branch = sc.branch
	}
	if sc.region != "" {
		if region != "" && region != sc.region {
			return "", "", errOutsideScope
		}
		region = sc.region
	}
	return branch, region, nil
}

// queryKey identifies the query a page token belongs to: a token is only
// good for the state, filters and window it was made for.
func queryKey(req *slatimerv1.ListDueDeadlinesRequest) string {
	within := ""
	if req.GetState() == slatimerv1.DueState_DUE_STATE_DUE_SOON && req.GetWithin() != nil {
		within = req.GetWithin().AsDuration().String()
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{req.GetState().String(), req.GetBranchId(), req.GetRegionId(), within}, "\x00")))
	return hex.EncodeToString(sum[:4])
}

// A page token is "v1.<due µs since epoch>.<case id>.<kind number>.<query key>",
// base64url.
const pageTokenVersion = "v1"

func encodePageToken(c timerpg.DueCursor, qk string) string {
	raw := strings.Join([]string{pageTokenVersion, strconv.FormatInt(c.DueAt.UnixMicro(), 10), c.CaseID,
		strconv.Itoa(int(slatimerv1.DeadlineKind_value[c.Kind])), qk}, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodePageToken(t, qk string) (timerpg.DueCursor, error) {
	bad := grpcserver.FieldError("pageToken", "is not a token this list gave")
	raw, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return timerpg.DueCursor{}, bad
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 5 || parts[0] != pageTokenVersion {
		return timerpg.DueCursor{}, bad
	}
	if parts[4] != qk {
		return timerpg.DueCursor{}, grpcserver.FieldError("pageToken", "belongs to a list with another state, branch, region or window")
	}
	micros, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return timerpg.DueCursor{}, bad
	}
	if _, err := uuid.Parse(parts[2]); err != nil {
		return timerpg.DueCursor{}, bad
	}
	n, err := strconv.Atoi(parts[3])
	kind, ok := slatimerv1.DeadlineKind_name[int32(n)]
	if err != nil || !ok || n == 0 {
		return timerpg.DueCursor{}, bad
	}
	return timerpg.DueCursor{DueAt: time.UnixMicro(micros), CaseID: parts[2], Kind: kind}, nil
}

// lazyCalendars returns the calendars in force, read on first use only
// (a list of wall-clock deadlines needs none).
func (s *Server) lazyCalendars(ctx context.Context) func() (*calendars.State, calendars.Base, error) {
	var st *calendars.State
	reg := s.registry()
	return func() (*calendars.State, calendars.Base, error) {
		if st != nil {
			return st, reg.Base, nil
		}
		// As every reader of the registry: installation-wide (it caches
		// every bank's closures), under the shared calendar lock.
		err := pgdb.InTx(calendarScope(ctx), s.Store.Pool(), func(tx pgx.Tx) error {
			if err := s.Store.LockShared(ctx, tx); err != nil {
				return err
			}
			var err error
			st, err = reg.Current(ctx, tx)
			return err
		})
		return st, reg.Base, err
	}
}

// registry is the calendars the server counts on. A server not given any
// (tests of calls that need none) reads them afresh on each use.
func (s *Server) registry() *calendars.Registry {
	if s.Calendars != nil {
		return s.Calendars
	}
	return &calendars.Registry{Store: s.Store, Base: calendars.ChinaBase}
}

// deadlineProto is the API's view of a stored deadline at now: its state,
// and the time remaining counted as its clock counts (business time for
// the business-hours and working-days clocks, on the branch's calendar
// with the work hours it was counted with; wall time for the calendar
// clocks), zero once met or past due, frozen at the pause while paused.
func deadlineProto(v timerpg.DeadlineView, now time.Time, tenant string, cals func() (*calendars.State, calendars.Base, error)) (*slatimerv1.Deadline, error) {
	pd := &slatimerv1.Deadline{
		Kind:  slatimerv1.DeadlineKind(slatimerv1.DeadlineKind_value[v.Kind]),
		Clock: slatimerv1.Clock(slatimerv1.Clock_value[v.Clock]), StartedAt: timestamppb.New(v.StartedAt),
		DueAt: timestamppb.New(v.DueAt), Level: levels[v.Level], Provisional: proto.Bool(v.Provisional),
		PolicyVersion: v.PolicyVersion, Extensions: int32(v.Extensions),
	}
	var loc *time.Location
	if v.Basis != nil && v.Basis.TimeZone != "" {
		if l, err := time.LoadLocation(v.Basis.TimeZone); err == nil {
			loc = l
			pd.DueLocal = v.DueAt.In(loc).Format(time.RFC3339)
		}
	}
	if v.MetAt != nil {
		pd.MetAt = timestamppb.New(*v.MetAt)
	}
	if v.PausedAt != nil {
		pd.PausedAt = timestamppb.New(*v.PausedAt)
	}
	from := now
	switch {
	case v.MetAt != nil:
		pd.State = stateMet
	case v.PausedAt != nil:
		pd.State, from = statePaused, *v.PausedAt
	case v.Level == timerpg.LevelBreached || !now.Before(v.DueAt):
		pd.State = stateBreached
	default:
		pd.State = stateOpen
	}
	pd.Remaining = durationpb.New(0)
	if pd.State == stateMet || pd.State == stateBreached || !from.Before(v.DueAt) {
		return pd, nil
	}
	clock := sla.Clock(v.Clock)
	if v.Basis != nil {
		clock = v.Basis.Clock
	}
	if clock != sla.ClockBusinessHours && clock != sla.ClockWorkingDays {
		pd.Remaining = durationpb.New(v.DueAt.Sub(from))
		return pd, nil
	}
	cal, err := businessCalendar(v, tenant, cals)
	if err != nil {
		return nil, err
	}
	if loc == nil {
		loc = cal.Location()
	}
	pd.Remaining = durationpb.New(cal.BusinessTimeBetween(from.In(loc), v.DueAt.In(loc)))
	return pd, nil
}

// businessCalendar is the calendar v's business time is counted on: the
// branch's view (national calendar and the branch's closures, as in force
// now) with the work hours v was counted with.
func businessCalendar(v timerpg.DeadlineView, tenant string, cals func() (*calendars.State, calendars.Base, error)) (*calendar.Calendar, error) {
	st, base, err := cals()
	if err != nil {
		return nil, err
	}
	id := calendar.ChinaID
	if v.Basis != nil && v.Basis.CalendarID != "" {
		id = v.Basis.CalendarID
	}
	cal, ok := st.Branch(base, tenant, v.Branch, id)
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "deadline %s of case %s is counted on calendar %q, which this installation does not have", v.Kind, v.CaseID, id)
	}
	if v.Basis == nil {
		return cal, nil
	}
	c, err := cal.WithWorkHours(calendar.WorkHours{Start: v.Basis.WorkStart, End: v.Basis.WorkEnd})
	if err != nil {
		return nil, err
	}
	return c.WithOpeningHours(v.Basis.Periods()) // the branch's hours it was counted in, as Recount does
}
