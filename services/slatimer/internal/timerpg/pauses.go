package timerpg

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg/timerdb"
	"github.com/jackc/pgx/v5"
)

// Pause pauses the case's running clocks of kinds at at and returns the
// kinds it paused.
func (s *Store) Pause(ctx context.Context, tx pgx.Tx, caseID string, kinds []sla.Kind, at time.Time) ([]string, error) {
	paused, err := s.on(tx).PauseDeadlines(ctx, timerdb.PauseDeadlinesParams{PausedAt: at, CaseID: caseID, Kinds: kindNames(kinds)})
	if err != nil {
		return nil, fmt.Errorf("pause clocks of case %s: %w", caseID, err)
	}
	return paused, nil
}

// CaseDeadline is a stored deadline that can be counted again.
type CaseDeadline struct {
	calendars.OpenDeadline
	PausedAt, MetAt *time.Time
}

// LockCaseDeadlines returns the case's deadlines of kinds that have a
// basis, locked until tx ends.
func (s *Store) LockCaseDeadlines(ctx context.Context, tx pgx.Tx, caseID string, kinds []sla.Kind) ([]CaseDeadline, error) {
	rows, err := s.on(tx).LockCaseDeadlines(ctx, timerdb.LockCaseDeadlinesParams{CaseID: caseID, Kinds: kindNames(kinds)})
	if err != nil {
		return nil, fmt.Errorf("lock deadlines of case %s: %w", caseID, err)
	}
	out := make([]CaseDeadline, 0, len(rows))
	for _, r := range rows {
		d := CaseDeadline{OpenDeadline: calendars.OpenDeadline{CaseID: r.CaseID, Kind: r.Kind, Tenant: r.TenantID, Branch: r.BranchID,
			StartedAt: r.StartedAt, DueAt: r.DueAt, Provisional: r.Provisional}, PausedAt: r.PausedAt, MetAt: r.MetAt}
		if err := json.Unmarshal(r.Basis, &d.Basis); err != nil {
			return nil, fmt.Errorf("decode basis of %s of case %s: %w", r.Kind, r.CaseID, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Restart stores nd, counted from startedAt, as the running (unmet,
// unpaused) deadline of old's case and kind, its warnings and breach at
// their new times (live again if a meeting had cancelled them), its level
// the highest still fired.
func (s *Store) Restart(ctx context.Context, tx pgx.Tx, old calendars.OpenDeadline, startedAt time.Time, nd sla.Deadline, version int64, changedAt time.Time) error {
	q := s.on(tx)
	if err := q.RestartDeadline(ctx, timerdb.RestartDeadlineParams{CaseID: old.CaseID, Kind: old.Kind, StartedAt: startedAt,
		DueAt: nd.DueAt, Provisional: nd.Provisional, CalendarVersion: version}); err != nil {
		return fmt.Errorf("restart %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	for _, w := range fires(nd) {
		if err := q.RestartFire(ctx, timerdb.RestartFireParams{CaseID: old.CaseID, Kind: old.Kind, Level: w.Level, FireAt: w.At, ChangedAt: changedAt}); err != nil {
			return fmt.Errorf("restart %s fire of %s of case %s: %w", w.Level, old.Kind, old.CaseID, err)
		}
	}
	if err := q.ResetLevel(ctx, timerdb.ResetLevelParams{CaseID: old.CaseID, Kind: old.Kind}); err != nil {
		return fmt.Errorf("reset level of %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	return nil
}

func kindNames(kinds []sla.Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

// Recount stores nd, counted from old's start on a new basis (nd.Basis: a
// new complexity's rule, a new branch's calendar), as old's case and kind's
// deadline at branch and region, with its warnings and breach at their new
// times; a paused clock stays paused (it neither warns nor breaches until it
// resumes, when its start moves on by the pause), a met one stays met.
func (s *Store) Recount(ctx context.Context, tx pgx.Tx, old calendars.OpenDeadline, nd sla.Deadline, branch, region string, version int64, changedAt time.Time) error {
	basis, err := json.Marshal(nd.Basis)
	if err != nil {
		return fmt.Errorf("encode basis of %s: %w", old.Kind, err)
	}
	q := s.on(tx)
	if err := q.RecountDeadline(ctx, timerdb.RecountDeadlineParams{CaseID: old.CaseID, Kind: old.Kind, DueAt: nd.DueAt,
		Provisional: nd.Provisional, Basis: basis, CalendarVersion: version, PolicyVersion: nd.Basis.PolicyVersion,
		BranchID: branch, RegionID: region}); err != nil {
		return fmt.Errorf("recount %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	for _, w := range fires(nd) {
		if err := q.RescheduleFire(ctx, timerdb.RescheduleFireParams{CaseID: old.CaseID, Kind: old.Kind, Level: w.Level, FireAt: w.At, ChangedAt: changedAt}); err != nil {
			return fmt.Errorf("reschedule %s fire of %s of case %s: %w", w.Level, old.Kind, old.CaseID, err)
		}
	}
	if err := q.ResetLevel(ctx, timerdb.ResetLevelParams{CaseID: old.CaseID, Kind: old.Kind}); err != nil {
		return fmt.Errorf("reset level of %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	return nil
}

// MoveCase records that every deadline of the case belongs to branch and
// region now (due lists by branch and region, and the branch's closures).
func (s *Store) MoveCase(ctx context.Context, tx pgx.Tx, caseID, branch, region string) error {
	if err := s.on(tx).MoveCaseDeadlines(ctx, timerdb.MoveCaseDeadlinesParams{CaseID: caseID, BranchID: branch, RegionID: region}); err != nil {
		return fmt.Errorf("move deadlines of case %s: %w", caseID, err)
	}
	return nil
}
