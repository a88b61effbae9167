// Package rectifypg keeps rectification notices in reporting's Postgres
// (queries in queries/*.sql, compiled by sqlc into rectifydb) and publishes
// their events through the transactional outbox on TopicRectificationEvents:
// a notice is never stored without its event, nor an event sent for a change
// that rolled back. The rules live in package rectify; this package loads,
// stores and translates.
package rectifypg

import (
	"context"
	"errors"
	"fmt"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg/rectifydb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TopicRectificationEvents carries RectificationNoticeIssued, ...Due and
// ...Closed. Its events have no case id (a notice may link several cases),
// so no key: notification, which tells the branch, needs no order among them.
const TopicRectificationEvents = eventbus.TopicRectificationEvents

// producer names reporting in the events' envelope.
const producer = "reporting"

// Store implements rectify.Store and rectify.ReminderStore.
type Store struct {
	Pool *pgxpool.Pool
}

var (
	_ rectify.Store         = (*Store)(nil)
	_ rectify.ReminderStore = (*Store)(nil)
)

// CaseRefs implements rectify.Store.
func (s *Store) CaseRefs(ctx context.Context, tenant string, caseIDs []string) ([]rectify.CaseRef, error) {
	rows, err := rectifydb.New(s.Pool).CaseRefs(ctx, rectifydb.CaseRefsParams{TenantID: tenant, CaseIds: caseIDs})
	if err != nil {
		return nil, fmt.Errorf("read linked cases: %w", err)
	}
	out := make([]rectify.CaseRef, len(rows))
	for i, r := range rows {
		out[i] = rectify.CaseRef{CaseID: r.CaseID, BranchID: r.BranchID, RegionID: r.RegionID}
	}
	return out, nil
}

// Create implements rectify.Store.
func (s *Store) Create(ctx context.Context, n rectify.Notice) (bool, error) {
	dueDate, err := time.Parse(time.DateOnly, n.DueDate)
	if err != nil {
		return false, fmt.Errorf("due date %q: %w", n.DueDate, err)
	}
	created := false
	err = pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		q := rectifydb.New(tx)
		added, err := q.InsertNotice(ctx, rectifydb.InsertNoticeParams{
			TenantID: n.TenantID, NoticeID: n.ID, BranchID: null(n.BranchID), RegionID: null(n.RegionID),
			Department: null(n.Department), Fault: n.Fault, DueDate: dueDate, DueAt: n.DueAt,
			Status: string(n.Status), IssuedBy: n.IssuedBy, IssuerRole: string(n.IssuerRole), IssuedAt: n.IssuedAt,
			IdempotencyKey: null(n.IdempotencyKey), RequestFingerprint: null(n.Fingerprint),
		})
		if err != nil {
			return fmt.Errorf("insert notice: %w", err)
		}
		if added == 0 {
			return nil // the issuer's key was used before
		}
		created = true
		if err := q.InsertNoticeCases(ctx, rectifydb.InsertNoticeCasesParams{TenantID: n.TenantID, NoticeID: n.ID, CaseIds: n.CaseIDs}); err != nil {
			return fmt.Errorf("insert notice's cases: %w", err)
		}
		if err := insertHistory(ctx, q, n, 0); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, producer, TopicRectificationEvents, &eventsv1.Envelope{
			TenantId: n.TenantID, Type: "RectificationNoticeIssued", OccurredAt: timestamppb.New(n.IssuedAt),
			Payload: &eventsv1.Envelope_RectificationNoticeIssued{RectificationNoticeIssued: &eventsv1.RectificationNoticeIssued{
				NoticeId: n.ID, BranchId: n.BranchID, RegionId: n.RegionID, Department: n.Department,
				DueDate: n.DueDate, DueAt: timestamppb.New(n.DueAt), IssuedBy: n.IssuedBy,
				IssuedAt: timestamppb.New(n.IssuedAt), CaseIds: n.CaseIDs,
			}},
		})
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// ByKey implements rectify.Store.
func (s *Store) ByKey(ctx context.Context, tenant, issuer, key string) (rectify.Notice, error) {
	var n rectify.Notice
	err := pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		q := rectifydb.New(tx)
		row, err := q.NoticeByKey(ctx, rectifydb.NoticeByKeyParams{TenantID: tenant, IssuedBy: issuer, IdempotencyKey: &key})
		if err != nil {
			return err
		}
		n, err = full(ctx, q, row)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return rectify.Notice{}, rectify.ErrNotFound
	}
	if err != nil {
		return rectify.Notice{}, fmt.Errorf("read notice by idempotency key: %w", err)
	}
	return n, nil
}

// Get implements rectify.Store.
func (s *Store) Get(ctx context.Context, tenant, id string) (rectify.Notice, error) {
	var n rectify.Notice
	err := pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		q := rectifydb.New(tx)
		row, err := q.GetNotice(ctx, rectifydb.GetNoticeParams{TenantID: tenant, NoticeID: id})
		if err != nil {
			return err
		}
		n, err = full(ctx, q, row)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return rectify.Notice{}, rectify.ErrNotFound
	}
	if err != nil {
		return rectify.Notice{}, fmt.Errorf("read notice %s: %w", id, err)
	}
	return n, nil
}

// Update implements rectify.Store.
func (s *Store) Update(ctx context.Context, tenant, id string, change func(rectify.Notice) (rectify.Notice, error)) (rectify.Notice, error) {
	var out rectify.Notice
	err := pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		q := rectifydb.New(tx)
		row, err := q.LockNotice(ctx, rectifydb.LockNoticeParams{TenantID: tenant, NoticeID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return rectify.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock notice %s: %w", id, err)
		}
		before, err := full(ctx, q, row)
		if err != nil {
			return err
		}
		after, err := change(before)
		if err != nil {
			return err
		}
		if err := q.UpdateNotice(ctx, rectifydb.UpdateNoticeParams{
			TenantID: tenant, NoticeID: id, Status: string(after.Status),
			Measures: null(after.Measures), MeasuresBy: null(after.MeasuresBy), MeasuresAt: nullTime(after.MeasuresAt),
			ClosedBy: null(after.ClosedBy), ClosedAt: nullTime(after.ClosedAt), ClosingComment: null(after.ClosingComment),
		}); err != nil {
			return fmt.Errorf("update notice %s: %w", id, err)
		}
		if err := insertHistory(ctx, q, after, len(before.History)); err != nil {
			return err
		}
		if before.Status != rectify.StatusClosed && after.Status == rectify.StatusClosed {
			if err := outbox.Add(ctx, tx, producer, TopicRectificationEvents, &eventsv1.Envelope{
				TenantId: tenant, Type: "RectificationNoticeClosed", OccurredAt: timestamppb.New(after.ClosedAt),
				Payload: &eventsv1.Envelope_RectificationNoticeClosed{RectificationNoticeClosed: &eventsv1.RectificationNoticeClosed{
					NoticeId: after.ID, BranchId: after.BranchID, RegionId: after.RegionID, Department: after.Department,
					DueDate: after.DueDate, DueAt: timestamppb.New(after.DueAt), ClosedBy: after.ClosedBy,
					ClosedAt: timestamppb.New(after.ClosedAt), Late: after.ClosedAt.After(after.DueAt),
				}},
			}); err != nil {
				return err
			}
		}
		out = after
		return nil
	})
	if err != nil {
		return rectify.Notice{}, err
	}
	return out, nil
}

// List implements rectify.Store.
func (s *Store) List(ctx context.Context, q rectify.Query, now time.Time) ([]rectify.Notice, error) {
	p := rectifydb.ListNoticesParams{
		TenantID: q.Tenant, RegionID: null(q.Region), BranchID: null(q.Branch), Status: string(q.Status),
		Now: now, MaxRows: int32(q.Limit),
	}
	if q.After != nil {
		at, err := time.Parse(time.RFC3339Nano, q.After.DueAt)
		if err != nil {
			return nil, &rectify.FieldError{Field: "pageToken", Description: "not a token this list gave"}
		}
		p.AfterDue, p.AfterID = &at, &q.After.ID
	}
	var out []rectify.Notice
	err := pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		db := rectifydb.New(tx)
		rows, err := db.ListNotices(ctx, p)
		if err != nil {
			return fmt.Errorf("list notices: %w", err)
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.NoticeID
		}
		links, err := db.NoticeCases(ctx, rectifydb.NoticeCasesParams{TenantID: q.Tenant, NoticeIds: ids})
		if err != nil {
			return fmt.Errorf("read notices' cases: %w", err)
		}
		cases := map[string][]string{}
		for _, l := range links {
			cases[l.NoticeID] = append(cases[l.NoticeID], l.CaseID)
		}
		out = make([]rectify.Notice, len(rows))
		for i, r := range rows {
			out[i] = fromRow(r)
			out[i].CaseIDs = cases[r.NoticeID]
		}
		return nil
	})
	return out, err
}

// CountOverdue implements rectify.Store.
func (s *Store) CountOverdue(ctx context.Context, q rectify.Query, now time.Time) (int64, error) {
	return rectifydb.New(s.Pool).CountOverdue(ctx, rectifydb.CountOverdueParams{
		TenantID: q.Tenant, RegionID: null(q.Region), BranchID: null(q.Branch), Now: now,
	})
}

// SendReminders implements rectify.ReminderStore: candidates of every bank
// are locked (skipping those another replica holds), each reminder is
// recorded once per notice and kind, and its event goes to the outbox in
// the same transaction. It runs as background work for every bank.
func (s *Store) SendReminders(ctx context.Context, now time.Time, lead time.Duration, limit int,
	remind func(rectify.Notice) (rectify.Reminder, bool)) (int, error) {
	sent := 0
	err := pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		sent = 0
		q := rectifydb.New(tx)
		rows, err := q.ReminderCandidates(ctx, rectifydb.ReminderCandidatesParams{
			DueBefore: now.Add(lead), Now: now, MaxRows: int32(limit),
		})
		if err != nil {
			return fmt.Errorf("find notices due for a reminder: %w", err)
		}
		for _, r := range rows {
			n := fromRow(r)
			kind, ok := remind(n)
			if !ok {
				continue
			}
			added, err := q.InsertReminder(ctx, rectifydb.InsertReminderParams{
				TenantID: n.TenantID, NoticeID: n.ID, Kind: string(kind), SentAt: now,
			})
			if err != nil {
				return fmt.Errorf("record reminder of notice %s: %w", n.ID, err)
			}
			if added == 0 {
				continue // already sent
			}
			if err := outbox.Add(ctx, tx, producer, TopicRectificationEvents, &eventsv1.Envelope{
				TenantId: n.TenantID, Type: "RectificationNoticeDue", OccurredAt: timestamppb.New(now),
				Payload: &eventsv1.Envelope_RectificationNoticeDue{RectificationNoticeDue: &eventsv1.RectificationNoticeDue{
					NoticeId: n.ID, BranchId: n.BranchID, RegionId: n.RegionID, Department: n.Department,
					DueDate: n.DueDate, DueAt: timestamppb.New(n.DueAt), Reminder: string(kind),
					Status: "RECTIFICATION_STATUS_" + string(n.Status), IssuedBy: n.IssuedBy,
					RemindedAt: timestamppb.New(now),
				}},
			}); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return sent, nil
}

// full reads a notice row's cases and history.
func full(ctx context.Context, q *rectifydb.Queries, row rectifydb.RectificationNotice) (rectify.Notice, error) {
	n := fromRow(row)
	links, err := q.NoticeCases(ctx, rectifydb.NoticeCasesParams{TenantID: row.TenantID, NoticeIds: []string{row.NoticeID}})
	if err != nil {
		return rectify.Notice{}, fmt.Errorf("read notice's cases: %w", err)
	}
	for _, l := range links {
		n.CaseIDs = append(n.CaseIDs, l.CaseID)
	}
	hist, err := q.NoticeHistory(ctx, rectifydb.NoticeHistoryParams{TenantID: row.TenantID, NoticeID: row.NoticeID})
	if err != nil {
		return rectify.Notice{}, fmt.Errorf("read notice's history: %w", err)
	}
	for _, h := range hist {
		n.History = append(n.History, rectify.HistoryEntry{
			Action: rectify.Action(h.Action), ActorID: h.ActorID, ActorRole: auth.Role(h.ActorRole), At: h.At,
			From: rectify.Status(str(h.FromStatus)), To: rectify.Status(h.ToStatus),
		})
	}
	return n, nil
}

// insertHistory appends n's history entries from index from on.
func insertHistory(ctx context.Context, q *rectifydb.Queries, n rectify.Notice, from int) error {
	for i := from; i < len(n.History); i++ {
		h := n.History[i]
		if err := q.InsertHistory(ctx, rectifydb.InsertHistoryParams{
			TenantID: n.TenantID, NoticeID: n.ID, Seq: int32(i + 1), Action: string(h.Action), ActorID: h.ActorID,
			ActorRole: string(h.ActorRole), At: h.At, FromStatus: null(string(h.From)), ToStatus: string(h.To),
		}); err != nil {
			return fmt.Errorf("record %s of notice %s: %w", h.Action, n.ID, err)
		}
	}
	return nil
}

func fromRow(r rectifydb.RectificationNotice) rectify.Notice {
	return rectify.Notice{
		TenantID: r.TenantID, ID: r.NoticeID, BranchID: str(r.BranchID), RegionID: str(r.RegionID),
		Department: str(r.Department), Fault: r.Fault, DueDate: r.DueDate.Format(time.DateOnly), DueAt: r.DueAt,
		Status: rectify.Status(r.Status), IssuedBy: r.IssuedBy, IssuerRole: auth.Role(r.IssuerRole), IssuedAt: r.IssuedAt,
		Measures: str(r.Measures), MeasuresBy: str(r.MeasuresBy), MeasuresAt: tm(r.MeasuresAt),
		ClosedBy: str(r.ClosedBy), ClosedAt: tm(r.ClosedAt), ClosingComment: str(r.ClosingComment),
		IdempotencyKey: str(r.IdempotencyKey), Fingerprint: str(r.RequestFingerprint),
	}
}

func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func tm(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}
