// Package outbox is the transactional outbox: a service writes an event in the
// same Postgres transaction as the change it announces, and the relay
// publishes it to Kafka afterwards. So a change is never saved without its
// event, and no event is sent for a change that rolled back. The relay
// delivers at least once; consumers deduplicate on the event id.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Add stores env for publication on topic, inside tx. It fills in the event
// id (UUIDv7), time, type and producer when they are empty, and keeps ctx's
// trace context so the trace continues in the consumers.
func Add(ctx context.Context, tx pgx.Tx, producer, topic string, env *eventsv1.Envelope) error {
	if env.GetEventId() == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("new event id: %w", err)
		}
		env.EventId = id.String()
	}
	if env.OccurredAt == nil {
		env.OccurredAt = timestamppb.Now()
	}
	if env.Type == "" {
		env.Type = TypeOf(env)
	}
	if env.Producer == "" {
		env.Producer = producer
	}
	payload, err := proto.Marshal(env)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", env.Type, err)
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	headers, err := json.Marshal(carrier)
	if err != nil {
		return fmt.Errorf("encode trace headers: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (id, topic, msg_key, payload, headers) VALUES ($1, $2, $3, $4, $5)`,
		env.EventId, topic, env.GetCaseId(), payload, headers)
	if err != nil {
		return fmt.Errorf("store %s event in outbox: %w", env.Type, err)
	}
	wakeRelays()
	return nil
}

// relays are this process's running relays, woken by Add. A Postgres
// NOTIFY would wake relays of every process, but it takes a lock that
// every notifying commit of the whole database server waits for in turn
// (measured: the main wait of intake, routing and notification under load).
var relays struct {
	sync.Mutex
	wake []chan struct{}
}

func wakeRelays() {
	relays.Lock()
	defer relays.Unlock()
	for _, w := range relays.wake {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func registerRelay(w chan struct{}) func() {
	relays.Lock()
	defer relays.Unlock()
	relays.wake = append(relays.wake, w)
	return func() {
		relays.Lock()
		defer relays.Unlock()
		for i, x := range relays.wake {
			if x == w {
				relays.wake = append(relays.wake[:i], relays.wake[i+1:]...)
				return
			}
		}
	}
}

// TypeOf names the payload of env, e.g. "CaseCreated".
func TypeOf(env *eventsv1.Envelope) string {
	switch env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseCreated:
		return "CaseCreated"
	case *eventsv1.Envelope_AssignmentMade:
		return "AssignmentMade"
	case *eventsv1.Envelope_DeadlinesArmed:
		return "DeadlinesArmed"
	case *eventsv1.Envelope_DeadlineWarned:
		return "DeadlineWarned"
	case *eventsv1.Envelope_DeadlineBreached:
		return "DeadlineBreached"
	case *eventsv1.Envelope_NotificationSent:
		return "NotificationSent"
	case *eventsv1.Envelope_AuditAnchored:
		return "AuditAnchored"
	default:
		return "Unknown"
	}
}

// Relay publishes outbox rows in creation order and deletes them once the
// broker acknowledged them. Replicas share one advisory lock, so only one
// publishes at a time and per-case order is kept.
type Relay struct {
	Pool   *pgxpool.Pool
	Writer *kafka.Writer
	Log    *slog.Logger
	// Service names the lock; replicas of one service share it.
	Service string
	// Poll is how often the relay looks when nothing woke it.
	Poll time.Duration
}

// Run publishes until ctx is cancelled. Add in this process wakes it; the
// event's transaction commits a moment later, so after a wake that found
// nothing it looks again soon (5, 20, 50 ms) before falling back to Poll,
// which is how it finds what other replicas of the service wrote.
func (r *Relay) Run(ctx context.Context) error {
	poll := r.Poll
	if poll == 0 {
		poll = time.Second
	}
	wake := make(chan struct{}, 1)
	defer registerRelay(wake)()
	soon := []time.Duration{5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond}
	retry := len(soon)
	if reg, err := r.observeBacklog(); err != nil {
		r.Log.WarnContext(ctx, "outbox relay: backlog metrics unavailable", "err", err)
	} else {
		defer func() { _ = reg.Unregister() }()
	}
	backoff := 100 * time.Millisecond
	for {
		n, err := r.publishBatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := poll
		switch {
		case err != nil:
			r.Log.WarnContext(ctx, "outbox relay: publish failed; will retry", "err", err, "backoff", backoff.String())
			wait = backoff
			backoff = min(backoff*2, 10*time.Second)
		case n > 0:
			backoff = 100 * time.Millisecond
			retry = 0
			continue // more may be waiting
		case retry < len(soon):
			wait = soon[retry]
			retry++
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			retry = 0
		case <-time.After(wait):
		}
	}
}

// observeBacklog exports how many events wait and how old the oldest is, so
// an SRE sees a stuck relay (broker down, lock held) before anyone misses an
// event. The query runs at scrape time on a small, indexed table.
func (r *Relay) observeBacklog() (metric.Registration, error) {
	meter := otel.Meter("counterdesk/outbox")
	pending, err := meter.Int64ObservableGauge("counterdesk_outbox_pending",
		metric.WithDescription("Events written to the outbox and not yet acknowledged by Kafka."))
	if err != nil {
		return nil, err
	}
	oldest, err := meter.Float64ObservableGauge("counterdesk_outbox_oldest_age_seconds",
		metric.WithDescription("Age of the oldest event waiting in the outbox (0 when empty)."))
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		var n int64
		var age float64
		if err := r.Pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox`).Scan(&n, &age); err != nil {
			return err
		}
		o.ObserveInt64(pending, n)
		o.ObserveFloat64(oldest, age)
		return nil
	}, pending, oldest)
}

type row struct {
	id      uuid.UUID
	topic   string
	key     string
	payload []byte
	headers map[string]string
}

func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	tx, err := r.Pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext($1))`, "outbox:"+r.Service).Scan(&locked); err != nil {
		return 0, fmt.Errorf("take relay lock: %w", err)
	}
	if !locked {
		return 0, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, topic, msg_key, payload, headers FROM outbox ORDER BY id LIMIT 200`)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	var batch []row
	for rows.Next() {
		var rw row
		if err := rows.Scan(&rw.id, &rw.topic, &rw.key, &rw.payload, &rw.headers); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan outbox row: %w", err)
		}
		batch = append(batch, rw)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	msgs := make([]kafka.Message, len(batch))
	spans := make([]trace.Span, len(batch))
	tracer := otel.Tracer("counterdesk/outbox")
	for i, rw := range batch {
		pctx := otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(rw.headers))
		sctx, span := tracer.Start(pctx, "publish "+rw.topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attribute.String("messaging.system", "kafka"),
				attribute.String("messaging.destination.name", rw.topic),
				attribute.String("case.id", rw.key), attribute.String("event.id", rw.id.String())))
		spans[i] = span
		var hs []kafka.Header
		eventbus.Inject(sctx, &hs)
		hs = append(hs, kafka.Header{Key: "event-id", Value: []byte(rw.id.String())})
		msgs[i] = kafka.Message{Topic: rw.topic, Key: []byte(rw.key), Value: rw.payload, Headers: hs}
	}
	werr := r.Writer.WriteMessages(ctx, msgs...)
	for _, s := range spans {
		if werr != nil {
			s.RecordError(werr)
		}
		s.End()
	}
	if werr != nil {
		return 0, fmt.Errorf("write %d events to kafka: %w", len(msgs), werr)
	}
	ids := make([]uuid.UUID, len(batch))
	for i, rw := range batch {
		ids[i] = rw.id
	}
	if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, ids); err != nil {
		return 0, fmt.Errorf("delete published events: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		// Already published: consumers will see them again and skip them.
		return 0, fmt.Errorf("commit after publish: %w", err)
	}
	return len(batch), nil
}
