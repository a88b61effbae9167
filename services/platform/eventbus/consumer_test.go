// Protects the idempotent consumer: each event's effect is applied once per group, failures are retried in place, poison goes to the dead-letter topic, restarts lose and repeat nothing, and the producer's trace continues.
package eventbus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Kafka)) }

// spans records every span of the binary; tests pick theirs by group.
var spans = sync.OnceValue(func() *tracetest.InMemoryExporter {
	exp := tracetest.NewInMemoryExporter()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSyncer(exp)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return exp
})

// bus is one test's database, topic (with its dead-letter topic) and group.
type bus struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	broker string
	topic  string
	dlq    string
	group  string
	writer *kafka.Writer
	// partitions of topic (and of the dead-letter topic)
	partitions int

	mu    sync.Mutex
	calls []string // event ids in the order the handler saw them (failed attempts too)
}

func newBus(t testing.TB) *bus {
	t.Helper()
	return newBusWith(t, busOptions{partitions: testinfra.KafkaPartitions})
}

// busOptions change newBus's defaults (zero: testinfra's).
type busOptions struct {
	partitions int
	poolConns  int    // the pool's MaxConns (0: pgxpool's default)
	database   string // URL of an empty database (testinfra.NewDatabase)
	broker     string // bootstrap address (testinfra.Brokers)
}

// newBusWith is newBus with other partitions, pool size, database or broker.
func newBusWith(t testing.TB, o busOptions) *bus {
	t.Helper()
	spans()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if o.partitions == 0 {
		o.partitions = testinfra.KafkaPartitions
	}
	if o.database == "" {
		o.database = testinfra.NewDatabase(t)
	}
	if o.broker == "" {
		o.broker = testinfra.Brokers(t)
	}
	if o.poolConns > 0 {
		o.database += "&pool_max_conns=" + strconv.Itoa(o.poolConns)
	}
	pool, err := pgdb.Open(ctx, o.database, nil, nil)
	if err != nil {
		t.Fatalf("pgdb.Open: %v", err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE effects (consumer text NOT NULL, event_id uuid NOT NULL, case_id uuid NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	b := &bus{ctx: ctx, pool: pool, broker: o.broker, topic: testinfra.NewTopicName(t, eventbus.TopicCaseEvents), partitions: o.partitions}
	b.dlq = eventbus.DeadLetterTopic(b.topic)
	b.group = testinfra.NewTopicName(t, "routing")
	if err := eventbus.EnsureTopics(ctx, []string{b.broker}, o.partitions, b.topic, b.dlq); err != nil {
		t.Fatal(err)
	}
	// Its own transport: the shared default one caches metadata that may
	// not list the topic just created.
	b.writer = &kafka.Writer{Addr: kafka.TCP(b.broker), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, Transport: &kafka.Transport{}}
	t.Cleanup(func() { _ = b.writer.Close() })
	return b
}

// effect is the handler's change to the database, counted per group.
func (b *bus) effect(group string) eventbus.Handler {
	return func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		b.called(env.GetEventId())
		_, err := tx.Exec(ctx, `INSERT INTO effects (consumer, event_id, case_id) VALUES ($1, $2, $3)`, group, env.GetEventId(), env.GetCaseId())
		return err
	}
}

func (b *bus) called(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, id)
}

func (b *bus) callsOf(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.calls {
		if c == id {
			n++
		}
	}
	return n
}

func (b *bus) callLog() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// run starts a consumer for group; stop cancels it and waits for Run to
// return (also done at cleanup).
func (b *bus) run(t *testing.T, group string, h eventbus.Handler) (stop func()) {
	t.Helper()
	stop, _ = b.start(t, b.consumer(group, h))
	return stop
}

// consumer is a consumer of b's topic for group, with default tuning.
func (b *bus) consumer(group string, h eventbus.Handler) *eventbus.Consumer {
	return &eventbus.Consumer{Group: group, Topics: []string{b.topic}, Brokers: []string{b.broker}, Pool: b.pool, Handle: h,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// start runs c. stop cancels it and waits for Run to return (also done at
// cleanup); crash stops it as a crash would, at once and without its final
// offset commit, and waits likewise.
func (b *bus) start(t *testing.T, c *eventbus.Consumer) (stop, crash func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	crashed := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- c.RunUntilCrash(ctx, crashed) }()
	var once sync.Once
	wait := func(end func()) {
		once.Do(func() {
			end()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Consumer.Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Consumer.Run did not return after its context was cancelled")
			}
			cancel()
		})
	}
	stop = func() { wait(cancel) }
	crash = func() { wait(func() { close(crashed) }) }
	t.Cleanup(stop)
	return stop, crash
}

func envelope(caseID string) *eventsv1.Envelope {
	return &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: caseID, Type: "CaseCreated",
		OccurredAt: timestamppb.Now(), Producer: "intake",
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{BranchId: "b1"}}}
}

func encode(t testing.TB, env *eventsv1.Envelope) []byte {
	t.Helper()
	v, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (b *bus) publish(t *testing.T, key string, value []byte, headers ...kafka.Header) {
	t.Helper()
	if err := b.writer.WriteMessages(b.ctx, kafka.Message{Topic: b.topic, Key: []byte(key), Value: value, Headers: headers}); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func (b *bus) publishEnv(t *testing.T, env *eventsv1.Envelope, headers ...kafka.Header) {
	t.Helper()
	b.publish(t, env.GetCaseId(), encode(t, env), headers...)
}

func (b *bus) effects(t *testing.T, group, eventID string) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM effects WHERE consumer = $1 AND event_id = $2`, group, eventID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *bus) processed(t *testing.T, group, eventID string) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(b.ctx, `SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = $2`, group, eventID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitApplied waits until group's effect of eventID is committed.
func (b *bus) waitApplied(t *testing.T, group, eventID string) {
	t.Helper()
	waitFor(t, 60*time.Second, "event "+eventID+" applied by "+group, func() bool { return b.effects(t, group, eventID) > 0 })
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// committed returns the group's committed offset per partition of the
// topic (-1: none).
func (b *bus) committed(t *testing.T, group string) map[int]int64 {
	t.Helper()
	parts := make([]int, b.partitions)
	for i := range parts {
		parts[i] = i
	}
	c := &kafka.Client{Addr: kafka.TCP(b.broker), Transport: &kafka.Transport{}}
	resp, err := c.OffsetFetch(b.ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{b.topic: parts}})
	if err != nil {
		t.Fatalf("fetch committed offsets: %v", err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[b.topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// drain returns every message on topic now, partition by partition.
func (b *bus) drain(t *testing.T, topic string) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for p := range b.partitions {
		conn, err := kafka.DialLeader(b.ctx, "tcp", b.broker, topic, p)
		if err != nil {
			t.Fatalf("dial %s/%d: %v", topic, p, err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatalf("last offset of %s/%d: %v", topic, p, err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.broker}, Topic: topic, Partition: p, MaxWait: 500 * time.Millisecond})
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset >= last-1 {
				break
			}
		}
		cancel()
		r.Close()
	}
	return out
}

func header(m kafka.Message, key string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// consumeSpans are group's consumer spans for eventID (any event when "").
func consumeSpans(group, eventID string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans().GetSpans() {
		if s.SpanKind != trace.SpanKindConsumer || !hasAttr(s, "messaging.consumer.group.name", group) {
			continue
		}
		if eventID == "" || hasAttr(s, "event.id", eventID) {
			out = append(out, s)
		}
	}
	return out
}

func hasAttr(s tracetest.SpanStub, key, value string) bool {
	return slices.ContainsFunc(s.Attributes, func(kv attribute.KeyValue) bool {
		return string(kv.Key) == key && kv.Value.AsString() == value
	})
}

func TestConsumerAppliesEachEventOncePerGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		groups int
		copies int // times the same envelope is published
	}{
		{name: "an event published once is applied once and recorded as processed", groups: 1, copies: 1},
		{name: "the same envelope published twice is applied once", groups: 1, copies: 2},
		{name: "the same envelope published three times is applied once", groups: 1, copies: 3},
		{name: "two consumer groups each apply the event once", groups: 2, copies: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t)
			var groups []string
			for i := range tt.groups {
				g := fmt.Sprintf("%s-%d", b.group, i)
				groups = append(groups, g)
				b.run(t, g, b.effect(g))
			}
			caseID := uuid.NewString()
			env := envelope(caseID)
			for range tt.copies {
				b.publishEnv(t, env)
			}
			// Same case, same partition: once this one is applied, every
			// copy before it has been handled.
			last := envelope(caseID)
			b.publishEnv(t, last)
			for _, g := range groups {
				b.waitApplied(t, g, last.GetEventId())
				if n := b.effects(t, g, env.GetEventId()); n != 1 {
					t.Errorf("group %s applied the event %d times, want once", g, n)
				}
				if n := b.processed(t, g, env.GetEventId()); n != 1 {
					t.Errorf("processed_events holds (%s, event) %d times, want once", g, n)
				}
				dups := 0
				for _, s := range consumeSpans(g, env.GetEventId()) {
					for _, kv := range s.Attributes {
						if kv.Key == "event.duplicate" && kv.Value.AsBool() {
							dups++
						}
					}
				}
				if dups != tt.copies-1 {
					t.Errorf("group %s saw %d copies as duplicates, want %d", g, dups, tt.copies-1)
				}
			}
			if n := b.callsOf(env.GetEventId()); n != tt.groups {
				t.Errorf("handler ran %d times for the event across %d groups, want once per group", n, tt.groups)
			}
		})
	}
}

func TestConsumerRetriesAFailingHandlerBeforeTheNextEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failWith error
	}{
		{name: "a handler failing with a plain error is retried until it succeeds, and the next event waits", failWith: errors.New("routing database unavailable")},
		{name: "a handler failing with a wrapped context error is retried too", failWith: fmt.Errorf("assign owner: %w", context.DeadlineExceeded)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t)
			caseID := uuid.NewString()
			first, next := envelope(caseID), envelope(caseID)

			healed := make(chan struct{})
			apply := b.effect(b.group)
			b.run(t, b.group, func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
				if err := apply(ctx, tx, env); err != nil { // the effect is written, then the handler fails
					return err
				}
				if env.GetEventId() == first.GetEventId() {
					select {
					case <-healed:
					default:
						return tt.failWith
					}
				}
				return nil
			})
			b.publishEnv(t, first)
			b.publishEnv(t, next)

			waitFor(t, 60*time.Second, "three failed attempts", func() bool { return b.callsOf(first.GetEventId()) >= 3 })
			if n := b.callsOf(next.GetEventId()); n != 0 {
				t.Fatalf("the next event was handled %d times while the first still failed", n)
			}
			for p, off := range b.committed(t, b.group) {
				if off >= 0 {
					t.Errorf("partition %d has committed offset %d while its first event still fails", p, off)
				}
			}
			if n := b.effects(t, b.group, first.GetEventId()); n != 0 {
				t.Errorf("%d effects of failed attempts were committed", n)
			}
			if n := b.processed(t, b.group, first.GetEventId()); n != 0 {
				t.Errorf("the failing event is recorded as processed")
			}

			close(healed)
			b.waitApplied(t, b.group, next.GetEventId())
			if n := b.effects(t, b.group, first.GetEventId()); n != 1 {
				t.Errorf("the retried event's effect is there %d times, want once", n)
			}
			calls := b.callLog()
			lastFirst := len(calls) - 1 - slices.Index(reversed(calls), first.GetEventId())
			if slices.Index(calls, next.GetEventId()) < lastFirst {
				t.Errorf("handler calls %v: the next event ran before the first succeeded", calls)
			}
		})
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func TestConsumerDeadLettersWhatItCannotHandle(t *testing.T) {
	t.Parallel()
	errUnknownBranch := errors.New("branch b9 does not exist")
	tests := []struct {
		name       string
		poison     func(t *testing.T, caseID string) (value []byte, eventID string)
		wantReason string
	}{
		{
			name: "an event the handler marks Permanent goes to the dead-letter topic and the consumer moves on",
			poison: func(t *testing.T, caseID string) ([]byte, string) {
				env := envelope(caseID)
				env.GetCaseCreated().BranchId = "b9"
				return encode(t, env), env.GetEventId()
			},
			wantReason: errUnknownBranch.Error(),
		},
		{
			name:       "a value that is not an envelope goes to the dead-letter topic",
			poison:     func(*testing.T, string) ([]byte, string) { return []byte{0xff, 0xff, 0xff, 0x01}, "" },
			wantReason: "decode envelope",
		},
		{
			name: "an envelope whose case_id is not a UUID goes to the dead-letter topic",
			poison: func(t *testing.T, _ string) ([]byte, string) {
				env := envelope("case-1")
				return encode(t, env), env.GetEventId()
			},
			wantReason: "UUID",
		},
		{
			name: "an envelope whose event_id is not a UUID goes to the dead-letter topic",
			poison: func(t *testing.T, caseID string) ([]byte, string) {
				env := envelope(caseID)
				env.EventId = "evt-1"
				return encode(t, env), ""
			},
			wantReason: "UUID",
		},
		{
			name: "an envelope without event_id goes to the dead-letter topic",
			poison: func(t *testing.T, caseID string) ([]byte, string) {
				env := envelope(caseID)
				env.EventId = ""
				return encode(t, env), ""
			},
			wantReason: "UUID",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t)
			apply := b.effect(b.group)
			b.run(t, b.group, func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
				if err := apply(ctx, tx, env); err != nil {
					return err
				}
				if env.GetCaseCreated().GetBranchId() == "b9" {
					return fmt.Errorf("route case: %w", eventbus.Permanent(errUnknownBranch))
				}
				return nil
			})
			caseID := uuid.NewString()
			value, poisonID := tt.poison(t, caseID)
			b.publish(t, caseID, value, kafka.Header{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")})
			after := envelope(caseID) // same key, same partition, behind the poison
			b.publishEnv(t, after)
			b.waitApplied(t, b.group, after.GetEventId())

			var source kafka.Message
			for _, m := range b.drain(t, b.topic) {
				if string(m.Value) == string(value) {
					source = m
				}
			}
			var dead []kafka.Message
			waitFor(t, 30*time.Second, "the dead letter", func() bool { dead = b.drain(t, b.dlq); return len(dead) > 0 })
			if len(dead) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dead))
			}
			d := dead[0]
			if string(d.Key) != caseID || string(d.Value) != string(value) {
				t.Errorf("dead letter key %q value %x, want the original %q %x", d.Key, d.Value, caseID, value)
			}
			checks := []struct {
				header string
				ok     func(string) bool
				want   string
			}{
				{"x-dlq-reason", func(v string) bool { return strings.Contains(v, tt.wantReason) }, "contains " + tt.wantReason},
				{"x-dlq-consumer", func(v string) bool { return v == b.group }, b.group},
				{"x-dlq-source", func(v string) bool { return v == fmt.Sprintf("%s/%d/%d", b.topic, source.Partition, source.Offset) },
					fmt.Sprintf("%s/%d/%d", b.topic, source.Partition, source.Offset)},
				{"traceparent", func(v string) bool { return strings.Contains(v, "0af7651916cd43dd8448eb211c80319c") }, "the original trace kept"},
			}
			for _, c := range checks {
				v, ok := header(d, c.header)
				if !ok || !c.ok(v) {
					t.Errorf("dead letter header %s = %q (present %v), want %s", c.header, v, ok, c.want)
				}
			}
			if poisonID != "" {
				if n := b.effects(t, b.group, poisonID); n != 0 {
					t.Errorf("the dead-lettered event's effect was committed %d times", n)
				}
				// Recorded as processed, a replay from the dead-letter topic would be skipped.
				if n := b.processed(t, b.group, poisonID); n != 0 {
					t.Errorf("the dead-lettered event is recorded as processed: a replay would change nothing")
				}
			}
			var failed bool
			for _, s := range consumeSpans(b.group, "") {
				if s.Status.Code == codes.Error {
					failed = true
				}
			}
			if !failed {
				t.Errorf("no consumer span marked as an error for the dead-lettered message")
			}
			if n := b.callsOf(after.GetEventId()); n != 1 {
				t.Errorf("the event behind the poison was handled %d times, want once", n)
			}
		})
	}
}

func TestConsumerRestartResumesWithoutReapplying(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// failFirst: the stopped consumer's handler keeps failing on the
		// last event, so it is stopped mid-retry.
		failFirst bool
	}{
		{name: "a consumer restarted in the same group starts after the events the last one applied", failFirst: false},
		{name: "a consumer stopped while an event kept failing leaves it for the restarted one", failFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t)
			caseID := uuid.NewString()
			before := []*eventsv1.Envelope{envelope(caseID), envelope(caseID), envelope(caseID)}

			apply := b.effect(b.group)
			stop := b.run(t, b.group, func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
				if err := apply(ctx, tx, env); err != nil {
					return err
				}
				if tt.failFirst && env.GetEventId() == before[2].GetEventId() {
					return errors.New("database unavailable")
				}
				return nil
			})
			for _, env := range before {
				b.publishEnv(t, env)
			}
			if tt.failFirst {
				b.waitApplied(t, b.group, before[1].GetEventId())
				waitFor(t, 30*time.Second, "a failed attempt", func() bool { return b.callsOf(before[2].GetEventId()) > 0 })
			} else {
				b.waitApplied(t, b.group, before[2].GetEventId())
			}
			stop()
			callsBefore := map[string]int{}
			for _, env := range before {
				callsBefore[env.GetEventId()] = b.callsOf(env.GetEventId())
			}

			later := envelope(caseID)
			b.publishEnv(t, later)
			b.run(t, b.group, b.effect(b.group))
			b.waitApplied(t, b.group, later.GetEventId())

			for i, env := range append(before, later) {
				if n := b.effects(t, b.group, env.GetEventId()); n != 1 {
					t.Errorf("event %d applied %d times, want once", i, n)
				}
			}
			for i, env := range before[:2] {
				if n := b.callsOf(env.GetEventId()); n != callsBefore[env.GetEventId()] {
					t.Errorf("event %d reached the handler again after the restart", i)
				}
				// A redelivery would be skipped by processed_events, but
				// shows the offset was not committed: one span per event.
				if n := len(consumeSpans(b.group, env.GetEventId())); n != 1 {
					t.Errorf("event %d was delivered %d times, want once: its offset was not committed", i, n)
				}
			}
		})
	}
}

func TestConsumerContinuesTheProducersTrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		withTrace bool
	}{
		{name: "trace context in the headers makes the producer's span the consumer span's parent", withTrace: true},
		{name: "a message without trace context starts a new trace", withTrace: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t)
			var (
				mu         sync.Mutex
				handlerCtx trace.SpanContext
			)
			apply := b.effect(b.group)
			b.run(t, b.group, func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
				mu.Lock()
				handlerCtx = trace.SpanContextFromContext(ctx)
				mu.Unlock()
				return apply(ctx, tx, env)
			})

			env := envelope(uuid.NewString())
			var headers []kafka.Header
			var producer trace.SpanContext
			if tt.withTrace {
				ctx, span := otel.Tracer("eventbus_test").Start(context.Background(), "publish")
				producer = span.SpanContext()
				eventbus.Inject(ctx, &headers)
				span.End()
			}
			b.publishEnv(t, env, headers...)
			b.waitApplied(t, b.group, env.GetEventId())

			var got []tracetest.SpanStub
			waitFor(t, 10*time.Second, "the consumer span", func() bool { got = consumeSpans(b.group, env.GetEventId()); return len(got) > 0 })
			if len(got) != 1 {
				t.Fatalf("%d consumer spans for the event, want 1", len(got))
			}
			s := got[0]
			if s.Name != "consume "+b.topic {
				t.Errorf("span name %q", s.Name)
			}
			for _, kv := range []struct{ k, v string }{{"case.id", env.GetCaseId()}, {"event.type", "CaseCreated"}, {"messaging.destination.name", b.topic}} {
				if !hasAttr(s, kv.k, kv.v) {
					t.Errorf("consumer span lacks %s=%s: %v", kv.k, kv.v, s.Attributes)
				}
			}
			mu.Lock()
			hc := handlerCtx
			mu.Unlock()
			if hc.SpanID() != s.SpanContext.SpanID() {
				t.Errorf("the handler runs in span %s, not the consumer span %s", hc.SpanID(), s.SpanContext.SpanID())
			}
			if tt.withTrace {
				if s.SpanContext.TraceID() != producer.TraceID() || s.Parent.SpanID() != producer.SpanID() {
					t.Errorf("consumer span in trace %s with parent %s, want trace %s parent %s",
						s.SpanContext.TraceID(), s.Parent.SpanID(), producer.TraceID(), producer.SpanID())
				}
				if !s.Parent.IsRemote() {
					t.Errorf("the parent span context is not marked remote")
				}
			} else if s.Parent.IsValid() {
				t.Errorf("consumer span has parent %s though the message carried no trace", s.Parent.SpanID())
			}
		})
	}
}

func TestPermanentMarksOnlyWhatItWraps(t *testing.T) {
	base := errors.New("branch unknown")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "a Permanent error is permanent", err: eventbus.Permanent(base), want: true},
		{name: "a wrapped Permanent error is still permanent", err: fmt.Errorf("route: %w", eventbus.Permanent(base)), want: true},
		{name: "a plain error is not permanent", err: base, want: false},
		{name: "nil is not permanent", err: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eventbus.IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent = %v, want %v", got, tt.want)
			}
			if tt.err != nil && !errors.Is(tt.err, base) {
				t.Errorf("Permanent hides the error it wraps")
			}
			if tt.err != nil && tt.err.Error() != base.Error() && !strings.HasSuffix(tt.err.Error(), base.Error()) {
				t.Errorf("message %q lost the original text", tt.err)
			}
		})
	}
}
