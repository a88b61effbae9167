package reportpg

import (
	"context"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg/reportdb"
	"github.com/jackc/pgx/v5"
)

// rollupLock serialises rollup passes across replicas (a transaction-level
// advisory lock): a pass owns rollup_src while it runs.
const rollupLock = 0x7265706f72740001

// RefreshRollups takes up to limit changed cases off the rollups' queue and
// moves the rollups by what changed: each case's contribution as it counts
// now minus what the rollups counted of it before (so a case moved to
// another branch leaves the old one), at branch, region and bank level, in
// one transaction. It returns how many cases it took; 0 when nothing was
// pending or another replica holds the pass.
func (s *Store) RefreshRollups(ctx context.Context, limit int) (int, error) {
	var n int
	err := pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		n, err = RefreshRollupsIn(ctx, tx, limit)
		return err
	})
	return n, err
}

// RefreshRollupsIn is RefreshRollups inside tx (tables as tx's search_path
// names them).
func RefreshRollupsIn(ctx context.Context, tx pgx.Tx, limit int) (int, error) {
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(rollupLock)).Scan(&locked); err != nil {
		return 0, fmt.Errorf("take the rollup lock: %w", err)
	}
	if !locked {
		return 0, nil
	}
	// The staging table has no statistics worth keeping: its size guess
	// makes the planner compile the passes with JIT, 0.4 s each for a few
	// rows.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return 0, fmt.Errorf("turn JIT off: %w", err)
	}
	q := reportdb.New(tx)
	if err := q.ClearStaged(ctx); err != nil {
		return 0, fmt.Errorf("clear the staging table: %w", err)
	}
	if err := q.StageChanged(ctx, int32(limit)); err != nil {
		return 0, fmt.Errorf("stage changed cases: %w", err)
	}
	n, err := q.CountStaged(ctx)
	if err != nil || n == 0 {
		return 0, err
	}
	if err := q.StageKeyedDeltas(ctx); err != nil {
		return 0, fmt.Errorf("count keyed changes: %w", err)
	}
	if err := q.ApplyMonthDeltas(ctx); err != nil {
		return 0, fmt.Errorf("move the rollups: %w", err)
	}
	for _, level := range []string{"B", "R", "T"} {
		if err := q.ApplyKeyedDeltas(ctx, level); err != nil {
			return 0, fmt.Errorf("move %s keyed rollups: %w", level, err)
		}
	}
	if err := q.ClearStaged(ctx); err != nil {
		return 0, fmt.Errorf("clear the staging table: %w", err)
	}
	return int(n), nil
}

// RecomputeAll recounts every rollup of tenant (every bank: empty) from
// case_facts, for a bulk load or a rebuild.
func (s *Store) RecomputeAll(ctx context.Context, tenant string) error {
	if err := pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error { return resetRollups(ctx, tx, tenant) }); err != nil {
		return err
	}
	return s.DrainRollups(ctx)
}

// DrainRollups refreshes the rollups until nothing is pending.
func (s *Store) DrainRollups(ctx context.Context) error {
	for {
		n, err := s.RefreshRollups(ctx, drainBatch)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// drainBatch is how many cases a full recount moves per transaction.
const drainBatch = 100_000

// RecomputeAllIn is RecomputeAll inside one transaction.
func RecomputeAllIn(ctx context.Context, tx pgx.Tx, tenant string) error {
	if err := resetRollups(ctx, tx, tenant); err != nil {
		return err
	}
	for {
		n, err := RefreshRollupsIn(ctx, tx, drainBatch)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

func resetRollups(ctx context.Context, tx pgx.Tx, tenant string) error {
	q := reportdb.New(tx)
	tenants := []string{tenant}
	if tenant == "" {
		var err error
		if tenants, err = q.Tenants(ctx); err != nil {
			return fmt.Errorf("list banks: %w", err)
		}
	}
	for _, t := range tenants {
		if err := q.ResetTenantRollups(ctx, t); err != nil {
			return fmt.Errorf("reset the rollups of %s: %w", t, err)
		}
	}
	return nil
}

// RunRollups refreshes the rollups every interval until ctx ends, draining
// the queue in passes of 5,000 cases. Errors are handed to onErr; the next
// tick tries again.
func (s *Store) RunRollups(ctx context.Context, interval time.Duration, onErr func(error)) {
	const pass = 5000
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := s.RefreshRollups(ctx, pass)
			if err != nil {
				if ctx.Err() == nil {
					onErr(err)
				}
				break
			}
			if n < pass {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
