// Package timerkafka arms a case's deadlines when it is created, marks the
// acknowledgment deadline met when the acknowledgment went out, and runs the
// loop that fires due warnings and breaches as sla-events.
package timerkafka

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Calendars finds a business calendar by id.
type Calendars func(id string) (*calendar.Calendar, bool)

// Handler applies case-events and notification-events.
type Handler struct {
	Store     *timerpg.Store
	Calendars Calendars
}

// Handle is the eventbus.Handler.
func (h *Handler) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	switch {
	case env.GetCaseCreated() != nil:
		return h.arm(ctx, tx, env)
	case env.GetNotificationSent() != nil && env.GetNotificationSent().GetTemplate() == "case_acknowledgment":
		return h.Store.Meet(ctx, tx, env.GetCaseId(), string(sla.KindAcknowledge), env.GetNotificationSent().GetSentAt().AsTime())
	}
	return nil
}

func (h *Handler) arm(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	cc := env.GetCaseCreated()
	cal, ok := h.Calendars(cc.GetCalendarId())
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
		StartedAt: cc.GetCreatedAt().AsTime(), Location: loc,
	})
	if err != nil {
		return eventbus.Permanent(fmt.Errorf("case %s: arm deadlines: %w", env.GetCaseId(), err))
	}
	armed, err := h.Store.Arm(ctx, tx, timerpg.CaseRef{ID: env.GetCaseId(), Tenant: env.GetTenantId(), Branch: cc.GetBranchId(), Region: cc.GetRegionId()}, ds)
	if err != nil || !armed {
		return err
	}
	ev := &eventsv1.DeadlinesArmed{TimeZone: loc.String()}
	for _, d := range ds {
		ev.Deadlines = append(ev.Deadlines, &eventsv1.ArmedDeadline{Kind: string(d.Kind), DueAt: timestamppb.New(d.DueAt)})
	}
	return outbox.Add(ctx, tx, "slatimer", eventbus.TopicSLAEvents, &eventsv1.Envelope{
		TenantId: env.GetTenantId(), CaseId: env.GetCaseId(),
		Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: ev},
	})
}

// Firer fires due warnings and breaches.
type Firer struct {
	Store *timerpg.Store
	Log   *slog.Logger
	Now   func() time.Time
	Tick  time.Duration
}

// Run fires until ctx ends. A fire is late by at most Tick plus the time to
// publish; it is never early because only rows with fire_at <= now are taken.
func (f *Firer) Run(ctx context.Context) error {
	t := time.NewTicker(f.Tick)
	defer t.Stop()
	for {
		for {
			n, err := f.Store.FireDue(ctx, f.Now(), 100, f.publish)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				f.Log.WarnContext(ctx, "firing due timers failed", "err", err)
				break
			}
			if n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (f *Firer) publish(ctx context.Context, tx pgx.Tx, fire timerpg.Fire) error {
	// Continue the case's trace, so a breach can be followed back to intake.
	pctx := otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(fire.Trace))
	pctx, span := otel.Tracer("counterdesk/slatimer").Start(pctx, "fire "+fire.Level,
		trace.WithAttributes(attribute.String("case.id", fire.CaseID), attribute.String("deadline.kind", fire.Kind)))
	defer span.End()
	env := &eventsv1.Envelope{TenantId: fire.Tenant, CaseId: fire.CaseID}
	if fire.Level == "breached" {
		env.Payload = &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{Kind: fire.Kind, DueAt: timestamppb.New(fire.DueAt)}}
	} else {
		env.Payload = &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: &eventsv1.DeadlineWarned{Kind: fire.Kind, Level: fire.Level, DueAt: timestamppb.New(fire.DueAt)}}
	}
	return outbox.Add(pctx, tx, "slatimer", eventbus.TopicSLAEvents, env)
}
