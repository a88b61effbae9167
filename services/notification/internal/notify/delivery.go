package notify

import (
	"errors"
	"fmt"
	"time"
)

// Channel is how a message reaches the customer.
type Channel string

// Channels. Only e-mail is sent today; SMS and webhooks come with their gateways.
const (
	ChannelEmail   Channel = "email"
	ChannelSMS     Channel = "sms"
	ChannelWebhook Channel = "webhook"
)

// Status is where a delivery stands.
type Status string

// Statuses. Pending is the only one that changes; the other three are final.
const (
	StatusPending Status = "PENDING"
	StatusSent    Status = "SENT"
	StatusFailed  Status = "FAILED"
	StatusSkipped Status = "SKIPPED"
)

// Final reports whether nothing more will happen to a delivery in s.
func (s Status) Final() bool { return s != StatusPending }

// Reasons recorded for skipped deliveries.
const (
	ReasonNoEmail = "no e-mail address"
	// ReasonPromisePassed: after a long outage an acknowledgment (or a moved
	// date) would promise an answer by a time already gone, which tells the
	// customer nothing true.
	ReasonPromisePassed = "expected answer time has passed"
)

// ErrNotPending is returned when an outcome is recorded for a delivery that
// already has one.
var ErrNotPending = errors.New("delivery is no longer pending")

// Delivery is one message to one customer over one channel, from the moment
// it is decided until it is sent or given up. It holds no personal data: the
// address is looked up when sending, and only its masked form is kept.
type Delivery struct {
	ID       string
	TenantID string
	CaseID   string
	Channel  Channel
	Template Template
	Status   Status
	// Language the message was rendered in; empty until an attempt is made.
	Language Language
	// Recipient is the masked address the message went to (z***@example.com).
	Recipient string
	// ExpectedAnswerAt is the answer deadline the message promises (for a
	// moved date, the new one), shown in TimeZone (the branch's zone).
	ExpectedAnswerAt time.Time
	TimeZone         string
	// DeadlineKind is the kind of deadline ExpectedAnswerAt stands for, so a
	// later recount can tell whether it moved what the customer was told.
	DeadlineKind string
	// Provisional: ExpectedAnswerAt may still move with the official holiday
	// schedule, and the message says so.
	Provisional bool
	// PreviousAnswerAt is the date a moved-date message says was replaced;
	// zero for other templates.
	PreviousAnswerAt time.Time
	// ChangeReason is why the date moved (ChangeCalendarYearLoaded,
	// ChangeBranchClosure); empty for other templates.
	ChangeReason string
	// DedupKey tells deliveries of one case, template and channel apart: the
	// store keeps one per key. It is empty for messages sent once per case
	// (the acknowledgment) and the causing event's id for messages sent once
	// per event (a moved date), so a replayed event never sends twice.
	DedupKey      string
	Attempts      int
	NextAttemptAt time.Time
	// LastError says why the last attempt did not send; never personal data.
	LastError string
	// Staff is whom a staff alert is for (see NewStaffAlertDelivery); the
	// zero StaffRecipient for a message to the customer.
	Staff StaffRecipient
	// Urgent: quiet hours do not apply (breaches, escalations, red
	// warnings, what a rule marks "at once").
	Urgent bool
	// AlertLevel is a staff warning's level (yellow, orange, red); empty
	// otherwise.
	AlertLevel string
	// CaseNumber is the case number a staff alert names (staff alerts ask
	// intake for nothing); empty for messages to the customer, which read
	// it from intake with the contact.
	CaseNumber string
	// TraceContext is the W3C trace context of the event that caused the
	// delivery, so sending continues that trace however late it happens.
	TraceContext map[string]string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	SentAt       time.Time
}

// NewDelivery returns a pending delivery due at once.
func NewDelivery(id, tenantID, caseID string, ch Channel, t Template, ack Acknowledgment, trace map[string]string, now time.Time) Delivery {
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: caseID, Channel: ch, Template: t, Status: StatusPending,
		ExpectedAnswerAt: ack.ExpectedAnswerAt, TimeZone: ack.TimeZone,
		DeadlineKind: ack.Kind, Provisional: ack.Provisional,
		NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}

// NewDateMovedDelivery returns a pending TemplateCaseDateMoved delivery due
// at once, kept once per eventID (see Delivery.DedupKey).
func NewDateMovedDelivery(id, tenantID, caseID string, ch Channel, m DateMove, eventID string, trace map[string]string, now time.Time) Delivery {
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: caseID, Channel: ch, Template: TemplateCaseDateMoved, Status: StatusPending,
		ExpectedAnswerAt: m.ExpectedAnswerAt, TimeZone: m.TimeZone, DeadlineKind: m.Kind, Provisional: m.Provisional,
		PreviousAnswerAt: m.PreviousAnswerAt, ChangeReason: m.Reason, DedupKey: eventID,
		NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}

// NewAnswerDelivery is the message that gives the customer the answer
// announced by event eventID (answered at answeredAt); the text is fetched
// from intake at each attempt, like the address.
func NewAnswerDelivery(id, tenantID, caseID string, ch Channel, answeredAt time.Time, eventID string, trace map[string]string, now time.Time) Delivery {
	return Delivery{
		ID: id, TenantID: tenantID, CaseID: caseID, Channel: ch, Template: TemplateCaseAnswer, Status: StatusPending,
		ExpectedAnswerAt: answeredAt, TimeZone: "Asia/Shanghai", DedupKey: eventID,
		NextAttemptAt: now, TraceContext: trace, CreatedAt: now, UpdatedAt: now,
	}
}

// Outdated reports whether sending at now would be pointless: an
// acknowledgment or a moved date whose promised answer time is already past,
// or a staff warning of a deadline already due (its breach is told instead,
// if it breached).
func (d Delivery) Outdated(now time.Time) bool {
	promises := d.Template == TemplateCaseAcknowledgment || d.Template == TemplateCaseDateMoved ||
		d.Template == TemplateStaffDeadlineWarned
	return promises && !d.ExpectedAnswerAt.After(now)
}

// OutdatedReason is the reason an Outdated delivery is skipped with.
func (d Delivery) OutdatedReason() string {
	if d.Template == TemplateStaffDeadlineWarned {
		return ReasonWarningPassed
	}
	return ReasonPromisePassed
}

// MarkSent records that the gateway accepted the message.
func (d *Delivery) MarkSent(now time.Time, lang Language, maskedRecipient string) error {
	if err := d.attempt(now, lang); err != nil {
		return err
	}
	d.Status, d.Recipient, d.SentAt, d.LastError = StatusSent, maskedRecipient, now, ""
	return nil
}

// MarkSkipped records that the message cannot be sent on this channel at all
// (e.g. no address); it counts as an attempt.
func (d *Delivery) MarkSkipped(now time.Time, lang Language, reason string) error {
	if err := d.attempt(now, lang); err != nil {
		return err
	}
	d.Status, d.LastError = StatusSkipped, reason
	return nil
}

// MarkFailed records a failed attempt. The delivery stays pending until
// MaxAttempts, with the next attempt after Backoff; then it is failed for
// good. A permanent failure (e.g. the relay rejected the address) is final at
// once. reason must not contain personal data.
func (d *Delivery) MarkFailed(now time.Time, lang Language, reason string, permanent bool) error {
	if err := d.attempt(now, lang); err != nil {
		return err
	}
	d.LastError = reason
	if permanent || d.Attempts >= MaxAttempts {
		d.Status = StatusFailed
		return nil
	}
	d.NextAttemptAt = now.Add(Backoff(d.Attempts))
	return nil
}

func (d *Delivery) attempt(now time.Time, lang Language) error {
	if d.Status.Final() {
		return fmt.Errorf("delivery %s is %s: %w", d.ID, d.Status, ErrNotPending)
	}
	d.Attempts++
	d.UpdatedAt = now
	if lang != "" {
		d.Language = lang
	}
	return nil
}

// MessageID is the Message-ID (without angle brackets) of every e-mail sent
// for a delivery. It is the same on every attempt, so a message resent after
// a crash between sending and recording can be recognised as a duplicate.
func MessageID(deliveryID string) string { return deliveryID + "@counterdesk" }
