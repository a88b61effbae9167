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
// advisory lock), so two never recompute the same month at once.
const rollupLock = 0x7265706f72740001

// keys are the branch, region and bank months a pass recomputes.
type keys struct {
	branch, region, bank map[[3]string]bool // tenant, scope, month (YYYY-MM-DD)
}

func newKeys() keys {
	return keys{branch: map[[3]string]bool{}, region: map[[3]string]bool{}, bank: map[[3]string]bool{}}
}

func (k keys) add(tenant, branch, region string, month time.Time) {
	m := month.Format(time.DateOnly)
	k.branch[[3]string{tenant, branch, m}] = true
	k.region[[3]string{tenant, region, m}] = true
	k.bank[[3]string{tenant, "", m}] = true
}

func arrays(set map[[3]string]bool) (tenants, scopes []string, months []time.Time) {
	for k := range set {
		m, _ := time.Parse(time.DateOnly, k[2])
		tenants, scopes, months = append(tenants, k[0]), append(scopes, k[1]), append(months, m)
	}
	return tenants, scopes, months
}

// RefreshRollups takes up to limit changed cases off the rollups' queue and
// recomputes the months of the branches, regions and banks they count in
// (where they count now and where they counted before a move), in one
// transaction. It returns how many cases it took; 0 when nothing was
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
	q := reportdb.New(tx)
	rows, err := q.ClaimPending(ctx, int32(limit))
	if err != nil {
		return 0, fmt.Errorf("claim changed cases: %w", err)
	}
	k := newKeys()
	for _, r := range rows {
		if r.ReceivedMonth != nil {
			k.add(r.TenantID, str(r.BranchID), str(r.RegionID), *r.ReceivedMonth)
		}
		if r.OldMonth != nil {
			k.add(r.TenantID, str(r.OldBranch), str(r.OldRegion), *r.OldMonth)
		}
	}
	return len(rows), recompute(ctx, q, k)
}

// RecomputeAll recomputes every rollup of tenant (every bank: empty) from
// case_facts, for a bulk load or a rebuild.
func (s *Store) RecomputeAll(ctx context.Context, tenant string) error {
	return pgdb.InTx(ctx, s.Pool, func(tx pgx.Tx) error { return RecomputeAllIn(ctx, tx, tenant) })
}

// RecomputeAllIn is RecomputeAll inside tx.
func RecomputeAllIn(ctx context.Context, tx pgx.Tx, tenant string) error {
	q := reportdb.New(tx)
	if _, err := tx.Exec(ctx, `UPDATE case_facts SET rollup_pending = false, rolled_branch = branch_id, rolled_region = region_id,
		rolled_month = received_month WHERE rollup_pending AND received_at IS NOT NULL AND ($1 = '' OR tenant_id = $1)`, tenant); err != nil {
		return fmt.Errorf("clear the rollups' queue: %w", err)
	}
	rows, err := q.AllBranchMonths(ctx, null(tenant))
	if err != nil {
		return fmt.Errorf("list branch months: %w", err)
	}
	k := newKeys()
	for _, r := range rows {
		if r.ReceivedMonth != nil {
			k.add(r.TenantID, str(r.BranchID), str(r.RegionID), *r.ReceivedMonth)
		}
	}
	return recompute(ctx, q, k)
}

func recompute(ctx context.Context, q *reportdb.Queries, k keys) error {
	if len(k.branch) == 0 {
		return nil
	}
	t, sc, m := arrays(k.branch)
	steps := []struct {
		what string
		run  func() error
	}{
		{"clear branch months", func() error {
			return q.DeleteBranchMonths(ctx, reportdb.DeleteBranchMonthsParams{Tenants: t, Scopes: sc, Months: m})
		}},
		{"clear branch keyed months", func() error {
			return q.DeleteBranchMonthsKeyed(ctx, reportdb.DeleteBranchMonthsKeyedParams{Tenants: t, Scopes: sc, Months: m})
		}},
		{"count branch months", func() error {
			return q.InsertBranchMonths(ctx, reportdb.InsertBranchMonthsParams{Tenants: t, Scopes: sc, Months: m})
		}},
		{"count branch keyed months", func() error {
			return q.InsertBranchMonthsKeyed(ctx, reportdb.InsertBranchMonthsKeyedParams{Tenants: t, Scopes: sc, Months: m})
		}},
	}
	rt, rs, rm := arrays(k.region)
	bt, bs, bm := arrays(k.bank)
	steps = append(steps, []struct {
		what string
		run  func() error
	}{
		{"clear region months", func() error {
			return q.DeleteUpperMonths(ctx, reportdb.DeleteUpperMonthsParams{Tenants: rt, Scopes: rs, Months: rm, Level: "R"})
		}},
		{"clear region keyed months", func() error {
			return q.DeleteUpperMonthsKeyed(ctx, reportdb.DeleteUpperMonthsKeyedParams{Tenants: rt, Scopes: rs, Months: rm, Level: "R"})
		}},
		{"sum region months", func() error {
			return q.InsertRegionMonths(ctx, reportdb.InsertRegionMonthsParams{Tenants: rt, Scopes: rs, Months: rm})
		}},
		{"sum region keyed months", func() error {
			return q.InsertRegionMonthsKeyed(ctx, reportdb.InsertRegionMonthsKeyedParams{Tenants: rt, Scopes: rs, Months: rm})
		}},
		{"clear bank months", func() error {
			return q.DeleteUpperMonths(ctx, reportdb.DeleteUpperMonthsParams{Tenants: bt, Scopes: bs, Months: bm, Level: "T"})
		}},
		{"clear bank keyed months", func() error {
			return q.DeleteUpperMonthsKeyed(ctx, reportdb.DeleteUpperMonthsKeyedParams{Tenants: bt, Scopes: bs, Months: bm, Level: "T"})
		}},
		{"sum bank months", func() error {
			return q.InsertBankMonths(ctx, reportdb.InsertBankMonthsParams{Tenants: bt, Scopes: bs, Months: bm})
		}},
		{"sum bank keyed months", func() error {
			return q.InsertBankMonthsKeyed(ctx, reportdb.InsertBankMonthsKeyedParams{Tenants: bt, Scopes: bs, Months: bm})
		}},
	}...)
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

// RunRollups refreshes the rollups every interval until ctx ends, draining
// the queue in passes of 2,000 cases. Errors are returned to log; the next
// tick tries again.
func (s *Store) RunRollups(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := s.RefreshRollups(ctx, 2000)
			if err != nil {
				if ctx.Err() == nil {
					onErr(err)
				}
				break
			}
			if n < 2000 {
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
