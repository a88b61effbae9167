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

// HandedOverID is the id of the delivery that tells the customer their case
// changed hands, as event eventID announced: the same on every handling.
func HandedOverID(tenantID, eventID string) string {
	return eventDeliveryID(tenantID, eventID, notify.TemplateCaseHandedOver)
}

// assignmentMade tells an assignment to the staff it concerns (the new
// owner, or the role queue's on-duty staff; the staff routing's rules name)
// and, when the case went to another level by somebody's decision or a
// breach, to the customer. Once per event and recipient.
func (h *Handler) assignmentMade(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, ev *eventsv1.AssignmentMade) error {
	if err := validCase(env, "AssignmentMade"); err != nil {
		return err
	}
	if env.GetEventId() == "" {
		return eventbus.Permanent(errors.New("AssignmentMade has no event id"))
	}
	a := notify.Assignment{Kind: ev.GetKind(), Reason: ev.GetReason(), OwnerID: ev.GetOwnerId(), OwnerRole: ev.GetOwnerRole(), ActorID: ev.GetActorId(),
		Level: ev.GetLevel(), PickupPending: ev.GetPickupPending()}
	if ev.GetAssignedAt().IsValid() {
		a.AssignedAt = ev.GetAssignedAt().AsTime()
	}
	for _, n := range ev.GetNotify() {
		a.Notify = append(a.Notify, notify.AssignmentNotify{Role: n.GetRole(), StaffIDs: n.GetStaffIds(), AtOnce: n.GetAtOnce()})
	}
	if err := a.Validate(); err != nil {
		return eventbus.Permanent(fmt.Errorf("AssignmentMade of case %s: %w", env.GetCaseId(), err))
	}
	c, found, err := h.Store.Case(ctx, tx, env.GetTenantId(), env.GetCaseId())
	if err != nil {
		return fmt.Errorf("read case %s: %w", env.GetCaseId(), err)
	}
	if found {
		a.CaseNumber, a.TimeZone = c.Number, c.TimeZone
	}
	staff, customer := notify.AssignmentNotices(a)
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)
	if customer {
		d := notify.NewHandedOverDelivery(HandedOverID(env.GetTenantId(), env.GetEventId()), env.GetTenantId(), env.GetCaseId(),
			notify.ChannelEmail, a, env.GetEventId(), trace, h.now())
		if _, err := h.enqueue(ctx, tx, d); err != nil {
			return fmt.Errorf("queue hand-over notice of case %s: %w", env.GetCaseId(), err)
		}
	}
	if len(staff) == 0 || h.Contacts == nil {
		return nil
	}
	recipients, err := h.noticeRecipients(ctx, env, staff)
	if err != nil {
		return err
	}
	for _, r := range recipients {
		d := notify.NewStaffNoticeDelivery(StaffAlertID(env.GetTenantId(), env.GetEventId(), r.notice.Template, r.who.ID),
			env.GetTenantId(), env.GetCaseId(), a, r.notice, r.who, env.GetEventId(), trace, h.now())
		added, err := h.enqueue(ctx, tx, d)
		if err != nil {
			return fmt.Errorf("queue %s of case %s: %w", r.notice.Template, env.GetCaseId(), err)
		}
		if !added {
			h.Log.InfoContext(ctx, "assignment message already queued", "case_id", env.GetCaseId(), "event_id", env.GetEventId(),
				"template", r.notice.Template, "staff_id", r.who.ID)
		}
	}
	return nil
}

type noticeRecipient struct {
	notice notify.StaffNotice
	who    notify.StaffRecipient
}

// noticeRecipients asks routing who the notices' people are: named staff by
// id, a role queue's on-duty staff through the case's current owners. Each
// person gets one message, the first notice that names them.
func (h *Handler) noticeRecipients(ctx context.Context, env *eventsv1.Envelope, notices []notify.StaffNotice) ([]noticeRecipient, error) {
	lookup, cancel := context.WithTimeout(ctx, contactsTimeout)
	defer cancel()
	var ids []string
	for _, n := range notices {
		if n.StaffID != "" {
			ids = append(ids, n.StaffID)
		}
	}
	byID := map[string]notify.StaffRecipient{}
	if len(ids) > 0 {
		found, err := h.Contacts.StaffByID(lookup, env.GetTenantId(), ids)
		if err != nil {
			return nil, contactsError(env, err)
		}
		for _, r := range found {
			byID[r.ID] = r
		}
	}
	seen := map[string]bool{}
	var out []noticeRecipient
	for _, n := range notices {
		if n.Owners {
			owners, _, err := h.Contacts.EscalationContacts(lookup, env.GetCaseId(), "")
			if errors.Is(err, ErrNotAssigned) {
				continue
			}
			if err != nil {
				return nil, contactsError(env, err)
			}
			for _, r := range owners {
				if !seen[r.ID] {
					seen[r.ID] = true
					out = append(out, noticeRecipient{notice: n, who: r})
				}
			}
			continue
		}
		r, ok := byID[n.StaffID]
		if !ok || seen[r.ID] {
			continue // left the bank since, or told already
		}
		seen[r.ID] = true
		out = append(out, noticeRecipient{notice: n, who: r})
	}
	return out, nil
}

func contactsError(env *eventsv1.Envelope, err error) error {
	err = fmt.Errorf("look up whom to tell about case %s: %w", env.GetCaseId(), err)
	var p interface{ Permanent() bool }
	if errors.As(err, &p) && p.Permanent() {
		return eventbus.Permanent(err)
	}
	return err
}
