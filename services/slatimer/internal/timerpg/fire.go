package timerpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg/timerdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Fire is a due warning or breach.
type Fire struct {
	CaseID, Tenant, Kind, Level string
	// FireAt is when it fell due, DueAt the deadline's due time, FiredAt
	// the firing pass's clock (>= FireAt).
	FireAt, DueAt, FiredAt time.Time
	Provisional            bool
	Trace                  map[string]string
}

// claimWindow is how many batches wide the window of due fires a claim
// looks at is (see the ClaimDueDeadlines query).
const claimWindow = 8

// FireDue fires, in one transaction, the due fires (fire_at <= now) of up to
// about limit deadlines: it claims the deadlines with the earliest due fires
// (FOR UPDATE SKIP LOCKED), marks every due fire of each claimed deadline
// fired at now, raises the deadlines' levels, and calls fn for each fire, in
// due order and per deadline in level order, inside the transaction (to add
// the outbox event). It returns the number of fires; when that reaches limit
// more may be due.
//
// The batch's writes travel together: the marks, the levels and whatever fn
// writes with tx.Exec (the outbox rows) are queued and sent in one pipelined
// round trip before the commit, so a pass costs five round trips however
// many it fires (one INSERT round trip per event was most of a pass's time
// on a busy machine). An error of a queued statement surfaces then: FireDue
// returns it and the transaction rolls back. fn's queries (tx.Query,
// tx.QueryRow) run at once; fn must not read what it wrote with Exec.
//
// Exactly once: a fire is marked fired in the transaction that writes its
// event, so either both commit or neither does (a replica that dies or
// fails mid-batch rolls back the whole batch, which the next pass, of this
// or another replica, fires again). Deadlines another replica holds are
// skipped, not waited for; every due fire of a claimed deadline is fired by
// the claimer, after re-reading it under the lock, so two replicas never
// fire the same row, a replica committing late never moves a deadline's
// level back, and one deadline's warnings are published in order. Never
// early: only fires with fire_at <= now are taken, and now is the fired_at
// written.
func (s *Store) FireDue(ctx context.Context, now time.Time, limit int, fn func(ctx context.Context, tx pgx.Tx, f Fire) error) (int, error) {
	if limit <= 0 {
		return 0, errors.New("FireDue: limit must be positive")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := s.q.WithTx(tx)
	limit = min(limit, 1<<16)
	claimed, err := q.ClaimDueDeadlines(ctx, timerdb.ClaimDueDeadlinesParams{Now: now, MaxFires: int32(limit), Candidates: int32(claimWindow * limit)})
	if err != nil {
		return 0, fmt.Errorf("claim deadlines with due fires: %w", err)
	}
	if len(claimed) == 0 {
		return 0, nil
	}
	type key struct{ caseID, kind string }
	seen := make(map[key]bool, len(claimed))
	var caseIDs, kinds []string
	for _, c := range claimed {
		if k := (key{c.CaseID, c.Kind}); !seen[k] {
			seen[k] = true
			caseIDs, kinds = append(caseIDs, c.CaseID), append(kinds, c.Kind)
		}
	}
	rows, err := q.DueFiresOfDeadlines(ctx, timerdb.DueFiresOfDeadlinesParams{CaseIds: caseIDs, Kinds: kinds, Now: now})
	if err != nil {
		return 0, fmt.Errorf("read due fires of %d claimed deadlines: %w", len(caseIDs), err)
	}
	if len(rows) == 0 {
		return 0, nil // fired by another replica since the claim's snapshot
	}
	fires := make([]Fire, len(rows))
	mark := timerdb.MarkFiresFiredParams{FiredAt: now, CaseIds: make([]string, len(rows)), Kinds: make([]string, len(rows)), Levels: make([]string, len(rows))}
	last := make(map[key]int, len(caseIDs)) // each deadline's last fire, in level order
	for i, r := range rows {
		f := Fire{CaseID: r.CaseID, Tenant: r.TenantID, Kind: r.Kind, Level: r.Level, FireAt: r.FireAt, DueAt: r.DueAt, FiredAt: now, Provisional: r.Provisional}
		if len(r.Trace) > 0 {
			if err := json.Unmarshal(r.Trace, &f.Trace); err != nil {
				return 0, fmt.Errorf("decode trace of fire %s/%s of case %s: %w", f.Kind, f.Level, f.CaseID, err)
			}
		}
		fires[i] = f
		mark.CaseIds[i], mark.Kinds[i], mark.Levels[i] = f.CaseID, f.Kind, f.Level
		last[key{f.CaseID, f.Kind}] = i
	}
	ptx := &pipelineTx{Tx: tx}
	pq := s.q.WithTx(ptx)
	if err := pq.MarkFiresFired(ctx, mark); err != nil {
		return 0, fmt.Errorf("mark %d fires fired: %w", len(rows), err)
	}
	raise := timerdb.RaiseLevelsParams{}
	for k, i := range last {
		raise.CaseIds, raise.Kinds, raise.Levels = append(raise.CaseIds, k.caseID), append(raise.Kinds, k.kind), append(raise.Levels, fires[i].Level)
	}
	if err := pq.RaiseLevels(ctx, raise); err != nil {
		return 0, fmt.Errorf("raise levels of %d deadlines: %w", len(raise.CaseIds), err)
	}
	for _, f := range fires {
		if err := fn(ctx, ptx, f); err != nil {
			return 0, err
		}
	}
	if err := ptx.flush(ctx); err != nil {
		return 0, fmt.Errorf("write %d fires (marks, levels, events): %w", len(fires), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit %d fires: %w", len(fires), err)
	}
	return len(fires), nil
}

// pipelineTx is a transaction whose Exec statements are queued, and sent in
// one round trip by flush. Exec reports success at once (with an empty
// command tag); the statement's error, if any, comes from flush. Every
// other method is the transaction's own and runs at once.
type pipelineTx struct {
	pgx.Tx
	batch pgx.Batch
}

func (t *pipelineTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t.batch.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (t *pipelineTx) flush(ctx context.Context) error {
	n := t.batch.Len()
	if n == 0 {
		return nil
	}
	res := t.SendBatch(ctx, &t.batch)
	for range n {
		if _, err := res.Exec(); err != nil {
			_ = res.Close()
			return err
		}
	}
	return res.Close()
}

// NextFireAfter returns when the earliest pending fire of a running clock
// after `after` falls due, and false when none is pending.
func (s *Store) NextFireAfter(ctx context.Context, after time.Time) (time.Time, bool, error) {
	at, err := s.q.NextFireAfter(ctx, after)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next pending fire: %w", err)
	}
	return at, true, nil
}
