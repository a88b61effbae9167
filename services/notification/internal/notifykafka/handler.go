// Package notifykafka turns the facts other services announce on Kafka into
// deliveries. It runs inside the platform's idempotent consumer: each event's
// effect is written in the consumer's transaction, and the sender is woken
// once that transaction has committed.
package notifykafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Group is the consumer group; Topics what it reads.
const Group = "notification"

// Topics the handler reads.
var Topics = []string{eventbus.TopicSLAEvents}

// Enqueuer stores a new delivery inside the consumer's transaction and
// reports whether it was new.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx pgx.Tx, d notify.Delivery) (bool, error)
}

// Handler decides deliveries from events.
type Handler struct {
	Store Enqueuer
	Log   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Handle is an eventbus.Handler. Events it has no message for are accepted
// and ignored.
func (h *Handler) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	armed, ok := env.GetPayload().(*eventsv1.Envelope_DeadlinesArmed)
	if !ok {
		return nil
	}
	return h.deadlinesArmed(ctx, tx, env, armed.DeadlinesArmed)
}

// deadlinesArmed queues the customer's acknowledgment, which promises the
// answer deadline slatimer has just armed.
func (h *Handler) deadlinesArmed(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, ev *eventsv1.DeadlinesArmed) error {
	if env.GetTenantId() == "" {
		return eventbus.Permanent(errors.New("DeadlinesArmed has no tenant"))
	}
	if _, err := uuid.Parse(env.GetCaseId()); err != nil {
		return eventbus.Permanent(fmt.Errorf("DeadlinesArmed has an invalid case id: %w", err))
	}
	deadlines := make([]notify.Deadline, 0, len(ev.GetDeadlines()))
	for _, d := range ev.GetDeadlines() {
		deadlines = append(deadlines, notify.Deadline{Kind: d.GetKind(), DueAt: d.GetDueAt().AsTime()})
	}
	ack, ok, err := notify.AcknowledgmentFor(deadlines, ev.GetTimeZone())
	if err != nil {
		// The same event will never read differently: dead-letter it, to be
		// replayed once the zone database knows the zone.
		return eventbus.Permanent(fmt.Errorf("acknowledge case %s: %w", env.GetCaseId(), err))
	}
	if !ok {
		return nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new delivery id: %w", err)
	}
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)
	now := time.Now //nolint:forbidigo // the default clock; the service passes its own
	if h.Now != nil {
		now = h.Now
	}
	d := notify.NewDelivery(id.String(), env.GetTenantId(), env.GetCaseId(), notify.ChannelEmail,
		notify.TemplateCaseAcknowledgment, ack, trace, now())
	added, err := h.Store.Enqueue(ctx, tx, d)
	if err != nil {
		return fmt.Errorf("queue acknowledgment of case %s: %w", env.GetCaseId(), err)
	}
	if !added {
		h.Log.InfoContext(ctx, "acknowledgment already queued", "case_id", env.GetCaseId(), "event_id", env.GetEventId())
	}
	return nil
}

// WakeAfterCommit returns the consumer's after-commit hook: it calls wake so
// a new delivery goes out at once rather than at the sender's next poll.
func WakeAfterCommit(wake func()) eventbus.AfterCommit {
	return func(context.Context, *eventsv1.Envelope) error {
		wake()
		return nil
	}
}
