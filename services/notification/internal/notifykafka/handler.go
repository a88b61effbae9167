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
	"strings"
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
var Topics = []string{eventbus.TopicSLAEvents, eventbus.TopicCaseEvents, eventbus.TopicAssignmentEvents,
	eventbus.TopicRectificationEvents}

// Store keeps deliveries inside the consumer's transaction.
type Store interface {
	// Enqueue stores a new delivery and reports whether it was new: false
	// when the case already has one of its template and channel with its
	// DedupKey.
	Enqueue(ctx context.Context, tx pgx.Tx, d notify.Delivery) (bool, error)
	// Acknowledgment returns the case's acknowledgment delivery, or false
	// when none was queued: it holds what the customer was promised.
	Acknowledgment(ctx context.Context, tx pgx.Tx, tenantID, caseID string) (notify.Delivery, bool, error)
	// RecordCase keeps a case's number and zone for its staff alerts.
	RecordCase(ctx context.Context, tx pgx.Tx, c notify.CaseRecord) error
	// Case returns what RecordCase kept, or false.
	Case(ctx context.Context, tx pgx.Tx, tenantID, caseID string) (notify.CaseRecord, bool, error)
}

// Handler decides deliveries from events.
type Handler struct {
	Store Store
	// Contacts tells whom to alert about a deadline; nil: no staff alerts.
	Contacts StaffContacts
	Log      *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rules are the banks' notification rules; nil: every message is sent.
	Rules RuleSource
}

// RuleSource reads a bank's notification rules.
type RuleSource interface {
	Rules(ctx context.Context, tenantID string) (notify.Rules, error)
}

// enqueue stores d, or, when the bank's rules do not send its template,
// records it as skipped for that reason: a message not sent is a decision
// on the record, never a silence.
func (h *Handler) enqueue(ctx context.Context, tx pgx.Tx, d notify.Delivery) (bool, error) {
	if h.Rules != nil {
		rs, err := h.Rules.Rules(ctx, d.TenantID)
		if err != nil {
			return false, fmt.Errorf("read the bank's notification rules: %w", err)
		}
		if !rs.For(d.Template).Enabled {
			d.Status, d.LastError = notify.StatusSkipped, notify.ReasonRuleDisabled
		}
	}
	return h.Store.Enqueue(ctx, tx, d)
}

// Handle is an eventbus.Handler. Events it has no message for are accepted
// and ignored.
func (h *Handler) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_DeadlinesArmed:
		return h.deadlinesArmed(ctx, tx, env, p.DeadlinesArmed)
	case *eventsv1.Envelope_DeadlineRecomputed:
		return h.deadlineRecomputed(ctx, tx, env, p.DeadlineRecomputed)
	case *eventsv1.Envelope_CaseTransitioned:
		if p.CaseTransitioned.GetAction() == "answer" {
			return h.answered(ctx, tx, env, p.CaseTransitioned)
		}
		if p.CaseTransitioned.GetAction() == "close" {
			return h.closed(ctx, tx, env, p.CaseTransitioned) // the return-visit survey: survey.go
		}
	case *eventsv1.Envelope_CaseCreated:
		return h.caseCreated(ctx, tx, env, p.CaseCreated)
	case *eventsv1.Envelope_AssignmentMade:
		return h.assignmentMade(ctx, tx, env, p.AssignmentMade)
	case *eventsv1.Envelope_RectificationNoticeIssued:
		return h.rectification(ctx, tx, env, rectificationIssued(p.RectificationNoticeIssued))
	case *eventsv1.Envelope_RectificationNoticeDue:
		return h.rectification(ctx, tx, env, rectificationDue(p.RectificationNoticeDue))
	case *eventsv1.Envelope_DeadlineWarned:
		w := p.DeadlineWarned
		return h.deadlineAlert(ctx, tx, env, notify.DeadlineAlert{Template: notify.TemplateStaffDeadlineWarned,
			Kind: w.GetKind(), Level: w.GetLevel(), Provisional: w.GetProvisional()}, w.GetDueAt())
	case *eventsv1.Envelope_DeadlineBreached:
		b := p.DeadlineBreached
		return h.deadlineAlert(ctx, tx, env, notify.DeadlineAlert{Template: notify.TemplateStaffDeadlineBreached,
			Kind: b.GetKind(), Provisional: b.GetProvisional()}, b.GetDueAt())
	}
	return nil
}

// validCase checks what every case event must carry to be acted on. The
// same event will never read differently, so a failure is permanent.
func validCase(env *eventsv1.Envelope, what string) error {
	if env.GetTenantId() == "" {
		return eventbus.Permanent(fmt.Errorf("%s has no tenant", what))
	}
	if _, err := uuid.Parse(env.GetCaseId()); err != nil {
		return eventbus.Permanent(fmt.Errorf("%s has an invalid case id: %w", what, err))
	}
	return nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now() //nolint:forbidigo // the default clock; the service passes its own
}

// deadlinesArmed queues the customer's acknowledgment, which promises the
// answer deadline slatimer has just armed.
func (h *Handler) deadlinesArmed(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, ev *eventsv1.DeadlinesArmed) error {
	if err := validCase(env, "DeadlinesArmed"); err != nil {
		return err
	}
	deadlines := make([]notify.Deadline, 0, len(ev.GetDeadlines()))
	for _, d := range ev.GetDeadlines() {
		deadlines = append(deadlines, notify.Deadline{Kind: d.GetKind(), DueAt: d.GetDueAt().AsTime(), Provisional: d.GetProvisional()})
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
	d := notify.NewDelivery(id.String(), env.GetTenantId(), env.GetCaseId(), notify.ChannelEmail,
		notify.TemplateCaseAcknowledgment, ack, trace, h.now())
	added, err := h.enqueue(ctx, tx, d)
	if err != nil {
		return fmt.Errorf("queue acknowledgment of case %s: %w", env.GetCaseId(), err)
	}
	if !added {
		h.Log.InfoContext(ctx, "acknowledgment already queued", "case_id", env.GetCaseId(), "event_id", env.GetEventId())
	}
	return nil
}

// eventDeliveryNamespace names the deliveries decided from one event (a
// DeadlineRecomputed, an answer, a deadline warning or breach): their ids
// are UUIDv5 of the event, template and recipient, so the same event always
// makes the same delivery and Message-ID, however often it is handled.
var eventDeliveryNamespace = uuid.MustParse("5d0c2f8e-3b7a-4f41-9d7e-1c6a0e8b2f35")

// eventDeliveryID: recipient is the staff member a staff alert is for;
// the customer's messages name none (and keep the ids they always had).
func eventDeliveryID(tenantID, eventID string, t notify.Template, recipient ...string) string {
	parts := append([]string{tenantID, eventID, string(t), string(notify.ChannelEmail)}, recipient...)
	return uuid.NewSHA1(eventDeliveryNamespace, []byte(strings.Join(parts, "\x00"))).String()
}

// DateMovedID is the id of the e-mail delivery that tells a case's customer
// about the recount announced by event eventID.
func DateMovedID(tenantID, eventID string) string {
	return eventDeliveryID(tenantID, eventID, notify.TemplateCaseDateMoved)
}

// deadlineRecomputed tells the customer that the answer time they were
// promised moved. Recounts of deadlines the acknowledgment did not promise,
// and moves the customer could not see, are ignored; so is a case whose
// acknowledgment was never queued or was given up, as nothing was promised.
func (h *Handler) deadlineRecomputed(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, ev *eventsv1.DeadlineRecomputed) error {
	if err := validCase(env, "DeadlineRecomputed"); err != nil {
		return err
	}
	if env.GetEventId() == "" {
		// Without an id a redelivery could not be told from a new move.
		return eventbus.Permanent(errors.New("DeadlineRecomputed has no event id"))
	}
	if err := ev.GetOldDueAt().CheckValid(); err != nil {
		return eventbus.Permanent(fmt.Errorf("DeadlineRecomputed of case %s has no valid old_due_at: %w", env.GetCaseId(), err))
	}
	if err := ev.GetNewDueAt().CheckValid(); err != nil {
		return eventbus.Permanent(fmt.Errorf("DeadlineRecomputed of case %s has no valid new_due_at: %w", env.GetCaseId(), err))
	}
	recount := notify.Recount{
		Kind: ev.GetKind(), OldDueAt: ev.GetOldDueAt().AsTime(), NewDueAt: ev.GetNewDueAt().AsTime(),
		Provisional: ev.GetProvisional(), Reason: ev.GetReason(), TimeZone: ev.GetTimeZone(),
	}
	// Validate before looking anything up, so a malformed event is
	// dead-lettered whether or not the case was acknowledged.
	if err := recount.Validate(); err != nil {
		return eventbus.Permanent(fmt.Errorf("DeadlineRecomputed of case %s: %w", env.GetCaseId(), err))
	}
	ack, found, err := h.Store.Acknowledgment(ctx, tx, env.GetTenantId(), env.GetCaseId())
	if err != nil {
		return fmt.Errorf("look up acknowledgment of case %s: %w", env.GetCaseId(), err)
	}
	if !found {
		h.Log.DebugContext(ctx, "date moved on a case never acknowledged; nothing to tell",
			"case_id", env.GetCaseId(), "event_id", env.GetEventId())
		return nil
	}
	move, ok, err := notify.DateMoveFor(notify.PromiseOf(ack), recount)
	if err != nil {
		return eventbus.Permanent(fmt.Errorf("DeadlineRecomputed of case %s: %w", env.GetCaseId(), err))
	}
	if !ok {
		return nil
	}
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)
	d := notify.NewDateMovedDelivery(DateMovedID(env.GetTenantId(), env.GetEventId()), env.GetTenantId(), env.GetCaseId(),
		notify.ChannelEmail, move, env.GetEventId(), trace, h.now())
	added, err := h.enqueue(ctx, tx, d)
	if err != nil {
		return fmt.Errorf("queue date move of case %s: %w", env.GetCaseId(), err)
	}
	if !added {
		h.Log.InfoContext(ctx, "date move already queued", "case_id", env.GetCaseId(), "event_id", env.GetEventId())
	}
	return nil
}

// AnswerID is the id of the e-mail delivery that gives the customer the
// answer announced by event eventID: the same on every handling of it.
func AnswerID(tenantID, eventID string) string {
	return eventDeliveryID(tenantID, eventID, notify.TemplateCaseAnswer)
}

// answered queues the message giving the customer the answer. A case
// answered again (after a reopen or a review) gets each answer once.
func (h *Handler) answered(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, ev *eventsv1.CaseTransitioned) error {
	if err := validCase(env, "CaseTransitioned"); err != nil {
		return err
	}
	if env.GetEventId() == "" {
		return eventbus.Permanent(errors.New("CaseTransitioned has no event id"))
	}
	if err := ev.GetAt().CheckValid(); err != nil {
		return eventbus.Permanent(fmt.Errorf("CaseTransitioned of case %s has no valid time: %w", env.GetCaseId(), err))
	}
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)
	d := notify.NewAnswerDelivery(AnswerID(env.GetTenantId(), env.GetEventId()), env.GetTenantId(), env.GetCaseId(),
		notify.ChannelEmail, ev.GetAt().AsTime(), env.GetEventId(), trace, h.now())
	added, err := h.enqueue(ctx, tx, d)
	if err != nil {
		return fmt.Errorf("queue answer of case %s: %w", env.GetCaseId(), err)
	}
	if !added {
		h.Log.InfoContext(ctx, "answer already queued", "case_id", env.GetCaseId(), "event_id", env.GetEventId())
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
