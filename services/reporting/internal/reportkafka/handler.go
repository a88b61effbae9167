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
	"strings"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/types/known/timestamppb"
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

// Recorder stores facts about cases inside the consumer's transaction: one
// (Record) or several in order (RecordBatch, to the same effect).
type Recorder interface {
	Record(ctx context.Context, tx pgx.Tx, tenant, caseID string, fact report.Fact, h report.HistoryEntry, now time.Time) error
	RecordBatch(ctx context.Context, tx pgx.Tx, items []report.Item, now time.Time) error
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
	it, ok, err := itemOf(env)
	if err != nil || !ok {
		return err
	}
	err = h.store.Record(ctx, tx, it.Tenant, it.CaseID, it.Fact, it.History, h.now())
	if errors.Is(err, report.ErrInvalidFact) {
		return eventbus.Permanent(fmt.Errorf("event %s: %w", env.GetEventId(), err))
	}
	if err != nil {
		return fmt.Errorf("record %s event %s: %w", env.GetType(), env.GetEventId(), err)
	}
	return nil
}

// HandleBatch is an eventbus.BatchHandler: the events reports use, recorded
// together. Any event Handle would reject fails the batch, and the consumer
// then hands each event to Handle on its own.
func (h *Handler) HandleBatch(ctx context.Context, tx pgx.Tx, envs []*eventsv1.Envelope) error {
	items := make([]report.Item, 0, len(envs))
	for _, env := range envs {
		it, ok, err := itemOf(env)
		if err != nil {
			return err
		}
		if ok {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return nil
	}
	if err := h.store.RecordBatch(ctx, tx, items, h.now()); err != nil {
		return fmt.Errorf("record %d events: %w", len(items), err)
	}
	return nil
}

// itemOf is what env tells reports, for the store; false for events
// reports do not use, a permanent error for one without tenant or case.
func itemOf(env *eventsv1.Envelope) (report.Item, bool, error) {
	fact, ok := FactFrom(env)
	if !ok {
		return report.Item{}, false, nil
	}
	if env.GetTenantId() == "" || env.GetCaseId() == "" {
		return report.Item{}, false, eventbus.Permanent(fmt.Errorf("%s event %s has no tenant or case id", env.GetType(), env.GetEventId()))
	}
	return report.Item{Tenant: env.GetTenantId(), CaseID: env.GetCaseId(), Fact: fact, History: HistoryOf(env)}, true, nil
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
// reports false for events reports do not use (notifications other than
// the acknowledgment, payloads added after this code was written).
func FactFrom(env *eventsv1.Envelope) (report.Fact, bool) {
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseCreated:
		c := p.CaseCreated
		return report.CaseOpened{
			CaseNumber:          c.GetCaseNumber(),
			BranchID:            c.GetBranchId(),
			RegionID:            c.GetRegionId(),
			Channel:             c.GetChannel().String(),
			Category:            c.GetCategory().String(),
			Severity:            c.GetSeverity().String(),
			CustomerTier:        c.GetCustomerTier().String(),
			Status:              statusOrReported(c.GetStatus()).String(),
			TimeZone:            c.GetTimeZone(),
			CustomerNameMasked:  c.GetCustomerNameMasked(),
			CustomerPhoneMasked: c.GetCustomerPhoneMasked(),
			Repeat:              c.GetRepeat(),
			CreatedAt:           timeOr(c.GetCreatedAt().AsTime(), c.GetCreatedAt() != nil, env),
			ReceivedAt:          optional(c.GetReceivedAt()),
		}, true
	case *eventsv1.Envelope_AssignmentMade:
		a := p.AssignmentMade
		return report.OwnerAssigned{
			OwnerID: a.GetOwnerId(),
			Kind:    a.GetKind(),
			Level:   a.GetLevel(),
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
		at := timeOr(t.GetAt().AsTime(), t.GetAt() != nil, env)
		if t.GetAction() == "acknowledge" { // by a person: counts like a sent acknowledgment
			return report.CustomerAcknowledged{At: at}, true
		}
		sc := report.StatusChanged{Action: t.GetAction(), Status: t.GetToStatus().String(), At: at,
			Satisfaction: int(t.GetSatisfaction())}
		if t.GetRootCause() != casesv1.RootCause_ROOT_CAUSE_UNSPECIFIED {
			sc.RootCause = t.GetRootCause().String()
		}
		if t.GetCompensationKind() != casesv1.CompensationKind_COMPENSATION_KIND_UNSPECIFIED {
			sc.Compensation = report.Compensation{Kind: t.GetCompensationKind().String(), Tier: t.GetCompensationTier(),
				AmountFen: t.GetCompensationAmountFen()}
		}
		switch t.GetAction() {
		case "reclassify":
			sc.Severity = t.GetSeverity().String()
		case "moveBranch":
			sc.BranchID, sc.RegionID = t.GetBranchId(), t.GetRegionId()
		}
		return sc, true
	case *eventsv1.Envelope_DeadlinesArmed:
		var ds []report.ArmedDeadline
		for _, d := range p.DeadlinesArmed.GetDeadlines() {
			ds = append(ds, report.ArmedDeadline{Kind: d.GetKind(), DueAt: optional(d.GetDueAt())})
		}
		return report.DeadlinesArmed{Deadlines: ds}, true
	case *eventsv1.Envelope_DeadlineRecomputed:
		d := p.DeadlineRecomputed
		return report.DeadlineMoved{Kind: d.GetKind(), DueAt: optional(d.GetNewDueAt()), Reason: d.GetReason()}, true
	case *eventsv1.Envelope_DeadlineWarned:
		d := p.DeadlineWarned
		return report.DeadlineWarned{Kind: d.GetKind(), Level: d.GetLevel()}, true
	case *eventsv1.Envelope_DeadlineBreached:
		b := p.DeadlineBreached
		return report.DeadlineMissed{Kind: b.GetKind(), DueAt: optional(b.GetDueAt())}, true
	default:
		return nil, false
	}
}

// HistoryOf is the case-history line of an event: what happened, without
// personal data (events carry none).
func HistoryOf(env *eventsv1.Envelope) report.HistoryEntry {
	h := report.HistoryEntry{EventID: env.GetEventId(), Type: env.GetType(), Producer: env.GetProducer(), At: optional(env.GetOccurredAt())}
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_CaseCreated:
		c := p.CaseCreated
		h.Type, h.ActorID = "CaseCreated", c.GetReportedBy()
		h.Summary = fmt.Sprintf("registered at %s via %s (%s, %s)", c.GetBranchId(), c.GetChannel(), c.GetCategory(), c.GetSeverity())
		if h.At.IsZero() {
			h.At = optional(c.GetCreatedAt())
		}
	case *eventsv1.Envelope_AssignmentMade:
		a := p.AssignmentMade
		h.Type, h.ActorID, h.At = "AssignmentMade", a.GetActorId(), pick(a.GetAssignedAt(), h.At)
		who := a.GetOwnerId()
		if who == "" {
			who = a.GetOwnerRole() + " queue"
		}
		h.Summary = fmt.Sprintf("%s to %s (%s) because %s", a.GetKind(), who, a.GetLevel(), a.GetReason())
	case *eventsv1.Envelope_CaseTransitioned:
		t := p.CaseTransitioned
		h.Type, h.ActorID, h.At = "CaseTransitioned", t.GetActorId(), pick(t.GetAt(), h.At)
		h.Summary = fmt.Sprintf("%s: %s → %s", t.GetAction(), t.GetFromStatus(), t.GetToStatus())
	case *eventsv1.Envelope_DeadlinesArmed:
		h.Type = "DeadlinesArmed"
		var kinds []string
		for _, d := range p.DeadlinesArmed.GetDeadlines() {
			kinds = append(kinds, d.GetKind()+" due "+optional(d.GetDueAt()).Format(time.RFC3339))
		}
		h.Summary = "deadlines armed: " + strings.Join(kinds, ", ")
	case *eventsv1.Envelope_DeadlineRecomputed:
		d := p.DeadlineRecomputed
		h.Type, h.Summary = "DeadlineRecomputed", fmt.Sprintf("%s now due %s (%s)", d.GetKind(), optional(d.GetNewDueAt()).Format(time.RFC3339), d.GetReason())
	case *eventsv1.Envelope_DeadlineWarned:
		d := p.DeadlineWarned
		h.Type, h.Summary = "DeadlineWarned", fmt.Sprintf("%s warning %s", d.GetKind(), d.GetLevel())
	case *eventsv1.Envelope_DeadlineBreached:
		d := p.DeadlineBreached
		h.Type, h.Summary = "DeadlineBreached", d.GetKind()+" breached"
	case *eventsv1.Envelope_NotificationSent:
		n := p.NotificationSent
		h.Type, h.At = "NotificationSent", pick(n.GetSentAt(), h.At)
		h.Summary = fmt.Sprintf("%s sent by %s", n.GetTemplate(), n.GetChannel())
	}
	if h.At.IsZero() || h.EventID == "" {
		return report.HistoryEntry{} // nothing to place in time: no line
	}
	return h
}

func optional(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

func pick(ts *timestamppb.Timestamp, or time.Time) time.Time {
	if ts != nil {
		return ts.AsTime().UTC()
	}
	return or
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
