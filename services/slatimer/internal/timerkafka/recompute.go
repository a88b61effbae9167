package timerkafka

import (
	"context"
	"fmt"
	"slices"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
)

// reclassified counts the case's still-open answer and resolution deadlines
// again with the rule the bank's policy gives for the case's new complexity:
// the policy version the deadline was armed with if it is still stored,
// else the one in force. They are counted from the same start (which a
// resumed pause has already moved on), so pause accounting is kept; a paused
// clock stays paused at its new basis. A case that became major gets its
// written-report deadline, from the reclassification, unless it has one.
// Every deadline whose due time (or provisional flag) moved is announced
// with reason "complexity_changed".
func (h *Handler) reclassified(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	ev, caseID, tenant := env.GetCaseTransitioned(), env.GetCaseId(), env.GetTenantId()
	at := ev.GetAt().AsTime()
	if err := h.Store.LockShared(ctx, tx); err != nil {
		return err
	}
	st, err := h.Calendars.Current(ctx, tx)
	if err != nil {
		return err
	}
	// Every deadline of the case, in kind order (as every other writer locks
	// them), before the ones counted again.
	held, err := h.Store.LockCase(ctx, tx, caseID)
	if err != nil {
		return err
	}
	if len(held) == 0 {
		return nil // never armed here (or another bank's case): nothing to count
	}
	ds, err := h.Store.LockCaseDeadlines(ctx, tx, caseID, customerClocks)
	if err != nil {
		return err
	}
	facts := func(start time.Time, b sla.Basis) (sla.CaseFacts, error) {
		loc, err := time.LoadLocation(b.TimeZone)
		if err != nil || b.TimeZone == "" {
			return sla.CaseFacts{}, eventbus.Permanent(fmt.Errorf("case %s: unknown time zone %q", caseID, b.TimeZone))
		}
		return sla.CaseFacts{Category: ev.GetCategory().String(), Severity: ev.GetSeverity().String(),
			Channel: ev.GetChannel().String(), Tier: ev.GetCustomerTier().String(), StartedAt: start, Location: loc,
			Hours: b.Periods()}, nil
	}
	var moved []calendars.Recounted
	for _, d := range ds {
		if d.MetAt != nil {
			continue
		}
		cal, ok := st.Branch(h.Calendars.Base, d.Tenant, d.Branch, d.Basis.CalendarID)
		if !ok {
			return eventbus.Permanent(fmt.Errorf("case %s: unknown business calendar %q", caseID, d.Basis.CalendarID))
		}
		pol, err := h.armedPolicy(ctx, tx, tenant, d.Basis.PolicyVersion)
		if err != nil {
			return err
		}
		f, err := facts(d.StartedAt, d.Basis)
		if err != nil {
			return err
		}
		nd, ok, err := sla.Arm(pol, cal, sla.Kind(d.Kind), f)
		if err != nil {
			return eventbus.Permanent(fmt.Errorf("case %s: count %s for the new complexity: %w", caseID, d.Kind, err))
		}
		if !ok {
			continue // no rule of the kind for the new complexity: the deadline stands
		}
		if err := h.Store.Recount(ctx, tx, d.OpenDeadline, nd, ev.GetBranchId(), ev.GetRegionId(), st.Version, at); err != nil {
			return err
		}
		if !nd.DueAt.Equal(d.DueAt) || nd.Provisional != d.Provisional {
			moved = append(moved, calendars.Recounted{Old: d.OpenDeadline, New: nd})
		}
	}
	if ev.GetSeverity() == casesv1.Severity_SEVERITY_MAJOR && !slices.ContainsFunc(held, func(d timerpg.HeldDeadline) bool {
		return d.Kind == string(sla.KindMajorReport)
	}) {
		if err := h.armMajorReport(ctx, tx, env, st, held, facts); err != nil {
			return err
		}
	}
	return PublishRecounted(ctx, tx, ReasonComplexity, st.Version, moved)
}

// armMajorReport arms the written-report deadline of a case that became
// major, from the reclassification, on the policy version the case was armed
// with (else the one in force) and the case's calendar and zone.
func (h *Handler) armMajorReport(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, st *calendars.State,
	held []timerpg.HeldDeadline, facts func(time.Time, sla.Basis) (sla.CaseFacts, error)) error {
	ev, caseID, tenant := env.GetCaseTransitioned(), env.GetCaseId(), env.GetTenantId()
	var basis *sla.Basis
	for _, d := range held {
		if d.Basis != nil {
			basis = d.Basis
			break
		}
	}
	if basis == nil {
		return nil // armed before bases were kept: no calendar or zone to count on
	}
	cal, ok := st.Branch(h.Calendars.Base, tenant, ev.GetBranchId(), basis.CalendarID)
	if !ok {
		return eventbus.Permanent(fmt.Errorf("case %s: unknown business calendar %q", caseID, basis.CalendarID))
	}
	pol, err := h.armedPolicy(ctx, tx, tenant, basis.PolicyVersion)
	if err != nil {
		return err
	}
	f, err := facts(ev.GetAt().AsTime(), *basis)
	if err != nil {
		return err
	}
	d, ok, err := sla.Arm(pol, cal, sla.KindMajorReport, f)
	if err != nil {
		return eventbus.Permanent(fmt.Errorf("case %s: arm the major-case report: %w", caseID, err))
	}
	if !ok {
		return nil
	}
	armed, err := h.Store.Arm(ctx, tx, timerpg.CaseRef{ID: caseID, Tenant: tenant, Branch: ev.GetBranchId(), Region: ev.GetRegionId()},
		[]sla.Deadline{d}, st.Version)
	if err != nil || !armed {
		return err
	}
	return h.publishArmed(ctx, tx, tenant, caseID, f.Location, []sla.Deadline{d})
}

// armedPolicy is the bank's policy version a case was armed with, or the
// one in force when that version is no longer stored.
func (h *Handler) armedPolicy(ctx context.Context, tx pgx.Tx, tenant string, version int64) (sla.Policy, error) {
	p, ok, err := h.Store.PolicyAt(ctx, tx, tenant, version)
	if err != nil || ok {
		return p, err
	}
	p, _, err = h.Store.Policy(ctx, tx, tenant)
	return p, err
}

// movedBranch counts the case's open deadlines that depend on the branch's
// calendar (working days, business hours, and the calendar-days limit whose
// last day moves off non-working days) again on the new branch's calendar
// view (the national calendar and the new branch's closures), from the same
// start, and records that every deadline of the case belongs to the new
// branch. The new branch's opening hours are not in the event: its deadlines
// are counted in the bank's default hours (the policy's work hours), not the
// old branch's. The event's calendar and zone (the new branch's) replace the
// old ones when set. Every deadline that moved is announced with reason
// "branch_changed"; paused clocks stay paused, met ones are left alone.
func (h *Handler) movedBranch(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	ev, caseID, tenant := env.GetCaseTransitioned(), env.GetCaseId(), env.GetTenantId()
	at := ev.GetAt().AsTime()
	if err := h.Store.LockShared(ctx, tx); err != nil {
		return err
	}
	st, err := h.Calendars.Current(ctx, tx)
	if err != nil {
		return err
	}
	held, err := h.Store.LockCase(ctx, tx, caseID)
	if err != nil || len(held) == 0 {
		return err
	}
	ds, err := h.Store.LockCaseDeadlines(ctx, tx, caseID, sla.Kinds())
	if err != nil {
		return err
	}
	var moved []calendars.Recounted
	for _, d := range ds {
		if d.MetAt != nil || d.Basis.Clock == sla.ClockCalendar {
			continue
		}
		b := d.Basis
		b.Hours = nil // the bank's default hours: the new branch's are not known here
		if id := ev.GetCalendarId(); id != "" {
			b.CalendarID = id
		}
		if tz := ev.GetTimeZone(); tz != "" {
			if _, err := time.LoadLocation(tz); err == nil {
				b.TimeZone = tz
			}
		}
		cal, ok := st.Branch(h.Calendars.Base, tenant, ev.GetBranchId(), b.CalendarID)
		if !ok {
			return eventbus.Permanent(fmt.Errorf("case %s: unknown business calendar %q", caseID, b.CalendarID))
		}
		nd, err := sla.Recount(sla.Kind(d.Kind), b, cal, d.StartedAt)
		if err != nil {
			return eventbus.Permanent(fmt.Errorf("case %s: count %s on the new branch: %w", caseID, d.Kind, err))
		}
		if err := h.Store.Recount(ctx, tx, d.OpenDeadline, nd, ev.GetBranchId(), ev.GetRegionId(), st.Version, at); err != nil {
			return err
		}
		if !nd.DueAt.Equal(d.DueAt) || nd.Provisional != d.Provisional {
			moved = append(moved, calendars.Recounted{Old: d.OpenDeadline, New: nd})
		}
	}
	if err := h.Store.MoveCase(ctx, tx, caseID, ev.GetBranchId(), ev.GetRegionId()); err != nil {
		return err
	}
	return PublishRecounted(ctx, tx, ReasonBranch, st.Version, moved)
}
