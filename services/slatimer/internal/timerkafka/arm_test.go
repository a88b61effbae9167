// Protects arming at case creation: the policy's deadlines are stored with their fires and announced once, and acknowledgment meets its deadline.
package timerkafka

import (
	"context"
	"slices"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCaseCreatedArmsTheDeadlinesThePolicyComputes(t *testing.T) {
	base := []sla.Kind{sla.KindAcknowledge, sla.KindFirstAnswer, sla.KindResolution}
	tests := []struct {
		name   string
		modify func(*newCase)
		kinds  []sla.Kind
	}{
		{"a normal system failure gets acknowledge, first answer and resolution",
			func(*newCase) {}, base},
		{"a complaint also gets the regulatory decision limit",
			func(c *newCase) { c.category = casesv1.Category_CATEGORY_FEE_DISPUTE },
			append(slices.Clone(base), sla.KindRegulatoryDecision)},
		{"an equipment failure also gets the equipment response limit",
			func(c *newCase) { c.category = casesv1.Category_CATEGORY_EQUIPMENT_FAILURE },
			append(slices.Clone(base), sla.KindEquipmentResponse)},
		{"a major case also gets the written report to head office",
			func(c *newCase) { c.severity = casesv1.Severity_SEVERITY_MAJOR },
			append(slices.Clone(base), sla.KindMajorReport)},
		{"a major equipment failure gets both the response and the report",
			func(c *newCase) {
				c.category, c.severity = casesv1.Category_CATEGORY_EQUIPMENT_FAILURE, casesv1.Severity_SEVERITY_MAJOR
			},
			append(slices.Clone(base), sla.KindEquipmentResponse, sla.KindMajorReport)},
		{"a complex complaint received in the evening before a holiday week counts working days past the holiday",
			func(c *newCase) {
				c.category, c.severity = casesv1.Category_CATEGORY_PROCESSING_DELAY, casesv1.Severity_SEVERITY_COMPLEX
				c.createdAt = at(t, "2026-09-30 19:30")
			},
			append(slices.Clone(base), sla.KindRegulatoryDecision)},
		{"a branch in another time zone counts its working days in that zone",
			func(c *newCase) { c.timeZone = "Asia/Urumqi" }, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := normalCase(t)
			tt.modify(&c)
			f.mustHandle(t, c.envelope())

			want := f.expected(t, sla.DefaultPolicy(), c)
			var wantKinds []sla.Kind
			for _, d := range want {
				wantKinds = append(wantKinds, d.Kind)
			}
			if !sameKinds(wantKinds, tt.kinds) {
				t.Fatalf("sla.ArmAtCreation arms %v, the test expects %v", wantKinds, tt.kinds)
			}

			got, err := f.store.Deadlines(context.Background(), c.tenant, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("stored %d deadlines, want %d (%v)", len(got), len(want), tt.kinds)
			}
			fires := f.fires(t, c.id)
			for _, w := range want {
				d := f.deadline(t, c, w.Kind)
				if !d.DueAt.Equal(w.DueAt) || !d.StartedAt.Equal(w.StartedAt) || d.Clock != string(w.Clock) {
					t.Errorf("%s: stored due %v started %v clock %s, sla computes due %v started %v clock %s",
						w.Kind, d.DueAt.In(shanghai), d.StartedAt, d.Clock, w.DueAt.In(shanghai), w.StartedAt, w.Clock)
				}
				if d.Level != "none" || d.MetAt != nil || d.Branch != c.branch || d.Region != c.region {
					t.Errorf("%s: level %q met %v branch %q region %q, want none, unmet, %q, %q",
						w.Kind, d.Level, d.MetAt, d.Branch, d.Region, c.branch, c.region)
				}
				wantFires := map[string]time.Time{"breached": w.DueAt}
				for _, wr := range w.Warnings {
					wantFires[wr.Level] = wr.At
				}
				n := 0
				for _, fr := range fires {
					if fr.kind != string(w.Kind) {
						continue
					}
					n++
					if at, ok := wantFires[fr.level]; !ok || !fr.fireAt.Equal(at) || fr.fired || fr.cancelled {
						t.Errorf("%s %s fire at %v (fired %v, cancelled %v), want at %v pending", w.Kind, fr.level, fr.fireAt, fr.fired, fr.cancelled, at)
					}
				}
				if n != len(wantFires) {
					t.Errorf("%s has %d fires, want %d (yellow, orange, red, breached)", w.Kind, n, len(wantFires))
				}
			}

			out := f.outbox(t)
			if len(out) != 1 {
				t.Fatalf("outbox has %d events, want one DeadlinesArmed", len(out))
			}
			ev := out[0]
			armed := ev.env.GetDeadlinesArmed()
			if ev.topic != eventbus.TopicSLAEvents || ev.key != c.id || armed == nil ||
				ev.env.GetTenantId() != c.tenant || ev.env.GetCaseId() != c.id || ev.env.GetType() != "DeadlinesArmed" ||
				ev.env.GetProducer() != "slatimer" || armed.GetTimeZone() != c.timeZone {
				t.Fatalf("outbox event = topic %q key %q %v, want DeadlinesArmed of case %s on %s", ev.topic, ev.key, ev.env, c.id, eventbus.TopicSLAEvents)
			}
			if len(armed.GetDeadlines()) != len(want) {
				t.Fatalf("DeadlinesArmed lists %d deadlines, want %d", len(armed.GetDeadlines()), len(want))
			}
			for i, w := range want {
				a := armed.GetDeadlines()[i]
				if a.GetKind() != string(w.Kind) || !a.GetDueAt().AsTime().Equal(w.DueAt) {
					t.Errorf("DeadlinesArmed[%d] = %s due %v, want %s due %v", i, a.GetKind(), a.GetDueAt().AsTime(), w.Kind, w.DueAt)
				}
			}
		})
	}
}

func sameKinds(a, b []sla.Kind) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestCaseCreatedFridayMorningIsAnsweredByMondayAtClose(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t) // Friday 2026-11-20 10:00 +08:00, normal
	f.mustHandle(t, c.envelope())
	want := time.Date(2026, 11, 23, 17, 0, 0, 0, time.FixedZone("+08:00", 8*3600))
	if got := f.deadline(t, c, sla.KindFirstAnswer).DueAt; !got.Equal(want) {
		t.Fatalf("first answer due %v, want Monday %v", got.In(shanghai), want)
	}
}

func TestCaseCreatedWithoutATimeZoneIsCountedInShanghai(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	c.timeZone = ""
	f.mustHandle(t, c.envelope())
	want := at(t, "2026-11-23 17:00") // close of business in the default zone, not 17:00 UTC
	if got := f.deadline(t, c, sla.KindFirstAnswer).DueAt; !got.Equal(want) {
		t.Fatalf("first answer due %v (%v UTC), want %v", got.In(shanghai), got.UTC(), want)
	}
	if out := f.outbox(t); len(out) != 1 || out[0].env.GetDeadlinesArmed().GetTimeZone() != "Asia/Shanghai" {
		t.Fatalf("outbox = %v, want one DeadlinesArmed naming the zone used, Asia/Shanghai", out)
	}
}

func TestHandlingTheSameCaseCreatedAgainAddsNothing(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	env := c.envelope()
	f.mustHandle(t, env)
	counts := func() [3]int {
		return [3]int{
			f.count(t, `SELECT count(*) FROM deadlines`),
			f.count(t, `SELECT count(*) FROM timer_fires`),
			f.count(t, `SELECT count(*) FROM outbox`),
		}
	}
	first := counts()
	if first[0] == 0 || first[1] == 0 || first[2] != 1 {
		t.Fatalf("after the first CaseCreated: deadlines, fires, outbox = %v", first)
	}
	dueBefore := f.deadline(t, c, sla.KindResolution).DueAt

	f.mustHandle(t, env) // redelivered
	replay := c.envelope()
	replay.GetCaseCreated().CreatedAt = timestamppb.New(c.createdAt.Add(time.Hour)) // replayed from a later copy
	f.mustHandle(t, replay)

	if again := counts(); again != first {
		t.Fatalf("after handling the CaseCreated again: deadlines, fires, outbox = %v, want %v", again, first)
	}
	if got := f.deadline(t, c, sla.KindResolution).DueAt; !got.Equal(dueBefore) {
		t.Fatalf("resolution due moved from %v to %v", dueBefore, got)
	}
}

func TestCaseCreatedThatCanNeverBeArmedIsPermanentAndStoresNothing(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*newCase)
	}{
		{"an unknown business calendar", func(c *newCase) { c.calendarID = "atlantis" }},
		{"an unknown time zone", func(c *newCase) { c.timeZone = "Mars/Olympus_Mons" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := normalCase(t)
			tt.modify(&c)
			err := f.handle(t, c.envelope())
			if err == nil || !eventbus.IsPermanent(err) {
				t.Fatalf("Handle = %v, want a permanent error (dead-letter, not endless retry)", err)
			}
			if n := f.count(t, `SELECT count(*) FROM deadlines`) + f.count(t, `SELECT count(*) FROM outbox`); n != 0 {
				t.Fatalf("%d deadline/outbox rows stored for a case that could not be armed", n)
			}
		})
	}
}

func TestTenantPolicyReplacesTheDefault(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := sla.DefaultPolicy()
	for i, r := range p.Rules {
		if r.Kind == sla.KindFirstAnswer && r.Severity == "SEVERITY_NORMAL" {
			p.Rules[i].WorkingDays = 3
		}
	}
	if _, err := f.store.PutPolicy(ctx, "bank-a", "st-head-office", p, at(t, "2026-11-01 09:00")); err != nil {
		t.Fatal(err)
	}

	mine := normalCase(t) // bank-a, Friday 2026-11-20 10:00
	other := normalCase(t)
	other.tenant = "bank-b"
	f.mustHandle(t, mine.envelope())
	f.mustHandle(t, other.envelope())

	// Three working days after Friday: Monday, Tuesday, Wednesday.
	if got, want := f.deadline(t, mine, sla.KindFirstAnswer).DueAt, at(t, "2026-11-25 17:00"); !got.Equal(want) {
		t.Errorf("bank-a first answer due %v, want %v (its own 3 working days)", got.In(shanghai), want)
	}
	for _, w := range f.expected(t, p, mine) {
		if got := f.deadline(t, mine, w.Kind).DueAt; !got.Equal(w.DueAt) {
			t.Errorf("bank-a %s due %v, its policy computes %v", w.Kind, got.In(shanghai), w.DueAt)
		}
	}
	if got, want := f.deadline(t, other, sla.KindFirstAnswer).DueAt, at(t, "2026-11-23 17:00"); !got.Equal(want) {
		t.Errorf("bank-b first answer due %v, want the default %v", got.In(shanghai), want)
	}
}

func TestAcknowledgmentSentMeetsTheAcknowledgeDeadlineAndCancelsItsFires(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t) // acknowledge due 11:00: yellow 10:30, orange 10:45, red 10:54
	f.mustHandle(t, c.envelope())

	// The yellow warning fires before the acknowledgment goes out.
	if n := f.fireDue(t, at(t, "2026-11-20 10:31")); n != 1 {
		t.Fatalf("fired %d at 10:31, want the acknowledge yellow", n)
	}
	other := &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id,
		Payload: &eventsv1.Envelope_NotificationSent{NotificationSent: &eventsv1.NotificationSent{
			NotificationId: uuid.NewString(), Channel: "sms", Template: "case_resolved", SentAt: timestamppb.New(at(t, "2026-11-20 10:32")),
		}}}
	f.mustHandle(t, other)
	if d := f.deadline(t, c, sla.KindAcknowledge); d.MetAt != nil {
		t.Fatalf("a %q notification met the acknowledge deadline", "case_resolved")
	}

	sentAt := at(t, "2026-11-20 10:40")
	ack := &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id,
		Payload: &eventsv1.Envelope_NotificationSent{NotificationSent: &eventsv1.NotificationSent{
			NotificationId: uuid.NewString(), Channel: "sms", Template: "case_acknowledgment", SentAt: timestamppb.New(sentAt),
		}}}
	f.mustHandle(t, ack)

	d := f.deadline(t, c, sla.KindAcknowledge)
	if d.MetAt == nil || !d.MetAt.Equal(sentAt) {
		t.Fatalf("acknowledge met at %v, want %v", d.MetAt, sentAt)
	}
	for _, fr := range f.fires(t, c.id) {
		switch {
		case fr.kind != string(sla.KindAcknowledge):
			if fr.cancelled {
				t.Errorf("%s %s fire cancelled by the acknowledgment", fr.kind, fr.level)
			}
		case fr.level == "yellow":
			if !fr.fired || fr.cancelled {
				t.Errorf("the yellow that already fired: fired %v cancelled %v, want kept as fired", fr.fired, fr.cancelled)
			}
		default:
			if fr.fired || !fr.cancelled {
				t.Errorf("acknowledge %s: fired %v cancelled %v, want cancelled", fr.level, fr.fired, fr.cancelled)
			}
		}
	}

	// Long after every deadline of the case, the acknowledge never fires again;
	// the other deadlines still do.
	before := len(f.outbox(t))
	f.fireDue(t, at(t, "2027-03-01 00:00"))
	for _, ev := range f.outbox(t)[before:] {
		kind := ev.env.GetDeadlineWarned().GetKind() + ev.env.GetDeadlineBreached().GetKind()
		if kind == string(sla.KindAcknowledge) {
			t.Errorf("acknowledge fired after it was met: %v", ev.env)
		}
	}
	if got, want := len(f.outbox(t))-before, 8; got != want {
		t.Errorf("%d events fired for first answer and resolution, want %d (4 each)", got, want)
	}
	if d := f.deadline(t, c, sla.KindAcknowledge); d.Level != "yellow" {
		t.Errorf("met acknowledge level = %q, want it left at yellow", d.Level)
	}
}

// The lifecycle's steps meet the clocks they end: the answer meets the
// acknowledgment, first-answer and regulator's deadlines (not the
// resolution); closing ends every clock still running; other steps meet
// nothing.
func TestLifecycleStepsMeetTheirDeadlines(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	step := func(action string, when string) time.Time {
		at := at(t, when)
		f.mustHandle(t, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id,
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: action, ActorId: "cm-1", At: timestamppb.New(at)}}})
		return at
	}
	step("startVerification", "2026-11-20 10:10")
	// Acknowledged in person at the counter: the customer has no e-mail.
	acked := step("acknowledge", "2026-11-20 10:15")
	if d := f.deadline(t, c, sla.KindAcknowledge); d.MetAt == nil || !d.MetAt.Equal(acked) {
		t.Errorf("acknowledge met at %v, want the in-person acknowledgment's %v", d.MetAt, acked)
	}
	step("awaitCustomer", "2026-11-20 10:20")
	if d := f.deadline(t, c, sla.KindFirstAnswer); d.MetAt != nil {
		t.Fatal("a step before the answer met the first-answer deadline")
	}
	answered := step("answer", "2026-11-20 11:30")
	if d := f.deadline(t, c, sla.KindFirstAnswer); d.MetAt == nil || !d.MetAt.Equal(answered) {
		t.Errorf("first answer met at %v, want the answer's %v", d.MetAt, answered)
	}
	if d := f.deadline(t, c, sla.KindAcknowledge); !d.MetAt.Equal(acked) {
		t.Errorf("the answer moved the acknowledgment's met time to %v", d.MetAt)
	}
	if d := f.deadline(t, c, sla.KindResolution); d.MetAt != nil {
		t.Errorf("the answer met the resolution deadline")
	}
	closed := step("close", "2026-11-24 09:00")
	if d := f.deadline(t, c, sla.KindResolution); d.MetAt == nil || !d.MetAt.Equal(closed) {
		t.Errorf("resolution met at %v, want the close's %v", d.MetAt, closed)
	}
	if d := f.deadline(t, c, sla.KindFirstAnswer); !d.MetAt.Equal(answered) {
		t.Errorf("closing moved the first answer's met time to %v", d.MetAt)
	}
}

// Waiting for the customer pauses the answer and resolution clocks: they
// do not fire while paused, and resume counted from a start moved on by the
// work time paused (announced as a recount); a reopened case's answer and
// resolution clocks start again from the reopening.
func TestWaitingPausesAndReopeningRestartsTheCustomerClocks(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t) // Friday 2026-11-20 10:00; first answer Monday 23 17:00
	f.mustHandle(t, c.envelope())
	step := func(action, when string) {
		f.mustHandle(t, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id,
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: action, ActorId: "cm-1", At: timestamppb.New(at(t, when))}}})
	}
	before := f.deadline(t, c, sla.KindFirstAnswer).DueAt
	step("awaitCustomer", "2026-11-20 11:00")
	// Long past the old due time nothing of the paused clocks fires.
	out := len(f.outbox(t))
	f.fireDue(t, at(t, "2026-11-25 12:00"))
	for _, ev := range f.outbox(t)[out:] {
		k := ev.env.GetDeadlineWarned().GetKind() + ev.env.GetDeadlineBreached().GetKind()
		if k == string(sla.KindFirstAnswer) || k == string(sla.KindResolution) {
			t.Errorf("a paused clock fired: %v", ev.env)
		}
	}
	// Resumed on Wednesday 25 at 10:00: three working days later.
	out = len(f.outbox(t))
	step("resumeFromCustomer", "2026-11-25 10:00")
	after := f.deadline(t, c, sla.KindFirstAnswer).DueAt
	if !after.After(before) {
		t.Fatalf("first answer due %v after the pause, was %v: want later", after, before)
	}
	var recomputed int
	for _, ev := range f.outbox(t)[out:] {
		if r := ev.env.GetDeadlineRecomputed(); r != nil && r.GetReason() == ReasonResumed {
			recomputed++
		}
	}
	if recomputed != len(customerClocks) {
		t.Errorf("%d recounts announced on resuming, want %d", recomputed, len(customerClocks))
	}
	// Answered and closed, then reopened: the answer clock runs again.
	step("answer", "2026-11-26 10:00")
	step("close", "2026-11-27 10:00")
	step("reopen", "2026-12-01 10:00")
	d := f.deadline(t, c, sla.KindFirstAnswer)
	if d.MetAt != nil || !d.StartedAt.Equal(at(t, "2026-12-01 10:00")) || !d.DueAt.After(at(t, "2026-12-01 10:00")) {
		t.Errorf("after reopening: started %v due %v met %v, want running from the reopening", d.StartedAt, d.DueAt, d.MetAt)
	}
}
