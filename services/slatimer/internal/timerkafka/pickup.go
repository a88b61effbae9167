package timerkafka

import (
	"context"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
)

// assigned keeps the hand-over pick-up clock (首问负责制: a hand-over is
// picked up by the next owner within the bank's limit). A hand-over the new
// owner has still to pick up arms it from the hand-over, again on every
// further hand-over; any other assignment (a claim, a hand-over straight to
// a named person) meets it.
//
// Assignments of one case come in order on their partition, but a replay
// or a dead-letter redrive can bring an older one after a newer one: an
// assignment no later than what the clock already holds (its start, or the
// pick-up that met it) changes nothing.
func (h *Handler) assigned(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	am := env.GetAssignmentMade()
	if am.GetAssignedAt() == nil {
		return eventbus.Permanent(fmt.Errorf("case %s: assignment without assigned_at", env.GetCaseId()))
	}
	// Compared with times read back from Postgres, which keeps microseconds:
	// a redelivered copy must compare equal, not a nanosecond later.
	at := am.GetAssignedAt().AsTime().Truncate(time.Microsecond)
	if !am.GetPickupPending() {
		return h.pickedUp(ctx, tx, env.GetCaseId(), at)
	}
	return h.armPickup(ctx, tx, env, at)
}

// pickedUp meets the case's running pick-up clock at at, unless it was
// started by a hand-over after at.
func (h *Handler) pickedUp(ctx context.Context, tx pgx.Tx, caseID string, at time.Time) error {
	ds, err := h.Store.LockCase(ctx, tx, caseID)
	if err != nil {
		return err
	}
	p, ok := pickupOf(ds)
	if !ok || p.MetAt != nil || at.Before(p.StartedAt) {
		return nil
	}
	return h.Store.Meet(ctx, tx, caseID, string(sla.KindHandoverPickup), at)
}

// armPickup arms the pick-up clock from the hand-over at at, or arms it
// again (a second hand-over) from scratch: new start and due time, unmet, no
// level, the new run's fires only.
func (h *Handler) armPickup(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, at time.Time) error {
	am := env.GetAssignmentMade()
	// As at creation: count on the calendar in force, and keep a calendar
	// change out until the clock is stored.
	if err := h.Store.LockShared(ctx, tx); err != nil {
		return err
	}
	st, err := h.Calendars.Current(ctx, tx)
	if err != nil {
		return err
	}
	ds, err := h.Store.LockCase(ctx, tx, env.GetCaseId())
	if err != nil {
		return err
	}
	old, rearm := pickupOf(ds)
	if rearm && (!at.After(old.StartedAt) || old.MetAt != nil && !at.After(*old.MetAt)) {
		return nil // this hand-over or a later one is already counted
	}
	if closed(ds) {
		return nil
	}

	// Count where the case's other clocks are counted: its branch's calendar
	// in its zone, as intake gave them at creation. A hand-over seen before
	// the case's creation (another topic) counts on the event's branch, the
	// default calendar and its zone.
	ref := timerpg.CaseRef{ID: env.GetCaseId(), Tenant: env.GetTenantId(), Branch: am.GetBranchId(), Region: am.GetRegionId()}
	var calendarID, zone string
	var hours []calendar.Period
	if len(ds) > 0 {
		ref.Branch, ref.Region = ds[0].Branch, ds[0].Region
	}
	if b, ok := basisOf(ds); ok {
		ref.Branch, ref.Region = b.Branch, b.Region
		calendarID, zone = b.Basis.CalendarID, b.Basis.TimeZone
		hours = b.Basis.Periods() // the branch's opening hours, as at creation
	}
	cal, ok := st.Branch(h.Calendars.Base, ref.Tenant, ref.Branch, calendarID)
	if !ok {
		return eventbus.Permanent(fmt.Errorf("case %s: unknown business calendar %q", ref.ID, calendarID))
	}
	loc := cal.Location()
	if zone != "" {
		if loc, err = time.LoadLocation(zone); err != nil {
			return eventbus.Permanent(fmt.Errorf("case %s: unknown time zone %q", ref.ID, zone))
		}
	}
	policy, _, err := h.Store.Policy(ctx, tx, ref.Tenant)
	if err != nil {
		return err
	}
	// The case's category and severity are not known here (slatimer keeps
	// no copy of the case): rules restricted to them do not apply to the
	// pick-up; the default policy's pick-up rule is unrestricted.
	d, ok, err := sla.Arm(policy, cal, sla.KindHandoverPickup, sla.CaseFacts{StartedAt: at, Location: loc, Hours: hours})
	if err != nil {
		return eventbus.Permanent(fmt.Errorf("case %s: arm the pick-up clock: %w", ref.ID, err))
	}
	if !ok {
		return nil // the bank sets no pick-up limit
	}
	if rearm {
		err = h.Store.Rearm(ctx, tx, ref, d, st.Version)
	} else {
		var armed bool
		armed, err = h.Store.Arm(ctx, tx, ref, []sla.Deadline{d}, st.Version)
		if err == nil && !armed {
			return nil
		}
	}
	if err != nil {
		return err
	}
	return h.publishArmed(ctx, tx, env.GetTenantId(), env.GetCaseId(), loc, []sla.Deadline{d})
}

// pickupOf returns the case's pick-up clock, if it has one.
func pickupOf(ds []timerpg.HeldDeadline) (timerpg.HeldDeadline, bool) {
	for _, d := range ds {
		if d.Kind == string(sla.KindHandoverPickup) {
			return d, true
		}
	}
	return timerpg.HeldDeadline{}, false
}

// basisOf returns a deadline of the case that says which calendar and zone
// it was counted on: the pick-up clock's own if it has one.
func basisOf(ds []timerpg.HeldDeadline) (timerpg.HeldDeadline, bool) {
	if p, ok := pickupOf(ds); ok && p.Basis != nil {
		return p, true
	}
	for _, d := range ds {
		if d.Basis != nil {
			return d, true
		}
	}
	return timerpg.HeldDeadline{}, false
}

// closed reports whether the case is over: it has clocks other than the
// pick-up and every one is met, which is what closing or withdrawing it
// does (a case's resolution clock runs until then). A case with none yet
// (its creation not seen) is open.
func closed(ds []timerpg.HeldDeadline) bool {
	others := 0
	for _, d := range ds {
		if d.Kind == string(sla.KindHandoverPickup) {
			continue
		}
		if d.MetAt == nil {
			return false
		}
		others++
	}
	return others > 0
}
