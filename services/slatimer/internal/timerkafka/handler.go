// Package timerkafka arms a case's deadlines when it is created, marks the
// acknowledgment deadline met when the acknowledgment went out, keeps the
// hand-over pick-up clock from routing's assignments, and runs the loop that
// fires due warnings and breaches as sla-events.
package timerkafka

import (
	"context"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler applies case-events, assignment-events and notification-events.
type Handler struct {
	Store *timerpg.Store
	// Calendars are the calendars in force; deadlines are counted on the
	// branch's view (national calendar and the branch's closures).
	Calendars *calendars.Registry
	// Armed counts armed deadlines by kind and provisional; nil: not counted.
	Armed metric.Int64Counter
}

// Handle is the eventbus.Handler.
func (h *Handler) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	switch {
	case env.GetCaseCreated() != nil:
		return h.arm(ctx, tx, env)
	case env.GetNotificationSent() != nil && env.GetNotificationSent().GetTemplate() == "case_acknowledgment":
		return h.Store.Meet(ctx, tx, env.GetCaseId(), string(sla.KindAcknowledge), env.GetNotificationSent().GetSentAt().AsTime())
	case env.GetCaseTransitioned() != nil:
		return h.transitioned(ctx, tx, env)
	case env.GetAssignmentMade() != nil:
		return h.assigned(ctx, tx, env)
	}
	return nil
}

// metBy lists the deadlines each lifecycle step meets. An answer also
// acknowledges the case and is the decision the regulator's limit asks
// for; closing or withdrawing a case ends every clock still running.
var metBy = map[string][]sla.Kind{
	"answer":            {sla.KindAcknowledge, sla.KindFirstAnswer, sla.KindRegulatoryDecision, sla.KindMajorReport},
	"recordReturnVisit": {sla.KindReturnVisit},
	// A person acknowledged the case (at the counter, by phone): the
	// acknowledgment is met by whichever came first, this or a message.
	"acknowledge": {sla.KindAcknowledge},
	"close":       sla.Kinds(),
	"withdraw":    sla.Kinds(),
}

// customerClocks are the clocks that pause while the case waits for the
// customer and start again when a closed case is reopened: the answer and
// the resolution. (The acknowledgment is long met; the regulator's limit
// and the major-case report keep running.)
var customerClocks = []sla.Kind{sla.KindFirstAnswer, sla.KindResolution}

// Reasons of the DeadlineRecomputed a step causes.
const (
	ReasonResumed          = "resumed_after_waiting_for_customer"
	ReasonResumedAppraisal = "resumed_after_appraisal"
	ReasonReopened         = "case_reopened"
	ReasonComplexity       = "complexity_changed"
	ReasonBranch           = "branch_changed"
)

func (h *Handler) transitioned(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	ev := env.GetCaseTransitioned()
	at := ev.GetAt().AsTime()
	for _, k := range metBy[ev.GetAction()] {
		if err := h.Store.Meet(ctx, tx, env.GetCaseId(), string(k), at); err != nil {
			return err
		}
	}
	switch ev.GetAction() {
	// An external appraisal (third-party or judicial) pauses and resumes
	// the same clocks as the wait for the customer.
	case "awaitCustomer", "awaitAppraisal":
		_, err := h.Store.Pause(ctx, tx, env.GetCaseId(), customerClocks, at)
		return err
	case "resumeFromCustomer", "resumeFromAppraisal":
		reason := ReasonResumed
		if ev.GetAction() == "resumeFromAppraisal" {
			reason = ReasonResumedAppraisal
		}
		return h.recount(ctx, tx, env.GetCaseId(), at, reason, func(d timerpg.CaseDeadline, cal *calendar.Calendar) (time.Time, bool) {
			if d.PausedAt == nil || d.MetAt != nil {
				return time.Time{}, false
			}
			// The start moves on by the time the clock was paused, counted
			// the way the clock counts (work time for working-day and
			// business-hours clocks).
			if d.Basis.Clock == sla.ClockCalendar {
				return d.StartedAt.Add(at.Sub(*d.PausedAt)), true
			}
			// Work time is read in the branch's zone: the stored times come
			// back from Postgres in UTC, whose 09:00-17:00 is not the branch's.
			loc := cal.Location()
			if l, err := time.LoadLocation(d.Basis.TimeZone); err == nil && d.Basis.TimeZone != "" {
				loc = l
			}
			return cal.AddBusinessTime(d.StartedAt.In(loc), cal.BusinessTimeBetween(d.PausedAt.In(loc), at.In(loc))), true
		})
	case "reclassify":
		return h.reclassified(ctx, tx, env)
	case "moveBranch":
		return h.movedBranch(ctx, tx, env)
	case "reopen":
		// The answer and resolution clocks start again, from the reopening.
		return h.recount(ctx, tx, env.GetCaseId(), at, ReasonReopened, func(timerpg.CaseDeadline, *calendar.Calendar) (time.Time, bool) {
			return at, true
		})
	}
	return nil
}

// recount counts the case's customer clocks again from the start newStart
// gives (skipping those it declines), stores them and announces each.
func (h *Handler) recount(ctx context.Context, tx pgx.Tx, caseID string, at time.Time, reason string,
	newStart func(timerpg.CaseDeadline, *calendar.Calendar) (time.Time, bool)) error {
	if err := h.Store.LockShared(ctx, tx); err != nil {
		return err
	}
	st, err := h.Calendars.Current(ctx, tx)
	if err != nil {
		return err
	}
	ds, err := h.Store.LockCaseDeadlines(ctx, tx, caseID, customerClocks)
	if err != nil {
		return err
	}
	var moved []calendars.Recounted
	for _, d := range ds {
		cal, ok := st.Branch(h.Calendars.Base, d.Tenant, d.Branch, d.Basis.CalendarID)
		if !ok {
			return eventbus.Permanent(fmt.Errorf("case %s: unknown business calendar %q", caseID, d.Basis.CalendarID))
		}
		start, ok := newStart(d, cal)
		if !ok {
			continue
		}
		nd, err := sla.Recount(sla.Kind(d.Kind), d.Basis, cal, start)
		if err != nil {
			return eventbus.Permanent(fmt.Errorf("case %s: count %s again: %w", caseID, d.Kind, err))
		}
		if err := h.Store.Restart(ctx, tx, d.OpenDeadline, start, nd, st.Version, at); err != nil {
			return err
		}
		moved = append(moved, calendars.Recounted{Old: d.OpenDeadline, New: nd})
	}
	return PublishRecounted(ctx, tx, reason, st.Version, moved)
}

func (h *Handler) arm(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	cc := env.GetCaseCreated()
	// Count on the calendar in force, and keep any change out until this
	// case's deadlines are stored: the change will then recount them.
	if err := h.Store.LockShared(ctx, tx); err != nil {
		return err
	}
	st, err := h.Calendars.Current(ctx, tx)
	if err != nil {
		return err
	}
	cal, ok := st.Branch(h.Calendars.Base, env.GetTenantId(), cc.GetBranchId(), cc.GetCalendarId())
	if !ok {
		return eventbus.Permanent(fmt.Errorf("case %s: unknown business calendar %q", env.GetCaseId(), cc.GetCalendarId()))
	}
	// No zone means the calendar's own (Asia/Shanghai for China), never UTC,
	// which is what time.LoadLocation("") would give.
	loc := cal.Location()
	if tz := cc.GetTimeZone(); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return eventbus.Permanent(fmt.Errorf("case %s: unknown time zone %q", env.GetCaseId(), tz))
		}
		loc = l
	}
	policy, _, err := h.Store.Policy(ctx, tx, env.GetTenantId())
	if err != nil {
		return err
	}
	ds, err := sla.ArmAtCreation(policy, cal, sla.CaseFacts{
		Category: cc.GetCategory().String(), Severity: cc.GetSeverity().String(), Channel: cc.GetChannel().String(),
		Tier: cc.GetCustomerTier().String(), StartedAt: cc.GetCreatedAt().AsTime(), ReceivedAt: receivedAt(cc), Location: loc,
		Hours: openingHours(cc),
	})
	if err != nil {
		return eventbus.Permanent(fmt.Errorf("case %s: arm deadlines: %w", env.GetCaseId(), err))
	}
	armed, err := h.Store.Arm(ctx, tx, timerpg.CaseRef{ID: env.GetCaseId(), Tenant: env.GetTenantId(), Branch: cc.GetBranchId(), Region: cc.GetRegionId()}, ds, st.Version)
	if err != nil || !armed {
		return err
	}
	return h.publishArmed(ctx, tx, env.GetTenantId(), env.GetCaseId(), loc, ds)
}

// receivedAt is when the bank received the case, from which the regulatory
// limit runs; zero (registration counts) when intake did not say, as older
// events do not.
func receivedAt(cc *eventsv1.CaseCreated) time.Time {
	r := cc.GetReceivedAt()
	if r == nil || r.CheckValid() != nil || r.AsTime().IsZero() {
		return time.Time{}
	}
	return r.AsTime()
}

// publishArmed announces deadlines armed for a case, counted in zone loc,
// in the arming transaction, and counts them.
func (h *Handler) publishArmed(ctx context.Context, tx pgx.Tx, tenant, caseID string, loc *time.Location, ds []sla.Deadline) error {
	ev := &eventsv1.DeadlinesArmed{TimeZone: loc.String()}
	for _, d := range ds {
		ev.Deadlines = append(ev.Deadlines, &eventsv1.ArmedDeadline{Kind: string(d.Kind), DueAt: timestamppb.New(d.DueAt), Provisional: d.Provisional})
		if h.Armed != nil {
			h.Armed.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(d.Kind)), attribute.Bool("provisional", d.Provisional)))
		}
	}
	return outbox.Add(ctx, tx, "slatimer", eventbus.TopicSLAEvents, &eventsv1.Envelope{
		TenantId: tenant, CaseId: caseID,
		Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: ev},
	})
}

// PublishRecounted announces each deadline a calendar change counted
// differently, in the change's transaction: its due time moved, or it stopped
// (or started) being provisional — consumers show provisional everywhere, so
// they hear of both. Customers are told only of a date that moved.
func PublishRecounted(ctx context.Context, tx pgx.Tx, reason string, version int64, moved []calendars.Recounted) error {
	for _, m := range moved {
		env := &eventsv1.Envelope{TenantId: m.Old.Tenant, CaseId: m.Old.CaseID,
			Payload: &eventsv1.Envelope_DeadlineRecomputed{DeadlineRecomputed: &eventsv1.DeadlineRecomputed{
				Kind: m.Old.Kind, OldDueAt: timestamppb.New(m.Old.DueAt), NewDueAt: timestamppb.New(m.New.DueAt),
				Provisional: m.New.Provisional, Reason: reason, TimeZone: m.Old.Basis.TimeZone, CalendarVersion: version,
			}}}
		if err := outbox.Add(ctx, tx, "slatimer", eventbus.TopicSLAEvents, env); err != nil {
			return err
		}
	}
	return nil
}

// RegisterCalendarMetrics exports, per national calendar, the days of
// official holiday data left (counterdesk_calendar_data_horizon_days): when
// it runs low, the next year's State Council notice must be loaded before
// deadlines start falling into it provisionally.
func RegisterCalendarMetrics(meter metric.Meter, store *timerpg.Store, reg *calendars.Registry, now func() time.Time) error {
	_, err := meter.Int64ObservableGauge("counterdesk_calendar_data_horizon_days",
		metric.WithDescription("Days from today to the last day of official holiday data of a national calendar."),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			var st *calendars.State
			// The calendar state is installation-wide (every bank's
			// closures): read across banks, as the registry caches it.
			ctx = pgdb.WithTenant(ctx, pgdb.AllTenants)
			err := pgdb.InTx(ctx, store.Pool(), func(tx pgx.Tx) error {
				var err error
				st, err = reg.Current(ctx, tx)
				return err
			})
			if err != nil {
				return nil // no reading this scrape; the target-down and DB alerts cover it
			}
			for _, id := range []string{calendar.ChinaID} {
				if cal, ok := st.National(reg.Base, id); ok {
					_, days := cal.DataHorizon(now().In(cal.Location()))
					o.Observe(int64(days), metric.WithAttributes(attribute.String("calendar", id)))
				}
			}
			return nil
		}))
	return err
}

// openingHours are the branch's opening periods intake sent with the case
// (from routing's organisation data). Routing checked them; a period that
// still cannot be read is left out, and with none the bank's hours apply.
func openingHours(cc *eventsv1.CaseCreated) []calendar.Period {
	var out []calendar.Period
	for _, p := range cc.GetOpeningHours() {
		days := make([]int, len(p.GetWeekdays()))
		for i, d := range p.GetWeekdays() {
			days[i] = int(d)
		}
		if pp, err := calendar.ParsePeriod(days, p.GetOpens(), p.GetCloses()); err == nil {
			out = append(out, pp)
		}
	}
	return out
}
