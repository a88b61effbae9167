// Package notifypg stores deliveries in the notification service's Postgres
// database. Claims use FOR UPDATE SKIP LOCKED so any number of sender
// replicas share the work, and a sent delivery's NotificationSent event goes
// into the transactional outbox in the same transaction as its status. Times
// are parameters, never now(), so tests own the clock.
package notifypg

import (
	"context"
	"errors"
	"fmt"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Producer names this service on the events it writes.
const Producer = "notification"

// Store is the deliveries table.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const columns = `id, tenant_id, case_id, channel, template, status, language, recipient,
	expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
	created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
	change_reason, dedup_key`

// Enqueue adds d inside tx (the consumer's transaction, so the delivery is
// decided exactly once per event). It returns false when the case already
// has this template on this channel with d's DedupKey.
func (s *Store) Enqueue(ctx context.Context, tx pgx.Tx, d notify.Delivery) (bool, error) {
	trace := d.TraceContext
	if trace == nil {
		trace = map[string]string{}
	}
	var previous *time.Time
	if !d.PreviousAnswerAt.IsZero() {
		previous = &d.PreviousAnswerAt
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO deliveries (id, tenant_id, case_id, channel, template, status, expected_answer_at,
			time_zone, attempts, next_attempt_at, trace_context, created_at, updated_at,
			deadline_kind, provisional, previous_answer_at, change_reason, dedup_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (case_id, template, channel, dedup_key) DO NOTHING`,
		d.ID, d.TenantID, d.CaseID, d.Channel, d.Template, d.Status, d.ExpectedAnswerAt,
		d.TimeZone, d.Attempts, d.NextAttemptAt, trace, d.CreatedAt, d.UpdatedAt,
		d.DeadlineKind, d.Provisional, previous, d.ChangeReason, d.DedupKey)
	if err != nil {
		return false, fmt.Errorf("insert %s delivery for case %s: %w", d.Template, d.CaseID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Acknowledgment returns the case's e-mail acknowledgment as tx sees it, and
// false when none was ever queued for the case in this tenant: what the
// customer was promised, for deciding whether a recount moved it.
func (s *Store) Acknowledgment(ctx context.Context, tx pgx.Tx, tenantID, caseID string) (notify.Delivery, bool, error) {
	rows, err := tx.Query(ctx, `SELECT `+columns+` FROM deliveries
		WHERE tenant_id = $1 AND case_id = $2 AND template = $3 AND channel = $4 AND dedup_key = ''`,
		tenantID, caseID, notify.TemplateCaseAcknowledgment, notify.ChannelEmail)
	if err != nil {
		return notify.Delivery{}, false, fmt.Errorf("get acknowledgment of case %s: %w", caseID, err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	if errors.Is(err, pgx.ErrNoRows) {
		return notify.Delivery{}, false, nil
	}
	if err != nil {
		return notify.Delivery{}, false, fmt.Errorf("get acknowledgment of case %s: %w", caseID, err)
	}
	return d, true, nil
}

// ClaimDue implements dispatch.Store. A delivery waits while an earlier one
// of its case on its channel is still pending (e.g. an acknowledgment being
// retried), so the customer never reads that a date moved before being told
// the date.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]notify.Delivery, error) {
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT id AS due_id FROM deliveries d
			WHERE status = 'PENDING' AND next_attempt_at <= $1
			AND NOT EXISTS (
				SELECT 1 FROM deliveries e
				WHERE e.case_id = d.case_id AND e.channel = d.channel AND e.status = 'PENDING'
				AND e.created_at < d.created_at)
			ORDER BY next_attempt_at
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		)
		UPDATE deliveries d SET next_attempt_at = $3, updated_at = $1
		FROM due WHERE d.id = due.due_id
		RETURNING `+columns,
		now, limit, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	return out, nil
}

// Record implements dispatch.Store.
func (s *Store) Record(ctx context.Context, d notify.Delivery, prevAttempts int) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var sentAt *time.Time
		if d.Status == notify.StatusSent {
			sentAt = &d.SentAt
		}
		tag, err := tx.Exec(ctx, `
			UPDATE deliveries SET status = $3, language = $4, recipient = $5, attempts = $6,
				next_attempt_at = $7, last_error = $8, sent_at = $9, updated_at = $10
			WHERE id = $1 AND status = 'PENDING' AND attempts = $2`,
			d.ID, prevAttempts, d.Status, d.Language, d.Recipient, d.Attempts,
			d.NextAttemptAt, d.LastError, sentAt, d.UpdatedAt)
		if err != nil {
			return fmt.Errorf("record delivery %s: %w", d.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("record delivery %s: %w", d.ID, notify.ErrNotPending)
		}
		if d.Status != notify.StatusSent {
			return nil
		}
		err = outbox.Add(ctx, tx, Producer, eventbus.TopicNotificationEvents, &eventsv1.Envelope{
			TenantId: d.TenantID,
			CaseId:   d.CaseID,
			Payload: &eventsv1.Envelope_NotificationSent{NotificationSent: &eventsv1.NotificationSent{
				NotificationId: d.ID, Channel: string(d.Channel), Template: string(d.Template),
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
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM deliveries
		WHERE tenant_id = $1 AND case_id = $2 ORDER BY created_at, id`, tenantID, caseID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of case %s: %w", caseID, err)
	}
	out, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of case %s: %w", caseID, err)
	}
	return out, nil
}

// Get returns one delivery, or an error wrapping pgx.ErrNoRows.
func (s *Store) Get(ctx context.Context, id string) (notify.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM deliveries WHERE id = $1`, id)
	if err != nil {
		return notify.Delivery{}, fmt.Errorf("get delivery %s: %w", id, err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	if err != nil {
		return notify.Delivery{}, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return d, nil
}

func scanDelivery(row pgx.CollectableRow) (notify.Delivery, error) {
	var (
		d                notify.Delivery
		sentAt, previous *time.Time
	)
	err := row.Scan(&d.ID, &d.TenantID, &d.CaseID, &d.Channel, &d.Template, &d.Status, &d.Language,
		&d.Recipient, &d.ExpectedAnswerAt, &d.TimeZone, &d.Attempts, &d.NextAttemptAt, &d.LastError,
		&d.TraceContext, &d.CreatedAt, &d.UpdatedAt, &sentAt, &d.DeadlineKind, &d.Provisional, &previous,
		&d.ChangeReason, &d.DedupKey)
	if sentAt != nil {
		d.SentAt = *sentAt
	}
	if previous != nil {
		d.PreviousAnswerAt = *previous
	}
	return d, err
}
