// Protects who may see a case's deadlines and who may change the bank's SLA policy, and how a bad policy is reported.
package timergrpc_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

var created = time.Date(2026, 11, 20, 10, 0, 0, 0, calendar.DefaultLocation())

func newServer(t *testing.T) *timergrpc.Server {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	return &timergrpc.Server{Store: timerpg.New(pool), Now: func() time.Time { return created }}
}

// armCase stores the default deadlines of a normal case of bank-a in branch
// br-1, region rg-1, and returns its id.
func armCase(t *testing.T, s *timergrpc.Server) string {
	t.Helper()
	ctx := context.Background()
	cal, err := calendar.China()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := sla.ArmAtCreation(sla.DefaultPolicy(), cal, sla.CaseFacts{
		Category: "CATEGORY_SYSTEM_FAILURE", Severity: "SEVERITY_NORMAL", Channel: "CHANNEL_ON_SITE", StartedAt: created,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	tx, err := s.Store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := s.Store.Arm(ctx, tx, timerpg.CaseRef{ID: id, Tenant: "bank-a", Branch: "br-1", Region: "rg-1"}, ds, 0); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

func as(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

func TestListCaseDeadlinesShowsTheCaseOnlyToThoseWhoMaySeeItsBranch(t *testing.T) {
	s := newServer(t)
	id := armCase(t, s)
	tests := []struct {
		name   string
		caller auth.Principal
		want   codes.Code
	}{
		{"a teller of the case's branch sees it", auth.Principal{Tenant: "bank-a", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"}, codes.OK},
		{"a teller of another branch gets not found", auth.Principal{Tenant: "bank-a", Role: auth.RoleTeller, Branch: "br-2", Region: "rg-1"}, codes.NotFound},
		{"a branch head of another branch gets not found", auth.Principal{Tenant: "bank-a", Role: auth.RoleBranchHead, Branch: "br-9", Region: "rg-1"}, codes.NotFound},
		{"a regional supervisor of the case's region sees it", auth.Principal{Tenant: "bank-a", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}, codes.OK},
		{"a regional supervisor of another region gets not found", auth.Principal{Tenant: "bank-a", Role: auth.RoleRegionalSupervisor, Region: "rg-2"}, codes.NotFound},
		{"head office sees it", auth.Principal{Tenant: "bank-a", Role: auth.RoleHeadOffice}, codes.OK},
		{"an SRE is refused: SREs see no case data", auth.Principal{Tenant: "bank-a", Role: auth.RoleSRE}, codes.PermissionDenied},
		{"the installation operator is refused", auth.Principal{Tenant: auth.AllTenants, Role: auth.RoleOperator}, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.ListCaseDeadlines(as(tt.caller), &slatimerv1.ListCaseDeadlinesRequest{CaseId: id})
			if got := status.Code(err); got != tt.want {
				t.Fatalf("ListCaseDeadlines = %v, want code %v", err, tt.want)
			}
			if tt.want != codes.OK {
				if resp != nil {
					t.Fatalf("a refused caller got %v", resp)
				}
				return
			}
			if len(resp.GetDeadlines()) != 3 {
				t.Fatalf("got %d deadlines, want acknowledge, first answer and resolution", len(resp.GetDeadlines()))
			}
			d := resp.GetDeadlines()[0]
			if d.GetKind() != slatimerv1.DeadlineKind_DEADLINE_KIND_ACKNOWLEDGE || d.GetClock() != slatimerv1.Clock_CLOCK_CALENDAR ||
				!d.GetDueAt().AsTime().Equal(created.Add(time.Hour)) || d.GetLevel() != slatimerv1.WarningLevel_WARNING_LEVEL_NONE {
				t.Fatalf("first deadline = %v, want acknowledge on the calendar clock due %v at level none", d, created.Add(time.Hour))
			}
		})
	}
}

func TestListCaseDeadlinesShowsNothingOfAnotherBank(t *testing.T) {
	s := newServer(t)
	id := armCase(t, s) // bank-a's
	resp, err := s.ListCaseDeadlines(as(auth.Principal{Tenant: "bank-b", Role: auth.RoleHeadOffice}), &slatimerv1.ListCaseDeadlinesRequest{CaseId: id})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("bank-b's head office reading bank-a's deadlines: %v %v, want NotFound", resp, err)
	}
}

func TestPolicyCallsNeedAnAuthenticatedCaller(t *testing.T) {
	s := newServer(t)
	if _, err := s.GetPolicy(context.Background(), &slatimerv1.GetPolicyRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetPolicy without a caller = %v, want Unauthenticated", err)
	}
}

func TestPutPolicyByATellerIsPermissionDeniedAndChangesNothing(t *testing.T) {
	s := newServer(t)
	teller := as(auth.Principal{Tenant: "bank-a", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"})
	// A bank system (a teller terminal) is not an administrator either.
	for _, p := range []auth.Principal{
		{Tenant: "bank-a", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"},
		{Tenant: "bank-a", Subject: "terminal", Role: auth.RoleBankSystem},
	} {
		_, err := s.PutPolicy(as(p), &slatimerv1.PutPolicyRequest{Policy: threeDayPolicy()})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("PutPolicy by a %s = %v, want PermissionDenied", p.Role, err)
		}
	}
	got, err := s.GetPolicy(teller, &slatimerv1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetIsDefault() {
		t.Fatalf("after a refused PutPolicy the policy is no longer the default: %v", got.GetPolicy())
	}
}

func TestPutPolicyWithAZeroDayWorkingDaysRuleNamesTheField(t *testing.T) {
	s := newServer(t)
	p := &slatimerv1.Policy{Rules: []*slatimerv1.PolicyRule{
		{Kind: slatimerv1.DeadlineKind_DEADLINE_KIND_ACKNOWLEDGE, Clock: slatimerv1.Clock_CLOCK_WORKING_DAYS, WorkingDays: 0},
	}}
	_, err := s.PutPolicy(as(auth.Principal{Tenant: "bank-a", Role: auth.RoleHeadOffice}), &slatimerv1.PutPolicyRequest{Policy: p})
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("PutPolicy = %v, want InvalidArgument", err)
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
				if v.GetDescription() == "" {
					t.Errorf("violation of %s has no description", v.GetField())
				}
			}
		}
	}
	const want = "policy.rules[0].working_days"
	found := false
	for _, f := range fields {
		found = found || f == want
	}
	if !found {
		t.Fatalf("BadRequest field violations %v do not name %s", fields, want)
	}
	if !strings.Contains(st.Message(), "rules[0].working_days") {
		t.Errorf("message %q does not name the field either", st.Message())
	}
}

func TestGetPolicyReportsTheDefaultUntilTheBankSetsItsOwn(t *testing.T) {
	s := newServer(t)
	headOffice := as(auth.Principal{Tenant: "bank-a", Role: auth.RoleHeadOffice})

	before, err := s.GetPolicy(headOffice, &slatimerv1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !before.GetIsDefault() || len(before.GetPolicy().GetRules()) != len(sla.DefaultPolicy().Rules) {
		t.Fatalf("before any PutPolicy: is_default %v with %d rules, want the default's %d", before.GetIsDefault(),
			len(before.GetPolicy().GetRules()), len(sla.DefaultPolicy().Rules))
	}

	// The bank's own: the default with a 3-working-day normal answer (a
	// policy must keep every required limit).
	mine := before.GetPolicy()
	for _, r := range mine.GetRules() {
		if r.GetKind() == slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER && r.GetSeverity() == "SEVERITY_NORMAL" {
			r.WorkingDays = 3
		}
	}
	if _, err := s.PutPolicy(headOffice, &slatimerv1.PutPolicyRequest{Policy: mine}); err != nil {
		t.Fatalf("PutPolicy by head office: %v", err)
	}
	after, err := s.GetPolicy(headOffice, &slatimerv1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetIsDefault() {
		t.Fatal("after PutPolicy is_default is still true")
	}
	rules := after.GetPolicy().GetRules()
	if len(rules) != len(mine.GetRules()) || rules[4].GetKind() != slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER ||
		rules[4].GetClock() != slatimerv1.Clock_CLOCK_WORKING_DAYS || rules[4].GetWorkingDays() != 3 || rules[4].GetSeverity() != "SEVERITY_NORMAL" {
		t.Fatalf("stored rules = %v, want the default's with a 3-working-day normal first answer", rules)
	}

	other, err := s.GetPolicy(as(auth.Principal{Tenant: "bank-b", Role: auth.RoleHeadOffice}), &slatimerv1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !other.GetIsDefault() {
		t.Fatal("bank-a's policy changed bank-b's")
	}
}

func threeDayPolicy() *slatimerv1.Policy {
	return &slatimerv1.Policy{Rules: []*slatimerv1.PolicyRule{{
		Kind: slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER, Clock: slatimerv1.Clock_CLOCK_WORKING_DAYS,
		WorkingDays: 3, Severity: "SEVERITY_NORMAL",
	}}}
}
