package timerpg

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg/timerdb"
	"github.com/jackc/pgx/v5"
)

// HeldDeadline is a stored deadline of a case, locked by LockCase.
type HeldDeadline struct {
	Kind, Branch, Region string
	StartedAt            time.Time
	MetAt                *time.Time
	// Basis is nil for deadlines armed before bases were kept.
	Basis *sla.Basis
}

// LockCase returns every deadline of a case in kind order, locked until tx
// ends: the firer skips them meanwhile, and a calendar change waits.
func (s *Store) LockCase(ctx context.Context, tx pgx.Tx, caseID string) ([]HeldDeadline, error) {
	rows, err := s.on(tx).LockAllCaseDeadlines(ctx, caseID)
	if err != nil {
		return nil, fmt.Errorf("lock deadlines of case %s: %w", caseID, err)
	}
	out := make([]HeldDeadline, 0, len(rows))
	for _, r := range rows {
		d := HeldDeadline{Kind: r.Kind, Branch: r.BranchID, Region: r.RegionID, StartedAt: r.StartedAt, MetAt: r.MetAt}
		if len(r.Basis) > 0 {
			var b sla.Basis
			if err := json.Unmarshal(r.Basis, &b); err != nil {
				return nil, fmt.Errorf("decode basis of %s of case %s: %w", r.Kind, caseID, err)
			}
			d.Basis = &b
		}
		out = append(out, d)
	}
	return out, nil
}

// Rearm replaces the case's stored deadline of d's kind with d, counted on
// calendar version calVersion and armed with the policy version in its
// basis: a clock that starts again on a new event
// (the next hand-over's pick-up) however it stood, met, breached or
// running. Its fires are d's warnings and breach, all pending; the old
// run's fires, fired or not, are gone. Lock the deadline first (LockCase).
func (s *Store) Rearm(ctx context.Context, tx pgx.Tx, c CaseRef, d sla.Deadline, calVersion int64) error {
	basis, err := json.Marshal(d.Basis)
	if err != nil {
		return fmt.Errorf("encode basis of %s: %w", d.Kind, err)
	}
	q := s.on(tx)
	if err := q.RearmDeadline(ctx, timerdb.RearmDeadlineParams{
		CaseID: c.ID, Kind: string(d.Kind), BranchID: c.Branch, RegionID: c.Region,
		Clock: string(d.Clock), StartedAt: d.StartedAt, DueAt: d.DueAt, Provisional: d.Provisional,
		Basis: basis, CalendarVersion: calVersion, PolicyVersion: d.Basis.PolicyVersion,
	}); err != nil {
		return fmt.Errorf("arm %s of case %s again: %w", d.Kind, c.ID, err)
	}
	if err := q.DeleteFires(ctx, timerdb.DeleteFiresParams{CaseID: c.ID, Kind: string(d.Kind)}); err != nil {
		return fmt.Errorf("drop old fires of %s of case %s: %w", d.Kind, c.ID, err)
	}
	return insertFires(ctx, q, c.ID, d, traceOf(ctx))
}
