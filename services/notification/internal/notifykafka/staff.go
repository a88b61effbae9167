package notifykafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ErrNotAssigned is what StaffContacts answers for a case routing holds no
// owner of (it never assigned it): there is nobody to alert.
var ErrNotAssigned = errors.New("routing has no assignment for the case")

// StaffContacts tells whom to alert about a case's deadline: routing's
// GetEscalationContacts. Its errors must carry no personal data; one whose
// chain holds a value with a Permanent() bool method returning true cannot
// succeed on retry (the event is dead-lettered).
type StaffContacts interface {
	// EscalationContacts returns the case's owners (the available staff of
	// the role queue it waits in) and the level above. cause names the
	// event being told about when it may move the case (a breach, on which
	// routing escalates): the answer is then as the case stood before that
	// move, whether routing made it already or not. ErrNotAssigned for a
	// case routing does not hold.
	EscalationContacts(ctx context.Context, caseID, cause string) (owners, above []notify.StaffRecipient, err error)
	// StaffByID returns the active staff of tenantID among ids (unknown and
	// deactivated ones are left out).
	StaffByID(ctx context.Context, tenantID string, ids []string) ([]notify.StaffRecipient, error)
	// BranchStaff returns the active staff of role ("ROLE_BRANCH_HEAD") at
	// a branch of tenantID.
	BranchStaff(ctx context.Context, tenantID, branchID, role string) ([]notify.StaffRecipient, error)
}

// contactsTimeout bounds the look-up at routing, made inside the
// consumer's transaction.
const contactsTimeout = 10 * time.Second

// StaffAlertID is the id of the e-mail delivery that tells staff member
// staffID about the deadline event eventID: the same on every handling of
// the event, so each recipient is told once.
func StaffAlertID(tenantID, eventID string, t notify.Template, staffID string) string {
	return eventDeliveryID(tenantID, eventID, t, staffID)
}

// caseCreated keeps what staff alerts will name of the case: its number
// and its branch's zone.
func (h *Handler) caseCreated(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, ev *eventsv1.CaseCreated) error {
	if err := validCase(env, "CaseCreated"); err != nil {
		return err
	}
	at := h.now()
	if ev.GetCreatedAt().IsValid() {
		at = ev.GetCreatedAt().AsTime()
	}
	zone := ev.GetTimeZone()
	if zone == "" {
		zone = notify.DefaultTimeZone
	}
	return h.Store.RecordCase(ctx, tx, notify.CaseRecord{TenantID: env.GetTenantId(), CaseID: env.GetCaseId(),
		Number: notify.SingleLine(ev.GetCaseNumber()), TimeZone: zone, CreatedAt: at})
}

// deadlineAlert queues the staff alerts of a DeadlineWarned (to the owners)
// or a DeadlineBreached (to the owners and the level above), one per
// recipient, kept once per event and recipient.
func (h *Handler) deadlineAlert(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, a notify.DeadlineAlert, due *timestamppb.Timestamp) error {
	what := env.GetType()
	if what == "" {
		what = string(a.Template)
	}
	if err := validCase(env, what); err != nil {
		return err
	}
	if env.GetEventId() == "" {
		// Without an id a redelivery could not be told from a new alert.
		return eventbus.Permanent(fmt.Errorf("%s has no event id", what))
	}
	if err := due.CheckValid(); err != nil {
		return eventbus.Permanent(fmt.Errorf("%s of case %s has no valid due_at: %w", what, env.GetCaseId(), err))
	}
	a.DueAt = due.AsTime()
	if h.Contacts == nil {
		h.Log.DebugContext(ctx, "staff alerts are off (no routing client)", "case_id", env.GetCaseId(), "event_id", env.GetEventId())
		return nil
	}
	c, found, err := h.Store.Case(ctx, tx, env.GetTenantId(), env.GetCaseId())
	if err != nil {
		return fmt.Errorf("read case %s: %w", env.GetCaseId(), err)
	}
	if found {
		a.CaseNumber, a.TimeZone = c.Number, c.TimeZone
	} else if ack, ok, err := h.Store.Acknowledgment(ctx, tx, env.GetTenantId(), env.GetCaseId()); err != nil {
		return fmt.Errorf("look up acknowledgment of case %s: %w", env.GetCaseId(), err)
	} else if ok {
		// A case registered before notification kept cases: the zone the
		// customer was told in; the message names the case by its id.
		a.TimeZone = ack.TimeZone
	}
	if err := a.Validate(); err != nil {
		return eventbus.Permanent(fmt.Errorf("%s of case %s: %w", what, env.GetCaseId(), err))
	}
	cause := ""
	if a.Template == notify.TemplateStaffDeadlineBreached {
		cause = env.GetEventId()
	}
	lookup, cancel := context.WithTimeout(ctx, contactsTimeout)
	defer cancel()
	owners, above, err := h.Contacts.EscalationContacts(lookup, env.GetCaseId(), cause)
	if errors.Is(err, ErrNotAssigned) {
		h.Log.WarnContext(ctx, "deadline of a case routing holds no owner of; nobody to alert",
			"case_id", env.GetCaseId(), "event_id", env.GetEventId(), "template", a.Template)
		return nil
	}
	if err != nil {
		err = fmt.Errorf("look up whom to alert about case %s: %w", env.GetCaseId(), err)
		var p interface{ Permanent() bool }
		if errors.As(err, &p) && p.Permanent() {
			return eventbus.Permanent(err)
		}
		return err
	}
	recipients := notify.Recipients(a.Template, owners, above)
	if len(recipients) == 0 {
		h.Log.WarnContext(ctx, "deadline with nobody to alert (no owner on duty, nobody above)",
			"case_id", env.GetCaseId(), "event_id", env.GetEventId(), "template", a.Template)
		return nil
	}
	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)
	for _, r := range recipients {
		d := notify.NewStaffAlertDelivery(StaffAlertID(env.GetTenantId(), env.GetEventId(), a.Template, r.ID),
			env.GetTenantId(), env.GetCaseId(), a, r, env.GetEventId(), trace, h.now())
		added, err := h.enqueue(ctx, tx, d)
		if err != nil {
			return fmt.Errorf("queue %s of case %s: %w", a.Template, env.GetCaseId(), err)
		}
		if !added {
			h.Log.InfoContext(ctx, "staff alert already queued", "case_id", env.GetCaseId(), "event_id", env.GetEventId(),
				"template", a.Template, "staff_id", r.ID)
		}
	}
	return nil
}
