// Package timerpg stores slatimer's policies, deadlines and timer fires in
// Postgres, and claims due fires for the firing loop. Time is always a
// parameter, so tests own the clock.
package timerpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Store is slatimer's Postgres store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool exposes the pool for transactions spanning store calls.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Policy returns the tenant's policy and whether it is the default, read in
// tx when given (a consumer's transaction) or on the pool.
func (s *Store) Policy(ctx context.Context, tx pgx.Tx, tenant string) (sla.Policy, bool, error) {
	var q interface {
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	} = s.pool
	if tx != nil {
		q = tx
	}
	var raw []byte
	err := q.QueryRow(ctx, `SELECT policy FROM policies WHERE tenant_id = $1`, tenant).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return sla.DefaultPolicy(), true, nil
	}
	if err != nil {
		return sla.Policy{}, false, fmt.Errorf("read policy of %s: %w", tenant, err)
	}
	var p sla.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return sla.Policy{}, false, fmt.Errorf("decode policy of %s: %w", tenant, err)
	}
	return p, false, nil
}

// PutPolicy replaces the tenant's policy.
func (s *Store) PutPolicy(ctx context.Context, tenant string, p sla.Policy, at time.Time) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode policy: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO policies (tenant_id, policy, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at`, tenant, raw, at)
	if err != nil {
		return fmt.Errorf("store policy of %s: %w", tenant, err)
	}
	return nil
}

// CaseRef identifies a case and where it belongs.
type CaseRef struct{ ID, Tenant, Branch, Region string }

// Arm stores a case's deadlines and their warning and breach fires. A case
// already armed is left alone (returns false).
func (s *Store) Arm(ctx context.Context, tx pgx.Tx, c CaseRef, ds []sla.Deadline) (bool, error) {
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	trace, _ := json.Marshal(carrier)
	armed := false
	for _, d := range ds {
		tag, err := tx.Exec(ctx, `INSERT INTO deadlines (case_id, kind, tenant_id, branch_id, region_id, clock, started_at, due_at, approximate)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (case_id, kind) DO NOTHING`,
			c.ID, string(d.Kind), c.Tenant, c.Branch, c.Region, string(d.Clock), d.StartedAt, d.DueAt, d.Approximate)
		if err != nil {
			return false, fmt.Errorf("store deadline %s of case %s: %w", d.Kind, c.ID, err)
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		armed = true
		fires := append([]sla.Warning{}, d.Warnings...)
		fires = append(fires, sla.Warning{Level: "breached", At: d.DueAt})
		for _, w := range fires {
			if _, err := tx.Exec(ctx, `INSERT INTO timer_fires (case_id, kind, level, fire_at, trace) VALUES ($1,$2,$3,$4,$5)`,
				c.ID, string(d.Kind), w.Level, w.At, trace); err != nil {
				return false, fmt.Errorf("store %s fire of %s: %w", w.Level, d.Kind, err)
			}
		}
	}
	return armed, nil
}

// Deadline is a stored deadline.
type Deadline struct {
	Kind, Clock, Level, Branch, Region string
	StartedAt, DueAt                   time.Time
	MetAt                              *time.Time
}

// Deadlines returns a case's deadlines in due order.
func (s *Store) Deadlines(ctx context.Context, tenant, caseID string) ([]Deadline, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, clock, level, branch_id, region_id, started_at, due_at, met_at
		FROM deadlines WHERE tenant_id = $1 AND case_id = $2 ORDER BY due_at, kind`, tenant, caseID)
	if err != nil {
		return nil, fmt.Errorf("read deadlines of case %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []Deadline
	for rows.Next() {
		var d Deadline
		if err := rows.Scan(&d.Kind, &d.Clock, &d.Level, &d.Branch, &d.Region, &d.StartedAt, &d.DueAt, &d.MetAt); err != nil {
			return nil, fmt.Errorf("scan deadline: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Meet marks a deadline met at `at` and cancels its fires that have not fired.
func (s *Store) Meet(ctx context.Context, tx pgx.Tx, caseID, kind string, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE deadlines SET met_at = $3 WHERE case_id = $1 AND kind = $2 AND met_at IS NULL`, caseID, kind, at); err != nil {
		return fmt.Errorf("meet %s of case %s: %w", kind, caseID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE timer_fires SET cancelled = true WHERE case_id = $1 AND kind = $2 AND fired_at IS NULL`, caseID, kind); err != nil {
		return fmt.Errorf("cancel fires of %s of case %s: %w", kind, caseID, err)
	}
	return nil
}

// Fire is a due warning or breach.
type Fire struct {
	CaseID, Tenant, Kind, Level string
	FireAt, DueAt               time.Time
	Trace                       map[string]string
}

// FireDue claims up to limit fires due at now, marks them fired and calls fn
// for each inside the same transaction (to add the outbox event). Fires
// claimed by another replica are skipped, not waited for, and so are fires
// whose deadline another replica is firing: otherwise a replica committing
// an earlier level after a later one would move the deadline's level back
// (and publish the warnings of one deadline out of order).
func (s *Store) FireDue(ctx context.Context, now time.Time, limit int, fn func(ctx context.Context, tx pgx.Tx, f Fire) error) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, `SELECT f.case_id, d.tenant_id, f.kind, f.level, f.fire_at, d.due_at, f.trace
		FROM timer_fires f JOIN deadlines d USING (case_id, kind)
		WHERE f.fired_at IS NULL AND NOT f.cancelled AND f.fire_at <= $1
		ORDER BY f.fire_at LIMIT $2 FOR UPDATE OF f, d SKIP LOCKED`, now, limit)
	if err != nil {
		return 0, fmt.Errorf("claim due fires: %w", err)
	}
	var fires []Fire
	for rows.Next() {
		var f Fire
		if err := rows.Scan(&f.CaseID, &f.Tenant, &f.Kind, &f.Level, &f.FireAt, &f.DueAt, &f.Trace); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan fire: %w", err)
		}
		fires = append(fires, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, f := range fires {
		if _, err := tx.Exec(ctx, `UPDATE timer_fires SET fired_at = $4 WHERE case_id = $1 AND kind = $2 AND level = $3`,
			f.CaseID, f.Kind, f.Level, now); err != nil {
			return 0, fmt.Errorf("mark fire: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE deadlines SET level = $3 WHERE case_id = $1 AND kind = $2 AND met_at IS NULL`,
			f.CaseID, f.Kind, f.Level); err != nil {
			return 0, fmt.Errorf("raise level: %w", err)
		}
		if err := fn(ctx, tx, f); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit fires: %w", err)
	}
	return len(fires), nil
}
