package eventbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
)

// Handler applies one event inside tx. Return an error wrapped with
// Permanent for an event that can never be handled (it goes to the
// dead-letter topic); any other error is retried with back-off.
type Handler func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error

// AfterCommit runs after the handler's transaction committed, for effects
// outside Postgres that can be rebuilt from it (e.g. a Redis queue entry).
type AfterCommit func(ctx context.Context, env *eventsv1.Envelope) error

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool { var p permanentError; return errors.As(err, &p) }

// Consumer reads topics as consumer group Group and applies each event once.
type Consumer struct {
	Group       string
	Topics      []string
	Brokers     []string
	Pool        *pgxpool.Pool
	Handle      Handler
	AfterCommit AfterCommit
	Log         *slog.Logger
	// DeadLetters receives poison messages; NewWriter(brokers) when nil.
	DeadLetters *kafka.Writer
}

// Run consumes until ctx is cancelled. An offset is committed only after the
// event's effect is committed in Postgres (or it went to the dead-letter
// topic), so a crash at any point leads to redelivery, never to loss.
func (c *Consumer) Run(ctx context.Context) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           c.Brokers,
		GroupID:           c.Group,
		GroupTopics:       c.Topics,
		MinBytes:          1,
		MaxBytes:          10 << 20,
		MaxWait:           500 * time.Millisecond,
		SessionTimeout:    6 * time.Second, // the least kfake and default Kafka brokers accept: a dead member is noticed sooner
		HeartbeatInterval: time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  500 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		CommitInterval:    0,
	})
	defer r.Close()
	dlq := c.DeadLetters
	if dlq == nil {
		dlq = NewWriter(c.Brokers)
		defer dlq.Close()
	}
	meter := otel.Meter("counterdesk/eventbus")
	handled, _ := meter.Int64Counter("counterdesk_events_consumed_total",
		metric.WithDescription("Events taken from Kafka, by consumer group, topic and outcome."))
	lag, _ := meter.Float64Histogram("counterdesk_event_handle_seconds",
		metric.WithDescription("Time from the event's creation to its effect being committed."),
		// Normal hand-offs take milliseconds; the SLA-relevant tail is minutes.
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900))
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.Log.WarnContext(ctx, "kafka fetch failed", "group", c.Group, "err", err)
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		outcome, occurred := c.process(ctx, m, dlq)
		if outcome == "" { // shutting down mid-retry: leave the offset uncommitted
			return nil
		}
		attrs := metric.WithAttributes(attribute.String("group", c.Group), attribute.String("topic", m.Topic), attribute.String("outcome", outcome))
		handled.Add(ctx, 1, attrs)
		if !occurred.IsZero() {
			lag.Record(ctx, time.Since(occurred).Seconds(), metric.WithAttributes(attribute.String("group", c.Group), attribute.String("topic", m.Topic)))
		}
		for {
			if err := r.CommitMessages(ctx, m); err == nil {
				break
			} else if ctx.Err() != nil {
				return nil
			} else {
				c.Log.WarnContext(ctx, "kafka commit failed; retrying", "group", c.Group, "err", err)
				if !sleep(ctx, time.Second) {
					return nil
				}
			}
		}
	}
}

// process handles one message until it is applied, skipped as a duplicate or
// dead-lettered, and says which; "" means ctx ended first.
func (c *Consumer) process(ctx context.Context, m kafka.Message, dlq *kafka.Writer) (string, time.Time) {
	mctx := Extract(ctx, m.Headers)
	tracer := otel.Tracer("counterdesk/eventbus")
	mctx, span := tracer.Start(mctx, "consume "+m.Topic, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", m.Topic),
			attribute.String("messaging.consumer.group.name", c.Group),
			attribute.Int("messaging.kafka.partition", m.Partition),
			attribute.Int64("messaging.kafka.offset", m.Offset),
		))
	defer span.End()

	env := &eventsv1.Envelope{}
	if err := proto.Unmarshal(m.Value, env); err != nil || !isUUID(env.GetEventId()) || !isUUID(env.GetCaseId()) {
		if err == nil {
			// Every table keys these as uuid: a malformed one would fail the
			// handler's SQL forever and block the partition.
			err = errors.New("envelope event_id and case_id must be UUIDs")
		}
		return c.deadLetter(mctx, span, m, dlq, fmt.Errorf("decode envelope: %w", err)), time.Time{}
	}
	span.SetAttributes(attribute.String("case.id", env.GetCaseId()), attribute.String("event.type", env.GetType()),
		attribute.String("event.id", env.GetEventId()), attribute.String("tenant.id", env.GetTenantId()))
	occurred := env.GetOccurredAt().AsTime()

	backoff := 100 * time.Millisecond
	for {
		dup, err := c.apply(mctx, env)
		switch {
		case err == nil && dup:
			span.SetAttributes(attribute.Bool("event.duplicate", true))
			return "duplicate", time.Time{}
		case err == nil:
			if c.AfterCommit != nil {
				if aerr := c.AfterCommit(mctx, env); aerr != nil {
					// The committed state is the truth; the side effect is rebuilt from it.
					c.Log.WarnContext(mctx, "after-commit effect failed", "group", c.Group, "event_type", env.GetType(), "err", aerr)
				}
			}
			return "applied", occurred
		case IsPermanent(err):
			return c.deadLetter(mctx, span, m, dlq, err), time.Time{}
		default:
			span.AddEvent("retry", trace.WithAttributes(attribute.String("error", err.Error())))
			c.Log.WarnContext(mctx, "event handling failed; retrying", "group", c.Group, "event_type", env.GetType(),
				"event_id", env.GetEventId(), "err", err, "backoff", backoff.String())
			if !sleep(ctx, backoff) {
				return "", time.Time{}
			}
			backoff = min(backoff*2, 30*time.Second)
		}
	}
}

func (c *Consumer) apply(ctx context.Context, env *eventsv1.Envelope) (dup bool, err error) {
	tx, err := c.Pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		c.Group, env.GetEventId())
	if err != nil {
		return false, fmt.Errorf("record processed event: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return true, nil
	}
	if err := c.Handle(ctx, tx, env); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return false, nil
}

func (c *Consumer) deadLetter(ctx context.Context, span trace.Span, m kafka.Message, dlq *kafka.Writer, reason error) string {
	span.RecordError(reason)
	span.SetStatus(codes.Error, "dead-lettered")
	c.Log.ErrorContext(ctx, "event sent to dead-letter topic", "group", c.Group, "topic", m.Topic,
		"partition", m.Partition, "offset", m.Offset, "reason", reason.Error())
	headers := append([]kafka.Header{}, m.Headers...)
	headers = append(headers,
		kafka.Header{Key: "x-dlq-reason", Value: []byte(reason.Error())},
		kafka.Header{Key: "x-dlq-consumer", Value: []byte(c.Group)},
		kafka.Header{Key: "x-dlq-source", Value: fmt.Appendf(nil, "%s/%d/%d", m.Topic, m.Partition, m.Offset)},
	)
	for {
		err := dlq.WriteMessages(ctx, kafka.Message{Topic: DeadLetterTopic(m.Topic), Key: m.Key, Value: m.Value, Headers: headers})
		if err == nil {
			return "dead_lettered"
		}
		c.Log.WarnContext(ctx, "dead-letter write failed; retrying", "err", err)
		if !sleep(ctx, time.Second) {
			return ""
		}
	}
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
