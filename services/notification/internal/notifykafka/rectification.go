package notifykafka

import (
	"context"
	"errors"
	"fmt"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// rectification tells a branch's heads that a rectification notice was
// issued to the branch, or is due soon or overdue (reporting's reminders),
// once per event and person. A department's notice is recorded as not sent,
// saying why: counterdesk keeps no staff directory of departments.
func (h *Handler) rectification(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, n notify.Rectification) error {
	if env.GetTenantId() == "" {
		return eventbus.Permanent(errors.New("a rectification event has no tenant"))
	}
	if env.GetEventId() == "" {
		return eventbus.Permanent(errors.New("a rectification event has no event id"))
	}
	if err := n.Validate(); err != nil {
		return eventbus.Permanent(fmt.Errorf("rectification event %s: %w", env.GetEventId(), err))
	}
	if _, err := uuid.Parse(n.NoticeID); err != nil {
		return eventbus.Permanent(fmt.Errorf("rectification event %s: notice id: %w", env.GetEventId(), err))
	}
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)
	if n.BranchID == "" {
		d := notify.NewRectificationDelivery(StaffAlertID(env.GetTenantId(), env.GetEventId(), notify.TemplateStaffRectificationDue, "department"),
			env.GetTenantId(), n, notify.StaffRecipient{ID: "department:" + n.Department, Name: n.Department}, env.GetEventId(), trace, h.now())
		d.Status, d.LastError = notify.StatusSkipped, notify.ReasonDepartmentNotice
		_, err := h.Store.Enqueue(ctx, tx, d)
		return err
	}
	if h.Contacts == nil {
		return nil
	}
	lookup, cancel := context.WithTimeout(ctx, contactsTimeout)
	defer cancel()
	heads, err := h.Contacts.BranchStaff(lookup, env.GetTenantId(), n.BranchID, "ROLE_BRANCH_HEAD")
	if err != nil {
		return contactsError(env, err)
	}
	if len(heads) == 0 {
		h.Log.WarnContext(ctx, "rectification notice of a branch without a branch head; nobody to tell",
			"notice_id", n.NoticeID, "branch_id", n.BranchID, "event_id", env.GetEventId())
		return nil
	}
	for _, r := range heads {
		d := notify.NewRectificationDelivery(StaffAlertID(env.GetTenantId(), env.GetEventId(), notify.TemplateStaffRectificationDue, r.ID),
			env.GetTenantId(), n, r, env.GetEventId(), trace, h.now())
		if _, err := h.enqueue(ctx, tx, d); err != nil {
			return fmt.Errorf("queue rectification message of notice %s: %w", n.NoticeID, err)
		}
	}
	return nil
}

func rectificationIssued(ev *eventsv1.RectificationNoticeIssued) notify.Rectification {
	n := notify.Rectification{NoticeID: ev.GetNoticeId(), BranchID: ev.GetBranchId(), Department: ev.GetDepartment(),
		DueDate: ev.GetDueDate(), Reminder: notify.ReminderIssued, Cases: len(ev.GetCaseIds())}
	if ev.GetDueAt().IsValid() {
		n.DueAt = ev.GetDueAt().AsTime()
	}
	return n
}

func rectificationDue(ev *eventsv1.RectificationNoticeDue) notify.Rectification {
	n := notify.Rectification{NoticeID: ev.GetNoticeId(), BranchID: ev.GetBranchId(), Department: ev.GetDepartment(),
		DueDate: ev.GetDueDate(), Reminder: ev.GetReminder()}
	if ev.GetDueAt().IsValid() {
		n.DueAt = ev.GetDueAt().AsTime()
	}
	return n
}
