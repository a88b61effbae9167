// Protects invariant 3: a timer fires once, never early, within a few ticks, across replicas and across restarts.
package timerkafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fireKey names one fire of one case.
type fireKey struct{ caseID, kind, level string }

func (k fireKey) String() string { return k.kind + "/" + k.level }

// fired returns the fire an sla event announces, and whether it is one.
func fired(env *eventsv1.Envelope) (fireKey, time.Time, bool) {
	switch {
	case env.GetDeadlineWarned() != nil:
		w := env.GetDeadlineWarned()
		return fireKey{env.GetCaseId(), w.GetKind(), w.GetLevel()}, w.GetDueAt().AsTime(), true
	case env.GetDeadlineBreached() != nil:
		b := env.GetDeadlineBreached()
		return fireKey{env.GetCaseId(), b.GetKind(), "breached"}, b.GetDueAt().AsTime(), true
	}
	return fireKey{}, time.Time{}, false
}

// firedEvents returns the fire events in the outbox, in publication order.
func (f *fixture) firedEvents(t *testing.T) []fireKey {
	t.Helper()
	var out []fireKey
	for _, r := range f.outbox(t) {
		if k, _, ok := fired(r.env); ok {
			out = append(out, k)
		}
	}
	return out
}

// plannedFire is a fire sla.ArmAtCreation schedules.
type plannedFire struct {
	kind, level string
	at, due     time.Time
}

func planned(ds []sla.Deadline) []plannedFire {
	var out []plannedFire
	for _, d := range ds {
		for _, w := range d.Warnings {
			out = append(out, plannedFire{string(d.Kind), w.Level, w.At, d.DueAt})
		}
		out = append(out, plannedFire{string(d.Kind), "breached", d.DueAt, d.DueAt})
	}
	slices.SortStableFunc(out, func(a, b plannedFire) int { return a.at.Compare(b.at) })
	return out
}

func TestTimersFireOnceAtTheirTimeNeverEarly(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	plan := planned(f.expected(t, sla.DefaultPolicy(), c))
	if len(plan) != 12 {
		t.Fatalf("planned %d fires, want 12 (3 deadlines x yellow, orange, red, breached)", len(plan))
	}

	seen := 0 // outbox rows already checked
	if out := f.outbox(t); len(out) != 1 {
		t.Fatalf("outbox after arming has %d events, want the DeadlinesArmed only", len(out))
	} else {
		seen = 1
	}
	for i := 0; i < len(plan); {
		when := plan[i].at
		var group []plannedFire
		for ; i < len(plan) && plan[i].at.Equal(when); i++ {
			group = append(group, plan[i])
		}
		name := fmt.Sprintf("%s %s at %v", group[0].kind, group[0].level, when.In(shanghai))

		if n := f.fireDue(t, when.Add(-time.Nanosecond)); n != 0 {
			t.Fatalf("%s: %d fired 1ns early", name, n)
		}
		if n := f.fireDue(t, when); n != len(group) {
			t.Fatalf("%s: fired %d at its time, want %d", name, n, len(group))
		}
		if n := f.fireDue(t, when); n != 0 {
			t.Fatalf("%s: %d fired again at the same time", name, n)
		}

		out := f.outbox(t)
		if len(out)-seen != len(group) {
			t.Fatalf("%s: %d new outbox events, want %d", name, len(out)-seen, len(group))
		}
		for j, g := range group {
			ev := out[seen+j]
			k, due, ok := fired(ev.env)
			want := fireKey{c.id, g.kind, g.level}
			if !ok || k != want || !due.Equal(g.due) || ev.topic != eventbus.TopicSLAEvents || ev.key != c.id ||
				ev.env.GetTenantId() != c.tenant || ev.env.GetProducer() != "slatimer" {
				t.Fatalf("%s: outbox event %v on %q key %q, want %v due %v on %s", name, ev.env, ev.topic, ev.key, want, g.due, eventbus.TopicSLAEvents)
			}
			wantType := "DeadlineWarned"
			if g.level == "breached" {
				wantType = "DeadlineBreached"
			}
			if ev.env.GetType() != wantType {
				t.Fatalf("%s: event type %q, want %q", name, ev.env.GetType(), wantType)
			}
			if lvl := f.deadline(t, c, sla.Kind(g.kind)).Level; lvl != g.level {
				t.Fatalf("%s: deadline level %q, want %q", name, lvl, g.level)
			}
		}
		seen = len(out)
	}
	if n := f.count(t, `SELECT count(*) FROM timer_fires WHERE fired_at IS NULL`); n != 0 {
		t.Fatalf("%d fires never fired", n)
	}
}

func TestFireWhoseEventFailsIsNotMarkedFiredAndFiresOnRetry(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	yellow := at(t, "2026-11-20 10:30") // acknowledge: half of one hour

	calls := 0
	failing := func(ctx context.Context, tx pgx.Tx, fire timerpg.Fire) error {
		calls++
		if err := f.firer.publish(ctx, tx, fire); err != nil { // the event is written, then the transaction fails
			return err
		}
		return errors.New("simulated failure after writing the event")
	}
	n, err := f.store.FireDue(context.Background(), yellow, 100, failing)
	if err == nil {
		t.Fatalf("FireDue with a failing callback = %d, nil; want the error", n)
	}
	if calls != 1 {
		t.Fatalf("callback called %d times, want once for the acknowledge yellow", calls)
	}
	if n := f.count(t, `SELECT count(*) FROM timer_fires WHERE fired_at IS NOT NULL`); n != 0 {
		t.Fatalf("%d fires marked fired although their event was rolled back", n)
	}
	if lvl := f.deadline(t, c, sla.KindAcknowledge).Level; lvl != "none" {
		t.Fatalf("acknowledge level %q after a rolled-back fire, want none", lvl)
	}
	if evs := f.firedEvents(t); len(evs) != 0 {
		t.Fatalf("outbox holds %v from a rolled-back fire", evs)
	}

	if n := f.fireDue(t, yellow); n != 1 {
		t.Fatalf("retry fired %d, want the acknowledge yellow", n)
	}
	if evs := f.firedEvents(t); len(evs) != 1 || evs[0] != (fireKey{c.id, string(sla.KindAcknowledge), "yellow"}) {
		t.Fatalf("fire events after the retry = %v, want the acknowledge yellow once", evs)
	}
}

func TestReplicasShareDueFiresWithoutFiringTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const cases, replicas, limit = 50, 4, 10
	base := at(t, "2026-11-20 10:00")
	// Each case has one deadline with yellow, orange, red and breached due one
	// second apart, so the fires of one deadline sit next to each other and
	// end up split across replicas' batches.
	for i := range cases {
		start := base.Add(time.Duration(4*i) * time.Second)
		d := sla.Deadline{Kind: sla.KindAcknowledge, Clock: sla.ClockCalendar, StartedAt: start, DueAt: start.Add(3 * time.Second),
			Warnings: []sla.Warning{{Level: sla.LevelYellow, At: start}, {Level: sla.LevelOrange, At: start.Add(time.Second)}, {Level: sla.LevelRed, At: start.Add(2 * time.Second)}}}
		tx, err := f.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Arm(ctx, tx, timerpg.CaseRef{ID: uuid.NewString(), Tenant: "bank-a", Branch: "br-1", Region: "rg-1"}, []sla.Deadline{d}, 0); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM timer_fires`); n != 4*cases {
		t.Fatalf("armed %d fires, want %d", n, 4*cases)
	}

	now := base.Add(time.Hour)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var errs sync.Map
	perReplica := make([]int, replicas)
	for r := range replicas {
		wg.Go(func() {
			for {
				n, err := f.store.FireDue(ctx, now, limit, f.firer.publish)
				if err != nil {
					errs.Store(err.Error(), r)
					if ctx.Err() != nil {
						return
					}
					continue // a replica retries on its next tick
				}
				perReplica[r] += n
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("fires per replica: %v", perReplica)
	errs.Range(func(k, v any) bool {
		t.Errorf("replica %d: FireDue failed (a replica stalled, so fires ran late): %v", v, k)
		return true
	})

	if n := f.count(t, `SELECT count(*) FROM timer_fires WHERE fired_at IS NULL`); n != 0 {
		t.Fatalf("%d fires left unfired", n)
	}
	perFire := map[fireKey]int{}
	for _, k := range f.firedEvents(t) {
		perFire[k]++
	}
	if len(perFire) != 4*cases {
		t.Errorf("%d distinct fires published, want %d", len(perFire), 4*cases)
	}
	for k, n := range perFire {
		if n != 1 {
			t.Errorf("case %s %v published %d times, want once", k.caseID, k, n)
		}
	}
	if total := perReplica[0] + perReplica[1] + perReplica[2] + perReplica[3]; total != 4*cases {
		t.Errorf("replicas report %d fires, want %d", total, 4*cases)
	}
	if n := f.count(t, `SELECT count(*) FROM deadlines WHERE level <> 'breached'`); n != 0 {
		t.Errorf("%d breached deadlines show a lower level: a late-committing replica moved the level back", n)
	}
	order := map[string][]string{}
	for _, k := range f.firedEvents(t) {
		order[k.caseID] = append(order[k.caseID], k.level)
	}
	for id, levels := range order {
		if !slices.Equal(levels, []string{"yellow", "orange", "red", "breached"}) {
			t.Errorf("case %s events published as %v, want yellow, orange, red, breached", id, levels)
		}
	}
}

func TestAcknowledgmentArrivingWhileItsWarningFiresDoesNotDeadlock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, second := normalCase(t), normalCase(t)
	second.createdAt = first.createdAt.Add(time.Minute) // acknowledge yellows at 10:30 and 10:31
	f.mustHandle(t, first.envelope())
	f.mustHandle(t, second.envelope())

	// A replica claims both yellows and is slow publishing the first.
	inFirst := make(chan struct{})
	release, releaseNow := releaser(t)
	fired := make(chan error, 1)
	go func() {
		_, err := f.store.FireDue(ctx, at(t, "2026-11-20 10:31"), 100, func(ctx context.Context, tx pgx.Tx, fire timerpg.Fire) error {
			if fire.CaseID == first.id {
				close(inFirst)
				<-release
			}
			return f.firer.publish(ctx, tx, fire)
		})
		fired <- err
	}()
	select {
	case <-inFirst:
	case <-time.After(10 * time.Second):
		t.Fatal("the firing replica never reached the first case")
	}

	// Meanwhile the second case's acknowledgment is consumed.
	met := make(chan error, 1)
	go func() {
		met <- f.handle(t, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: second.tenant, CaseId: second.id,
			Payload: &eventsv1.Envelope_NotificationSent{NotificationSent: &eventsv1.NotificationSent{
				NotificationId: uuid.NewString(), Channel: "email", Template: "case_acknowledgment",
				SentAt: timestamppb.New(at(t, "2026-11-20 10:31")),
			}}})
	}()
	waitUntil(t, 10*time.Second, "the acknowledgment waits for the firing replica's locks", func() bool {
		return f.count(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
	})
	releaseNow()

	if err := recv(t, fired); err != nil {
		t.Errorf("firing: %v", err)
	}
	if err := recv(t, met); err != nil {
		t.Errorf("meeting the acknowledgment: %v", err)
	}
	if d := f.deadline(t, second, sla.KindAcknowledge); d.MetAt == nil {
		t.Errorf("second case's acknowledge not met")
	}
	ack := string(sla.KindAcknowledge)
	if evs := f.firedEvents(t); !slices.Equal(evs, []fireKey{{first.id, ack, "yellow"}, {second.id, ack, "yellow"}}) {
		t.Errorf("fire events = %v, want both yellows once", evs)
	}
}

// releaser returns a channel to block a callback on and the func that
// unblocks it; a failing test unblocks it too, before the pool closes (which
// would wait for the blocked connection forever).
func releaser(t *testing.T) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return ch, release
}

// recv waits for a goroutine's result.
func recv(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("gave up waiting 30s for a result")
		return nil
	}
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFirerPublishesADueFireWithinAFewTicks(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())

	var clock atomic.Pointer[time.Time]
	setClock := func(v time.Time) { clock.Store(&v) }
	setClock(at(t, "2026-11-20 10:29:59")) // one second before the acknowledge yellow
	f.firer.Now = func() time.Time { return *clock.Load() }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.firer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	})

	time.Sleep(6 * f.firer.Tick)
	if evs := f.firedEvents(t); len(evs) != 0 {
		t.Fatalf("fired before its time: %v", evs)
	}

	// The clock jumps past the acknowledge deadline: all four of its fires are due.
	setClock(at(t, "2026-11-20 11:00"))
	const bound = time.Second // 20 ticks: generous for a loaded CI box
	start := time.Now()
	var evs []fireKey
	for evs = f.firedEvents(t); len(evs) < 4 && time.Since(start) < bound; evs = f.firedEvents(t) {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("published %d fires %v after they became due (tick %v)", len(evs), time.Since(start), f.firer.Tick)
	ack := string(sla.KindAcknowledge)
	want := []fireKey{{c.id, ack, "yellow"}, {c.id, ack, "orange"}, {c.id, ack, "red"}, {c.id, ack, "breached"}}
	if !slices.Equal(evs, want) {
		t.Fatalf("within %v the outbox holds %v, want %v in that order", bound, evs, want)
	}

	// Later ticks do not fire them again.
	time.Sleep(4 * f.firer.Tick)
	if evs := f.firedEvents(t); len(evs) != 4 {
		t.Fatalf("after more ticks the outbox holds %v, want the four fires once", evs)
	}
}

func TestTimersSurviveARestart(t *testing.T) {
	f := newFixture(t)
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	if n := f.fireDue(t, at(t, "2026-11-20 10:30")); n != 1 {
		t.Fatalf("fired %d before the crash, want the acknowledge yellow", n)
	}

	f.pool.Close() // the process dies
	f.open(t)      // and starts again on the same database

	if n := f.fireDue(t, at(t, "2026-11-20 11:00")); n != 3 {
		t.Fatalf("fired %d after the restart, want the acknowledge orange, red and breach", n)
	}
	ack := string(sla.KindAcknowledge)
	want := []fireKey{{c.id, ack, "yellow"}, {c.id, ack, "orange"}, {c.id, ack, "red"}, {c.id, ack, "breached"}}
	if evs := f.firedEvents(t); !slices.Equal(evs, want) {
		t.Fatalf("fire events = %v, want %v, each once", evs, want)
	}
	if lvl := f.deadline(t, c, sla.KindAcknowledge).Level; lvl != "breached" {
		t.Fatalf("acknowledge level %q after the restart, want breached", lvl)
	}
}

func TestFiresHeldByAReplicaThatDiesAreFiredByAnother(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := normalCase(t)
	f.mustHandle(t, c.envelope())
	yellow := at(t, "2026-11-20 10:30")

	pids := make(chan int32, 1)
	release, releaseNow := releaser(t)
	result := make(chan error, 1)
	go func() {
		_, err := f.store.FireDue(ctx, yellow, 100, func(ctx context.Context, tx pgx.Tx, fire timerpg.Fire) error {
			var pid int32
			if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				return err
			}
			pids <- pid
			<-release
			return f.firer.publish(ctx, tx, fire)
		})
		result <- err
	}()
	var pid int32
	select {
	case pid = <-pids:
	case <-time.After(10 * time.Second):
		t.Fatal("the dying replica never claimed the fire")
	}
	// While it holds the fire, another replica must skip it, not wait.
	other, cancel := context.WithTimeout(ctx, 5*time.Second)
	n, err := f.store.FireDue(other, yellow, 100, f.firer.publish)
	cancel()
	if err != nil || n != 0 {
		t.Fatalf("FireDue while another replica holds the fire = %d, %v; want 0, nil", n, err)
	}

	if _, err := f.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	releaseNow()
	if err := recv(t, result); err == nil {
		t.Fatal("FireDue on a killed connection reported success")
	}

	// The killed backend's row locks go when Postgres has finished ending
	// it, a moment after pg_terminate_backend returns: wait until it is gone
	// (until then the other replica rightly skips the row).
	for gone := false; !gone; {
		if err := f.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&gone); err != nil {
			t.Fatal(err)
		}
	}
	n = f.fireDue(t, yellow)
	if n != 1 {
		t.Fatalf("another replica fired %d after the first died, want the acknowledge yellow", n)
	}
	if evs := f.firedEvents(t); len(evs) != 1 || evs[0] != (fireKey{c.id, string(sla.KindAcknowledge), "yellow"}) {
		t.Fatalf("fire events = %v, want the acknowledge yellow once", evs)
	}
}
