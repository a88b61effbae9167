// Package notifypg stores deliveries in the notification service's Postgres
// database. Claims use FOR UPDATE SKIP LOCKED so any number of sender
// replicas share the work, and a sent delivery's NotificationSent event goes
// into the transactional outbox in the same transaction as its status. Its
// queries are sqlc-generated (queries/*.sql → notifydb). Times are
// parameters, never now(), so tests own the clock.
package notifypg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifypg/notifydb"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Producer names this service on the events it writes.
const Producer = "notification"

// Store is the deliveries table.
type Store struct {
	pool *pgxpool.Pool
	q    *notifydb.Queries
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: notifydb.New(pool)} }

// on returns the queries bound to tx, or to the pool when tx is nil.
func (s *Store) on(tx pgx.Tx) *notifydb.Queries {
	if tx == nil {
		return s.q
	}
	return s.q.WithTx(tx)
}

// Enqueue adds d inside tx (the consumer's transaction, so the delivery is
// decided exactly once per event). It returns false when the case already
// has this template on this channel with d's DedupKey.
func (s *Store) Enqueue(ctx context.Context, tx pgx.Tx, d notify.Delivery) (bool, error) {
	trace := d.TraceContext
	if trace == nil {
		trace = map[string]string{}
	}
	traceJSON, err := json.Marshal(trace)
	if err != nil {
		return false, fmt.Errorf("encode trace context of %s delivery for case %s: %w", d.Template, d.CaseID, err)
	}
	var previous *time.Time
	if !d.PreviousAnswerAt.IsZero() {
		previous = &d.PreviousAnswerAt
	}
	n, err := s.on(tx).InsertDelivery(ctx, notifydb.InsertDeliveryParams{
		ID: d.ID, TenantID: d.TenantID, CaseID: d.CaseID, Channel: string(d.Channel), Template: string(d.Template),
		Status: string(d.Status), ExpectedAnswerAt: d.ExpectedAnswerAt, TimeZone: d.TimeZone,
		Attempts: int32(d.Attempts), NextAttemptAt: d.NextAttemptAt, TraceContext: traceJSON,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeadlineKind: d.DeadlineKind, Provisional: d.Provisional,
		PreviousAnswerAt: previous, ChangeReason: d.ChangeReason, DedupKey: d.DedupKey,
		StaffID: d.Staff.ID, StaffEmail: d.Staff.Email, StaffName: d.Staff.Name, Audience: d.Staff.Audience,
		AlertLevel: d.AlertLevel, CaseNumber: d.CaseNumber, Urgent: d.Urgent,
	})
	if err != nil {
		return false, fmt.Errorf("insert %s delivery for case %s: %w", d.Template, d.CaseID, err)
	}
	return n == 1, nil
}

// Acknowledgment returns the case's acknowledgment to the customer as tx
// sees it (on the customer's channel, or e-mail as queued before channels
// were chosen), and false when none was ever queued for the case in this
// tenant: what the customer was promised, for deciding whether a recount
// moved it.
func (s *Store) Acknowledgment(ctx context.Context, tx pgx.Tx, tenantID, caseID string) (notify.Delivery, bool, error) {
	r, err := s.on(tx).GetOncePerCaseDelivery(ctx, notifydb.GetOncePerCaseDeliveryParams{
		TenantID: tenantID, CaseID: caseID, Template: string(notify.TemplateCaseAcknowledgment),
		Channels: []string{string(notify.ChannelCustomer), string(notify.ChannelEmail)},
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return notify.Delivery{}, false, nil
	}
	if err != nil {
		return notify.Delivery{}, false, fmt.Errorf("get acknowledgment of case %s: %w", caseID, err)
	}
	d, err := deliveryOf(r)
	if err != nil {
		return notify.Delivery{}, false, fmt.Errorf("get acknowledgment of case %s: %w", caseID, err)
	}
	return d, true, nil
}

// ClaimDue implements dispatch.Store. A delivery waits while an earlier one
// of its case on its channel to the same recipient is still pending (e.g.
// an acknowledgment being retried), so the customer never reads that a date
// moved before being told the date; a staff alert waits for no customer
// message, and no customer message for a staff alert.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]notify.Delivery, error) {
	rows, err := s.q.ClaimDueDeliveries(ctx, notifydb.ClaimDueDeliveriesParams{
		Now: now, MaxClaims: int32(limit), LeaseUntil: now.Add(lease),
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	out, err := deliveriesOf(rows)
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	return out, nil
}

// Record implements dispatch.Store. An attempt (d.Attempts above
// prevAttempts) also gets its row in delivery_attempts, in the same
// transaction; a deferral (quiet hours) changes only when it is due.
func (s *Store) Record(ctx context.Context, d notify.Delivery, prevAttempts int) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var sentAt *time.Time
		if d.Status == notify.StatusSent {
			sentAt = &d.SentAt
		}
		q := s.q.WithTx(tx)
		n, err := q.RecordOutcome(ctx, notifydb.RecordOutcomeParams{
			ID: d.ID, PrevAttempts: int32(prevAttempts), Status: string(d.Status), Language: string(d.Language),
			Recipient: d.Recipient, Attempts: int32(d.Attempts), NextAttemptAt: d.NextAttemptAt,
			LastError: d.LastError, SentAt: sentAt, UpdatedAt: d.UpdatedAt,
			Via: string(d.Via), Decision: d.Decision, Late: d.Late,
		})
		if err != nil {
			return fmt.Errorf("record delivery %s: %w", d.ID, err)
		}
		if n == 0 {
			return fmt.Errorf("record delivery %s: %w", d.ID, notify.ErrNotPending)
		}
		if d.Attempts > prevAttempts {
			if err := q.InsertAttempt(ctx, notifydb.InsertAttemptParams{
				DeliveryID: d.ID, Attempt: int32(d.Attempts), TenantID: d.TenantID, CaseID: d.CaseID,
				Channel: string(d.Via), Recipient: d.Recipient, Outcome: string(notify.OutcomeOf(d)),
				Error: d.LastError, At: d.UpdatedAt,
			}); err != nil {
				return fmt.Errorf("record attempt %d of delivery %s: %w", d.Attempts, d.ID, err)
			}
		}
		if d.Status != notify.StatusSent {
			return nil
		}
		err = outbox.Add(ctx, tx, Producer, eventbus.TopicNotificationEvents, &eventsv1.Envelope{
			TenantId: d.TenantID,
			CaseId:   d.CaseID,
			Payload: &eventsv1.Envelope_NotificationSent{NotificationSent: &eventsv1.NotificationSent{
				NotificationId: d.ID, Channel: string(d.Via), Template: string(d.Template),
				SentAt: timestamppb.New(d.SentAt),
			}},
		})
		if err != nil {
			return fmt.Errorf("announce delivery %s: %w", d.ID, err)
		}
		return nil
	})
}

// ListByCase returns a case's deliveries, oldest first. Rows of other
// tenants are never returned.
func (s *Store) ListByCase(ctx context.Context, tenantID, caseID string) ([]notify.Delivery, error) {
	rows, err := s.q.ListCaseDeliveries(ctx, notifydb.ListCaseDeliveriesParams{TenantID: tenantID, CaseID: caseID})
	if err != nil {
		return nil, fmt.Errorf("list deliveries of case %s: %w", caseID, err)
	}
	out, err := deliveriesOf(rows)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of case %s: %w", caseID, err)
	}
	return out, nil
}

// Get returns one delivery, or an error wrapping pgx.ErrNoRows.
func (s *Store) Get(ctx context.Context, id string) (notify.Delivery, error) {
	r, err := s.q.GetDelivery(ctx, id)
	if err != nil {
		return notify.Delivery{}, fmt.Errorf("get delivery %s: %w", id, err)
	}
	d, err := deliveryOf(r)
	if err != nil {
		return notify.Delivery{}, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return d, nil
}

// Replay makes dead letter id of tenantID pending again, due at now, and
// returns it; notify.ErrNotDeadLetter when it is not one (never was, was
// replayed already, or belongs to another bank: the row-level policy hides
// those too), pgx.ErrNoRows wrapped when no such delivery exists.
func (s *Store) Replay(ctx context.Context, tenantID, id, decision string, now time.Time) (notify.Delivery, error) {
	r, err := s.q.ReplayDeadLetter(ctx, notifydb.ReplayDeadLetterParams{Now: now, Decision: decision, ID: id, TenantID: tenantID})
	if errors.Is(err, pgx.ErrNoRows) {
		cur, gerr := s.q.GetDelivery(ctx, id)
		if errors.Is(gerr, pgx.ErrNoRows) || (gerr == nil && cur.TenantID != tenantID) {
			return notify.Delivery{}, fmt.Errorf("replay delivery %s: %w", id, pgx.ErrNoRows)
		}
		if gerr != nil {
			return notify.Delivery{}, fmt.Errorf("replay delivery %s: %w", id, gerr)
		}
		return notify.Delivery{}, fmt.Errorf("replay delivery %s (%s): %w", id, cur.Status, notify.ErrNotDeadLetter)
	}
	if err != nil {
		return notify.Delivery{}, fmt.Errorf("replay delivery %s: %w", id, err)
	}
	return deliveryOf(r)
}

// ListByStatus returns up to limit of tenantID's deliveries in status, most
// recently changed first, after the row (afterUpdated, afterID) of a
// previous page (zero: from the start).
func (s *Store) ListByStatus(ctx context.Context, tenantID string, status notify.Status, afterUpdated time.Time, afterID string, limit int) ([]notify.Delivery, error) {
	p := notifydb.ListDeliveriesByStatusParams{TenantID: tenantID, Status: string(status), MaxRows: int32(limit)}
	if !afterUpdated.IsZero() {
		p.AfterUpdated = &afterUpdated
		p.AfterID = pgtype.Text{String: afterID, Valid: true}
	}
	rows, err := s.q.ListDeliveriesByStatus(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list %s deliveries: %w", status, err)
	}
	return deliveriesOf(rows)
}

// Attempts returns every recorded attempt of delivery id of tenantID, in order.
func (s *Store) Attempts(ctx context.Context, tenantID, id string) ([]notify.Attempt, error) {
	rows, err := s.q.ListDeliveryAttempts(ctx, notifydb.ListDeliveryAttemptsParams{TenantID: tenantID, DeliveryID: id})
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %s: %w", id, err)
	}
	out := make([]notify.Attempt, 0, len(rows))
	for _, r := range rows {
		out = append(out, notify.Attempt{N: int(r.Attempt), Channel: notify.Channel(r.Channel), Recipient: r.Recipient,
			Outcome: notify.Outcome(r.Outcome), Error: r.Error, At: r.At})
	}
	return out, nil
}

// deliveriesOf converts stored rows, in their order.
func deliveriesOf(rows []notifydb.Delivery) ([]notify.Delivery, error) {
	out := make([]notify.Delivery, 0, len(rows))
	for _, r := range rows {
		d, err := deliveryOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// deliveryOf converts a stored row: NULL times become zero times and the
// trace context is decoded from its JSON object.
func deliveryOf(r notifydb.Delivery) (notify.Delivery, error) {
	d := notify.Delivery{
		ID: r.ID, TenantID: r.TenantID, CaseID: r.CaseID, Channel: notify.Channel(r.Channel),
		Template: notify.Template(r.Template), Status: notify.Status(r.Status), Language: notify.Language(r.Language),
		Recipient: r.Recipient, ExpectedAnswerAt: r.ExpectedAnswerAt, TimeZone: r.TimeZone,
		DeadlineKind: r.DeadlineKind, Provisional: r.Provisional, ChangeReason: r.ChangeReason, DedupKey: r.DedupKey,
		Attempts: int(r.Attempts), NextAttemptAt: r.NextAttemptAt, LastError: r.LastError,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Staff:      notify.StaffRecipient{ID: r.StaffID, Name: r.StaffName, Email: r.StaffEmail, Audience: r.Audience},
		AlertLevel: r.AlertLevel, CaseNumber: r.CaseNumber,
		Via: notify.Channel(r.Via), Decision: r.Decision, Urgent: r.Urgent, Late: r.Late, AttemptBase: int(r.AttemptBase),
	}
	if r.SentAt != nil {
		d.SentAt = *r.SentAt
	}
	if r.PreviousAnswerAt != nil {
		d.PreviousAnswerAt = *r.PreviousAnswerAt
	}
	if err := json.Unmarshal(r.TraceContext, &d.TraceContext); err != nil {
		return notify.Delivery{}, fmt.Errorf("decode trace context of delivery %s: %w", r.ID, err)
	}
	return d, nil
}

// RecordCase keeps c inside tx (the consumer's transaction).
func (s *Store) RecordCase(ctx context.Context, tx pgx.Tx, c notify.CaseRecord) error {
	if err := s.on(tx).UpsertCase(ctx, notifydb.UpsertCaseParams{CaseID: c.CaseID, TenantID: c.TenantID,
		CaseNumber: c.Number, TimeZone: c.TimeZone, CreatedAt: c.CreatedAt}); err != nil {
		return fmt.Errorf("record case %s: %w", c.CaseID, err)
	}
	return nil
}

// Case returns what RecordCase kept of a case of tenantID, or false.
func (s *Store) Case(ctx context.Context, tx pgx.Tx, tenantID, caseID string) (notify.CaseRecord, bool, error) {
	r, err := s.on(tx).GetCase(ctx, notifydb.GetCaseParams{TenantID: tenantID, CaseID: caseID})
	if errors.Is(err, pgx.ErrNoRows) {
		return notify.CaseRecord{}, false, nil
	}
	if err != nil {
		return notify.CaseRecord{}, false, fmt.Errorf("read case %s: %w", caseID, err)
	}
	return notify.CaseRecord{TenantID: tenantID, CaseID: caseID, Number: r.CaseNumber, TimeZone: r.TimeZone}, true, nil
}
