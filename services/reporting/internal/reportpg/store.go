// Package reportpg keeps the reporting read model in Postgres: it records
// facts into case_facts inside the consumer's transaction, and counts cases
// for summaries. The rules for folding a fact into a case live in package
// report; this package only loads a row, lets report apply the fact, and
// writes the row back. Every time it stores is passed in by the caller.
package reportpg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the read model in one Postgres database.
type Store struct {
	Pool *pgxpool.Pool
}

// Record applies fact to case caseID of tenant inside tx, creating a partial
// row when the case is not known yet. now is stored as the row's updated_at.
func (s *Store) Record(ctx context.Context, tx pgx.Tx, tenant, caseID string, fact report.Fact, now time.Time) error {
	// Insert-then-lock rather than select-then-insert: two consumers handling
	// different topics' events of a new case at once both end up locking the
	// same row, instead of one failing on the primary key.
	if _, err := tx.Exec(ctx, `
		INSERT INTO case_facts (tenant_id, case_id, updated_at)
		VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, case_id) DO NOTHING`, tenant, caseID, now); err != nil {
		return fmt.Errorf("ensure read-model row of case %s: %w", caseID, err)
	}
	rec, err := load(ctx, tx, tenant, caseID)
	if err != nil {
		return err
	}
	if err := rec.Apply(fact); err != nil {
		return err
	}
	if err := save(ctx, tx, rec, now); err != nil {
		return err
	}
	return nil
}

// Case returns the read-model record of one case, for tests and admin tools.
func (s *Store) Case(ctx context.Context, tenant, caseID string) (report.CaseRecord, bool, error) {
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return report.CaseRecord{}, false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rec, err := read(ctx, tx, tenant, caseID, "")
	if errors.Is(err, pgx.ErrNoRows) {
		return report.CaseRecord{}, false, nil
	}
	if err != nil {
		return report.CaseRecord{}, false, fmt.Errorf("read case %s: %w", caseID, err)
	}
	return rec, true, nil
}

const selectCase = `
	SELECT tenant_id, case_id,
	       case_number, branch_id, region_id, channel, category, severity, customer_tier, status, created_at,
	       owner_id, first_assigned_at, last_assigned_at, acknowledged_at, breaches, status_at
	FROM case_facts
	WHERE tenant_id = $1 AND case_id = $2`

func load(ctx context.Context, tx pgx.Tx, tenant, caseID string) (report.CaseRecord, error) {
	rec, err := read(ctx, tx, tenant, caseID, " FOR UPDATE")
	if err != nil {
		return report.CaseRecord{}, fmt.Errorf("lock read-model row of case %s: %w", caseID, err)
	}
	return rec, nil
}

func read(ctx context.Context, tx pgx.Tx, tenant, caseID, lock string) (report.CaseRecord, error) {
	var (
		r                                      report.CaseRecord
		number, branch, region, channel, categ *string
		severity, tier, status, owner          *string
		created, firstAssigned, lastAssigned   *time.Time
		acknowledged, statusAt                 *time.Time
	)
	err := tx.QueryRow(ctx, selectCase+lock, tenant, caseID).Scan(
		&r.TenantID, &r.CaseID,
		&number, &branch, &region, &channel, &categ, &severity, &tier, &status, &created,
		&owner, &firstAssigned, &lastAssigned, &acknowledged, &r.Breaches, &statusAt)
	if err != nil {
		return report.CaseRecord{}, err
	}
	r.CaseNumber, r.BranchID, r.RegionID = str(number), str(branch), str(region)
	r.Channel, r.Category, r.Severity = str(channel), str(categ), str(severity)
	r.CustomerTier, r.Status, r.OwnerID = str(tier), str(status), str(owner)
	r.CreatedAt, r.FirstAssignedAt, r.LastAssignedAt = tm(created), tm(firstAssigned), tm(lastAssigned)
	r.AcknowledgedAt, r.StatusAt = tm(acknowledged), tm(statusAt)
	return r, nil
}

func save(ctx context.Context, tx pgx.Tx, r report.CaseRecord, now time.Time) error {
	_, err := tx.Exec(ctx, `
		UPDATE case_facts SET
		       case_number = $3, branch_id = $4, region_id = $5, channel = $6, category = $7,
		       severity = $8, customer_tier = $9, status = $10, created_at = $11, received_at = $11, received_month = date_trunc('month', $11::timestamptz AT TIME ZONE 'Asia/Shanghai')::date,
		       owner_id = $12, first_assigned_at = $13, last_assigned_at = $14,
		       acknowledged_at = $15, breaches = $16, updated_at = $17, status_at = $18
		WHERE tenant_id = $1 AND case_id = $2`,
		r.TenantID, r.CaseID,
		null(r.CaseNumber), null(r.BranchID), null(r.RegionID), null(r.Channel), null(r.Category),
		null(r.Severity), null(r.CustomerTier), null(r.Status), nullTime(r.CreatedAt),
		null(r.OwnerID), nullTime(r.FirstAssignedAt), nullTime(r.LastAssignedAt),
		nullTime(r.AcknowledgedAt), r.Breaches, now, nullTime(r.StatusAt))
	if err != nil {
		return fmt.Errorf("save read-model row of case %s: %w", r.CaseID, err)
	}
	return nil
}

// The read model keeps "not known yet" as NULL and the domain as zero values.

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
	return p.UTC()
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
