// Protects the consumer's scaling: partitions handled in parallel with each case's events applied (and their after-commit effects run) in order, replicas of a group sharing the partitions and taking them over without losing or repeating an effect, offsets committed in batches without ever losing an event to a crash, and poison messages dead-lettered alone even inside a batch.
package eventbus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
)

// ledger is what the order tests' handlers write: one row per applied
// effect, numbered in the order the rows were inserted. A case's events are
// applied one after the other, so n orders them as they were applied.
const ledgerDDL = `CREATE TABLE ledger (n bigserial PRIMARY KEY, consumer text NOT NULL, replica text NOT NULL,
	case_id uuid NOT NULL, event_id uuid NOT NULL)`

func (b *bus) createLedger(t *testing.T) {
	t.Helper()
	if _, err := b.pool.Exec(b.ctx, ledgerDDL); err != nil {
		t.Fatal(err)
	}
}

// record is a handler that writes the event into the ledger as replica.
func (b *bus) record(group, replica string) eventbus.Handler {
	return func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		b.called(env.GetEventId())
		_, err := tx.Exec(ctx, `INSERT INTO ledger (consumer, replica, case_id, event_id) VALUES ($1, $2, $3, $4)`,
			group, replica, env.GetCaseId(), env.GetEventId())
		return err
	}
}

// script is a set of cases' events in the order they were published.
type script struct {
	mu     sync.Mutex
	byCase map[string][]string // case id -> event ids
	all    []string
}

func newScript() *script { return &script{byCase: map[string][]string{}} }

func (s *script) add(env *eventsv1.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byCase[env.GetCaseId()] = append(s.byCase[env.GetCaseId()], env.GetEventId())
	s.all = append(s.all, env.GetEventId())
}

func (s *script) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}

// publishRound publishes one event for each of cases, in one write.
func (b *bus) publishRound(t *testing.T, s *script, cases []string) {
	t.Helper()
	msgs := make([]kafka.Message, 0, len(cases))
	for _, c := range cases {
		env := envelope(c)
		s.add(env)
		msgs = append(msgs, kafka.Message{Topic: b.topic, Key: []byte(c), Value: encode(t, env)})
	}
	if err := b.writer.WriteMessages(b.ctx, msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func newCases(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.NewString()
	}
	return out
}

func (b *bus) ledgerCount(t *testing.T, group string) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM ledger WHERE consumer = $1`, group).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *bus) ledgerCountBy(t *testing.T, group, replica string) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM ledger WHERE consumer = $1 AND replica = $2`, group, replica).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkLedger checks that group applied every event of s exactly once
// (ledger and processed_events), and each case's in the order published.
func (b *bus) checkLedger(t *testing.T, group string, s *script) {
	t.Helper()
	rows, err := b.pool.Query(b.ctx, `SELECT case_id::text, event_id::text FROM ledger WHERE consumer = $1 ORDER BY n`, group)
	if err != nil {
		t.Fatal(err)
	}
	applied := map[string][]string{}
	times := map[string]int{}
	for rows.Next() {
		var c, e string
		if err := rows.Scan(&c, &e); err != nil {
			t.Fatal(err)
		}
		applied[c] = append(applied[c], e)
		times[e]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	all := s.events()
	for _, e := range all {
		if times[e] != 1 {
			t.Errorf("event %s applied %d times, want once", e, times[e])
		}
	}
	if len(times) != len(all) {
		t.Errorf("%d distinct events applied, %d published", len(times), len(all))
	}
	var processed int
	if err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM processed_events WHERE consumer = $1`, group).Scan(&processed); err != nil {
		t.Fatal(err)
	}
	if processed != len(all) {
		t.Errorf("processed_events holds %d events of %s, want %d", processed, group, len(all))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, want := range s.byCase {
		if !slices.Equal(applied[c], want) {
			t.Errorf("case %s: events applied in order %v, published in order %v", c, applied[c], want)
		}
	}
}

// endOffsets returns each partition's next offset.
func (b *bus) endOffsets(t *testing.T) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for p := range b.partitions {
		conn, err := kafka.DialLeader(b.ctx, "tcp", b.broker, b.topic, p)
		if err != nil {
			t.Fatalf("dial %s/%d: %v", b.topic, p, err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatalf("last offset of %s/%d: %v", b.topic, p, err)
		}
		out[p] = last
	}
	return out
}

// allCommitted says whether group's committed offset of every partition
// that holds messages is its end.
func (b *bus) allCommitted(t *testing.T, group string) bool {
	t.Helper()
	committed := b.committed(t, group)
	for p, end := range b.endOffsets(t) {
		if end > 0 && committed[p] != end {
			return false
		}
	}
	return true
}

func spanHasEvent(group, eventID, name string) bool {
	for _, s := range consumeSpans(group, eventID) {
		for _, e := range s.Events {
			if e.Name == name {
				return true
			}
		}
	}
	return false
}

func duplicateSpans(group string) int {
	n := 0
	for _, s := range consumeSpans(group, "") {
		for _, kv := range s.Attributes {
			if kv.Key == "event.duplicate" && kv.Value.AsBool() {
				n++
			}
		}
	}
	return n
}

func batchedSpans(group string) int {
	n := 0
	for _, s := range consumeSpans(group, "") {
		if slices.ContainsFunc(s.Attributes, func(kv attribute.KeyValue) bool {
			return kv.Key == "messaging.batch.message_count" && kv.Value.AsInt64() > 1
		}) {
			n++
		}
	}
	return n
}

func TestConsumerAppliesEachCaseInOrderWhilePartitionsRunInParallel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		workers     int // Consumer.Workers
		maxBatch    int
		wantAtMost  int // handlers running at once
		wantBatches bool
		together    bool // with a HandleBatch that applies the batch's events in a loop
	}{
		{name: "one worker per partition, batched transactions: parallel, each case in order", workers: 0, maxBatch: 0, wantAtMost: 6, wantBatches: true},
		{name: "two workers for six partitions: at most two at once, each case in order", workers: 2, maxBatch: 0, wantAtMost: 2, wantBatches: true},
		{name: "one transaction per message: parallel, each case in order", workers: 0, maxBatch: 1, wantAtMost: 6},
		{name: "a batch handler: each batch's events in one call, each case in order", workers: 0, maxBatch: 0, wantAtMost: 6, wantBatches: true, together: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBusWith(t, busOptions{partitions: 6, poolConns: 10})
			b.createLedger(t)
			s := newScript()
			cases := newCases(24)
			// A backlog first, so that every partition has work at once.
			for range 10 {
				b.publishRound(t, s, cases)
			}

			var inFlight, most atomic.Int64
			record := b.record(b.group, "a")
			h := func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(time.Millisecond) // long enough for the partitions' handlers to overlap
				return record(ctx, tx, env)
			}
			var (
				mu      sync.Mutex
				after   = map[string][]string{} // case -> events, in AfterCommit order
				unseen  []string                // AfterCommit ran before the effect was visible
				afterOf = func(env *eventsv1.Envelope) {
					mu.Lock()
					defer mu.Unlock()
					after[env.GetCaseId()] = append(after[env.GetCaseId()], env.GetEventId())
				}
			)
			c := b.consumer(b.group, h)
			c.Workers, c.MaxBatch = tt.workers, tt.maxBatch
			var batchCalls, largest atomic.Int64
			if tt.together {
				c.HandleBatch = func(ctx context.Context, tx pgx.Tx, envs []*eventsv1.Envelope) error {
					batchCalls.Add(1)
					for n := int64(len(envs)); n > largest.Load(); {
						if largest.CompareAndSwap(largest.Load(), n) {
							break
						}
					}
					for _, env := range envs {
						if err := h(ctx, tx, env); err != nil {
							return err
						}
					}
					return nil
				}
			}
			c.AfterCommit = func(ctx context.Context, env *eventsv1.Envelope) error {
				var n int
				if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM ledger WHERE event_id = $1`, env.GetEventId()).Scan(&n); err != nil {
					return err
				}
				if n != 1 {
					mu.Lock()
					unseen = append(unseen, env.GetEventId())
					mu.Unlock()
				}
				afterOf(env)
				return nil
			}
			stop, _ := b.start(t, c)
			// More while it runs.
			for range 5 {
				b.publishRound(t, s, cases)
			}
			total := len(s.events())
			waitFor(t, 90*time.Second, "every event applied", func() bool { return b.ledgerCount(t, b.group) >= total })
			// AfterCommit follows each commit; a stop may cut the last ones
			// short (they are rebuildable by design), so wait for them too.
			waitFor(t, 30*time.Second, "every AfterCommit run", func() bool {
				mu.Lock()
				defer mu.Unlock()
				n := 0
				for _, ids := range after {
					n += len(ids)
				}
				return n >= total
			})
			stop()

			b.checkLedger(t, b.group, s)
			if got := most.Load(); got < 2 || got > int64(tt.wantAtMost) {
				t.Errorf("at most %d handlers ran at once, want between 2 and %d", got, tt.wantAtMost)
			}
			if n := batchedSpans(b.group); tt.wantBatches && n == 0 {
				t.Errorf("no message was handled in a batch, though a backlog waited")
			} else if !tt.wantBatches && n > 0 {
				t.Errorf("%d messages handled in batches with MaxBatch 1", n)
			}
			if tt.together && (batchCalls.Load() == 0 || largest.Load() < 2) {
				t.Errorf("HandleBatch called %d times, largest batch %d: want batches of several events", batchCalls.Load(), largest.Load())
			}
			mu.Lock()
			defer mu.Unlock()
			if len(unseen) > 0 {
				t.Errorf("AfterCommit ran before the effect was committed for %d events", len(unseen))
			}
			for cs, want := range s.byCase {
				if !slices.Equal(after[cs], want) {
					t.Errorf("case %s: AfterCommit saw %v, want the published order %v", cs, after[cs], want)
				}
			}
			if !b.allCommitted(t, b.group) {
				t.Errorf("after a clean stop, committed offsets %v, want the ends %v", b.committed(t, b.group), b.endOffsets(t))
			}
		})
	}
}

func TestConsumerReplicasShareTheGroupAndOneTakesOverFromTheOther(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		crash bool
	}{
		{name: "a replica stopped mid-stream hands its partitions over: every event applied once, each case in order"},
		{name: "a replica crashed mid-stream before committing anything: the other redelivers its events and applies each once", crash: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBusWith(t, busOptions{partitions: 6, poolConns: 16})
			b.createLedger(t)
			s := newScript()
			cases := newCases(30)

			// A steady stream, until told to stop.
			streamCtx, endStream := context.WithCancel(b.ctx)
			streamed := make(chan struct{})
			go func() {
				defer close(streamed)
				for i := 0; streamCtx.Err() == nil; i++ {
					b.publishRound(t, s, cases[i%3*10:i%3*10+10])
					time.Sleep(15 * time.Millisecond)
				}
			}()
			defer func() { endStream(); <-streamed }()

			a := b.consumer(b.group, b.record(b.group, "a"))
			if tt.crash {
				a.CommitInterval = time.Hour // nothing a handles is committed before the crash
			}
			stopA, crashA := b.start(t, a)
			waitFor(t, 60*time.Second, "replica a applying events", func() bool { return b.ledgerCountBy(t, b.group, "a") > 20 })
			stopB, _ := b.start(t, b.consumer(b.group, b.record(b.group, "b")))
			// b is in the group once it has partitions of its own.
			waitFor(t, 60*time.Second, "replica b applying events", func() bool { return b.ledgerCountBy(t, b.group, "b") > 20 })
			if tt.crash {
				crashA()
			} else {
				stopA()
			}
			byA := b.ledgerCountBy(t, b.group, "a")
			byB := b.ledgerCountBy(t, b.group, "b")
			waitFor(t, 60*time.Second, "replica b taking a's partitions over", func() bool {
				return b.ledgerCountBy(t, b.group, "b") > byB+200
			})
			endStream()
			<-streamed
			total := len(s.events())
			waitFor(t, 90*time.Second, "every event applied", func() bool { return b.ledgerCount(t, b.group) >= total })
			waitFor(t, 30*time.Second, "b's offsets committed while it runs", func() bool { return b.allCommitted(t, b.group) })
			stopB()

			b.checkLedger(t, b.group, s)
			if byA == 0 {
				t.Errorf("replica a applied nothing")
			}
			if n := b.ledgerCountBy(t, b.group, "a"); n != byA {
				t.Errorf("replica a applied %d events after it was stopped (%d before)", n-byA, byA)
			}
			// (The handler may have run more than once for a few events: a
			// transaction cancelled by the stop, or a batch rolled back while
			// it waited on the other replica's rows. The ledger counts what
			// was committed.)
			if tt.crash && duplicateSpans(b.group) == 0 {
				t.Errorf("no event was redelivered after a crash that committed no offset")
			}
		})
	}
}

func TestConsumerCommitsOffsetsInBatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		crash bool
	}{
		{name: "a consumer crashing after applying events but before its commit tick: they are redelivered and change nothing", crash: true},
		{name: "a consumer stopped before its commit tick commits at shutdown: nothing is redelivered", crash: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBusWith(t, busOptions{partitions: 3})
			b.createLedger(t)
			s := newScript()
			cases := newCases(6)

			first := b.consumer(b.group, b.record(b.group, "first"))
			first.CommitInterval = time.Hour
			stop, crash := b.start(t, first)
			for range 4 {
				b.publishRound(t, s, cases)
			}
			events := s.events()
			waitFor(t, 60*time.Second, "the events applied", func() bool { return b.ledgerCount(t, b.group) == len(events) })
			time.Sleep(300 * time.Millisecond) // past DefaultCommitInterval: had it committed per message or per default tick, it would show
			for p, off := range b.committed(t, b.group) {
				if off >= 0 {
					t.Errorf("partition %d has committed offset %d before the first commit tick", p, off)
				}
			}
			if tt.crash {
				crash()
			} else {
				stop()
				if !b.allCommitted(t, b.group) {
					t.Errorf("after a clean stop, committed offsets %v, want the ends %v", b.committed(t, b.group), b.endOffsets(t))
				}
			}

			second := b.consumer(b.group, b.record(b.group, "second"))
			second.CommitInterval = 100 * time.Millisecond
			b.start(t, second)
			b.publishRound(t, s, cases) // more, after the restart
			waitFor(t, 60*time.Second, "the later events applied", func() bool { return b.ledgerCount(t, b.group) == len(s.events()) })
			// Committed while running, within a few ticks.
			waitFor(t, 10*time.Second, "the second consumer's commits", func() bool { return b.allCommitted(t, b.group) })

			b.checkLedger(t, b.group, s)
			for _, e := range events {
				if n := b.callsOf(e); n != 1 {
					t.Errorf("the handler ran %d times for event %s, want once", n, e)
				}
				spans := len(consumeSpans(b.group, e))
				if tt.crash && spans != 2 {
					t.Errorf("event %s delivered %d times, want twice (once before the crash, once after)", e, spans)
				}
				if !tt.crash && spans != 1 {
					t.Errorf("event %s delivered %d times, want once: the final commit was lost", e, spans)
				}
			}
		})
	}
}

func TestConsumerDeadLettersAPoisonMessageInsideABatchAlone(t *testing.T) {
	t.Parallel()
	for _, together := range []bool{false, true} {
		name := "one statement set per event"
		if together {
			name = "a batch handler"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testPoisonInsideABatch(t, together)
		})
	}
}

func testPoisonInsideABatch(t *testing.T, together bool) {
	b := newBus(t)
	b.createLedger(t)
	errUnknownBranch := errors.New("branch b9 does not exist")
	record := b.record(b.group, "a")
	gate, reached := make(chan struct{}), make(chan struct{}, 1)
	caseID := uuid.NewString()
	gateEnv := envelope(caseID)
	h := func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		if env.GetEventId() == gateEnv.GetEventId() {
			select {
			case reached <- struct{}{}:
			default:
			}
			select {
			case <-gate: // the rest queues up behind it meanwhile
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := record(ctx, tx, env); err != nil {
			return err
		}
		if env.GetCaseCreated().GetBranchId() == "b9" {
			return fmt.Errorf("route case: %w", eventbus.Permanent(errUnknownBranch))
		}
		return nil
	}
	c := b.consumer(b.group, h)
	if together {
		c.HandleBatch = func(ctx context.Context, tx pgx.Tx, envs []*eventsv1.Envelope) error {
			for _, env := range envs {
				if err := h(ctx, tx, env); err != nil {
					return err
				}
			}
			return nil
		}
	}
	b.start(t, c)
	b.publishEnv(t, gateEnv)
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatal("timed out waiting for the gate event to reach the handler")
	}

	good1, poison, good2, good3 := envelope(caseID), envelope(caseID), envelope(caseID), envelope(caseID)
	poison.GetCaseCreated().BranchId = "b9"
	undecodable := []byte{0xff, 0xff, 0xff, 0x01}
	b.publishEnv(t, good1)
	b.publishEnv(t, poison)
	b.publishEnv(t, good2)
	b.publish(t, caseID, undecodable)
	b.publishEnv(t, good3)
	time.Sleep(time.Second) // fetched and queued behind the gate
	close(gate)
	waitFor(t, 60*time.Second, "the last event applied", func() bool { return b.ledgerCount(t, b.group) >= 4 })

	s := newScript()
	for _, env := range []*eventsv1.Envelope{gateEnv, good1, good2, good3} {
		s.add(env)
	}
	b.checkLedger(t, b.group, s)
	if !spanHasEvent(b.group, good1.GetEventId(), "batch rolled back") {
		t.Errorf("the event before the poison was not first tried in a batch with it")
	}
	if n := b.processed(t, b.group, poison.GetEventId()); n != 0 {
		t.Errorf("the dead-lettered event is recorded as processed")
	}
	var dead []kafka.Message
	waitFor(t, 30*time.Second, "two dead letters", func() bool { dead = b.drain(t, b.dlq); return len(dead) >= 2 })
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dead))
	}
	if reason, _ := header(dead[0], "x-dlq-reason"); !strings.Contains(reason, errUnknownBranch.Error()) || string(dead[0].Value) != string(encode(t, poison)) {
		t.Errorf("first dead letter: reason %q, want the permanent error's message, for the poison event", reason)
	}
	if reason, _ := header(dead[1], "x-dlq-reason"); !strings.Contains(reason, "decode envelope") || string(dead[1].Value) != string(undecodable) {
		t.Errorf("second dead letter: reason %q, want a decode error, for the undecodable message", reason)
	}
	if n := b.callsOf(good3.GetEventId()); n != 1 {
		t.Errorf("the last event was handled %d times, want once (it came after both poisons)", n)
	}
}
