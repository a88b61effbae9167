package casespg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Stepper decides a step on the locked case: the new case and the history
// entry of the step, or an error that leaves everything as it was.
type Stepper func(c cases.Case) (cases.Case, cases.HistoryEntry, error)

// Stepped is called inside the step's transaction, e.g. to add the
// CaseTransitioned event to the outbox.
type Stepped func(ctx context.Context, tx pgx.Tx, c cases.Case, h cases.HistoryEntry) error

// Step takes a lifecycle step on case id of tenant: it locks the case,
// lets decide choose the outcome, and stores the new state, what was done
// (sealed), the history entry, an audit entry and whatever onStep adds, in
// one transaction. Two steps on one case serialise on the lock, so the
// second is decided on the state the first left.
func (s *Store) Step(ctx context.Context, tenant, id string, decide Stepper, onStep Stepped) (cases.Case, error) {
	if _, err := uuid.Parse(id); err != nil {
		return cases.Case{}, cases.ErrNotFound
	}
	var out cases.Case
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := s.scan(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return cases.ErrNotFound
		}
		if err != nil {
			return err
		}
		next, h, err := decide(c)
		if err != nil {
			return err
		}
		next.Status = next.Life.Status
		work, err := s.sealWork(next)
		if err != nil {
			return err
		}
		rootCause, satisfaction := "", 0
		if a := next.Work.Answer; a != nil {
			rootCause = a.RootCause
		}
		if v := next.Work.ReturnVisit; v != nil {
			satisfaction = v.Satisfaction
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET status = $3, resume_status = $4, answered_at = $5, answered_by = $6,
			answered_rank = $7, reopens = $8, work_sealed = $9, root_cause = $10, satisfaction = $11,
			updated_at = greatest(updated_at, $12), severity = $13, branch_id = $14, region_id = $15,
			time_zone = $16, calendar_id = $17 WHERE tenant_id = $1 AND id = $2`,
			tenant, id, next.Status, next.Life.Resume, next.Life.AnsweredAt, next.Life.AnsweredBy, next.Life.AnsweredRank,
			next.Life.Reopens, work, rootCause, satisfaction, h.At, next.Severity, next.Branch, next.Region,
			next.TimeZone, next.CalendarID); err != nil {
			return fmt.Errorf("store step of case %s: %w", id, err)
		}
		if next.UpdatedAt.Before(h.At) {
			next.UpdatedAt = h.At
		}
		if h.Seq, err = s.nextHistorySeq(ctx, tx, id); err != nil {
			return err
		}
		if err := s.insertHistory(ctx, tx, tenant, id, h); err != nil {
			return err
		}
		details := map[string]string{"from": h.From, "to": h.To}
		if next.Severity != c.Severity {
			details["severityFrom"], details["severityTo"] = c.Severity, next.Severity
		}
		if next.Branch != c.Branch {
			details["branchFrom"], details["branchTo"] = c.Branch, next.Branch
		}
		if err := s.appendAudit(ctx, tx, tenant, id, h.At, h.Actor, "step:"+h.Action, details); err != nil {
			return err
		}
		out = next
		return onStep(ctx, tx, next, h)
	})
	return out, err
}

// AddNote adds a note to the history of case id of tenant, if scope allows
// the caller to see the case.
func (s *Store) AddNote(ctx context.Context, tenant, id string, visible func(cases.Case) bool, h cases.HistoryEntry) (cases.HistoryEntry, error) {
	if _, err := uuid.Parse(id); err != nil {
		return h, cases.ErrNotFound
	}
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := s.scan(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !visible(c)) {
			return cases.ErrNotFound
		}
		if err != nil {
			return err
		}
		if h.Seq, err = s.nextHistorySeq(ctx, tx, id); err != nil {
			return err
		}
		if err := s.insertHistory(ctx, tx, tenant, id, h); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, tenant, id, h.At, h.Actor, "note", map[string]string{"seq": strconv.Itoa(h.Seq)})
	})
	return h, err
}

// History returns the history of case id of tenant, in order.
func (s *Store) History(ctx context.Context, tenant, id string) ([]cases.HistoryEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, at, kind, action, actor, from_status, to_status, owner_id, text_sealed
		FROM case_history WHERE tenant_id = $1 AND case_id = $2 ORDER BY seq`, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("read history of case %s: %w", id, err)
	}
	defer rows.Close()
	var out []cases.HistoryEntry
	for rows.Next() {
		var h cases.HistoryEntry
		var sealed []byte
		if err := rows.Scan(&h.Seq, &h.At, &h.Kind, &h.Action, &h.Actor, &h.From, &h.To, &h.Owner, &sealed); err != nil {
			return nil, err
		}
		if sealed != nil {
			pt, err := s.sealer.Open(sealed, aad(tenant, id+"/history/"+strconv.Itoa(h.Seq)))
			if err != nil {
				return nil, fmt.Errorf("case %s history %d: %w", id, h.Seq, err)
			}
			var t historyText
			if err := json.Unmarshal(pt, &t); err != nil {
				return nil, err
			}
			h.Text, h.Evidence = t.Text, t.Evidence
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

type historyText struct {
	Text     string           `json:"text,omitempty"`
	Evidence []cases.Evidence `json:"evidence,omitempty"`
}

func (s *Store) appendHistory(ctx context.Context, tx pgx.Tx, tenant, id string, h cases.HistoryEntry) error {
	var err error
	if h.Seq, err = s.nextHistorySeq(ctx, tx, id); err != nil {
		return err
	}
	return s.insertHistory(ctx, tx, tenant, id, h)
}

func (s *Store) nextHistorySeq(ctx context.Context, tx pgx.Tx, id string) (int, error) {
	var seq int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM case_history WHERE case_id = $1`, id).Scan(&seq); err != nil {
		return 0, fmt.Errorf("next history entry of case %s: %w", id, err)
	}
	return seq, nil
}

const insertHistorySQL = `INSERT INTO case_history (case_id, seq, tenant_id, at, kind, action, actor, from_status, to_status, owner_id, text_sealed)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`

// historyRow is the arguments of insertHistorySQL for entry h, its text
// sealed.
func (s *Store) historyRow(tenant, id string, h cases.HistoryEntry) ([]any, error) {
	var sealed []byte
	if h.Text != "" || len(h.Evidence) > 0 {
		pt, err := json.Marshal(historyText{Text: h.Text, Evidence: h.Evidence})
		if err != nil {
			return nil, err
		}
		if sealed, err = s.sealer.Seal(pt, aad(tenant, id+"/history/"+strconv.Itoa(h.Seq))); err != nil {
			return nil, fmt.Errorf("seal history text: %w", err)
		}
	}
	return []any{id, h.Seq, tenant, h.At.UTC().Truncate(time.Microsecond), h.Kind, h.Action, h.Actor, h.From, h.To, h.Owner, sealed}, nil
}

func (s *Store) insertHistory(ctx context.Context, tx pgx.Tx, tenant, id string, h cases.HistoryEntry) error {
	row, err := s.historyRow(tenant, id, h)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, insertHistorySQL, row...); err != nil {
		return fmt.Errorf("append history of case %s: %w", id, err)
	}
	return nil
}

func (s *Store) sealWork(c cases.Case) ([]byte, error) {
	if c.Work == (cases.Work{}) {
		return nil, nil
	}
	pt, err := json.Marshal(c.Work)
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(pt, aad(c.Tenant, c.ID+"/work"))
	if err != nil {
		return nil, fmt.Errorf("seal case work: %w", err)
	}
	return sealed, nil
}

// AddSystemEntry adds an entry another service's event announced (a
// deadline warned, breached or moved) to the history of case id of tenant.
func (s *Store) AddSystemEntry(ctx context.Context, tx pgx.Tx, tenant, id string, h cases.HistoryEntry) error {
	// Entries of one case are numbered in order: lock the case as a step does.
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM cases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return cases.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("lock case %s: %w", id, err)
	}
	return s.appendHistory(ctx, tx, tenant, id, h)
}

// Settings returns tenant's case policy, and false when it set none (the
// defaults then).
func (s *Store) Settings(ctx context.Context, tenant string) (cases.Policy, bool, error) {
	var fen int64
	var days int
	err := s.pool.QueryRow(ctx, `SELECT compensation_approval_fen, occurred_horizon_days FROM case_settings WHERE tenant_id = $1`, tenant).Scan(&fen, &days)
	if errors.Is(err, pgx.ErrNoRows) {
		return cases.DefaultPolicy, false, nil
	}
	if err != nil {
		return cases.Policy{}, false, fmt.Errorf("read case settings: %w", err)
	}
	return cases.Policy{CompensationApprovalFen: fen, OccurredHorizon: time.Duration(days) * 24 * time.Hour}, true, nil
}

// PutSettings replaces tenant's case policy, with an audit of who did it.
func (s *Store) PutSettings(ctx context.Context, tenant string, p cases.Policy, by string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO case_settings (tenant_id, compensation_approval_fen, occurred_horizon_days, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET compensation_approval_fen = EXCLUDED.compensation_approval_fen,
		occurred_horizon_days = EXCLUDED.occurred_horizon_days, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
		tenant, p.CompensationApprovalFen, int(p.OccurredHorizon/(24*time.Hour)), by, at)
	if err != nil {
		return fmt.Errorf("store case settings: %w", err)
	}
	return nil
}
