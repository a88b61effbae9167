package notifykafka

import (
	"context"
	"errors"
	"fmt"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// SurveyID is the id of the return-visit survey message of the closure
// announced by event eventID, which the survey link names: the same on
// every handling of the event.
func SurveyID(tenantID, eventID string) string {
	return eventDeliveryID(tenantID, eventID, notify.TemplateCaseSurvey)
}

// closed queues the return-visit survey (回访) to the customer of a case
// just closed. The link is minted when the message is sent (see
// notify.SurveyLinks); nothing about the customer is kept here.
func (h *Handler) closed(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, ev *eventsv1.CaseTransitioned) error {
	if err := validCase(env, "CaseTransitioned"); err != nil {
		return err
	}
	if env.GetEventId() == "" {
		return eventbus.Permanent(errors.New("CaseTransitioned has no event id"))
	}
	if err := ev.GetAt().CheckValid(); err != nil {
		return eventbus.Permanent(fmt.Errorf("CaseTransitioned of case %s has no valid time: %w", env.GetCaseId(), err))
	}
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)
	d := notify.NewSurveyDelivery(SurveyID(env.GetTenantId(), env.GetEventId()), env.GetTenantId(), env.GetCaseId(),
		notify.ChannelEmail, ev.GetAt().AsTime(), ev.GetTimeZone(), env.GetEventId(), trace, h.now())
	added, err := h.enqueue(ctx, tx, d) // the bank's rules may not send it: recorded as skipped
	if err != nil {
		return fmt.Errorf("queue survey of case %s: %w", env.GetCaseId(), err)
	}
	if !added {
		h.Log.InfoContext(ctx, "survey already queued", "case_id", env.GetCaseId(), "event_id", env.GetEventId())
	}
	return nil
}
