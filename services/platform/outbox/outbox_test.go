// Protects the transactional outbox: an event exists exactly when its change committed, and the relay publishes every one, in order per case, with its trace, losing none when Kafka fails and duplicating none across replicas.
package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
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
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Kafka)) }

var installTracing = sync.OnceValue(func() trace.Tracer {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample())))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return otel.Tracer("outbox_test")
})

// request starts the span a gRPC handler would be in when it calls Add.
func request(t *testing.T) (context.Context, trace.TraceID) {
	t.Helper()
	ctx, span := installTracing().Start(context.Background(), "CreateCase")
	t.Cleanup(func() { span.End() })
	return ctx, span.SpanContext().TraceID()
}

func openDB(t *testing.T, ctx context.Context) (dsn string, pool *pgxpool.Pool) {
	t.Helper()
	dsn = testinfra.NewDatabase(t)
	return dsn, openPool(t, ctx, dsn)
}

func openPool(t *testing.T, ctx context.Context, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(ctx, dsn, nil, nil)
	if err != nil {
		t.Fatalf("pgdb.Open: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newTopic(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	topic := testinfra.NewTopicName(t, base)
	if err := eventbus.EnsureTopics(ctx, []string{testinfra.Brokers(t)}, testinfra.KafkaPartitions, topic); err != nil {
		t.Fatal(err)
	}
	return topic
}

func caseCreated(caseID string) *eventsv1.Envelope {
	return &eventsv1.Envelope{TenantId: "bank-a", CaseId: caseID,
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{BranchId: "b1"}}}
}

// added is one event a test wrote, to compare with what reached Kafka.
type added struct {
	id, topic, key string
	trace          trace.TraceID
}

// addCommitted writes one event in its own committed transaction, from a
// request context of its own.
func addCommitted(t *testing.T, pool *pgxpool.Pool, topic, caseID string) added {
	t.Helper()
	ctx, traceID := request(t)
	env := caseCreated(caseID)
	err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return outbox.Add(ctx, tx, "intake", topic, env) })
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return added{id: env.GetEventId(), topic: topic, key: caseID, trace: traceID}
}

func startRelay(t *testing.T, pool *pgxpool.Pool, service string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := eventbus.NewWriter([]string{testinfra.Brokers(t)})
	r := &outbox.Relay{Pool: pool, Writer: w, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: service, Poll: 100 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Relay.Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Relay.Run did not return after its context was cancelled")
		}
		_ = w.Close()
	})
}

func pending(t *testing.T, ctx context.Context, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitEmpty(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for pending(t, ctx, pool) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d events after 30s", pending(t, ctx, pool))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// drain returns every message on topic now, partition by partition in
// offset order. Once the outbox is empty, everything the relay published
// is there: it deletes a row only after acks=all.
func drain(t *testing.T, ctx context.Context, topic string) []kafka.Message {
	t.Helper()
	broker := testinfra.Brokers(t)
	var out []kafka.Message
	for p := range testinfra.KafkaPartitions {
		conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, p)
		if err != nil {
			t.Fatalf("dial partition %d of %s: %v", p, topic, err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatalf("last offset of %s/%d: %v", topic, p, err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, Partition: p, MaxWait: 500 * time.Millisecond})
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		for {
			m, err := r.ReadMessage(rctx)
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

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// traceOf reads the trace id out of a W3C traceparent
// (version-traceid-spanid-flags).
func traceOf(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 {
		return ""
	}
	return parts[1]
}

func envelopeOf(t *testing.T, m kafka.Message) *eventsv1.Envelope {
	t.Helper()
	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(m.Value, env); err != nil {
		t.Fatalf("message at %s/%d/%d is not an envelope: %v", m.Topic, m.Partition, m.Offset, err)
	}
	return env
}

// checkPublished asserts that msgs (from every topic in want) are exactly
// the events in want, once each, in the order they were added per case,
// each carrying its trace.
func checkPublished(t *testing.T, want []added, msgs []kafka.Message) {
	t.Helper()
	byID := map[string]added{}
	for _, a := range want {
		byID[a.id] = a
	}
	seen := map[string]int{}
	order := map[string][]string{} // topic/key -> event ids as published
	for _, m := range msgs {
		env := envelopeOf(t, m)
		id := env.GetEventId()
		seen[id]++
		a, ok := byID[id]
		if !ok {
			t.Errorf("unexpected event %s on %s", id, m.Topic)
			continue
		}
		if m.Topic != a.topic {
			t.Errorf("event %s published on %s, added for %s", id, m.Topic, a.topic)
		}
		if string(m.Key) != a.key {
			t.Errorf("event %s keyed %q, want its case id %q", id, m.Key, a.key)
		}
		if got := header(m, "event-id"); got != id {
			t.Errorf("event %s has event-id header %q", id, got)
		}
		if got := traceOf(header(m, "traceparent")); got != a.trace.String() {
			t.Errorf("event %s traceparent %q does not carry the trace %s of the request that added it", id, header(m, "traceparent"), a.trace)
		}
		order[m.Topic+"/"+string(m.Key)] = append(order[m.Topic+"/"+string(m.Key)], id)
	}
	wantOrder := map[string][]string{}
	for _, a := range want {
		if seen[a.id] != 1 {
			t.Errorf("event %s published %d times, want once", a.id, seen[a.id])
		}
		wantOrder[a.topic+"/"+a.key] = append(wantOrder[a.topic+"/"+a.key], a.id)
	}
	for k, ids := range wantOrder {
		if got := order[k]; !slices.Equal(dedupe(got), ids) {
			t.Errorf("events of %s published in order %v, added in order %v", k, got, ids)
		}
	}
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func TestAddStoresTheEventOnlyWithItsChange(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, pool := openDB(t, ctx)
	if _, err := pool.Exec(ctx, `CREATE TABLE cases (id uuid PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused after the event was written")

	tests := []struct {
		name      string
		givenID   string
		finish    func(ctx context.Context, tx pgx.Tx) error // after the change and Add
		wantEvent bool
	}{
		{name: "a committed change leaves its event in the outbox", finish: func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) }, wantEvent: true},
		{name: "a rolled-back change leaves no event", finish: func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) }, wantEvent: false},
		{name: "a change that fails after Add leaves no event", finish: func(context.Context, pgx.Tx) error { return errRefused }, wantEvent: false},
		{name: "an event id given by the producer is kept", givenID: "0190d6f0-0000-7000-8000-0000000000aa", finish: func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) }, wantEvent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rctx, traceID := request(t)
			caseID := uuid.NewString()
			env := caseCreated(caseID)
			env.EventId = tt.givenID
			tx, err := pool.Begin(rctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(rctx, `INSERT INTO cases (id) VALUES ($1)`, caseID); err != nil {
				t.Fatal(err)
			}
			if err := outbox.Add(rctx, tx, "intake", "case-events", env); err != nil {
				t.Fatalf("Add: %v", err)
			}
			if err := tt.finish(rctx, tx); err != nil && !errors.Is(err, errRefused) {
				t.Fatal(err)
			}
			_ = tx.Rollback(ctx) // what InTx does when finish failed

			var cases, events int
			if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cases WHERE id = $1), (SELECT count(*) FROM outbox WHERE msg_key = $1::text)`, caseID).Scan(&cases, &events); err != nil {
				t.Fatal(err)
			}
			if cases != events {
				t.Fatalf("%d case rows but %d events: the change and its event must be saved together", cases, events)
			}
			if (events == 1) != tt.wantEvent {
				t.Fatalf("%d events in the outbox, want event: %v", events, tt.wantEvent)
			}
			if !tt.wantEvent {
				return
			}

			var (
				id, topic, key string
				payload        []byte
				headers        map[string]string
			)
			if err := pool.QueryRow(ctx, `SELECT id::text, topic, msg_key, payload, headers FROM outbox WHERE msg_key = $1`, caseID).
				Scan(&id, &topic, &key, &payload, &headers); err != nil {
				t.Fatal(err)
			}
			stored := &eventsv1.Envelope{}
			if err := proto.Unmarshal(payload, stored); err != nil {
				t.Fatalf("stored payload is not an envelope: %v", err)
			}
			parsed, err := uuid.Parse(stored.GetEventId())
			switch {
			case err != nil || parsed.Version() != 7:
				t.Errorf("event id %q is not a UUIDv7", stored.GetEventId())
			case tt.givenID != "" && stored.GetEventId() != tt.givenID:
				t.Errorf("event id %q, want the given %q", stored.GetEventId(), tt.givenID)
			case id != stored.GetEventId() || env.GetEventId() != id:
				t.Errorf("row id %s, payload id %s, caller's envelope id %s: all must be the event id", id, stored.GetEventId(), env.GetEventId())
			}
			if topic != "case-events" || key != caseID {
				t.Errorf("stored for %s key %s, want case-events key %s", topic, key, caseID)
			}
			if stored.GetType() != "CaseCreated" || stored.GetProducer() != "intake" || stored.GetOccurredAt() == nil {
				t.Errorf("envelope type %q producer %q occurred_at %v: Add must fill them", stored.GetType(), stored.GetProducer(), stored.GetOccurredAt())
			}
			if got := traceOf(headers["traceparent"]); got != traceID.String() {
				t.Errorf("stored traceparent %q, want trace %s", headers["traceparent"], traceID)
			}
		})
	}
}

func TestRelayPublishesCommittedEventsInOrderWithTheirTrace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, pool := openDB(t, ctx)
	caseTopic, slaTopic := newTopic(t, ctx, eventbus.TopicCaseEvents), newTopic(t, ctx, eventbus.TopicSLAEvents)
	cases := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}

	var want []added
	addSome := func(n int) {
		for i := range n {
			topic := caseTopic
			if i%3 == 2 {
				topic = slaTopic
			}
			want = append(want, addCommitted(t, pool, topic, cases[i%len(cases)]))
		}
	}
	// A rolled-back event must never be published, even with a relay running.
	rctx, _ := request(t)
	rolledBack := caseCreated(cases[0])
	if err := pgdb.InTx(rctx, pool, func(tx pgx.Tx) error {
		if err := outbox.Add(rctx, tx, "intake", caseTopic, rolledBack); err != nil {
			return err
		}
		return errors.New("the change failed")
	}); err == nil {
		t.Fatal("InTx did not fail")
	}

	addSome(20) // a backlog waiting when the relay starts
	startRelay(t, pool, "intake")
	addSome(20) // published as they come (Add wakes the relay)
	waitEmpty(t, ctx, pool)
	addSome(5) // after the relay went idle
	waitEmpty(t, ctx, pool)

	msgs := append(drain(t, ctx, caseTopic), drain(t, ctx, slaTopic)...)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{name: "every committed event is published once, on its topic, in the order added per case, with its trace", check: func(t *testing.T) { checkPublished(t, want, msgs) }},
		{name: "the rolled-back event is never published", check: func(t *testing.T) {
			for _, m := range msgs {
				if envelopeOf(t, m).GetEventId() == rolledBack.GetEventId() {
					t.Errorf("rolled-back event %s was published", rolledBack.GetEventId())
				}
			}
		}},
		{name: "one case's events share one partition", check: func(t *testing.T) {
			part := map[string]int{}
			for _, m := range msgs {
				k := m.Topic + "/" + string(m.Key)
				if p, ok := part[k]; ok && p != m.Partition {
					t.Errorf("case %s on partitions %d and %d of %s", m.Key, p, m.Partition, m.Topic)
				}
				part[k] = m.Partition
			}
		}},
		{name: "published events are deleted from the outbox", check: func(t *testing.T) {
			if n := pending(t, ctx, pool); n != 0 {
				t.Errorf("%d events left in the outbox", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// failProduce makes the shared broker fail every Produce request for topic
// until the returned lift is called, and counts the failures. At cleanup it
// makes sure its control function is gone: kfake drops a control function
// only when a request reaches it, and a drop while it iterates skips the
// control function registered after (the next subtest's).
func failProduce(t *testing.T, ctx context.Context, topic string, dropConnection bool) (failures *atomic.Int64, lift func()) {
	t.Helper()
	cluster := testinfra.Cluster(t)
	failures = &atomic.Int64{}
	var lifted atomic.Bool
	dropped := make(chan struct{})
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if lifted.Load() {
			cluster.DropControl()
			select {
			case <-dropped:
			default:
				close(dropped)
			}
			return nil, nil, false
		}
		pr := req.(*kmsg.ProduceRequest)
		if !slices.ContainsFunc(pr.Topics, func(rt kmsg.ProduceRequestTopic) bool { return rt.Topic == topic }) {
			return nil, nil, false // another test's produce
		}
		cluster.KeepControl()
		failures.Add(1)
		if dropConnection {
			return nil, errors.New("injected: connection dropped"), true
		}
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		resp.Version = pr.Version
		for _, rt := range pr.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = int16(kafka.NotEnoughReplicas)
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	sweep := newTopic(t, ctx, "fault-sweep")
	lift = func() { lifted.Store(true) }
	t.Cleanup(func() {
		lift()
		select {
		case <-dropped:
			return
		default:
		}
		// Nothing produced since the lift: produce once so the control
		// function sees a request and drops itself. A direct connection,
		// not a Writer: a Writer's cached metadata may not know sweep yet.
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := kafka.DialLeader(wctx, "tcp", testinfra.Brokers(t), sweep, 0)
		if err != nil {
			t.Errorf("dial to remove the fault: %v", err)
			return
		}
		defer conn.Close()
		if _, err := conn.WriteMessages(kafka.Message{Value: []byte("sweep")}); err != nil {
			t.Errorf("produce to remove the fault: %v", err)
		}
		select {
		case <-dropped:
		case <-wctx.Done():
			t.Error("the produce fault is still installed on the shared broker")
		}
	})
	return failures, lift
}

// Not parallel: it injects faults into the broker every test shares (only
// for its own topic, but a stuck control function would stall the others).
func TestRelayLosesNothingWhileKafkaRefusesWrites(t *testing.T) {
	tests := []struct {
		name           string
		dropConnection bool
	}{
		{name: "events stay in the outbox while Kafka answers not-enough-replicas, and are published after", dropConnection: false},
		{name: "events stay in the outbox while Kafka drops the connection on produce, and are published after", dropConnection: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, pool := openDB(t, ctx)
			topic := newTopic(t, ctx, eventbus.TopicCaseEvents)
			failures, lift := failProduce(t, ctx, topic, tt.dropConnection)

			caseID := uuid.NewString()
			var want []added
			for range 5 {
				want = append(want, addCommitted(t, pool, topic, caseID))
			}
			startRelay(t, pool, "intake")

			// Several relay rounds fail (the writer itself retries 5 times each).
			deadline := time.Now().Add(60 * time.Second)
			for failures.Load() < 8 {
				if n := pending(t, ctx, pool); n != len(want) {
					t.Fatalf("after %d refused produce attempts the outbox holds %d events, want all %d", failures.Load(), n, len(want))
				}
				if time.Now().After(deadline) {
					t.Fatalf("only %d produce attempts in 60s: the relay stopped retrying", failures.Load())
				}
				time.Sleep(50 * time.Millisecond)
			}
			want = append(want, addCommitted(t, pool, topic, caseID)) // written during the outage
			if n := pending(t, ctx, pool); n != len(want) {
				t.Fatalf("during the outage the outbox holds %d events, want all %d", n, len(want))
			}
			if msgs := drain(t, ctx, topic); len(msgs) != 0 {
				t.Fatalf("%d messages reached the topic while every produce failed", len(msgs))
			}

			lift()
			waitEmpty(t, ctx, pool)
			checkPublished(t, want, drain(t, ctx, topic))
		})
	}
}

func TestRelayReplicasPublishEachEventOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas int
	}{
		{name: "two relays on one database publish each event exactly once, in order", replicas: 2},
		{name: "three relays on one database publish each event exactly once, in order", replicas: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dsn, pool := openDB(t, ctx)
			topic := newTopic(t, ctx, eventbus.TopicCaseEvents)
			for range tt.replicas {
				startRelay(t, openPool(t, ctx, dsn), "intake") // each replica its own pool and writer
			}

			cases := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
			var (
				mu   sync.Mutex
				want []added
				wg   sync.WaitGroup
			)
			// Each case written by one goroutine, as one request at a time
			// would; the cases interleave.
			for _, caseID := range cases {
				wg.Go(func() {
					for i := range 25 {
						a := addCommitted(t, pool, topic, caseID)
						mu.Lock()
						want = append(want, a)
						mu.Unlock()
						if i%5 == 0 {
							time.Sleep(20 * time.Millisecond)
						}
					}
				})
			}
			wg.Wait()
			waitEmpty(t, ctx, pool)
			msgs := drain(t, ctx, topic)
			if len(msgs) != len(want) {
				t.Errorf("%d messages on the topic for %d events", len(msgs), len(want))
			}
			checkPublished(t, want, msgs)
		})
	}
}
