package reportpg

import (
	"context"
	"errors"
	"fmt"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/jackc/pgx/v5"
)

// visible selects the cases a query counts. Scope conditions that do not
// apply are passed as NULL. Tenant is always bound: no query crosses banks.
const visible = `
	SELECT branch_id, channel, category, severity, status, owner_id, acknowledged_at, breaches
	FROM case_facts
	WHERE tenant_id = @tenant
	  AND created_at IS NOT NULL
	  AND (@region::text IS NULL OR region_id = @region)
	  AND (@branch::text IS NULL OR branch_id = @branch)
	  AND (@from::timestamptz IS NULL OR created_at >= @from)
	  AND (@to::timestamptz IS NULL OR created_at < @to)`

const totalsSQL = `
	WITH visible AS (` + visible + `)
	SELECT count(*),
	       count(*) FILTER (WHERE owner_id IS NULL),
	       count(*) FILTER (WHERE acknowledged_at IS NOT NULL),
	       coalesce(sum(breaches), 0)
	FROM visible`

const breakdownSQL = `
	WITH visible AS (` + visible + `)
	          SELECT 'status',   status,    count(*) FROM visible GROUP BY status
	UNION ALL SELECT 'category', category,  count(*) FROM visible GROUP BY category
	UNION ALL SELECT 'severity', severity,  count(*) FROM visible GROUP BY severity
	UNION ALL SELECT 'channel',  channel,   count(*) FROM visible GROUP BY channel
	UNION ALL SELECT 'branch',   branch_id, count(*) FROM visible GROUP BY branch_id`

// Summarize counts the created cases matching q. Both statements read one
// snapshot, so the breakdowns always add up to the total.
func (s *Store) Summarize(ctx context.Context, q report.Query) (report.Summary, error) {
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return report.Summary{}, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	args := pgx.NamedArgs{
		"tenant": q.Tenant,
		"region": null(q.Region),
		"branch": null(q.Branch),
		"from":   nullTime(q.From),
		"to":     nullTime(q.To),
	}
	sum := report.Summary{
		ByStatus: map[string]int64{}, ByCategory: map[string]int64{}, BySeverity: map[string]int64{},
		ByChannel: map[string]int64{}, ByBranch: map[string]int64{},
	}
	if err := tx.QueryRow(ctx, totalsSQL, args).Scan(&sum.Total, &sum.Unassigned, &sum.Acknowledged, &sum.Breaches); err != nil {
		return report.Summary{}, fmt.Errorf("count cases: %w", err)
	}
	rows, err := tx.Query(ctx, breakdownSQL, args)
	if err != nil {
		return report.Summary{}, fmt.Errorf("break cases down: %w", err)
	}
	byDimension := map[string]map[string]int64{
		"status": sum.ByStatus, "category": sum.ByCategory, "severity": sum.BySeverity,
		"channel": sum.ByChannel, "branch": sum.ByBranch,
	}
	var dimension string
	var key *string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&dimension, &key, &n}, func() error {
		byDimension[dimension][str(key)] += n
		return nil
	}); err != nil {
		return report.Summary{}, fmt.Errorf("break cases down: %w", err)
	}
	return sum, nil
}

// BranchRegion returns the region recorded for branch by its cases.
func (s *Store) BranchRegion(ctx context.Context, tenant, branch string) (string, bool, error) {
	var region *string
	err := s.Pool.QueryRow(ctx, `
		SELECT region_id FROM case_facts
		WHERE tenant_id = $1 AND branch_id = $2 AND created_at IS NOT NULL
		ORDER BY created_at DESC
		LIMIT 1`, tenant, branch).Scan(&region)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read region of branch %s: %w", branch, err)
	}
	return str(region), true, nil
}

var _ report.Reader = (*Store)(nil)
