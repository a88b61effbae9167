// Package reportkafka turns the events other services publish into facts
// for the reporting read model. It is the eventbus handler of consumer group
// "reporting": the platform's consumer has already dropped redelivered
// events and opened the transaction; this package decides which events
// matter to reports, translates them, and hands them to the store.
package reportkafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Group is the consumer group reporting reads as.
const Group = "reporting"

// Topics are every topic whose events feed reports.
var Topics = []string{
	eventbus.TopicCaseEvents,
	eventbus.TopicAssignmentEvents,
	eventbus.TopicSLAEvents,
	eventbus.TopicNotificationEvents,
}

// Recorder stores one fact about a case inside the consumer's transaction.
type Recorder interface {
	Record(ctx context.Context, tx pgx.Tx, tenant, caseID string, fact report.Fact, now time.Time) error
}

// Handler applies events to the read model.
type Handler struct {
	store    Recorder
	now      func() time.Time
	recorded metric.Int64Counter
}

// NewHandler returns a handler recording into store, stamping rows with now.
func NewHandler(store Recorder, now func() time.Time) (*Handler, error) {
	recorded, err := otel.Meter("counterdesk/reporting").Int64Counter("counterdesk_cases_recorded_total",
		metric.WithDescription("Cases recorded in the reporting read model, by category and severity."))
	if err != nil {
		return nil, fmt.Errorf("create cases-recorded counter: %w", err)
	}
	return &Handler{store: store, now: now, recorded: recorded}, nil
}

// Handle is an eventbus.Handler. An event that can never be applied (no
// tenant or case, a malformed payload) is marked permanent so it goes to the
// dead-letter topic; events reports do not use are accepted and ignored.
func (h *Handler) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	fact, ok := FactFrom(env)
	if !ok {
		return nil
	}
	if env.GetTenantId() == "" || env.GetCaseId() == "" {
		return eventbus.Permanent(fmt.Errorf("%s event %s has no tenant or case id", env.GetType(), env.GetEventId()))
	}
	err := h.store.Record(ctx, tx, env.GetTenantId(), env.GetCaseId(), fact, h.now())
	if errors.Is(err, report.ErrInvalidFact) {
		return eventbus.Permanent(fmt.Errorf("event %s: %w", env.GetEventId(), err))
	}
	if err != nil {
		return fmt.Errorf("record %s event %s: %w", env.GetType(), env.GetEventId(), err)
	}
	return nil
}

// AfterCommit is an eventbus.AfterCommit. It counts recorded cases only
// once their row is committed, so a retried transaction is not counted twice.
func (h *Handler) AfterCommit(ctx context.Context, env *eventsv1.Envelope) error {
	if c := env.GetCaseCreated(); c != nil {
		// Labels are enum names only: never ids or anything about the customer.
		h.recorded.Add(ctx, 1, metric.WithAttributes(
			attribute.String("category", c.GetCategory().String()),
			attribute.String("severity", c.GetSeverity().String()),
		))
	}
	return nil
}

// FactFrom translates an envelope into the fact it tells reports, and
// reports false for events reports do not use (deadlines armed or warned,
// notifications other than the acknowledgment, payloads added after this
// code was written).
func FactFrom(env *eventsv1.Envelope) (report.Fact, bool) {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseCreated:
		c := p.CaseCreated
		return report.CaseOpened{
			CaseNumber:   c.GetCaseNumber(),
			BranchID:     c.GetBranchId(),
			RegionID:     c.GetRegionId(),
			Channel:      c.GetChannel().String(),
			Category:     c.GetCategory().String(),
			Severity:     c.GetSeverity().String(),
			CustomerTier: c.GetCustomerTier().String(),
			Status:       statusOrReported(c.GetStatus()).String(),
			CreatedAt:    timeOr(c.GetCreatedAt().AsTime(), c.GetCreatedAt() != nil, env),
		}, true
	case *eventsv1.Envelope_AssignmentMade:
		a := p.AssignmentMade
		return report.OwnerAssigned{
			OwnerID: a.GetOwnerId(),
			At:      timeOr(a.GetAssignedAt().AsTime(), a.GetAssignedAt() != nil, env),
		}, true
	case *eventsv1.Envelope_NotificationSent:
		n := p.NotificationSent
		if n.GetTemplate() != report.AcknowledgmentTemplate {
			return nil, false
		}
		return report.CustomerAcknowledged{At: timeOr(n.GetSentAt().AsTime(), n.GetSentAt() != nil, env)}, true
	case *eventsv1.Envelope_CaseTransitioned:
		t := p.CaseTransitioned
		if t.GetAction() == "acknowledge" { // by a person: counts like a sent acknowledgment
			return report.CustomerAcknowledged{At: timeOr(t.GetAt().AsTime(), t.GetAt() != nil, env)}, true
		}
		return report.StatusChanged{Status: t.GetToStatus().String(), At: timeOr(t.GetAt().AsTime(), t.GetAt() != nil, env)}, true
	case *eventsv1.Envelope_DeadlineBreached:
		b := p.DeadlineBreached
		return report.DeadlineMissed{Kind: b.GetKind(), DueAt: b.GetDueAt().AsTime()}, true
	default:
		return nil, false
	}
}

// statusOrReported reads an unset status as the status every case starts in.
func statusOrReported(s casesv1.CaseStatus) casesv1.CaseStatus {
	if s == casesv1.CaseStatus_CASE_STATUS_UNSPECIFIED {
		return casesv1.CaseStatus_CASE_STATUS_REPORTED
	}
	return s
}

// timeOr returns t when the payload set it, else when the event occurred
// (zero if neither did, which the domain refuses).
func timeOr(t time.Time, set bool, env *eventsv1.Envelope) time.Time {
	if set {
		return t.UTC()
	}
	if env.GetOccurredAt() != nil {
		return env.GetOccurredAt().AsTime().UTC()
	}
	return time.Time{}
}
