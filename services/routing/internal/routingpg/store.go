// Package routingpg stores routing's org tree, assignments and hand-overs in
// Postgres — the system of record from which the Redis queues are rebuilt.
package routingpg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound: no such branch or assignment in the tenant.
var ErrNotFound = errors.New("not found")

// Store is routing's Postgres store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Region is a region of a bank.
type Region struct{ ID, Name string }

// ImportOrg upserts regions, branches and staff of tenant in one transaction.
func (s *Store) ImportOrg(ctx context.Context, tenant string, regions []Region, branches []routing.Branch, staff []routing.Staff) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		for _, r := range regions {
			if _, err := tx.Exec(ctx, `INSERT INTO regions (tenant_id, id, name) VALUES ($1,$2,$3)
				ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name`, tenant, r.ID, r.Name); err != nil {
				return fmt.Errorf("upsert region %s: %w", r.ID, err)
			}
		}
		for _, b := range branches {
			if _, err := tx.Exec(ctx, `INSERT INTO branches (tenant_id, id, region_id, name, time_zone, calendar_id)
				VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (tenant_id, id) DO UPDATE SET region_id = EXCLUDED.region_id,
				name = EXCLUDED.name, time_zone = EXCLUDED.time_zone, calendar_id = EXCLUDED.calendar_id`,
				tenant, b.ID, b.Region, b.Name, b.TimeZone, b.CalendarID); err != nil {
				if isFK(err) {
					return fmt.Errorf("branch %s: region %s is not known: %w", b.ID, b.Region, ErrNotFound)
				}
				return fmt.Errorf("upsert branch %s: %w", b.ID, err)
			}
		}
		for _, m := range staff {
			if _, err := tx.Exec(ctx, `INSERT INTO staff (tenant_id, id, display_name, role, branch_id, region_id, authority_level, active)
				VALUES ($1,$2,$3,$4,$5,$6,$7,true) ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = EXCLUDED.display_name,
				role = EXCLUDED.role, branch_id = EXCLUDED.branch_id, region_id = EXCLUDED.region_id,
				authority_level = EXCLUDED.authority_level, active = true`,
				tenant, m.ID, m.Name, m.Role, m.Branch, m.Region, m.AuthorityLevel); err != nil {
				return fmt.Errorf("upsert staff %s: %w", m.ID, err)
			}
		}
		return nil
	})
}

func isFK(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23503"
}

// Branch returns a branch of tenant with its staff, using q (a pool or a tx).
func (s *Store) Branch(ctx context.Context, q Querier, tenant, id string) (routing.Branch, error) {
	if q == nil {
		q = s.pool
	}
	b := routing.Branch{ID: id}
	err := q.QueryRow(ctx, `SELECT region_id, name, time_zone, calendar_id FROM branches WHERE tenant_id = $1 AND id = $2`,
		tenant, id).Scan(&b.Region, &b.Name, &b.TimeZone, &b.CalendarID)
	if errors.Is(err, pgx.ErrNoRows) {
		return routing.Branch{}, ErrNotFound
	}
	if err != nil {
		return routing.Branch{}, fmt.Errorf("read branch %s: %w", id, err)
	}
	rows, err := q.Query(ctx, `SELECT id, display_name, role, branch_id, region_id, authority_level, active
		FROM staff WHERE tenant_id = $1 AND branch_id = $2 ORDER BY id`, tenant, id)
	if err != nil {
		return routing.Branch{}, fmt.Errorf("read staff of branch %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m routing.Staff
		if err := rows.Scan(&m.ID, &m.Name, &m.Role, &m.Branch, &m.Region, &m.AuthorityLevel, &m.Active); err != nil {
			return routing.Branch{}, fmt.Errorf("scan staff: %w", err)
		}
		b.Staff = append(b.Staff, m)
	}
	return b, rows.Err()
}

// Querier is what Branch needs of a pool or transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// SaveNew stores the first assignment of a case and its first hand-over
// record. It returns false when the case already has an owner.
func (s *Store) SaveNew(ctx context.Context, tx pgx.Tx, a routing.Assignment) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO assignments (case_id, tenant_id, branch_id, owner_id, first_responder_id, enqueued_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$6) ON CONFLICT (case_id) DO NOTHING`, a.CaseID, a.Tenant, a.Branch, a.Owner, a.FirstResponder, a.At)
	if err != nil {
		return false, fmt.Errorf("insert assignment of case %s: %w", a.CaseID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO handovers (case_id, seq, from_staff_id, to_staff_id, reason, at) VALUES ($1, 1, '', $2, $3, $4)`,
		a.CaseID, a.Owner, a.Reason, a.At); err != nil {
		return false, fmt.Errorf("record first hand-over of case %s: %w", a.CaseID, err)
	}
	return true, nil
}

// Handover is one change of owner.
type Handover struct {
	From, To, Reason string
	At               time.Time
}

// AssignmentView is a case's ownership record.
type AssignmentView struct {
	CaseID, Tenant, Branch, Region, Owner, FirstResponder string
	EnqueuedAt                                            time.Time
	Handovers                                             []Handover
	// Open: the case is being worked (not closed or withdrawn).
	Open bool
}

// Assignment returns the ownership record of a case of tenant.
func (s *Store) Assignment(ctx context.Context, tenant, caseID string) (AssignmentView, error) {
	v := AssignmentView{CaseID: caseID, Tenant: tenant}
	err := s.pool.QueryRow(ctx, `SELECT a.branch_id, coalesce(b.region_id, ''), a.owner_id, a.first_responder_id, a.enqueued_at, a.open
		FROM assignments a LEFT JOIN branches b ON b.tenant_id = a.tenant_id AND b.id = a.branch_id
		WHERE a.tenant_id = $1 AND a.case_id = $2`, tenant, caseID).Scan(&v.Branch, &v.Region, &v.Owner, &v.FirstResponder, &v.EnqueuedAt, &v.Open)
	if errors.Is(err, pgx.ErrNoRows) {
		return AssignmentView{}, ErrNotFound
	}
	if err != nil {
		return AssignmentView{}, fmt.Errorf("read assignment of case %s: %w", caseID, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT from_staff_id, to_staff_id, reason, at FROM handovers WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return AssignmentView{}, fmt.Errorf("read hand-overs of case %s: %w", caseID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h Handover
		if err := rows.Scan(&h.From, &h.To, &h.Reason, &h.At); err != nil {
			return AssignmentView{}, err
		}
		v.Handovers = append(v.Handovers, h)
	}
	return v, rows.Err()
}

// OpenAssignments calls fn for every open assignment, for rebuilding queues.
func (s *Store) OpenAssignments(ctx context.Context, fn func(routing.Assignment) error) error {
	rows, err := s.pool.Query(ctx, `SELECT case_id, tenant_id, branch_id, owner_id, enqueued_at FROM assignments WHERE open`)
	if err != nil {
		return fmt.Errorf("read open assignments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a routing.Assignment
		if err := rows.Scan(&a.CaseID, &a.Tenant, &a.Branch, &a.Owner, &a.At); err != nil {
			return fmt.Errorf("scan assignment: %w", err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SetOpen records whether a case's assignment is open (queued): a closed or
// withdrawn case leaves its queue, a reopened one comes back. It reports
// whether the case has an assignment.
func (s *Store) SetOpen(ctx context.Context, tx pgx.Tx, tenant, caseID string, open bool, at time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE assignments SET open = $3, updated_at = greatest(updated_at, $4) WHERE tenant_id = $1 AND case_id = $2`,
		tenant, caseID, open, at)
	if err != nil {
		return false, fmt.Errorf("set assignment of case %s open=%v: %w", caseID, open, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Reassign hands an open case over from its current owner to owner,
// recording the hand-over, and returns the assignment as it was; false when
// the case has no open assignment.
func (s *Store) Reassign(ctx context.Context, tx pgx.Tx, tenant, caseID, owner, reason string, at time.Time) (routing.Assignment, bool, error) {
	var a routing.Assignment
	err := tx.QueryRow(ctx, `SELECT case_id, tenant_id, branch_id, owner_id, enqueued_at FROM assignments
		WHERE tenant_id = $1 AND case_id = $2 AND open FOR UPDATE`, tenant, caseID).Scan(&a.CaseID, &a.Tenant, &a.Branch, &a.Owner, &a.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("lock assignment of case %s: %w", caseID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE assignments SET owner_id = $3, updated_at = greatest(updated_at, $4) WHERE tenant_id = $1 AND case_id = $2`,
		tenant, caseID, owner, at); err != nil {
		return a, false, fmt.Errorf("reassign case %s: %w", caseID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO handovers (case_id, seq, from_staff_id, to_staff_id, reason, at)
		SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5 FROM handovers WHERE case_id = $1`, caseID, a.Owner, owner, reason, at); err != nil {
		return a, false, fmt.Errorf("record hand-over of case %s: %w", caseID, err)
	}
	return a, true, nil
}

// OpenAssignmentsOf calls fn for every open assignment of tenant.
func (s *Store) OpenAssignmentsOf(ctx context.Context, tenant string, fn func(routing.Assignment) error) error {
	rows, err := s.pool.Query(ctx, `SELECT case_id, tenant_id, branch_id, owner_id, enqueued_at FROM assignments WHERE tenant_id = $1 AND open`, tenant)
	if err != nil {
		return fmt.Errorf("read open assignments of %s: %w", tenant, err)
	}
	defer rows.Close()
	var all []routing.Assignment
	for rows.Next() {
		var a routing.Assignment
		if err := rows.Scan(&a.CaseID, &a.Tenant, &a.Branch, &a.Owner, &a.At); err != nil {
			return fmt.Errorf("scan assignment: %w", err)
		}
		all = append(all, a)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range all {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}
