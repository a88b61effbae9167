// Protects the calendar API: the arithmetic bank systems rely on, who may load
// a national year or close a branch, how bad input is reported, and that a
// case's deadlines agree with what the API says.
package timergrpc_test

import (
	"context"
	"testing"
	"time"

	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerkafka"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// today is the test's clock: the calendar API's horizon is counted from it.
var today = time.Date(2026, 12, 1, 9, 0, 0, 0, calendar.DefaultLocation())

var (
	bankSystem = auth.Principal{Tenant: "bank-a", Subject: "terminal-1", Role: auth.RoleBankSystem}
	headOffice = auth.Principal{Tenant: "bank-a", Subject: "st-head-office", Role: auth.RoleHeadOffice}
	operator   = auth.Principal{Tenant: auth.AllTenants, Subject: "operator-1", Role: auth.RoleOperator}
)

func newCalendarServer(t *testing.T) *timergrpc.Calendar {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	store := timerpg.New(pool)
	return &timergrpc.Calendar{
		Store: store, Calendars: &calendars.Registry{Store: store, Base: calendars.ChinaBase},
		Recounted: timerkafka.PublishRecounted, Now: func() time.Time { return today },
		// Routing's directory: bank-a has br-1 in Shanghai.
		Branches: func(ctx context.Context, id string) (timergrpc.Branch, error) {
			if p, _ := auth.FromContext(ctx); p.Tenant != "bank-a" || id != "br-1" {
				return timergrpc.Branch{}, grpcserver.FieldError("branchId", "no such branch in this bank")
			}
			return timergrpc.Branch{ID: id, CalendarID: calendar.ChinaID, Location: calendar.DefaultLocation()}, nil
		},
	}
}

func add(t *testing.T, s *timergrpc.Calendar, from string, amount func(*slatimerv1.AddToCalendarRequest)) (*slatimerv1.AddToCalendarResponse, error) {
	t.Helper()
	req := &slatimerv1.AddToCalendarRequest{BranchId: "br-1", From: from}
	amount(req)
	return s.AddToCalendar(as(bankSystem), req)
}

func workingDays(n int32) func(*slatimerv1.AddToCalendarRequest) {
	return func(r *slatimerv1.AddToCalendarRequest) { r.WorkingDays = proto.Int32(n) }
}

func TestAddingWorkingDaysFollowsTheChineseCalendar(t *testing.T) {
	s := newCalendarServer(t)
	tests := []struct {
		name, from  string
		n           int32
		want        string
		provisional bool
	}{
		{"a make-up Saturday is a working day", "2026-02-13T10:00:00+08:00", 1, "2026-02-14T10:00:00+08:00", false},
		{"over Spring Festival 2026", "2026-02-13T10:00:00+08:00", 2, "2026-02-24T10:00:00+08:00", false},
		{"over National Day 2026", "2026-09-30T16:00:00+08:00", 1, "2026-10-08T16:00:00+08:00", false},
		{"the make-up Saturday 10-10 counts", "2026-09-30T16:00:00+08:00", 5, "2026-10-13T16:00:00+08:00", false},
		{"New Year's Eve to the first working day of 2027", "2026-12-31T10:00:00+08:00", 1, "2027-01-04T10:00:00+08:00", false},
		{"Spring Festival 2027 and its make-up Sunday", "2027-02-04T10:00:00+08:00", 1, "2027-02-14T10:00:00+08:00", false},
		{"National Day 2027 and its make-up Saturday", "2027-09-30T16:00:00+08:00", 2, "2027-10-09T16:00:00+08:00", false},
		{"2028 has no data: statutory Spring Festival only, provisional", "2028-01-24T10:00:00+08:00", 1, "2028-01-31T10:00:00+08:00", true},
		{"2028 National Day, provisional", "2028-09-29T10:00:00+08:00", 1, "2028-10-04T10:00:00+08:00", true},
		{"an instant in UTC is read in the branch's zone", "2026-12-31T02:00:00Z", 1, "2027-01-04T10:00:00+08:00", false},
		{"zero days is the instant itself", "2026-12-31T10:00:00+08:00", 0, "2026-12-31T10:00:00+08:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := add(t, s, tt.from, workingDays(tt.n))
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetResult() != tt.want || resp.GetProvisional() != tt.provisional || resp.GetTimeZone() != "Asia/Shanghai" {
				t.Errorf("got %s provisional=%v zone=%s, want %s provisional=%v", resp.GetResult(), resp.GetProvisional(), resp.GetTimeZone(), tt.want, tt.provisional)
			}
		})
	}
	t.Run("business hours and calendar days", func(t *testing.T) {
		r, err := add(t, s, "2026-09-30T16:00:00+08:00", func(r *slatimerv1.AddToCalendarRequest) { r.BusinessHours = proto.Float64(2) })
		if err != nil || r.GetResult() != "2026-10-08T10:00:00+08:00" {
			t.Errorf("2 business hours from 2026-09-30 16:00 = %v, %v; want 2026-10-08T10:00:00+08:00", r, err)
		}
		r, err = add(t, s, "2026-09-20T10:00:00+08:00", func(r *slatimerv1.AddToCalendarRequest) { r.CalendarDays = proto.Int32(15) })
		if err != nil || r.GetResult() != "2026-10-08T10:00:00+08:00" {
			t.Errorf("15 calendar days from 2026-09-20 (ends on National Day) = %v, %v; want the next working day 2026-10-08", r, err)
		}
	})
}

func TestCountingBetweenIsTheInverseOfAdding(t *testing.T) {
	s := newCalendarServer(t)
	for _, n := range []int32{0, 1, 2, 5, 9, 30} {
		r, err := add(t, s, "2026-09-30T16:00:00+08:00", workingDays(n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CalendarBetween(as(bankSystem), &slatimerv1.CalendarBetweenRequest{BranchId: "br-1", From: "2026-09-30T16:00:00+08:00", To: r.GetResult()})
		if err != nil {
			t.Fatal(err)
		}
		if b.GetWorkingDays() != n {
			t.Errorf("between 2026-09-30 16:00 and %s: %d working days, want %d", r.GetResult(), b.GetWorkingDays(), n)
		}
	}
	b, err := s.CalendarBetween(as(bankSystem), &slatimerv1.CalendarBetweenRequest{BranchId: "br-1", From: "2026-09-30T16:00:00+08:00", To: "2026-10-08T10:00:00+08:00"})
	if err != nil || b.GetBusinessHours() != 2 {
		t.Errorf("business hours over National Day = %v, %v; want 2", b, err)
	}
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	t.Fatalf("%v has no field violation", err)
	return ""
}

func TestBadCalendarQueriesNameTheParameter(t *testing.T) {
	s := newCalendarServer(t)
	tests := []struct {
		name  string
		req   *slatimerv1.AddToCalendarRequest
		field string
	}{
		{"no amount", &slatimerv1.AddToCalendarRequest{BranchId: "br-1", From: "2026-03-02T10:00:00+08:00"}, "workingDays"},
		{"two amounts", &slatimerv1.AddToCalendarRequest{BranchId: "br-1", From: "2026-03-02T10:00:00+08:00", WorkingDays: proto.Int32(1), CalendarDays: proto.Int32(1)}, "workingDays"},
		{"no instant", &slatimerv1.AddToCalendarRequest{BranchId: "br-1", WorkingDays: proto.Int32(1)}, "from"},
		{"an unparseable instant", &slatimerv1.AddToCalendarRequest{BranchId: "br-1", From: "2026-03-02 10:00", WorkingDays: proto.Int32(1)}, "from"},
		{"an instant without a zone", &slatimerv1.AddToCalendarRequest{BranchId: "br-1", From: "2026-03-02T10:00:00", WorkingDays: proto.Int32(1)}, "from"},
		{"an unknown branch", &slatimerv1.AddToCalendarRequest{BranchId: "br-9", From: "2026-03-02T10:00:00+08:00", WorkingDays: proto.Int32(1)}, "branchId"},
		{"negative business hours", &slatimerv1.AddToCalendarRequest{BranchId: "br-1", From: "2026-03-02T10:00:00+08:00", BusinessHours: proto.Float64(-1)}, "businessHours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AddToCalendar(as(bankSystem), tt.req)
			if got := fieldOf(t, err); got != tt.field {
				t.Errorf("field %q, want %q (%v)", got, tt.field, err)
			}
		})
	}
	_, err := s.CalendarBetween(as(bankSystem), &slatimerv1.CalendarBetweenRequest{BranchId: "br-1", From: "2026-03-02T10:00:00+08:00", To: "soon"})
	if got := fieldOf(t, err); got != "to" {
		t.Errorf("between with a bad to: field %q", got)
	}
	// Another bank's branch of the same id is unknown to this bank.
	_, err = s.AddToCalendar(as(auth.Principal{Tenant: "bank-b", Subject: "t", Role: auth.RoleBankSystem}),
		&slatimerv1.AddToCalendarRequest{BranchId: "br-1", From: "2026-03-02T10:00:00+08:00", WorkingDays: proto.Int32(1)})
	if got := fieldOf(t, err); got != "branchId" {
		t.Errorf("another bank's branch: field %q", got)
	}
}

var year2028 = &slatimerv1.PutCalendarYearRequest{CalendarId: "cn", Year: 2028, Source: "test data",
	Holidays: []*slatimerv1.HolidayRange{{Name: "春节", From: "2028-01-24", To: "2028-01-31"}}, Workdays: []string{"2028-02-05"}}

func TestOnlyTheOperatorLoadsANationalYear(t *testing.T) {
	s := newCalendarServer(t)
	for _, p := range []auth.Principal{bankSystem, headOffice, {Tenant: "bank-a", Subject: "sre", Role: auth.RoleSRE}} {
		if _, err := s.PutCalendarYear(as(p), year2028); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s loading a year: %v, want PermissionDenied", p.Role, err)
		}
	}
	resp, err := s.PutCalendarYear(as(operator), year2028)
	if err != nil {
		t.Fatal(err)
	}
	if y := resp.GetYear(); y.GetVersion() == 0 || y.GetLoadedBy() != "operator-1" || y.GetStatus() != "official" {
		t.Errorf("stored year = %v", y)
	}
	r, err := add(t, s, "2028-01-21T10:00:00+08:00", workingDays(1))
	if err != nil || r.GetResult() != "2028-02-01T10:00:00+08:00" || r.GetProvisional() {
		t.Errorf("after loading 2028: %v, %v; want 2028-02-01T10:00:00+08:00, not provisional", r, err)
	}
	cal, err := s.GetCalendar(as(bankSystem), &slatimerv1.GetCalendarRequest{CalendarId: "cn"})
	if err != nil {
		t.Fatal(err)
	}
	var got2028 *slatimerv1.CalendarYear
	for _, y := range cal.GetYears() {
		if y.GetYear() == 2028 {
			got2028 = y
		}
	}
	if got2028 == nil || got2028.GetSource() != "test data" || got2028.GetLoadedBy() != "operator-1" {
		t.Errorf("GET calendar shows 2028 as %v", got2028)
	}
	if cal.GetDataHorizon() != "2028-12-31" {
		t.Errorf("horizon %s after loading 2028", cal.GetDataHorizon())
	}
}

func TestABadYearNamesTheField(t *testing.T) {
	s := newCalendarServer(t)
	tests := []struct {
		name  string
		req   *slatimerv1.PutCalendarYearRequest
		field string
	}{
		{"a date of another year", &slatimerv1.PutCalendarYearRequest{CalendarId: "cn", Year: 2028, Source: "x",
			Holidays: []*slatimerv1.HolidayRange{{Name: "元旦", From: "2027-12-31", To: "2028-01-01"}}}, "holidays[0].from"},
		{"a make-up day on a weekday", &slatimerv1.PutCalendarYearRequest{CalendarId: "cn", Year: 2028, Source: "x",
			Workdays: []string{"2028-02-07"}}, "workdays[0]"},
		{"overlapping ranges", &slatimerv1.PutCalendarYearRequest{CalendarId: "cn", Year: 2028, Source: "x",
			Holidays: []*slatimerv1.HolidayRange{{Name: "a", From: "2028-01-24", To: "2028-01-31"}, {Name: "b", From: "2028-01-30", To: "2028-02-02"}}}, "holidays[1].from"},
		{"not a date", &slatimerv1.PutCalendarYearRequest{CalendarId: "cn", Year: 2028, Source: "x",
			Holidays: []*slatimerv1.HolidayRange{{Name: "a", From: "2028-13-01", To: "2028-01-31"}}}, "holidays[0].from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PutCalendarYear(as(operator), tt.req)
			if got := fieldOf(t, err); got != tt.field {
				t.Errorf("field %q, want %q (%v)", got, tt.field, err)
			}
		})
	}
	if _, err := s.PutCalendarYear(as(operator), &slatimerv1.PutCalendarYearRequest{CalendarId: "xx", Year: 2028, Source: "x"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown calendar: %v", err)
	}
	r, err := add(t, s, "2028-01-24T10:00:00+08:00", workingDays(1))
	if err != nil || !r.GetProvisional() {
		t.Errorf("a refused load changed the calendar: %v, %v", r, err)
	}
}

func TestGetCalendarShowsProvenanceAndTheHorizon(t *testing.T) {
	s := newCalendarServer(t)
	cal, err := s.GetCalendar(as(operator), &slatimerv1.GetCalendarRequest{CalendarId: "cn"})
	if err != nil {
		t.Fatal(err)
	}
	status := map[int32]string{}
	for _, y := range cal.GetYears() {
		status[y.GetYear()] = y.GetStatus()
		if y.GetSource() == "" {
			t.Errorf("year %d has no source", y.GetYear())
		}
	}
	want := map[int32]string{2024: "official", 2025: "official", 2026: "official", 2027: "unconfirmed", 2028: "provisional"}
	for y, st := range want {
		if status[y] != st {
			t.Errorf("year %d status %q, want %q", y, status[y], st)
		}
	}
	// From 2026-12-01 to 2027-12-31.
	if cal.GetDataHorizon() != "2027-12-31" || cal.GetDataHorizonDays() != 395 {
		t.Errorf("horizon %s (%d days)", cal.GetDataHorizon(), cal.GetDataHorizonDays())
	}
}

func TestOnlyHeadOfficeClosesABranch(t *testing.T) {
	s := newCalendarServer(t)
	req := &slatimerv1.CreateBranchClosureRequest{BranchId: "br-1", From: "2026-12-03", To: "2026-12-04", Reason: "台风停业"}
	for _, p := range []auth.Principal{bankSystem, operator, {Tenant: "bank-a", Subject: "h", Role: auth.RoleBranchHead, Branch: "br-1"}} {
		if _, err := s.CreateBranchClosure(as(p), req); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s closing a branch: %v, want PermissionDenied", p.Role, err)
		}
	}
	resp, err := s.CreateBranchClosure(as(headOffice), req)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.GetClosure(); c.GetCreatedBy() != "st-head-office" || c.GetFrom() != "2026-12-03" || c.GetVersion() == 0 {
		t.Errorf("closure = %v", c)
	}
	r, err := add(t, s, "2026-12-02T10:00:00+08:00", workingDays(1))
	if err != nil || r.GetResult() != "2026-12-07T10:00:00+08:00" {
		t.Errorf("1 working day from the eve of the closure: %v, %v; want Monday 2026-12-07", r, err)
	}
	list, err := s.ListBranchClosures(as(bankSystem), &slatimerv1.ListBranchClosuresRequest{BranchId: "br-1"})
	if err != nil || len(list.GetClosures()) != 1 {
		t.Errorf("closures = %v, %v", list, err)
	}
	bad := &slatimerv1.CreateBranchClosureRequest{BranchId: "br-1", From: "2026-12-04", To: "2026-12-03", Reason: "x"}
	if _, err := s.CreateBranchClosure(as(headOffice), bad); fieldOf(t, err) != "to" {
		t.Errorf("to before from: %v", err)
	}
	bad = &slatimerv1.CreateBranchClosureRequest{BranchId: "br-1", From: "12/03", To: "2026-12-03", Reason: "x"}
	if _, err := s.CreateBranchClosure(as(headOffice), bad); fieldOf(t, err) != "from" {
		t.Errorf("bad from: %v", err)
	}
}

// TestDeadlinesAgreeWithTheCalendarAPI arms every default limit for cases
// received at awkward moments and checks each deadline against what
// calendar:add answers for the same limit: working-day limits end at close of
// business of the day calendar:add names, calendar-day limits at the end
// (24:00) of the day it names, business-hour limits at exactly the instant it
// names.
func TestDeadlinesAgreeWithTheCalendarAPI(t *testing.T) {
	s := newCalendarServer(t)
	if _, err := s.CreateBranchClosure(as(headOffice), &slatimerv1.CreateBranchClosureRequest{BranchId: "br-1", From: "2026-12-03", To: "2026-12-03", Reason: "台风停业"}); err != nil {
		t.Fatal(err)
	}
	var cal *calendar.Calendar
	err := pgdb.InTx(context.Background(), s.Store.Pool(), func(tx pgx.Tx) error {
		st, err := s.Calendars.Current(context.Background(), tx)
		if err != nil {
			return err
		}
		cal, _ = st.Branch(s.Calendars.Base, "bank-a", "br-1", calendar.ChinaID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	starts := []string{"2026-02-13T16:59:00+08:00", "2026-09-30T10:00:00+08:00", "2026-12-02T08:00:00+08:00",
		"2026-12-31T20:00:00+08:00", "2027-02-04T12:00:00+08:00", "2027-12-28T10:00:00+08:00", "2028-09-29T09:30:00+08:00"}
	policy := sla.DefaultPolicy()
	wh := policy.WorkHours.OrDefault()
	for _, from := range starts {
		start, _ := time.Parse(time.RFC3339, from)
		for _, r := range policy.Rules {
			if r.Clock == sla.ClockCalendar || !r.Kind.ArmedAtCreation() {
				continue
			}
			sev := r.Severity
			if sev == "" {
				sev = "SEVERITY_NORMAL"
			}
			d, ok, err := sla.Arm(policy, cal, r.Kind, sla.CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: sev, StartedAt: start})
			if err != nil || !ok {
				t.Fatalf("arm %s: %v %v", r.Kind, ok, err)
			}
			var resp *slatimerv1.AddToCalendarResponse
			switch r.Clock {
			case sla.ClockWorkingDays:
				resp, err = add(t, s, from, workingDays(int32(r.WorkingDays)))
			case sla.ClockBusinessHours:
				resp, err = add(t, s, from, func(q *slatimerv1.AddToCalendarRequest) { q.BusinessHours = proto.Float64(r.Duration.Hours()) })
			case sla.ClockCalendarDays:
				resp, err = add(t, s, from, func(q *slatimerv1.AddToCalendarRequest) { q.CalendarDays = proto.Int32(int32(r.CalendarDays)) })
			}
			if err != nil {
				t.Fatal(err)
			}
			api, _ := time.Parse(time.RFC3339, resp.GetResult())
			want := api
			switch r.Clock {
			case sla.ClockWorkingDays:
				want = calendar.DateOf(api).At(wh.End, api.Location())
			case sla.ClockCalendarDays:
				want = calendar.DateOf(api).AddDays(1).At(0, api.Location())
			}
			if !d.DueAt.Equal(want) || d.Provisional != resp.GetProvisional() {
				t.Errorf("%s %s from %s: deadline %s provisional=%v; calendar:add says %s provisional=%v",
					r.Kind, sev, from, d.DueAt, d.Provisional, resp.GetResult(), resp.GetProvisional())
			}
		}
	}
}
