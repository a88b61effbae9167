// Protects the extension of a complaint's regulatory decision limit: who
// may approve the first (15 → 30 days) and the second (up to 30 more), that
// there is no third, the new due time counted on the deadline's own clock,
// the warnings and breach moved with it (the firing loop, driven by a
// clock, breaches at the new time and not the old), one DeadlineRecomputed
// per extension, and the reason kept masked.
package timergrpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Approvers and others, of bank-a; the complaint is in br-1, region rg-1.
var (
	branchHead    = auth.Principal{Tenant: "bank-a", Subject: "bh-1", Role: auth.RoleBranchHead, Branch: "br-1", Region: "rg-1"}
	supervisor    = auth.Principal{Tenant: "bank-a", Subject: "rs-1", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}
	headOfficer   = auth.Principal{Tenant: "bank-a", Subject: "ho-1", Role: auth.RoleHeadOffice}
	otherHead     = auth.Principal{Tenant: "bank-a", Subject: "bh-2", Role: auth.RoleBranchHead, Branch: "br-2", Region: "rg-1"}
	otherRegion   = auth.Principal{Tenant: "bank-a", Subject: "rs-2", Role: auth.RoleRegionalSupervisor, Region: "rg-2"}
	otherBankHead = auth.Principal{Tenant: "bank-b", Subject: "ho-9", Role: auth.RoleHeadOffice}
)

func extend(days int32, reason string) func(string) *slatimerv1.ExtendDeadlineRequest {
	return func(id string) *slatimerv1.ExtendDeadlineRequest {
		return &slatimerv1.ExtendDeadlineRequest{CaseId: id, Days: days, Reason: reason}
	}
}

// calendarDaysPolicy is the default policy with the regulatory limit as the
// rules count it: 15 calendar days, the start day not counted, a last day
// off moved to the next working day, ending at 24:00.
func calendarDaysPolicy() sla.Policy {
	p := sla.DefaultPolicy()
	p.Rules = append([]sla.Rule(nil), p.Rules...)
	for i, r := range p.Rules {
		if r.Kind == sla.KindRegulatoryDecision {
			p.Rules[i] = sla.Rule{Kind: r.Kind, Clock: sla.ClockCalendarDays, CalendarDays: 15, Category: sla.CategoryComplaint}
		}
	}
	return p
}

// wallClockPolicy counts the regulatory limit as 15×24 hours of wall time.
func wallClockPolicy() sla.Policy {
	p := sla.DefaultPolicy()
	p.Rules = append([]sla.Rule(nil), p.Rules...)
	for i, r := range p.Rules {
		if r.Kind == sla.KindRegulatoryDecision {
			p.Rules[i] = sla.Rule{Kind: r.Kind, Clock: sla.ClockCalendar, Duration: 15 * 24 * time.Hour, Category: sla.CategoryComplaint}
		}
	}
	return p
}

func TestWhoMayExtendTheRegulatoryLimit(t *testing.T) {
	f := newClockFixture(t, sh(t, "2026-11-25 10:00"))
	refused := []struct {
		name   string
		caller auth.Principal
		want   codes.Code
	}{
		{"a teller", auth.Principal{Tenant: "bank-a", Subject: "t-1", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"}, codes.PermissionDenied},
		{"a complaint manager", auth.Principal{Tenant: "bank-a", Subject: "cm-1", Role: auth.RoleComplaintManager, Branch: "br-1", Region: "rg-1"}, codes.PermissionDenied},
		{"a lobby manager", auth.Principal{Tenant: "bank-a", Subject: "lm-1", Role: auth.RoleLobbyManager, Branch: "br-1", Region: "rg-1"}, codes.PermissionDenied},
		{"a bank system", auth.Principal{Tenant: "bank-a", Subject: "terminal-7", Role: auth.RoleBankSystem}, codes.PermissionDenied},
		{"an SRE", auth.Principal{Tenant: "bank-a", Subject: "ops", Role: auth.RoleSRE}, codes.PermissionDenied},
		{"the branch head of another branch (not found)", otherHead, codes.NotFound},
		{"the regional supervisor of another region (not found)", otherRegion, codes.NotFound},
		{"another bank's head office (not found)", otherBankHead, codes.NotFound},
	}
	id := f.arm(t, calendarDaysPolicy(), complaint(t))
	for _, tt := range refused {
		t.Run(tt.name+" may not grant the first extension", func(t *testing.T) {
			if _, err := f.s.ExtendDeadline(as(tt.caller), extend(15, "needs the branch's CCTV")(id)); status.Code(err) != tt.want {
				t.Fatalf("ExtendDeadline = %v, want %v", err, tt.want)
			}
		})
	}
	if n := f.extensions(t, id); n != 0 {
		t.Fatalf("refused requests recorded %d extensions", n)
	}

	t.Run("the case's branch head grants the first, 15 days", func(t *testing.T) {
		resp, err := f.s.ExtendDeadline(as(branchHead), extend(15, "awaiting the card issuer's records")(id))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetDeadline().GetExtensions() != 1 || resp.GetDeadline().GetState() != "open" {
			t.Errorf("deadline after the first extension = %v", resp.GetDeadline())
		}
	})
	t.Run("the branch head may not grant the second: it needs regional authority", func(t *testing.T) {
		_, err := f.s.ExtendDeadline(as(branchHead), extend(10, "still awaiting the records")(id))
		if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "regional supervisor or head office") {
			t.Fatalf("ExtendDeadline = %v, want PermissionDenied naming who may", err)
		}
	})
	t.Run("the regional supervisor grants the second, 10 days", func(t *testing.T) {
		if _, err := f.s.ExtendDeadline(as(supervisor), extend(10, "still awaiting the records")(id)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("not even head office grants a third", func(t *testing.T) {
		_, err := f.s.ExtendDeadline(as(headOfficer), extend(5, "one more week")(id))
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "no third") {
			t.Fatalf("ExtendDeadline = %v, want FailedPrecondition saying there is no third", err)
		}
	})
	if n := f.extensions(t, id); n != 2 {
		t.Fatalf("%d extensions recorded, want 2", n)
	}

	t.Run("head office may grant both", func(t *testing.T) {
		id := f.arm(t, calendarDaysPolicy(), complaint(t))
		for _, days := range []int32{15, 30} {
			if _, err := f.s.ExtendDeadline(as(headOfficer), extend(days, "a regulator's referral")(id)); err != nil {
				t.Fatalf("extension by %d days: %v", days, err)
			}
		}
	})
	t.Run("the case's regional supervisor may grant the first", func(t *testing.T) {
		id := f.arm(t, calendarDaysPolicy(), complaint(t))
		if _, err := f.s.ExtendDeadline(as(supervisor), extend(15, "a regulator's referral")(id)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestExtensionDaysFollowTheRules(t *testing.T) {
	f := newClockFixture(t, sh(t, "2026-11-25 10:00"))
	id := f.arm(t, calendarDaysPolicy(), complaint(t))
	for _, days := range []int32{14, 16, 30} {
		_, err := f.s.ExtendDeadline(as(headOfficer), extend(days, "complex")(id))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "first extension is 15 days") {
			t.Errorf("a first extension by %d days: %v, want InvalidArgument", days, err)
		}
	}
	if _, err := f.s.ExtendDeadline(as(headOfficer), extend(15, "complex")(id)); err != nil {
		t.Fatal(err)
	}
	for _, days := range []int32{0, 31} {
		if _, err := f.s.ExtendDeadline(as(headOfficer), extend(days, "complex")(id)); status.Code(err) != codes.InvalidArgument {
			t.Errorf("a second extension by %d days: %v, want InvalidArgument", days, err)
		}
	}
	if _, err := f.s.ExtendDeadline(as(headOfficer), extend(15, " ")(id)); status.Code(err) != codes.InvalidArgument {
		t.Errorf("an extension without a reason: %v, want InvalidArgument", err)
	}
	if n := f.extensions(t, id); n != 1 {
		t.Fatalf("%d extensions recorded, want the one valid", n)
	}
}

func TestAnExtensionCountsTheLimitAgainOnItsOwnClockFromItsOwnStart(t *testing.T) {
	tests := []struct {
		name   string
		policy sla.Policy
		// due before, after the first (15) and after a second (30) extension
		due [3]string
	}{
		// Received Friday 2026-11-20. Day 15 is Saturday 12-05: the last day
		// moves to Monday 12-07, the limit ends at its 24:00. Day 30 is
		// Sunday 12-20 → Monday 12-21; day 60 is Tuesday 2027-01-19.
		{"calendar days, the civil-code way", calendarDaysPolicy(), [3]string{"2026-12-08 00:00", "2026-12-22 00:00", "2027-01-20 00:00"}},
		{"15×24 hours of wall time", wallClockPolicy(), [3]string{"2026-12-05 10:00", "2026-12-20 10:00", "2027-01-19 10:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newClockFixture(t, sh(t, "2026-11-25 10:00"))
			id := f.arm(t, tt.policy, complaint(t))
			before := f.deadlines(t, "bank-a", id)[sla.KindRegulatoryDecision]
			if !before.GetDueAt().AsTime().Equal(sh(t, tt.due[0])) {
				t.Fatalf("armed due %s, want %s", before.GetDueAt().AsTime().In(shanghai), tt.due[0])
			}
			for i, days := range []int32{15, 30} {
				resp, err := f.s.ExtendDeadline(as(headOfficer), extend(days, "complex")(id))
				if err != nil {
					t.Fatal(err)
				}
				d := resp.GetDeadline()
				if !d.GetDueAt().AsTime().Equal(sh(t, tt.due[i+1])) || !d.GetStartedAt().AsTime().Equal(before.GetStartedAt().AsTime()) ||
					d.GetClock() != before.GetClock() || d.GetExtensions() != int32(i+1) {
					t.Errorf("after extension %d: due %s from %s on %s, %d extensions; want due %s from the same start and clock",
						i+1, d.GetDueAt().AsTime().In(shanghai), d.GetStartedAt().AsTime().In(shanghai), d.GetClock(), d.GetExtensions(), tt.due[i+1])
				}
				if got := f.deadlines(t, "bank-a", id)[sla.KindRegulatoryDecision]; !proto.Equal(got, d) {
					t.Errorf("ListCaseDeadlines shows %v, the extension answered %v", got, d)
				}
			}
		})
	}
}

func TestAnExtensionMovesTheWarningsAndTheBreach(t *testing.T) {
	f := newClockFixture(t, sh(t, "2026-11-20 10:00"))
	id := f.arm(t, calendarDaysPolicy(), complaint(t))
	oldDue := sh(t, "2026-12-08 00:00")
	newDue := sh(t, "2026-12-22 00:00")
	fired := func(t *testing.T, at time.Time) []string {
		t.Helper()
		var out []string
		if _, err := f.s.Store.FireDue(context.Background(), at, 100, func(_ context.Context, _ pgx.Tx, fire timerpg.Fire) error {
			if fire.CaseID == id && fire.Kind == string(sla.KindRegulatoryDecision) {
				out = append(out, fire.Level)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// 50% of 17 days 14 hours: yellow on 11-29 at 05:00.
	if got := fired(t, sh(t, "2026-11-30 10:00")); strings.Join(got, ",") != "yellow" {
		t.Fatalf("by 11-30 the regulatory limit fired %v, want yellow", got)
	}
	f.now = sh(t, "2026-11-30 10:00")
	resp, err := f.s.ExtendDeadline(as(branchHead), extend(15, "complex")(id))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDeadline().GetLevel() != slatimerv1.WarningLevel_WARNING_LEVEL_NONE {
		t.Errorf("level after the extension %v: at 10 of 31½ days no warning level is reached", resp.GetDeadline().GetLevel())
	}
	// The new limit's warnings fall at its own fractions: yellow on 12-06
	// 05:00, orange 12-14 02:30, red 12-18 20:12.
	if got := fired(t, oldDue.Add(time.Hour)); strings.Join(got, ",") != "yellow" {
		t.Errorf("past the old due time the regulatory limit fired %v, want only the new limit's yellow (no breach)", got)
	}
	if got := fired(t, newDue.Add(-time.Second)); strings.Join(got, ",") != "orange,red" {
		t.Errorf("up to the new due time it fired %v, want the new limit's orange and red", got)
	}
	if got := fired(t, newDue); strings.Join(got, ",") != "breached" {
		t.Errorf("at the new due time it fired %v, want the breach", got)
	}
	if got := fired(t, newDue.Add(time.Hour)); len(got) != 0 {
		t.Errorf("after the breach it fired %v again", got)
	}
	d := f.deadlines(t, "bank-a", id)[sla.KindRegulatoryDecision]
	if d.GetState() != "breached" || d.GetLevel() != slatimerv1.WarningLevel_WARNING_LEVEL_BREACHED {
		t.Errorf("after the new due time: %v", d)
	}
	f.now = newDue.Add(time.Hour)
	if _, err := f.s.ExtendDeadline(as(headOfficer), extend(30, "too late")(id)); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("extending a limit that ran out: %v, want FailedPrecondition", err)
	}
}

func TestAnExtensionIsAnnouncedOnceAndKeepsTheReasonMasked(t *testing.T) {
	f := newClockFixture(t, sh(t, "2026-11-25 10:00"))
	id := f.arm(t, calendarDaysPolicy(), complaint(t))
	ctx := metadata.NewIncomingContext(as(branchHead), metadata.Pairs("idempotency-key", "ext-"+id))
	req := extend(15, "客户王先生13812345678要求调取监控，需等待总行答复")(id)
	for range 2 { // the second is a retry of the same request
		if _, err := f.s.ExtendDeadline(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.extensions(t, id); n != 1 {
		t.Fatalf("a retried request recorded %d extensions, want 1", n)
	}
	other := extend(15, "another reason")(id)
	if _, err := f.s.ExtendDeadline(ctx, other); status.Code(err) != codes.AlreadyExists {
		t.Errorf("the same Idempotency-Key with another reason: %v, want AlreadyExists", err)
	}

	var reason, approver, role string
	var days, seq int
	var oldDue, newDue time.Time
	if err := f.s.Store.Pool().QueryRow(context.Background(), `SELECT reason, approved_by, approver_role, days, seq, old_due_at, new_due_at
		FROM regulatory_extensions WHERE case_id = $1`, id).Scan(&reason, &approver, &role, &days, &seq, &oldDue, &newDue); err != nil {
		t.Fatal(err)
	}
	if reason != "客户王先生138****5678要求调取监控，需等待总行答复" {
		t.Errorf("stored reason %q, want the mobile number masked", reason)
	}
	if approver != "bh-1" || role != "branch_head" || days != 15 || seq != 1 ||
		!oldDue.Equal(sh(t, "2026-12-08 00:00")) || !newDue.Equal(sh(t, "2026-12-22 00:00")) {
		t.Errorf("recorded %s (%s), %d days, #%d, %s → %s", approver, role, days, seq, oldDue, newDue)
	}
	if _, err := f.s.Store.Pool().Exec(context.Background(), `UPDATE regulatory_extensions SET reason = 'x' WHERE case_id = $1`, id); err == nil {
		t.Error("an extension's record could be changed")
	}

	rows, err := f.s.Store.Pool().Query(context.Background(), `SELECT topic, msg_key, payload FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var recomputed []*eventsv1.Envelope
	for rows.Next() {
		var topic, key string
		var payload []byte
		if err := rows.Scan(&topic, &key, &payload); err != nil {
			t.Fatal(err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(payload, env); err != nil {
			t.Fatal(err)
		}
		if env.GetDeadlineRecomputed() != nil {
			if topic != "sla-events" || key != id {
				t.Errorf("DeadlineRecomputed on topic %s key %s, want sla-events keyed by the case", topic, key)
			}
			recomputed = append(recomputed, env)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(recomputed) != 1 {
		t.Fatalf("%d DeadlineRecomputed events, want 1", len(recomputed))
	}
	env := recomputed[0]
	ev := env.GetDeadlineRecomputed()
	if env.GetTenantId() != "bank-a" || env.GetCaseId() != id || ev.GetKind() != string(sla.KindRegulatoryDecision) ||
		ev.GetReason() != timergrpc.ReasonRegulatoryExtension || ev.GetReason() != "regulatory_extension" ||
		!ev.GetOldDueAt().AsTime().Equal(sh(t, "2026-12-08 00:00")) || !ev.GetNewDueAt().AsTime().Equal(sh(t, "2026-12-22 00:00")) ||
		ev.GetTimeZone() != "Asia/Shanghai" {
		t.Errorf("event = %v", env)
	}
	if strings.Contains(string(mustMarshal(t, env)), "13812345678") {
		t.Error("the event carries the reason's personal data")
	}
}

func TestWhatCannotBeExtended(t *testing.T) {
	f := newClockFixture(t, sh(t, "2026-11-25 10:00"))
	t.Run("a case that does not exist is not found", func(t *testing.T) {
		if _, err := f.s.ExtendDeadline(as(headOfficer), extend(15, "complex")(uuid.NewString())); status.Code(err) != codes.NotFound {
			t.Fatalf("ExtendDeadline = %v, want NotFound", err)
		}
	})
	t.Run("a counter exception has no regulatory limit", func(t *testing.T) {
		c := complaint(t)
		c.category = "CATEGORY_SYSTEM_FAILURE"
		id := f.arm(t, calendarDaysPolicy(), c)
		_, err := f.s.ExtendDeadline(as(headOfficer), extend(15, "complex")(id))
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "only complaints") {
			t.Fatalf("ExtendDeadline = %v, want FailedPrecondition", err)
		}
	})
	t.Run("a decided complaint has nothing left to extend", func(t *testing.T) {
		id := f.arm(t, calendarDaysPolicy(), complaint(t))
		if err := f.s.Store.Meet(context.Background(), nil, id, string(sla.KindRegulatoryDecision), sh(t, "2026-11-24 15:00")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.ExtendDeadline(as(headOfficer), extend(15, "complex")(id)); status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("ExtendDeadline = %v, want FailedPrecondition", err)
		}
	})
}

// extensions counts the extensions recorded for a case.
func (f *clockFixture) extensions(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := f.s.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM regulatory_extensions WHERE case_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
