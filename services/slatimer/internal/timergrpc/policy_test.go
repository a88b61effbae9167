// Protects the SLA policy's versions and audit trail, who may read them, and that a case keeps the version it was armed with.
package timergrpc_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerkafka"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// defaultWith is the default policy as the API has it, the normal first
// answer set to days working days.
func defaultWith(t *testing.T, s *timergrpc.Server, days int32) *slatimerv1.Policy {
	t.Helper()
	got, err := s.GetPolicy(as(headOffice), &slatimerv1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p := got.GetPolicy()
	for _, r := range p.GetRules() {
		if r.GetKind() == slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER && r.GetSeverity() == "SEVERITY_NORMAL" {
			r.WorkingDays = days
		}
	}
	return p
}

func firstAnswerDays(p *slatimerv1.Policy) int32 {
	for _, r := range p.GetRules() {
		if r.GetKind() == slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER && r.GetSeverity() == "SEVERITY_NORMAL" {
			return r.GetWorkingDays()
		}
	}
	return -1
}

func TestTheDefaultPolicyRoundTripsThroughTheAPI(t *testing.T) {
	s := newServer(t)
	got, err := s.GetPolicy(as(headOffice), &slatimerv1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetIsDefault() || got.GetVersion() != 0 || got.GetUpdatedBy() != "" || got.GetUpdatedAt() != nil {
		t.Fatalf("default policy: is_default %v version %d by %q at %v, want the default at version 0 with no author",
			got.GetIsDefault(), got.GetVersion(), got.GetUpdatedBy(), got.GetUpdatedAt())
	}
	var reg *slatimerv1.PolicyRule
	for _, r := range got.GetPolicy().GetRules() {
		if r.GetKind() == slatimerv1.DeadlineKind_DEADLINE_KIND_REGULATORY_DECISION {
			reg = r
		}
	}
	if reg.GetClock() != slatimerv1.Clock_CLOCK_CALENDAR_DAYS || reg.GetWorkingDays() != 15 || reg.GetDuration() != nil || reg.GetCategory() != sla.CategoryComplaint {
		t.Fatalf("regulatory rule = %v, want 15 calendar days (in working_days) for complaints", reg)
	}
	// What devstack and the acceptance checks do: read the policy and put it
	// back, possibly edited.
	put, err := s.PutPolicy(as(headOffice), &slatimerv1.PutPolicyRequest{Policy: got.GetPolicy()})
	if err != nil {
		t.Fatalf("putting back the default policy: %v", err)
	}
	if put.GetVersion() != 1 {
		t.Errorf("first put is version %d, want 1", put.GetVersion())
	}
}

func TestEveryPutIsANewVersionListedNewestFirst(t *testing.T) {
	s := newServer(t)
	put := func(who auth.Principal, at time.Time, days int32) *slatimerv1.PutPolicyResponse {
		t.Helper()
		s.Now = func() time.Time { return at }
		resp, err := s.PutPolicy(as(who), &slatimerv1.PutPolicyRequest{Policy: defaultWith(t, s, days)})
		if err != nil {
			t.Fatalf("PutPolicy: %v", err)
		}
		return resp
	}
	other := auth.Principal{Tenant: "bank-a", Subject: "st-head-office-2", Role: auth.RoleHeadOffice}
	t1, t2 := created.Add(-48*time.Hour), created.Add(-24*time.Hour)
	if v := put(headOffice, t1, 2).GetVersion(); v != 1 {
		t.Fatalf("first put: version %d, want 1", v)
	}
	if v := put(other, t2, 3).GetVersion(); v != 2 {
		t.Fatalf("second put: version %d, want 2", v)
	}

	got, err := s.GetPolicy(as(auth.Principal{Tenant: "bank-a", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"}), &slatimerv1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetIsDefault() || got.GetVersion() != 2 || got.GetUpdatedBy() != "st-head-office-2" || !got.GetUpdatedAt().AsTime().Equal(t2) || firstAnswerDays(got.GetPolicy()) != 3 {
		t.Fatalf("GetPolicy = version %d by %q at %v with %d days, want version 2 by st-head-office-2 at %v with 3",
			got.GetVersion(), got.GetUpdatedBy(), got.GetUpdatedAt().AsTime(), firstAnswerDays(got.GetPolicy()), t2)
	}

	list, err := s.ListPolicyVersions(as(headOffice), &slatimerv1.ListPolicyVersionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		version int64
		by      string
		at      time.Time
		days    int32
	}
	var rows []row
	for _, v := range list.GetVersions() {
		rows = append(rows, row{v.GetVersion(), v.GetUpdatedBy(), v.GetUpdatedAt().AsTime(), firstAnswerDays(v.GetPolicy())})
	}
	want := []row{{2, "st-head-office-2", t2, 3}, {1, "st-head-office", t1, 2}}
	if len(rows) != len(want) {
		t.Fatalf("versions = %v, want %v", rows, want)
	}
	for i := range want {
		if rows[i].version != want[i].version || rows[i].by != want[i].by || !rows[i].at.Equal(want[i].at) || rows[i].days != want[i].days {
			t.Errorf("versions[%d] = %v, want %v", i, rows[i], want[i])
		}
	}

	// The rows are the audit trail: not even the schema's owner edits them.
	_, err = s.Store.Pool().Exec(context.Background(), `UPDATE policy_versions SET updated_by = 'someone else'`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("updating a policy version: %v, want refused as append-only", err)
	}

	others, err := s.ListPolicyVersions(as(auth.Principal{Tenant: "bank-b", Role: auth.RoleHeadOffice}), &slatimerv1.ListPolicyVersionsRequest{})
	if err != nil || len(others.GetVersions()) != 0 {
		t.Errorf("bank-b's versions = %v, %v; want none (bank-a's are not theirs)", others, err)
	}
}

func TestWhoMayReadAndSetThePolicysVersions(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name       string
		caller     auth.Principal
		list, edit codes.Code
	}{
		{"head office reads the versions and sets the policy", headOffice, codes.OK, codes.OK},
		{"a regional supervisor reads the versions but may not set the policy",
			auth.Principal{Tenant: "bank-a", Subject: "rs", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}, codes.OK, codes.PermissionDenied},
		{"a bank system (HTTP 403) does neither", bankSystem, codes.PermissionDenied, codes.PermissionDenied},
		{"a branch head does neither",
			auth.Principal{Tenant: "bank-a", Subject: "bh", Role: auth.RoleBranchHead, Branch: "br-1", Region: "rg-1"}, codes.PermissionDenied, codes.PermissionDenied},
		{"a teller does neither",
			auth.Principal{Tenant: "bank-a", Subject: "te", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"}, codes.PermissionDenied, codes.PermissionDenied},
		{"an SRE does neither", auth.Principal{Tenant: "bank-a", Subject: "sre", Role: auth.RoleSRE}, codes.PermissionDenied, codes.PermissionDenied},
		{"the operator does neither", operator, codes.PermissionDenied, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ListPolicyVersions(as(tt.caller), &slatimerv1.ListPolicyVersionsRequest{})
			if got := status.Code(err); got != tt.list {
				t.Errorf("ListPolicyVersions = %v, want %v", err, tt.list)
			}
			_, err = s.PutPolicy(as(tt.caller), &slatimerv1.PutPolicyRequest{Policy: defaultWith(t, s, 2)})
			if got := status.Code(err); got != tt.edit {
				t.Errorf("PutPolicy = %v, want %v", err, tt.edit)
			}
		})
	}
	list, err := s.ListPolicyVersions(as(headOffice), &slatimerv1.ListPolicyVersionsRequest{})
	if err != nil || len(list.GetVersions()) != 1 || list.GetVersions()[0].GetUpdatedBy() != headOffice.Subject {
		t.Fatalf("versions after the refused puts = %v, %v; want head office's one", list, err)
	}
}

// violations returns the field violations of a PutPolicy error.
func violations(t *testing.T, err error) map[string]string {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("PutPolicy = %v, want InvalidArgument", err)
	}
	out := map[string]string{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if _, dup := out[v.GetField()]; dup {
					t.Errorf("field %s reported twice", v.GetField())
				}
				out[v.GetField()] = v.GetDescription()
			}
		}
	}
	return out
}

func TestPutPolicyRefusesWhatItCannotCountExactlyOrMayNotAccept(t *testing.T) {
	s := newServer(t)
	ruleOf := func(p *slatimerv1.Policy, kind slatimerv1.DeadlineKind) (int, *slatimerv1.PolicyRule) {
		for i, r := range p.GetRules() {
			if r.GetKind() == kind {
				return i, r
			}
		}
		t.Fatalf("no %s rule", kind)
		return 0, nil
	}
	ack := slatimerv1.DeadlineKind_DEADLINE_KIND_ACKNOWLEDGE
	reg := slatimerv1.DeadlineKind_DEADLINE_KIND_REGULATORY_DECISION
	tests := []struct {
		name    string
		kind    slatimerv1.DeadlineKind
		mutate  func(r *slatimerv1.PolicyRule)
		field   string // under policy.rules[i]
		problem string
	}{
		{"a duration of 3,000 years, which a Go duration would silently clamp", ack,
			func(r *slatimerv1.PolicyRule) { r.Duration = &durationpb.Duration{Seconds: 100_000_000_000} }, "duration", "beyond any limit that can be counted"},
		{"a duration beyond what protobuf allows", ack,
			func(r *slatimerv1.PolicyRule) { r.Duration = &durationpb.Duration{Seconds: 1 << 50} }, "duration", "not a valid duration"},
		{"a duration with nanoseconds of the wrong sign", ack,
			func(r *slatimerv1.PolicyRule) { r.Duration = &durationpb.Duration{Seconds: 60, Nanos: -1} }, "duration", "not a valid duration"},
		{"a ten-year acknowledgment", ack,
			func(r *slatimerv1.PolicyRule) { r.Duration = durationpb.New(10 * 365 * 24 * time.Hour) }, "duration", "must be between 1s and 2160h"},
		{"a regulatory limit of 30 days", reg,
			func(r *slatimerv1.PolicyRule) { r.WorkingDays = 30 }, "working_days", "at most 15 calendar days"},
		{"a regulatory limit of 15×24 hours on the calendar clock", reg,
			func(r *slatimerv1.PolicyRule) {
				r.Clock, r.WorkingDays, r.Duration = slatimerv1.Clock_CLOCK_CALENDAR, 0, durationpb.New(15*24*time.Hour)
			}, "clock", "counted in calendar days"},
		{"a regulatory limit for letters only", reg,
			func(r *slatimerv1.PolicyRule) { r.Channel = "CHANNEL_LETTER" }, "", "no DEADLINE_KIND_REGULATORY_DECISION rule applies"},
		{"an acknowledgment for one unknown tier", ack,
			func(r *slatimerv1.PolicyRule) { r.CustomerTier = "CUSTOMER_TIER_DIAMOND" }, "customer_tier", "unknown customer tier"},
	}
	for _, tt := range tests {
		t.Run("PutPolicy refuses "+tt.name, func(t *testing.T) {
			p := defaultWith(t, s, 1)
			i, r := ruleOf(p, tt.kind)
			tt.mutate(r)
			_, err := s.PutPolicy(as(headOffice), &slatimerv1.PutPolicyRequest{Policy: p})
			v := violations(t, err)
			field := "policy.rules"
			if tt.field != "" {
				field = "policy.rules[" + strconv.Itoa(i) + "]." + tt.field
			}
			if !strings.Contains(v[field], tt.problem) {
				t.Fatalf("violations %v, want %s: ...%s...", v, field, tt.problem)
			}
		})
	}
	if got, err := s.GetPolicy(as(headOffice), &slatimerv1.GetPolicyRequest{}); err != nil || !got.GetIsDefault() {
		t.Fatalf("after the refused puts: %v, %v; want the default still", got, err)
	}
}

// armThrough arms a complaint of bank-a (br-1, rg-1) created at createdAt
// as slatimer's consumer does, and returns its id.
func armThrough(t *testing.T, s *timergrpc.Server, h *timerkafka.Handler, createdAt time.Time) string {
	t.Helper()
	id := uuid.NewString()
	env := &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: id, Type: "CaseCreated", Producer: "intake",
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{
			CaseNumber: "C-" + id[:4], BranchId: "br-1", RegionId: "rg-1", Channel: casesv1.Channel_CHANNEL_ON_SITE,
			Category: casesv1.Category_CATEGORY_FEE_DISPUTE, Severity: casesv1.Severity_SEVERITY_NORMAL,
			Status: casesv1.CaseStatus_CASE_STATUS_REPORTED, CreatedAt: timestamppb.New(createdAt),
			TimeZone: "Asia/Shanghai", CalendarId: calendar.ChinaID,
		}}}
	handle(t, s, h, env)
	return id
}

func handle(t *testing.T, s *timergrpc.Server, h *timerkafka.Handler, env *eventsv1.Envelope) {
	t.Helper()
	ctx := pgdb.WithTenant(context.Background(), pgdb.AllTenants)
	if err := pgdb.InTx(ctx, s.Store.Pool(), func(tx pgx.Tx) error { return h.Handle(ctx, tx, env) }); err != nil {
		t.Fatalf("handle %T: %v", env.GetPayload(), err)
	}
}

func versionsOf(t *testing.T, s *timergrpc.Server, id string) map[string]int64 {
	t.Helper()
	resp, err := s.ListCaseDeadlines(as(headOffice), &slatimerv1.ListCaseDeadlinesRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, d := range resp.GetDeadlines() {
		out[d.GetKind().String()] = d.GetPolicyVersion()
	}
	return out
}

func TestACaseKeepsThePolicyVersionItWasArmedWith(t *testing.T) {
	s := newServer(t)
	h := &timerkafka.Handler{Store: s.Store, Calendars: &calendars.Registry{Store: s.Store, Base: calendars.ChinaBase}}
	step := func(id, action string, at time.Time) {
		t.Helper()
		handle(t, s, h, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: id,
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: action, ActorId: "cm-1", At: timestamppb.New(at)}}})
	}

	onDefault := armThrough(t, s, h, created) // Friday 2026-11-20 10:00
	if _, err := s.PutPolicy(as(headOffice), &slatimerv1.PutPolicyRequest{Policy: defaultWith(t, s, 2)}); err != nil {
		t.Fatal(err)
	}
	underV1 := armThrough(t, s, h, created.Add(time.Minute))
	if _, err := s.PutPolicy(as(headOffice), &slatimerv1.PutPolicyRequest{Policy: defaultWith(t, s, 3)}); err != nil {
		t.Fatal(err)
	}
	underV2 := armThrough(t, s, h, created.Add(2*time.Minute))

	// v1's case waits for the customer and resumes, is answered, closed and
	// reopened, and its branch closes for a day: every clock is counted
	// again, on the basis it was armed with.
	step(underV1, "awaitCustomer", created.Add(time.Hour))
	step(underV1, "resumeFromCustomer", created.Add(26*time.Hour))
	step(underV1, "answer", created.Add(27*time.Hour))
	step(underV1, "close", created.Add(28*time.Hour))
	step(underV1, "reopen", created.Add(29*time.Hour))
	cal := &timergrpc.Calendar{Store: s.Store, Calendars: h.Calendars, Recounted: timerkafka.PublishRecounted, Now: func() time.Time { return created },
		Branches: func(context.Context, string) (timergrpc.Branch, error) {
			return timergrpc.Branch{ID: "br-1", CalendarID: calendar.ChinaID, Location: calendar.DefaultLocation()}, nil
		}}
	if _, err := cal.CreateBranchClosure(as(headOffice), &slatimerv1.CreateBranchClosureRequest{BranchId: "br-1", From: "2026-11-24", To: "2026-11-24", Reason: "台风停业"}); err != nil {
		t.Fatal(err)
	}

	for id, want := range map[string]int64{onDefault: 0, underV1: 1, underV2: 2} {
		got := versionsOf(t, s, id)
		if len(got) != 4 {
			t.Errorf("case armed under version %d has deadlines %v, want acknowledge, answer, resolution and regulatory", want, got)
		}
		for kind, v := range got {
			if v != want {
				t.Errorf("case armed under version %d: %s shows policy version %d", want, kind, v)
			}
		}
	}
	// And v1's first answer still counts v1's 2 working days from the
	// reopening on Saturday 11-21, around the closure of Tuesday 11-24:
	// Monday 23, then Wednesday 25.
	resp, err := s.ListCaseDeadlines(as(headOffice), &slatimerv1.ListCaseDeadlinesRequest{CaseId: underV1})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(resp.GetDeadlines(), func(d *slatimerv1.Deadline) bool {
		return d.GetKind() == slatimerv1.DeadlineKind_DEADLINE_KIND_FIRST_ANSWER
	})
	if want := time.Date(2026, 11, 25, 17, 0, 0, 0, calendar.DefaultLocation()); i < 0 || !resp.GetDeadlines()[i].GetDueAt().AsTime().Equal(want) {
		t.Errorf("v1's first answer after the reopening = %v, want %v", resp.GetDeadlines(), want)
	}
}
