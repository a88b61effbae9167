package timerpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg/timerdb"
	"github.com/jackc/pgx/v5"
)

// DeadlineView is a stored deadline as the read API shows it.
type DeadlineView struct {
	CaseID, Kind, Clock, Level, Branch, Region string
	StartedAt, DueAt                           time.Time
	MetAt, PausedAt                            *time.Time
	Provisional                                bool
	// Basis is nil for deadlines armed before bases were kept.
	Basis *sla.Basis
	// Extensions is the number of regulatory extensions granted.
	Extensions int
	// PolicyVersion is the policy version the deadline was armed with (0:
	// the default policy).
	PolicyVersion int64
}

// CaseDeadlineViews returns a bank's case's deadlines in due order.
func (s *Store) CaseDeadlineViews(ctx context.Context, tenant, caseID string) ([]DeadlineView, error) {
	rows, err := s.q.CaseDeadlineViews(ctx, timerdb.CaseDeadlineViewsParams{TenantID: tenant, CaseID: caseID})
	if err != nil {
		return nil, fmt.Errorf("read deadlines of case %s: %w", caseID, err)
	}
	out := make([]DeadlineView, 0, len(rows))
	for _, r := range rows {
		v, err := viewOf(timerdb.DueDeadlinesRow(r))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// DueQuery selects a bank's running (unmet, unpaused) deadlines due in
// (After, Until], nearest due first.
type DueQuery struct {
	Tenant string
	// Branch and Region, when set, keep only that branch's / region's.
	Branch, Region string
	After, Until   time.Time
	// From, when set, starts just after that position of the order.
	From  *DueCursor
	Limit int
}

// DueCursor is a position in due order: due time, then case, then kind.
type DueCursor struct {
	DueAt        time.Time
	CaseID, Kind string
}

// noCase sorts before every case id.
const noCase = "00000000-0000-0000-0000-000000000000"

// DueDeadlines returns the deadlines q selects, at most q.Limit.
func (s *Store) DueDeadlines(ctx context.Context, q DueQuery) ([]DeadlineView, error) {
	from := DueCursor{DueAt: q.After, CaseID: noCase}
	if q.From != nil {
		from = *q.From
	}
	rows, err := s.q.DueDeadlines(ctx, timerdb.DueDeadlinesParams{
		TenantID: q.Tenant, DueAfter: q.After, DueUntil: q.Until, BranchID: q.Branch, RegionID: q.Region,
		AfterDueAt: from.DueAt, AfterCaseID: from.CaseID, AfterKind: from.Kind, MaxRows: int32(q.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("read due deadlines: %w", err)
	}
	out := make([]DeadlineView, 0, len(rows))
	for _, r := range rows {
		v, err := viewOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func viewOf(r timerdb.DueDeadlinesRow) (DeadlineView, error) {
	v := DeadlineView{CaseID: r.CaseID, Kind: r.Kind, Clock: r.Clock, Level: r.Level, Branch: r.BranchID, Region: r.RegionID,
		StartedAt: r.StartedAt, DueAt: r.DueAt, MetAt: r.MetAt, PausedAt: r.PausedAt, Provisional: r.Provisional,
		Extensions: int(r.Extensions), PolicyVersion: r.PolicyVersion}
	if len(r.Basis) > 0 {
		var b sla.Basis
		if err := json.Unmarshal(r.Basis, &b); err != nil {
			return DeadlineView{}, fmt.Errorf("decode basis of %s of case %s: %w", r.Kind, r.CaseID, err)
		}
		v.Basis = &b
	}
	return v, nil
}

// Extension is one granted extension of a deadline.
type Extension struct {
	Seq, Days                int
	ApprovedBy, ApproverRole string
	Reason                   string // masked
	OldDueAt, NewDueAt       time.Time
	ExtendedAt               time.Time
	IdempotencyKey           string // "" when the request had none
}

// ExtendableDeadline is a deadline locked for an extension, with the
// extensions granted so far.
type ExtendableDeadline struct {
	calendars.OpenDeadline
	Region, Level   string
	MetAt, PausedAt *time.Time
	// HasBasis is false for deadlines armed before bases were kept: they
	// cannot be counted again.
	HasBasis   bool
	Extensions []Extension
}

// LockForExtension returns a bank's case's deadline of kind, locked until
// tx ends, and its extensions; ok is false when the case has no such
// deadline in that bank.
func (s *Store) LockForExtension(ctx context.Context, tx pgx.Tx, tenant, caseID string, kind sla.Kind) (ExtendableDeadline, bool, error) {
	q := s.on(tx)
	r, err := q.LockDeadlineForExtension(ctx, timerdb.LockDeadlineForExtensionParams{TenantID: tenant, CaseID: caseID, Kind: string(kind)})
	if errors.Is(err, pgx.ErrNoRows) {
		return ExtendableDeadline{}, false, nil
	}
	if err != nil {
		return ExtendableDeadline{}, false, fmt.Errorf("lock %s of case %s: %w", kind, caseID, err)
	}
	d := ExtendableDeadline{OpenDeadline: calendars.OpenDeadline{CaseID: r.CaseID, Kind: r.Kind, Tenant: r.TenantID, Branch: r.BranchID,
		StartedAt: r.StartedAt, DueAt: r.DueAt, Provisional: r.Provisional}, Region: r.RegionID, Level: r.Level,
		MetAt: r.MetAt, PausedAt: r.PausedAt, HasBasis: len(r.Basis) > 0}
	if d.HasBasis {
		if err := json.Unmarshal(r.Basis, &d.Basis); err != nil {
			return ExtendableDeadline{}, false, fmt.Errorf("decode basis of %s of case %s: %w", r.Kind, r.CaseID, err)
		}
	}
	exts, err := q.ExtensionsOf(ctx, timerdb.ExtensionsOfParams{TenantID: tenant, CaseID: caseID, Kind: string(kind)})
	if err != nil {
		return ExtendableDeadline{}, false, fmt.Errorf("read extensions of %s of case %s: %w", kind, caseID, err)
	}
	for _, e := range exts {
		d.Extensions = append(d.Extensions, Extension{Seq: int(e.Seq), Days: int(e.Days), ApprovedBy: e.ApprovedBy,
			ApproverRole: e.ApproverRole, Reason: e.Reason, OldDueAt: e.OldDueAt, NewDueAt: e.NewDueAt,
			ExtendedAt: e.ExtendedAt, IdempotencyKey: e.IdempotencyKey})
	}
	return d, true, nil
}

// Extend stores nd, old counted again on a longer limit (nd.Basis) from the
// same start on calendar version version, and records the extension e
// (from old's due time to nd's; e's own OldDueAt and NewDueAt are not read). The deadline's warnings and
// breach move to nd's times as a calendar change moves them (Reschedule): a
// level whose new time is still ahead at e.ExtendedAt is pending again, one
// whose new time has passed stays as it was; the level is the highest still
// fired. Lock the deadline first (LockForExtension).
func (s *Store) Extend(ctx context.Context, tx pgx.Tx, old calendars.OpenDeadline, nd sla.Deadline, version int64, e Extension) error {
	basis, err := json.Marshal(nd.Basis)
	if err != nil {
		return fmt.Errorf("encode basis of %s: %w", old.Kind, err)
	}
	q := s.on(tx)
	if err := q.ExtendDeadline(ctx, timerdb.ExtendDeadlineParams{CaseID: old.CaseID, Kind: old.Kind, DueAt: nd.DueAt,
		Provisional: nd.Provisional, Basis: basis, CalendarVersion: version}); err != nil {
		return fmt.Errorf("extend %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	for _, w := range fires(nd) {
		if err := q.RescheduleFire(ctx, timerdb.RescheduleFireParams{CaseID: old.CaseID, Kind: old.Kind, Level: w.Level,
			FireAt: w.At, ChangedAt: e.ExtendedAt}); err != nil {
			return fmt.Errorf("move %s fire of %s of case %s: %w", w.Level, old.Kind, old.CaseID, err)
		}
	}
	if err := q.ResetLevel(ctx, timerdb.ResetLevelParams{CaseID: old.CaseID, Kind: old.Kind}); err != nil {
		return fmt.Errorf("reset level of %s of case %s: %w", old.Kind, old.CaseID, err)
	}
	if err := q.InsertRegulatoryExtension(ctx, timerdb.InsertRegulatoryExtensionParams{
		TenantID: old.Tenant, CaseID: old.CaseID, Kind: old.Kind, Seq: int32(e.Seq), Days: int32(e.Days),
		ApprovedBy: e.ApprovedBy, ApproverRole: e.ApproverRole, Reason: e.Reason, OldDueAt: old.DueAt, NewDueAt: nd.DueAt,
		ExtendedAt: e.ExtendedAt, IdempotencyKey: e.IdempotencyKey,
	}); err != nil {
		return fmt.Errorf("record extension %d of %s of case %s: %w", e.Seq, old.Kind, old.CaseID, err)
	}
	return nil
}
