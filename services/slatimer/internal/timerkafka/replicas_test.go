// Protects invariant 3 with three replicas at once: every warning and breach
// is published once, never before its time on the loops' clock, promptly
// after it, also when a replica crashes mid-batch and when every replica is
// down for a while (the overdue ones fire at the next start).
package timerkafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
)

// fakeClock is the loops' clock: it moves only when the test sets it, and
// After's channels are ready once it has moved far enough.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{c.now.Add(d), ch})
	return ch
}

// Set moves the clock to t (never back) and wakes whoever waited until then.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		panic("fakeClock moved back")
	}
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			keep = append(keep, w)
		} else {
			w.ch <- t
		}
	}
	c.waiters = keep
}

// crasher kills, once armed, the database connection of the first firing
// transaction whose second event has been written, before it commits: that
// replica dies mid-batch, its transaction (marks and events written, locks
// held) rolled back by Postgres, as when the process crashes. (FireDue sends
// a batch's writes in one pipeline: the crash comes as their results are
// read, so the server has executed the writes and the commit never comes.)
type crasher struct {
	admin   *pgxpool.Pool
	armed   atomic.Bool
	crashed chan crash

	mu      sync.Mutex
	written map[*pgx.Conn][]string // case ids of the events of the connection's batch being read
}

type crash struct {
	replica int
	pid     uint32
	lost    []string // case ids of the events written before the crash
}

func (c *crasher) tracer(replica int) pgx.QueryTracer { return crashTracer{c, replica} }

// crashTracer is a pgx.QueryTracer (doing nothing) and a pgx.BatchTracer.
type crashTracer struct {
	c       *crasher
	replica int
}

func (crashTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (crashTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (t crashTracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	t.c.mu.Lock()
	delete(t.c.written, conn)
	t.c.mu.Unlock()
	return ctx
}

func (t crashTracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	c := t.c
	if !strings.HasPrefix(data.SQL, "INSERT INTO outbox") || data.Err != nil {
		return
	}
	c.mu.Lock()
	written := append(c.written[conn], fmt.Sprint(data.Args[2]))
	c.written[conn] = written
	c.mu.Unlock()
	if len(written) == 2 && c.armed.CompareAndSwap(true, false) {
		pid := conn.PgConn().PID()
		// Waits until the backend is gone; what follows on it fails.
		if _, err := c.admin.Exec(context.WithoutCancel(ctx), `SELECT pg_terminate_backend($1, 10000)`, int32(pid)); err != nil {
			panic(err)
		}
		c.crashed <- crash{t.replica, pid, written}
	}
}

func (crashTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// replica is one slatimer process: its own pool, store, firing loop and
// outbox relay on the shared database.
type replica struct {
	pool   *pgxpool.Pool
	cancel context.CancelFunc
	done   sync.WaitGroup
	errs   chan error
}

func startReplica(t *testing.T, dsn string, clock *fakeClock, tracer pgx.QueryTracer, batch int) *replica {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	cfg.MaxConns = 6
	// As the service's pool does for its background work (pgdb): every
	// bank's rows, under row-level security.
	cfg.ConnConfig.RuntimeParams["counterdesk.tenant"] = pgdb.AllTenants
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	firer := &Firer{Store: timerpg.New(pool), Log: log, Now: clock.Now, After: clock.After,
		Tick: 200 * time.Millisecond, Batch: batch, Workers: 2}
	w := eventbus.NewWriter([]string{testinfra.Brokers(t)})
	relay := &outbox.Relay{Pool: pool, Writer: w, Log: log, Service: "slatimer", Poll: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(pgdb.WithTenant(context.Background(), pgdb.AllTenants))
	r := &replica{pool: pool, cancel: cancel, errs: make(chan error, 2)}
	for _, run := range []func(context.Context) error{firer.Run, relay.Run} {
		r.done.Go(func() { r.errs <- run(ctx) })
	}
	t.Cleanup(func() { r.stop(t); _ = w.Close() })
	return r
}

// stop ends the replica, as a process that is stopped: its loops return and
// its connections close. Stopping twice is harmless.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	done := make(chan struct{})
	go func() { r.done.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a replica's loops did not return within 30s of being stopped")
	}
	for len(r.errs) > 0 {
		if err := <-r.errs; err != nil {
			t.Errorf("replica loop returned %v", err)
		}
	}
	r.pool.Close()
}

// plannedTimer is one fire the test armed.
type plannedTimer struct {
	key    fireKey
	fireAt time.Time
}

func TestThreeReplicasFireEveryTimerOnceOnTimeThroughACrashAndAnOutage(t *testing.T) {
	// The replicas connect as the service's app role, under row-level
	// security (its plans are not the owner's); the test seeds and checks
	// as the owner.
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	f := &fixture{dsn: db.OwnerURL, china: chinaCalendar(t)}
	f.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := eventbus.EnsureTopics(ctx, []string{testinfra.Brokers(t)}, testinfra.KafkaPartitions, eventbus.TopicSLAEvents); err != nil {
		t.Fatal(err)
	}

	// 1,000 cases with one deadline each, its yellow, orange, red and
	// breach one second apart, the cases started 12 ms apart: 4,000 fires
	// between T0+1s and T0+16s, several falling due in every step. Twenty
	// more are paused and twenty met before any is due: they never fire.
	const cases, step = 1000, 100 * time.Millisecond
	t0 := at(t, "2026-11-20 10:00")
	kinds := []sla.Kind{sla.KindAcknowledge, sla.KindFirstAnswer, sla.KindResolution}
	var plan []plannedTimer
	var paused, met []string
	ours := map[string]bool{}
	tx, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cases + 40 {
		id := uuid.NewString()
		ours[id] = true
		start := t0.Add(time.Duration(i%cases) * 12 * time.Millisecond)
		kind := kinds[i%len(kinds)]
		d := sla.Deadline{Kind: kind, Clock: sla.ClockCalendar, StartedAt: start, DueAt: start.Add(4 * time.Second),
			Warnings: []sla.Warning{{Level: sla.LevelYellow, At: start.Add(time.Second)}, {Level: sla.LevelOrange, At: start.Add(2 * time.Second)}, {Level: sla.LevelRed, At: start.Add(3 * time.Second)}}}
		if _, err := f.store.Arm(ctx, tx, timerpg.CaseRef{ID: id, Tenant: "bank-a", Branch: "br-1", Region: "rg-1"}, []sla.Deadline{d}, 0); err != nil {
			t.Fatal(err)
		}
		switch {
		case i >= cases+20:
			if err := f.store.Meet(ctx, tx, id, string(kind), t0); err != nil {
				t.Fatal(err)
			}
			met = append(met, id)
		case i >= cases:
			if _, err := f.store.Pause(ctx, tx, id, []sla.Kind{kind}, t0); err != nil {
				t.Fatal(err)
			}
			paused = append(paused, id)
		default:
			for _, w := range d.Warnings {
				plan = append(plan, plannedTimer{fireKey{id, string(kind), w.Level}, w.At})
			}
			plan = append(plan, plannedTimer{fireKey{id, string(kind), timerpg.LevelBreached}, d.DueAt})
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	last := t0
	for _, p := range plan {
		last = maxTime(last, p.fireAt)
	}

	clock := &fakeClock{now: t0}
	cr := &crasher{admin: f.pool, crashed: make(chan crash, 1), written: map[*pgx.Conn][]string{}}
	const batch = 16 // several passes per step, so replicas and workers claim side by side
	start := func(i int) *replica { return startReplica(t, db.AppURL, clock, cr.tracer(i), batch) }
	replicas := []*replica{start(0), start(1), start(2)}

	firedBy := func(now time.Time) (fired, due int) {
		t.Helper()
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE fired_at IS NOT NULL), count(*) FILTER (WHERE fire_at <= $1)
			FROM timer_fires f JOIN deadlines d USING (case_id, kind) WHERE NOT f.cancelled AND d.paused_at IS NULL`, now).Scan(&fired, &due); err != nil {
			t.Fatal(err)
		}
		return fired, due
	}
	// advance moves the clock one step and waits until everything due is
	// fired, or a replica has crashed (what it held fires a step later).
	var crashes []crash
	advance := func(to time.Time) {
		t.Helper()
		clock.Set(to)
		deadline := time.Now().Add(30 * time.Second)
		for {
			select {
			case c := <-cr.crashed:
				replicas[c.replica].stop(t)
				crashes = append(crashes, c)
				return
			default:
			}
			fired, due := firedBy(to)
			switch {
			case fired > due:
				t.Fatalf("at T0+%v: %d fires fired, only %d due: some fired early", to.Sub(t0), fired, due)
			case fired == due:
				return
			case time.Now().After(deadline):
				t.Fatalf("at T0+%v: %d of %d due fires fired after 30s", to.Sub(t0), fired, due)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	now := t0
	stepTo := func(until time.Time) {
		for now.Before(until) {
			now = now.Add(step)
			advance(now)
		}
	}
	// Three replicas fire the first seconds.
	stepTo(t0.Add(5 * time.Second))
	// One of them crashes mid-batch; two carry on.
	cr.armed.Store(true)
	for len(crashes) == 0 {
		if now.After(t0.Add(7 * time.Second)) {
			t.Fatal("no replica wrote two events in one pass between T0+5s and T0+7s")
		}
		now = now.Add(step)
		advance(now)
	}
	crashed, crashedAt := crashes[0], now
	t.Logf("replica %d crashed at T0+%v having written %d event(s) in its open batch", crashed.replica, now.Sub(t0), len(crashed.lost))
	stepTo(t0.Add(8 * time.Second))
	// It comes back.
	replicas[crashed.replica] = start(crashed.replica)
	stepTo(t0.Add(10 * time.Second))

	// Every replica stops; three seconds pass with nobody firing.
	for _, r := range replicas {
		r.stop(t)
	}
	firedBefore, _ := firedBy(now)
	outage := now
	now = t0.Add(13 * time.Second)
	clock.Set(now)
	if fired, due := firedBy(now); fired != firedBefore || due <= fired {
		t.Fatalf("while every replica was down %d fires fired (want none) of %d due", fired-firedBefore, due)
	}
	// They start again: the overdue fires fire at start, the clock standing still.
	replicas = []*replica{start(0), start(1), start(2)}
	waitUntil(t, 30*time.Second, "the fires overdue at the restart are fired", func() bool {
		fired, due := firedBy(now)
		return fired == due
	})
	restart := now
	stepTo(last.Add(step))

	// Every planned fire fired once, none early, none paused or met.
	type firedRow struct{ fireAt, firedAt time.Time }
	rows, err := f.pool.Query(ctx, `SELECT case_id, kind, level, fire_at, fired_at FROM timer_fires WHERE fired_at IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[fireKey]firedRow{}
	for rows.Next() {
		var k fireKey
		var r firedRow
		if err := rows.Scan(&k.caseID, &k.kind, &k.level, &r.fireAt, &r.firedAt); err != nil {
			t.Fatal(err)
		}
		got[k] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(plan) {
		t.Errorf("%d fires fired, want the %d planned", len(got), len(plan))
	}
	var maxLag time.Duration
	for _, p := range plan {
		r, ok := got[p.key]
		switch {
		case !ok:
			t.Errorf("%s of case %s never fired", p.key, p.key.caseID)
			continue
		case r.firedAt.Before(p.fireAt):
			t.Errorf("%s of case %s fired at T0+%v, before its time T0+%v", p.key, p.key.caseID, r.firedAt.Sub(t0), p.fireAt.Sub(t0))
		case p.fireAt.After(outage) && !p.fireAt.After(restart):
			if !r.firedAt.Equal(restart) {
				t.Errorf("%s of case %s due during the outage fired at T0+%v, want at the restart T0+%v", p.key, p.key.caseID, r.firedAt.Sub(t0), restart.Sub(t0))
			}
			continue
		}
		// Within a step: the loops wake for the next due fire. Those the
		// crashed batch held fire at the step after the crash.
		lag, allowed := r.firedAt.Sub(p.fireAt), step
		if p.fireAt.After(crashedAt.Add(-step)) && !p.fireAt.After(crashedAt) {
			allowed = 2 * step
		}
		maxLag = max(maxLag, lag)
		if lag > allowed {
			t.Errorf("%s of case %s due T0+%v fired %v late, want at most %v", p.key, p.key.caseID, p.fireAt.Sub(t0), lag, allowed)
		}
	}
	t.Logf("largest lag outside the outage: %v (step %v)", maxLag, step)
	for _, id := range slices.Concat(paused, met) {
		if n := f.count(t, `SELECT count(*) FROM timer_fires WHERE case_id = $1 AND fired_at IS NOT NULL`, id); n != 0 {
			t.Errorf("paused or met case %s fired %d times", id, n)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM deadlines d WHERE level <> 'breached' AND paused_at IS NULL AND met_at IS NULL`); n != 0 {
		t.Errorf("%d deadlines not at level breached after every fire", n)
	}

	// On the broker: one event per fire, each case's in level order, its
	// time the loop's clock when it fired. The relay delivers at least once
	// (a relay stopped between the broker's ack and its commit leaves the
	// rows for the next, and consumers skip an event id they have seen), so
	// redeliveries of one event are counted, not failed: two events for one
	// fire would be a fire that happened twice.
	waitUntil(t, 60*time.Second, "the relays publish every event", func() bool {
		return f.count(t, `SELECT count(*) FROM outbox`) == 0
	})
	events := map[fireKey][]*eventsv1.Envelope{} // distinct events, first delivery
	seen := map[string]bool{}
	order := map[string][]string{}
	redelivered := 0
	for _, m := range drainTopic(t, ctx, eventbus.TopicSLAEvents) {
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(m.Value, env); err != nil {
			t.Fatalf("message on %s is not an Envelope: %v", eventbus.TopicSLAEvents, err)
		}
		k, _, ok := fired(env)
		if !ok || !ours[env.GetCaseId()] {
			continue
		}
		if seen[env.GetEventId()] {
			redelivered++
			continue
		}
		seen[env.GetEventId()] = true
		events[k] = append(events[k], env)
		order[k.caseID] = append(order[k.caseID], k.level)
	}
	t.Logf("%d distinct fire events, %d redelivered by a relay stopped mid-publish", len(seen), redelivered)
	for _, p := range plan {
		evs := events[p.key]
		if len(evs) != 1 {
			ids := make([]string, len(evs))
			for i, e := range evs {
				ids[i] = e.GetEventId()
			}
			t.Errorf("%s of case %s: %d events (ids %v), want one", p.key, p.key.caseID, len(evs), ids)
			continue
		}
		if occurred := evs[0].GetOccurredAt().AsTime(); !occurred.Equal(got[p.key].firedAt) {
			t.Errorf("%s of case %s: event occurred at %v, want its fire time T0+%v", p.key, p.key.caseID, occurred, got[p.key].firedAt.Sub(t0))
		}
	}
	if len(events) != len(plan) {
		t.Errorf("%d distinct fires published, want %d", len(events), len(plan))
	}
	for id, levels := range order {
		if !slices.Equal(levels, []string{"yellow", "orange", "red", "breached"}) {
			t.Errorf("case %s published %v, want yellow, orange, red, breached", id, levels)
		}
	}
	for _, id := range crashed.lost {
		if len(order[id]) != 4 {
			t.Errorf("case %s, whose event the crash rolled back, published %v", id, order[id])
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// drainTopic returns every message on topic now, partition by partition in
// offset order. Once the outbox is empty everything the relays published
// is there: a relay deletes a row only after acks=all.
func drainTopic(t *testing.T, ctx context.Context, topic string) []kafka.Message {
	t.Helper()
	broker := testinfra.Brokers(t)
	var out []kafka.Message
	for p := range testinfra.KafkaPartitions {
		conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, p)
		if err != nil {
			t.Fatalf("dial partition %d of %s: %v", p, topic, err)
		}
		last, err := conn.ReadLastOffset()
		_ = conn.Close()
		if err != nil {
			t.Fatalf("last offset of %s/%d: %v", topic, p, err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond, MaxBytes: 16 << 20})
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		for {
			m, err := r.ReadMessage(rctx)
			if err != nil {
				cancel()
				_ = r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset >= last-1 {
				break
			}
		}
		cancel()
		_ = r.Close()
	}
	return out
}
