// Package timerpg stores slatimer's policies, deadlines, timer fires and
// calendar changes in Postgres, and claims due fires for the firing loop. Its
// queries are sqlc-generated (queries/*.sql → timerdb). Time is always a
// parameter, so tests own the clock.
package timerpg

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg/timerdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Store is slatimer's Postgres store.
type Store struct {
	pool *pgxpool.Pool
	q    *timerdb.Queries
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: timerdb.New(pool)} }

// Pool exposes the pool for transactions spanning store calls.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// on returns the queries bound to tx, or to the pool when tx is nil.
func (s *Store) on(tx pgx.Tx) *timerdb.Queries {
	if tx == nil {
		return s.q
	}
	return s.q.WithTx(tx)
}

// CaseRef identifies a case and where it belongs.
type CaseRef struct{ ID, Tenant, Branch, Region string }

// Arm stores a case's deadlines, counted on calendar version calVersion, and
// their warning and breach fires; each records the policy version in its
// basis. A case already armed is left alone (returns false).
func (s *Store) Arm(ctx context.Context, tx pgx.Tx, c CaseRef, ds []sla.Deadline, calVersion int64) (bool, error) {
	trace := traceOf(ctx)
	q := s.on(tx)
	armed := false
	for _, d := range ds {
		basis, err := json.Marshal(d.Basis)
		if err != nil {
			return false, fmt.Errorf("encode basis of %s: %w", d.Kind, err)
		}
		n, err := q.InsertDeadline(ctx, timerdb.InsertDeadlineParams{
			CaseID: c.ID, Kind: string(d.Kind), TenantID: c.Tenant, BranchID: c.Branch, RegionID: c.Region,
			Clock: string(d.Clock), StartedAt: d.StartedAt, DueAt: d.DueAt, Provisional: d.Provisional,
			Basis: basis, CalendarVersion: calVersion, PolicyVersion: d.Basis.PolicyVersion,
		})
		if err != nil {
			return false, fmt.Errorf("store deadline %s of case %s: %w", d.Kind, c.ID, err)
		}
		if n == 0 {
			continue
		}
		armed = true
		if err := insertFires(ctx, q, c.ID, d, trace); err != nil {
			return false, err
		}
	}
	return armed, nil
}

// traceOf is ctx's trace context, stored with fires so that a warning or
// breach continues the trace of what armed it.
func traceOf(ctx context.Context) []byte {
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	trace, _ := json.Marshal(carrier)
	return trace
}

// insertFires stores d's warnings and breach as pending fires.
func insertFires(ctx context.Context, q *timerdb.Queries, caseID string, d sla.Deadline, trace []byte) error {
	for _, w := range fires(d) {
		if err := q.InsertFire(ctx, timerdb.InsertFireParams{CaseID: caseID, Kind: string(d.Kind), Level: w.Level, FireAt: w.At, Trace: trace}); err != nil {
			return fmt.Errorf("store %s fire of %s: %w", w.Level, d.Kind, err)
		}
	}
	return nil
}

// fires are a deadline's warnings and its breach.
func fires(d sla.Deadline) []sla.Warning {
	out := append([]sla.Warning{}, d.Warnings...)
	return append(out, sla.Warning{Level: LevelBreached, At: d.DueAt})
}

// LevelBreached is the level of a deadline past due.
const LevelBreached = "breached"

// Deadline is a stored deadline.
type Deadline struct {
	Kind, Clock, Level, Branch, Region string
	StartedAt, DueAt                   time.Time
	MetAt                              *time.Time
	Provisional                        bool
	// TimeZone is the branch's zone the deadline was counted in; empty for
	// deadlines armed before it was recorded.
	TimeZone string
	// PolicyVersion is the version of the bank's policy the deadline was
	// armed with (0: the default policy).
	PolicyVersion int64
}

// Deadlines returns a case's deadlines in due order.
func (s *Store) Deadlines(ctx context.Context, tenant, caseID string) ([]Deadline, error) {
	rows, err := s.q.ListCaseDeadlines(ctx, timerdb.ListCaseDeadlinesParams{TenantID: tenant, CaseID: caseID})
	if err != nil {
		return nil, fmt.Errorf("read deadlines of case %s: %w", caseID, err)
	}
	out := make([]Deadline, 0, len(rows))
	for _, r := range rows {
		d := Deadline{Kind: r.Kind, Clock: r.Clock, Level: r.Level, Branch: r.BranchID, Region: r.RegionID,
			StartedAt: r.StartedAt, DueAt: r.DueAt, MetAt: r.MetAt, Provisional: r.Provisional, PolicyVersion: r.PolicyVersion}
		if len(r.Basis) > 0 {
			var b sla.Basis
			if err := json.Unmarshal(r.Basis, &b); err == nil {
				d.TimeZone = b.TimeZone
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// Meet marks a deadline met at `at` and cancels its fires that have not fired.
func (s *Store) Meet(ctx context.Context, tx pgx.Tx, caseID, kind string, at time.Time) error {
	q := s.on(tx)
	if err := q.MeetDeadline(ctx, timerdb.MeetDeadlineParams{CaseID: caseID, Kind: kind, MetAt: &at}); err != nil {
		return fmt.Errorf("meet %s of case %s: %w", kind, caseID, err)
	}
	if err := q.CancelUnfiredFires(ctx, timerdb.CancelUnfiredFiresParams{CaseID: caseID, Kind: kind}); err != nil {
		return fmt.Errorf("cancel fires of %s of case %s: %w", kind, caseID, err)
	}
	return nil
}
