package timerkafka

import (
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// transition is intake's CaseTransitioned of c for action at when, with the
// case's severity and branch as they are after the step.
func (c newCase) transition(t *testing.T, action, when string) *eventsv1.Envelope {
	return &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id, Type: "CaseTransitioned", Producer: "intake",
		Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
			Action: action, ActorId: "cm-1", At: timestamppb.New(at(t, when)), BranchId: c.branch, RegionId: c.region,
			Category: c.category, Severity: c.severity, Channel: casesv1.Channel_CHANNEL_ON_SITE,
			CalendarId: c.calendarID, TimeZone: c.timeZone}}}
}

// recomputedWith counts the DeadlineRecomputed events of reason from outbox
// row from on, by kind.
func (f *fixture) recomputedWith(t *testing.T, from int, reason string) map[string]*eventsv1.DeadlineRecomputed {
	t.Helper()
	out := map[string]*eventsv1.DeadlineRecomputed{}
	for _, r := range f.outbox(t)[from:] {
		if ev := r.env.GetDeadlineRecomputed(); ev != nil {
			if ev.GetReason() != reason {
				t.Errorf("DeadlineRecomputed of %s with reason %q, want %q", ev.GetKind(), ev.GetReason(), reason)
			}
			if out[ev.GetKind()] != nil {
				t.Errorf("%s recomputed twice", ev.GetKind())
			}
			out[ev.GetKind()] = ev
		}
	}
	return out
}

// Waiting for an external appraisal pauses the answer and resolution
// clocks as waiting for the customer does: nothing of them warns or
// breaches while paused, and on resuming they are counted from a start
// moved on by the work time paused, announced as "resumed_after_appraisal".
func TestAnAppraisalPausesTheClocksAndItsTimeIsExcluded(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t) // Friday 2026-11-20 10:00; first answer Monday 17:00
	f.mustHandle(t, c.envelope())
	basis := f.deadlineBasis(t, c, sla.KindFirstAnswer)
	f.mustHandle(t, c.transition(t, "awaitAppraisal", "2026-11-20 11:00"))
	if d := f.deadline(t, c, sla.KindFirstAnswer); d.MetAt != nil {
		t.Fatal("awaiting an appraisal met the first answer")
	}
	out := len(f.outbox(t))
	// Past the first answer's yellow (Friday 14:00), its breach and the
	// resolution's warnings: nothing of the paused clocks fires.
	f.fireDue(t, at(t, "2026-11-25 12:00"))
	for _, ev := range f.outbox(t)[out:] {
		k := ev.env.GetDeadlineWarned().GetKind() + ev.env.GetDeadlineBreached().GetKind()
		if k == string(sla.KindFirstAnswer) || k == string(sla.KindResolution) {
			t.Errorf("a clock paused for an appraisal fired: %v", ev.env)
		}
	}
	out = len(f.outbox(t))
	f.mustHandle(t, c.transition(t, "resumeFromAppraisal", "2026-11-25 10:00"))
	cal := f.branchCalendar(t, "bank-a", "br-1")
	// Paused Friday 11:00 to Wednesday 10:00: 6 + 8 + 8 + 1 work hours.
	paused := cal.BusinessTimeBetween(at(t, "2026-11-20 11:00"), at(t, "2026-11-25 10:00"))
	if paused != 23*time.Hour {
		t.Fatalf("paused work time %v, want 23h", paused)
	}
	// Started Friday 10:00, moved on by 23 work hours (7 + 8 + 8):
	// Tuesday 17:00; one working day on, Wednesday 17:00.
	if got := f.deadline(t, c, sla.KindFirstAnswer); !got.StartedAt.Equal(at(t, "2026-11-24 17:00")) || !got.DueAt.Equal(at(t, "2026-11-25 17:00")) {
		t.Errorf("first answer after the appraisal from %s due %s, want from Tuesday 17:00 due Wednesday 17:00", got.StartedAt, got.DueAt)
	}
	want, err := sla.Recount(sla.KindFirstAnswer, basis, cal, at(t, "2026-11-24 17:00"))
	if err != nil {
		t.Fatal(err)
	}
	ev := f.recomputedWith(t, out, ReasonResumedAppraisal)
	if len(ev) != len(customerClocks) {
		t.Errorf("recounts announced on resuming: %v, want the %d customer clocks", ev, len(customerClocks))
	}
	// Running again: its warnings fire at their new times, not before.
	out = len(f.outbox(t))
	f.fireDue(t, at(t, "2026-11-25 11:00"))
	for _, e := range f.outbox(t)[out:] {
		if e.env.GetDeadlineWarned().GetKind() == string(sla.KindFirstAnswer) && want.Warnings[0].At.After(at(t, "2026-11-25 11:00")) {
			t.Errorf("warned before its new time: %v", e.env)
		}
	}
}

// Reclassified normal to complex on the day of receipt, the first answer
// goes from 1 to 5 working days from the same start, announced once as
// "complexity_changed"; the resolution (7 working days whatever the
// complexity) does not move and is not announced. Redelivered, nothing
// more is announced. Made major, the written-report deadline is armed.
func TestReclassifyCountsTheAnswerAgainForTheNewComplexity(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	if got := f.deadline(t, c, sla.KindFirstAnswer).DueAt; !got.Equal(at(t, "2026-11-23 17:00")) {
		t.Fatalf("first answer armed due %s", got)
	}
	resolution := f.deadline(t, c, sla.KindResolution).DueAt
	out := len(f.outbox(t))
	c.severity = casesv1.Severity_SEVERITY_COMPLEX
	env := c.transition(t, "reclassify", "2026-11-20 12:00")
	f.mustHandle(t, env)
	d := f.deadline(t, c, sla.KindFirstAnswer)
	if !d.DueAt.Equal(at(t, "2026-11-27 17:00")) || !d.StartedAt.Equal(c.createdAt) {
		t.Errorf("complex first answer due %s from %s, want Friday 2026-11-27 17:00 from the receipt", d.DueAt, d.StartedAt)
	}
	if got := f.deadline(t, c, sla.KindResolution).DueAt; !got.Equal(resolution) {
		t.Errorf("resolution moved to %s", got)
	}
	ev := f.recomputedWith(t, out, ReasonComplexity)
	if len(ev) != 1 || ev[string(sla.KindFirstAnswer)] == nil ||
		!ev[string(sla.KindFirstAnswer)].GetOldDueAt().AsTime().Equal(at(t, "2026-11-23 17:00")) ||
		!ev[string(sla.KindFirstAnswer)].GetNewDueAt().AsTime().Equal(at(t, "2026-11-27 17:00")) {
		t.Errorf("DeadlineRecomputed %v, want one for the first answer, 23rd to 27th", ev)
	}
	// The breach and warnings follow.
	for _, fr := range f.fires(t, c.id) {
		if fr.kind == string(sla.KindFirstAnswer) && fr.level == "breached" && !fr.fireAt.Equal(at(t, "2026-11-27 17:00")) {
			t.Errorf("first answer breach fires at %s", fr.fireAt)
		}
	}
	f.mustHandle(t, c.transition(t, "reclassify", "2026-11-20 12:00"))
	if n := len(f.recomputedWith(t, out, ReasonComplexity)); n != 1 {
		t.Errorf("%d announcements after a redelivery, want still 1", n)
	}

	// Major: the report is due two hours after the reclassification.
	out = len(f.outbox(t))
	c.severity = casesv1.Severity_SEVERITY_MAJOR
	f.mustHandle(t, c.transition(t, "reclassify", "2026-11-20 13:00"))
	if got := f.deadline(t, c, sla.KindMajorReport).DueAt; !got.Equal(at(t, "2026-11-20 15:00")) {
		t.Errorf("major report due %s, want 15:00", got)
	}
	var armed int
	for _, r := range f.outbox(t)[out:] {
		if a := r.env.GetDeadlinesArmed(); a != nil && len(a.GetDeadlines()) == 1 && a.GetDeadlines()[0].GetKind() == string(sla.KindMajorReport) {
			armed++
		}
	}
	if armed != 1 {
		t.Errorf("%d DeadlinesArmed of the major report, want 1", armed)
	}
	// Complex to major keeps 5 working days: nothing moves.
	if got := f.deadline(t, c, sla.KindFirstAnswer).DueAt; !got.Equal(at(t, "2026-11-27 17:00")) {
		t.Errorf("first answer moved to %s", got)
	}
}

// A paused clock reclassified stays paused, with the new rule: resumed, it
// is counted on the new rule from a start moved on by the pause.
func TestReclassifyWhilePausedKeepsThePause(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	f.mustHandle(t, c.transition(t, "awaitCustomer", "2026-11-20 11:00"))
	c.severity = casesv1.Severity_SEVERITY_COMPLEX
	f.mustHandle(t, c.transition(t, "reclassify", "2026-11-20 12:00"))
	if n := f.count(t, `SELECT count(*) FROM deadlines WHERE case_id = $1 AND paused_at IS NOT NULL`, c.id); n != 2 {
		t.Fatalf("%d paused deadlines after reclassifying, want 2", n)
	}
	f.mustHandle(t, c.transition(t, "resumeFromCustomer", "2026-11-23 11:00")) // 6 + 2 work hours paused
	// Start Friday 10:00 + 8 work hours = Monday 10:00; 5 working days: Monday 30th.
	if got := f.deadline(t, c, sla.KindFirstAnswer); !got.DueAt.Equal(at(t, "2026-11-30 17:00")) {
		t.Errorf("first answer after the pause due %s from %s, want 2026-11-30 17:00 (%+v)", got.DueAt, got.StartedAt, f.deadlineBasis(t, c, sla.KindFirstAnswer))
	}
}

// Moved to a branch closed on Monday, the working-day deadlines are counted
// on the new branch's calendar (a day later), announced as
// "branch_changed", and belong to the new branch; the wall-clock
// acknowledgment does not move.
func TestMoveBranchCountsOnTheNewBranchsCalendar(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t) // br-1
	f.mustHandle(t, c.envelope())
	f.closeBranch(t, "bank-a", "br-2", "2026-11-23", "2026-11-23")
	ack := f.deadline(t, c, sla.KindAcknowledge).DueAt
	out := len(f.outbox(t))
	c.branch = "br-2"
	f.mustHandle(t, c.transition(t, "moveBranch", "2026-11-20 12:00"))
	if got := f.deadline(t, c, sla.KindFirstAnswer); !got.DueAt.Equal(at(t, "2026-11-24 17:00")) || got.Branch != "br-2" {
		t.Errorf("first answer at the new branch due %s (branch %s), want Tuesday 17:00 at br-2", got.DueAt, got.Branch)
	}
	if got := f.deadline(t, c, sla.KindResolution).DueAt; !got.Equal(at(t, "2026-12-02 17:00")) {
		t.Errorf("resolution at the new branch due %s, want 2026-12-02 17:00", got)
	}
	if got := f.deadline(t, c, sla.KindAcknowledge); !got.DueAt.Equal(ack) || got.Branch != "br-2" {
		t.Errorf("acknowledgment %s at %s, want unmoved at br-2", got.DueAt, got.Branch)
	}
	ev := f.recomputedWith(t, out, ReasonBranch)
	if len(ev) != 2 || ev[string(sla.KindFirstAnswer)] == nil || ev[string(sla.KindResolution)] == nil {
		t.Errorf("DeadlineRecomputed %v, want the first answer and the resolution", ev)
	}
	// A closure of the old branch no longer moves them.
	f.closeBranch(t, "bank-a", "br-1", "2026-11-24", "2026-11-24")
	if got := f.deadline(t, c, sla.KindFirstAnswer).DueAt; !got.Equal(at(t, "2026-11-24 17:00")) {
		t.Errorf("the old branch's closure moved the first answer to %s", got)
	}
}
