// Protects the hand-over pick-up clock (首问负责制): a hand-over waiting to be picked up arms 15 business minutes, a claim meets it, every further hand-over starts it again, an unclaimed one breaches once, and an assignment delivered late never undoes a newer one.
package timerkafka

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const pickup = string(sla.KindHandoverPickup)

// handOver is routing's AssignmentMade for c: kind at when, waiting in the
// complaint managers' queue when pickupPending, else owned by a person.
func handOver(c newCase, kind string, pickupPending bool, when time.Time) *eventsv1.Envelope {
	am := &eventsv1.AssignmentMade{BranchId: c.branch, RegionId: c.region, Kind: kind, PickupPending: pickupPending,
		AssignedAt: timestamppb.New(when), ActorId: "tl-1"}
	if pickupPending {
		am.OwnerRole = "ROLE_COMPLAINT_MANAGER"
	} else {
		am.OwnerId = "cm-1"
	}
	return &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: c.tenant, CaseId: c.id,
		Type: "AssignmentMade", Producer: "routing", OccurredAt: timestamppb.New(when),
		Payload: &eventsv1.Envelope_AssignmentMade{AssignmentMade: am}}
}

// mondayCase is a normal case created Monday 2026-11-23 09:30 in Shanghai.
func mondayCase(t *testing.T) newCase {
	c := normalCase(t)
	c.createdAt = at(t, "2026-11-23 09:30")
	return c
}

// pickupFires returns the pick-up clock's fires, level → fire.
func (f *fixture) pickupFires(t *testing.T, caseID string) map[string]fireRow {
	t.Helper()
	out := map[string]fireRow{}
	for _, fr := range f.fires(t, caseID) {
		if fr.kind == pickup {
			out[fr.level] = fr
		}
	}
	return out
}

// pickupPlan is the pick-up clock's warnings and breach, level → time.
type pickupPlan map[string]time.Time

// wantPendingFires checks the pick-up clock has exactly plan's fires, all
// pending.
func (f *fixture) wantPendingFires(t *testing.T, caseID string, plan pickupPlan) {
	t.Helper()
	got := f.pickupFires(t, caseID)
	if len(got) != len(plan) {
		t.Errorf("pick-up clock has %d fires %v, want %d", len(got), got, len(plan))
	}
	for level, when := range plan {
		fr, ok := got[level]
		if !ok || !fr.fireAt.Equal(when) || fr.fired || fr.cancelled {
			t.Errorf("pick-up %s fire = %+v (present %v), want pending at %v", level, fr, ok, when.In(shanghai))
		}
	}
}

// armedPickups returns the pick-up due times announced by DeadlinesArmed
// events in the outbox, in order; every such event must list the pick-up
// clock alone.
func (f *fixture) armedPickups(t *testing.T) []time.Time {
	t.Helper()
	var out []time.Time
	for _, r := range f.outbox(t) {
		a := r.env.GetDeadlinesArmed()
		if a == nil || !slices.ContainsFunc(a.GetDeadlines(), func(d *eventsv1.ArmedDeadline) bool { return d.GetKind() == pickup }) {
			continue
		}
		if len(a.GetDeadlines()) != 1 || r.topic != eventbus.TopicSLAEvents || r.key != r.env.GetCaseId() ||
			r.env.GetProducer() != "slatimer" || r.env.GetType() != "DeadlinesArmed" || a.GetTimeZone() != "Asia/Shanghai" {
			t.Errorf("pick-up announced as %v on %q key %q, want a DeadlinesArmed of the pick-up alone on %s", r.env, r.topic, r.key, eventbus.TopicSLAEvents)
		}
		out = append(out, a.GetDeadlines()[0].GetDueAt().AsTime())
	}
	return out
}

// pickupEvents returns the pick-up clock's warnings and breaches in the
// outbox, in publication order.
func (f *fixture) pickupEvents(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range f.outbox(t) {
		if k, _, ok := fired(r.env); ok && k.kind == pickup {
			out = append(out, k.level)
		}
	}
	return out
}

// firePickup runs one fire pass at now and returns the pick-up levels it
// published (the case's other clocks fire too, unlooked at).
func (f *fixture) firePickup(t *testing.T, now time.Time) []string {
	t.Helper()
	before := len(f.pickupEvents(t))
	f.fireDue(t, now)
	return f.pickupEvents(t)[before:]
}

func TestAHandOverWaitingForPickUpArmsFifteenBusinessMinutes(t *testing.T) {
	tests := []struct {
		name       string
		handedOver string
		plan       map[string]string
	}{
		{"within opening hours it is due a quarter of an hour later", "2026-11-23 10:00",
			map[string]string{"yellow": "2026-11-23 10:07:30", "orange": "2026-11-23 10:11:15", "red": "2026-11-23 10:13:30", "breached": "2026-11-23 10:15"}},
		{"ten minutes before Friday's close it runs on from Monday's opening", "2026-11-27 16:50",
			map[string]string{"yellow": "2026-11-27 16:57:30", "orange": "2026-11-30 09:01:15", "red": "2026-11-30 09:03:30", "breached": "2026-11-30 09:05"}},
		{"on a Saturday it counts from Monday's opening", "2026-11-28 11:00",
			map[string]string{"yellow": "2026-11-30 09:07:30", "orange": "2026-11-30 09:11:15", "red": "2026-11-30 09:13:30", "breached": "2026-11-30 09:15"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := mondayCase(t)
			f.mustHandle(t, c.envelope())
			handedOver := at(t, tt.handedOver)
			f.mustHandle(t, handOver(c, "transfer", true, handedOver))

			plan := pickupPlan{}
			for level, s := range tt.plan {
				plan[level] = at(t, s)
			}
			d := f.deadline(t, c, sla.KindHandoverPickup)
			if !d.StartedAt.Equal(handedOver) || !d.DueAt.Equal(plan["breached"]) || d.Clock != string(sla.ClockBusinessHours) ||
				d.Level != "none" || d.MetAt != nil || d.Branch != c.branch || d.Region != c.region || d.TimeZone != "Asia/Shanghai" {
				t.Errorf("pick-up clock = started %v due %v clock %s level %q met %v branch %q region %q zone %q; want started %v due %v, business hours, running in %s/%s, Asia/Shanghai",
					d.StartedAt.In(shanghai), d.DueAt.In(shanghai), d.Clock, d.Level, d.MetAt, d.Branch, d.Region, d.TimeZone,
					handedOver, plan["breached"], c.branch, c.region)
			}
			f.wantPendingFires(t, c.id, plan)
			if got := f.armedPickups(t); len(got) != 1 || !got[0].Equal(plan["breached"]) {
				t.Errorf("pick-up announced due %v, want once, due %v", got, plan["breached"].In(shanghai))
			}
			// The case's other clocks are untouched.
			for _, w := range f.expected(t, sla.DefaultPolicy(), c) {
				if got := f.deadline(t, c, w.Kind); !got.DueAt.Equal(w.DueAt) || got.MetAt != nil {
					t.Errorf("%s due %v met %v after the hand-over, want due %v running", w.Kind, got.DueAt, got.MetAt, w.DueAt)
				}
			}
		})
	}
}

func TestAClaimMeetsThePickUpClockAndCancelsItsFires(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())
	f.mustHandle(t, handOver(c, "escalate", true, at(t, "2026-11-23 10:00")))
	if got := f.firePickup(t, at(t, "2026-11-23 10:08")); !slices.Equal(got, []string{"yellow"}) {
		t.Fatalf("pick-up fired %v at 10:08, want its yellow", got)
	}

	claimed := at(t, "2026-11-23 10:09")
	f.mustHandle(t, handOver(c, "claim", false, claimed))

	d := f.deadline(t, c, sla.KindHandoverPickup)
	if d.MetAt == nil || !d.MetAt.Equal(claimed) {
		t.Fatalf("pick-up met at %v, want the claim's %v", d.MetAt, claimed.In(shanghai))
	}
	if d.Level != "yellow" {
		t.Errorf("met pick-up level %q, want left at the yellow it reached", d.Level)
	}
	for level, fr := range f.pickupFires(t, c.id) {
		if level == "yellow" {
			if !fr.fired || fr.cancelled {
				t.Errorf("the yellow that fired: fired %v cancelled %v, want kept as fired", fr.fired, fr.cancelled)
			}
		} else if fr.fired || !fr.cancelled {
			t.Errorf("pick-up %s after the claim: fired %v cancelled %v, want cancelled", level, fr.fired, fr.cancelled)
		}
	}
	// Long after its due time the pick-up clock publishes nothing more.
	f.fireDue(t, at(t, "2026-11-23 12:00"))
	if got := f.pickupEvents(t); !slices.Equal(got, []string{"yellow"}) {
		t.Errorf("pick-up events = %v, want only the yellow fired before the claim", got)
	}
	if got := f.armedPickups(t); len(got) != 1 {
		t.Errorf("%d pick-up announcements, want the arming only (a claim announces nothing)", len(got))
	}
}

func TestAnAssignmentNeedingNoPickUpLeavesACaseWithoutAPickUpClockAlone(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())
	before := len(f.outbox(t))
	f.mustHandle(t, handOver(c, "assign", false, at(t, "2026-11-23 09:30")))
	f.mustHandle(t, handOver(c, "claim", false, at(t, "2026-11-23 09:40")))
	if n := f.count(t, `SELECT count(*) FROM deadlines WHERE case_id = $1 AND kind = $2`, c.id, pickup); n != 0 {
		t.Errorf("%d pick-up clocks stored for assignments that need no pick-up", n)
	}
	if got := len(f.outbox(t)) - before; got != 0 {
		t.Errorf("%d events published, want none", got)
	}
}

func TestASecondHandOverArmsThePickUpClockAgain(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())
	f.mustHandle(t, handOver(c, "transfer", true, at(t, "2026-11-23 10:00"))) // due 10:15
	if got := f.firePickup(t, at(t, "2026-11-23 10:08")); !slices.Equal(got, []string{"yellow"}) {
		t.Fatalf("pick-up fired %v at 10:08, want the first run's yellow", got)
	}

	// Passed on to another queue before anyone claimed it.
	second := at(t, "2026-11-23 10:10")
	f.mustHandle(t, handOver(c, "transfer", true, second))
	d := f.deadline(t, c, sla.KindHandoverPickup)
	if !d.StartedAt.Equal(second) || !d.DueAt.Equal(at(t, "2026-11-23 10:25")) || d.Level != "none" || d.MetAt != nil {
		t.Fatalf("after the second hand-over: started %v due %v level %q met %v; want started %v due 10:25, level none, running",
			d.StartedAt.In(shanghai), d.DueAt.In(shanghai), d.Level, d.MetAt, second.In(shanghai))
	}
	f.wantPendingFires(t, c.id, pickupPlan{"yellow": at(t, "2026-11-23 10:17:30"), "orange": at(t, "2026-11-23 10:21:15"),
		"red": at(t, "2026-11-23 10:23:30"), "breached": at(t, "2026-11-23 10:25")})
	if got := f.armedPickups(t); len(got) != 2 || !got[1].Equal(at(t, "2026-11-23 10:25")) {
		t.Fatalf("pick-up announcements %v, want two, the second due 10:25", got)
	}

	// The first run's orange, red and breach times pass: nothing fires.
	if got := f.firePickup(t, at(t, "2026-11-23 10:15")); len(got) != 0 {
		t.Fatalf("pick-up fired %v at the first run's breach time, want nothing", got)
	}
	// The second run fires in full, against its own due time.
	if got, want := f.firePickup(t, at(t, "2026-11-23 10:25")), []string{"yellow", "orange", "red", "breached"}; !slices.Equal(got, want) {
		t.Fatalf("pick-up fired %v at the second run's breach time, want %v", got, want)
	}
	if got, want := f.pickupEvents(t), []string{"yellow", "yellow", "orange", "red", "breached"}; !slices.Equal(got, want) {
		t.Fatalf("pick-up events = %v, want %v", got, want)
	}
	for _, r := range f.outbox(t) {
		if b := r.env.GetDeadlineBreached(); b != nil && b.GetKind() == pickup && !b.GetDueAt().AsTime().Equal(at(t, "2026-11-23 10:25")) {
			t.Errorf("pick-up breach announced due %v, want the second run's 10:25", b.GetDueAt().AsTime().In(shanghai))
		}
	}

	// Escalated on the breach into the branch head's queue, then claimed,
	// then handed over once more: each hand-over starts the clock afresh,
	// met or breached as it stood.
	f.mustHandle(t, handOver(c, "breach", true, at(t, "2026-11-23 10:26")))
	if d := f.deadline(t, c, sla.KindHandoverPickup); d.Level != "none" || !d.DueAt.Equal(at(t, "2026-11-23 10:41")) {
		t.Fatalf("after the escalation: level %q due %v, want none, due 10:41", d.Level, d.DueAt.In(shanghai))
	}
	f.mustHandle(t, handOver(c, "claim", false, at(t, "2026-11-23 10:30")))
	third := at(t, "2026-11-23 14:00")
	f.mustHandle(t, handOver(c, "return", true, third))
	d = f.deadline(t, c, sla.KindHandoverPickup)
	if !d.StartedAt.Equal(third) || d.MetAt != nil || d.Level != "none" || !d.DueAt.Equal(at(t, "2026-11-23 14:15")) {
		t.Fatalf("after a hand-over of a claimed case: started %v due %v level %q met %v; want running from 14:00, due 14:15",
			d.StartedAt.In(shanghai), d.DueAt.In(shanghai), d.Level, d.MetAt)
	}
	f.wantPendingFires(t, c.id, pickupPlan{"yellow": at(t, "2026-11-23 14:07:30"), "orange": at(t, "2026-11-23 14:11:15"),
		"red": at(t, "2026-11-23 14:13:30"), "breached": at(t, "2026-11-23 14:15")})
}

func TestAnUnclaimedHandOverBreachesOnce(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())
	f.mustHandle(t, handOver(c, "escalate", true, at(t, "2026-11-23 10:00"))) // due 10:15

	// Nobody claims it: the fire loop runs with its clock past the due time.
	now := at(t, "2026-11-23 10:16")
	f.firer.Now = func() time.Time { return now }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.firer.Run(ctx) }()
	waitUntil(t, 30*time.Second, "the pick-up breach is published", func() bool {
		return slices.Contains(f.pickupEvents(t), "breached")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// More passes, later still, add nothing.
	f.fireDue(t, at(t, "2026-11-23 10:16"))
	f.fireDue(t, at(t, "2026-11-23 10:20"))

	if got, want := f.pickupEvents(t), []string{"yellow", "orange", "red", "breached"}; !slices.Equal(got, want) {
		t.Fatalf("pick-up events = %v, want %v, each once", got, want)
	}
	var breaches int
	for _, r := range f.outbox(t) {
		b := r.env.GetDeadlineBreached()
		if b == nil || b.GetKind() != pickup {
			continue
		}
		breaches++
		if r.topic != eventbus.TopicSLAEvents || r.key != c.id || r.env.GetTenantId() != c.tenant || r.env.GetType() != "DeadlineBreached" ||
			!b.GetDueAt().AsTime().Equal(at(t, "2026-11-23 10:15")) || b.GetProvisional() {
			t.Errorf("pick-up breach = %v on %q key %q, want a DeadlineBreached of case %s due 10:15 on %s", r.env, r.topic, r.key, c.id, eventbus.TopicSLAEvents)
		}
	}
	if breaches != 1 {
		t.Errorf("%d DeadlineBreached %s, want exactly one", breaches, pickup)
	}
	if d := f.deadline(t, c, sla.KindHandoverPickup); d.Level != "breached" || d.MetAt != nil {
		t.Errorf("pick-up level %q met %v, want breached, unmet", d.Level, d.MetAt)
	}
}

func TestAnOlderAssignmentDeliveredAfterANewerOneChangesNothing(t *testing.T) {
	type step struct {
		kind    string
		pending bool
		when    string
	}
	tests := []struct {
		name  string
		first []step
		late  step
	}{
		{"the first hand-over after the second",
			[]step{{"transfer", true, "10:00"}, {"transfer", true, "10:10"}}, step{"transfer", true, "10:00"}},
		{"the hand-over after the claim that met it",
			[]step{{"transfer", true, "10:00"}, {"claim", false, "10:05"}}, step{"transfer", true, "10:00"}},
		{"a hand-over older than the claim that met the clock",
			[]step{{"transfer", true, "10:00"}, {"claim", false, "10:05"}}, step{"transfer", true, "10:03"}},
		{"a hand-over at the very time of the claim that met the clock",
			[]step{{"transfer", true, "10:00"}, {"claim", false, "10:05"}}, step{"escalate", true, "10:05"}},
		{"the claim of the first hand-over after the second hand-over",
			[]step{{"transfer", true, "10:00"}, {"claim", false, "10:05"}, {"transfer", true, "10:20"}}, step{"claim", false, "10:05"}},
		{"a claim older than the running hand-over",
			[]step{{"transfer", true, "10:00"}, {"transfer", true, "10:20"}}, step{"claim", false, "10:10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := mondayCase(t)
			f.mustHandle(t, c.envelope())
			for _, s := range tt.first {
				f.mustHandle(t, handOver(c, s.kind, s.pending, at(t, "2026-11-23 "+s.when)))
			}
			before := f.deadline(t, c, sla.KindHandoverPickup)
			fires := f.pickupFires(t, c.id)
			events := len(f.outbox(t))

			f.mustHandle(t, handOver(c, tt.late.kind, tt.late.pending, at(t, "2026-11-23 "+tt.late.when)))

			after := f.deadline(t, c, sla.KindHandoverPickup)
			if !after.StartedAt.Equal(before.StartedAt) || !after.DueAt.Equal(before.DueAt) || after.Level != before.Level ||
				(after.MetAt == nil) != (before.MetAt == nil) || after.MetAt != nil && !after.MetAt.Equal(*before.MetAt) {
				t.Errorf("pick-up clock changed from started %v due %v met %v level %q to started %v due %v met %v level %q",
					before.StartedAt, before.DueAt, before.MetAt, before.Level, after.StartedAt, after.DueAt, after.MetAt, after.Level)
			}
			if got := f.pickupFires(t, c.id); len(got) != len(fires) || !mapsEqual(got, fires) {
				t.Errorf("pick-up fires changed from %v to %v", fires, got)
			}
			if got := len(f.outbox(t)) - events; got != 0 {
				t.Errorf("%d events published for the late assignment, want none", got)
			}
		})
	}
}

func mapsEqual(a, b map[string]fireRow) bool {
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.fired != w.fired || v.cancelled != w.cancelled || !v.fireAt.Equal(w.fireAt) {
			return false
		}
	}
	return len(a) == len(b)
}

func TestAHandOverOfAClosedCaseArmsNothing(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())
	f.mustHandle(t, handOver(c, "transfer", true, at(t, "2026-11-23 10:00")))
	f.mustHandle(t, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id,
		Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
			Action: "withdraw", ActorId: "cm-1", At: timestamppb.New(at(t, "2026-11-23 10:05"))}}})
	events := len(f.outbox(t))

	f.mustHandle(t, handOver(c, "transfer", true, at(t, "2026-11-23 11:00")))

	d := f.deadline(t, c, sla.KindHandoverPickup)
	if d.MetAt == nil || !d.MetAt.Equal(at(t, "2026-11-23 10:05")) || !d.StartedAt.Equal(at(t, "2026-11-23 10:00")) {
		t.Errorf("pick-up of the withdrawn case: started %v met %v, want left as the withdrawal met it", d.StartedAt, d.MetAt)
	}
	if got := len(f.outbox(t)) - events; got != 0 {
		t.Errorf("%d events published for a hand-over of a withdrawn case, want none", got)
	}
}

func TestAHandOverSeenBeforeTheCaseIsArmedOnItsBranchAndKeptWhenTheCaseArrives(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	// Assignment-events and case-events are different topics: routing's
	// first assignment can arrive first.
	f.mustHandle(t, handOver(c, "assign", true, at(t, "2026-11-23 09:30")))
	d := f.deadline(t, c, sla.KindHandoverPickup)
	if !d.DueAt.Equal(at(t, "2026-11-23 09:45")) || d.Branch != c.branch || d.Region != c.region || d.TimeZone != "Asia/Shanghai" {
		t.Fatalf("pick-up before the case = due %v branch %q region %q zone %q; want due 09:45 in %s/%s, Asia/Shanghai",
			d.DueAt.In(shanghai), d.Branch, d.Region, d.TimeZone, c.branch, c.region)
	}
	f.mustHandle(t, c.envelope())
	for _, w := range f.expected(t, sla.DefaultPolicy(), c) {
		if got := f.deadline(t, c, w.Kind); !got.DueAt.Equal(w.DueAt) {
			t.Errorf("%s due %v, want %v", w.Kind, got.DueAt, w.DueAt)
		}
	}
	if got := f.deadline(t, c, sla.KindHandoverPickup); !got.DueAt.Equal(d.DueAt) {
		t.Errorf("the case's creation moved the pick-up clock to %v", got.DueAt)
	}
}

// Through the broker, as slatimer's consumer group reads assignment-events:
// a redelivered event applies once, and an older hand-over replayed after the
// claim that followed it changes nothing.
func TestAssignmentEventsThroughTheBrokerArmAndMeetThePickUpOnce(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := testinfra.Brokers(t)
	topic := testinfra.NewTopicName(t, eventbus.TopicAssignmentEvents)
	if err := eventbus.EnsureTopics(ctx, []string{broker}, testinfra.KafkaPartitions, topic, eventbus.DeadLetterTopic(topic)); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(broker), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, Transport: &kafka.Transport{}}
	t.Cleanup(func() { _ = w.Close() })
	publish := func(env *eventsv1.Envelope) {
		t.Helper()
		v, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMessages(ctx, kafka.Message{Topic: topic, Key: []byte(env.GetCaseId()), Value: v}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}

	handed := handOver(c, "transfer", true, at(t, "2026-11-23 10:00"))
	claimed := handOver(c, "claim", false, at(t, "2026-11-23 10:05"))
	replayed := handOver(c, "transfer", true, at(t, "2026-11-23 10:00")) // the hand-over again, under a new id
	last := handOver(c, "claim", false, at(t, "2026-11-23 10:06"))       // marks the end of the stream
	for _, env := range []*eventsv1.Envelope{handed, handed, claimed, replayed, last} {
		publish(env)
	}

	group := testinfra.NewTopicName(t, "slatimer")
	consumer := &eventbus.Consumer{Group: group, Topics: []string{topic}, Brokers: []string{broker}, Pool: f.pool,
		Handle: f.handler.Handle, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := consumer.Run(cctx); err != nil {
			t.Errorf("Consumer.Run: %v", err)
		}
	})
	t.Cleanup(func() { stop(); wg.Wait() })
	waitUntil(t, 90*time.Second, "the last assignment is applied", func() bool {
		return f.count(t, `SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = $2`, group, last.GetEventId()) == 1
	})

	if n := f.count(t, `SELECT count(*) FROM processed_events WHERE consumer = $1`, group); n != 4 {
		t.Errorf("%d events applied, want 4 (the redelivered copy skipped)", n)
	}
	d := f.deadline(t, c, sla.KindHandoverPickup)
	if d.MetAt == nil || !d.MetAt.Equal(at(t, "2026-11-23 10:05")) || !d.StartedAt.Equal(at(t, "2026-11-23 10:00")) {
		t.Errorf("pick-up started %v met %v, want started 10:00, met by the claim at 10:05", d.StartedAt, d.MetAt)
	}
	if got := f.armedPickups(t); len(got) != 1 || !got[0].Equal(at(t, "2026-11-23 10:15")) {
		t.Errorf("pick-up announcements %v, want one, due 10:15", got)
	}
	f.fireDue(t, at(t, "2026-11-23 10:20"))
	if got := f.pickupEvents(t); len(got) != 0 {
		t.Errorf("the met pick-up fired %v", got)
	}
}

func TestAHandOverIsCountedOnThePolicyInForceThen(t *testing.T) {
	f := newFixture(t)
	c := mondayCase(t)
	f.mustHandle(t, c.envelope())
	f.mustHandle(t, handOver(c, "transfer", true, at(t, "2026-11-23 10:00")))

	// The bank changes its policy: 10 minutes to pick up, two warnings.
	p := sla.DefaultPolicy()
	p.WarningFractions = []float64{0.5, 0.8}
	for i, r := range p.Rules {
		if r.Kind == sla.KindHandoverPickup {
			p.Rules[i].Duration = 10 * time.Minute
		}
	}
	if _, err := f.store.PutPolicy(context.Background(), c.tenant, "st-head-office", p, at(t, "2026-11-23 10:05")); err != nil {
		t.Fatal(err)
	}
	f.mustHandle(t, handOver(c, "transfer", true, at(t, "2026-11-23 10:10")))

	if d := f.deadline(t, c, sla.KindHandoverPickup); !d.DueAt.Equal(at(t, "2026-11-23 10:20")) {
		t.Errorf("pick-up due %v, want 10:20 on the new policy", d.DueAt.In(shanghai))
	}
	// The first run's red is gone, not left to fire.
	f.wantPendingFires(t, c.id, pickupPlan{"yellow": at(t, "2026-11-23 10:15"), "orange": at(t, "2026-11-23 10:18"), "breached": at(t, "2026-11-23 10:20")})
}
