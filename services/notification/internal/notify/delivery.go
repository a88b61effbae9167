package notify

import (
	"errors"
	"fmt"
	"time"
)

// Channel is how a message reaches the customer.
type Channel string

// Channels. E-mail goes through the bank's SMTP relay, SMS through its
// HTTP SMS gateway, webhooks to the bank's own systems (its app).
// ChannelCustomer is not a wire channel: a message to the customer on the
// channel they chose, resolved at each attempt (see ChooseChannel) from what
// intake and the bank's configuration say then.
const (
	ChannelEmail    Channel = "email"
	ChannelSMS      Channel = "sms"
	ChannelWebhook  Channel = "webhook"
	ChannelCustomer Channel = "customer"
)

// Status is where a delivery stands.
type Status string

// Statuses. Pending is the only one that changes by itself; a dead letter
// changes only when someone replays it (Replay). StatusFailed is what
// deliveries given up before dead letters existed were left in; migration
// 00004 turned them into dead letters, and nothing sets it any more.
const (
	StatusPending    Status = "PENDING"
	StatusSent       Status = "SENT"
	StatusFailed     Status = "FAILED"
	StatusSkipped    Status = "SKIPPED"
	StatusDeadLetter Status = "DEAD_LETTER"
)

// Final reports whether nothing more will happen to a delivery in s unless
// it is replayed.
func (s Status) Final() bool { return s != StatusPending }

// Undelivered reports whether a delivery in s was given up without being
// sent: it is counted, alerted on and can be replayed.
func (s Status) Undelivered() bool { return s == StatusDeadLetter || s == StatusFailed }

// Reasons recorded for deliveries that were not sent.
const (
	// ReasonNoEmail: a message asked for on the e-mail channel only, to a
	// customer without an address.
	ReasonNoEmail = "no e-mail address"
	// ReasonNoChannel: the customer gave neither a phone number nor an
	// e-mail address and the bank has no webhook: nothing can reach them.
	// The delivery is dead-lettered (counted, alerted, replayable once
	// intake holds an address), never dropped.
	ReasonNoChannel = "no channel reaches the customer: no e-mail address, no phone number and no bank webhook"
)

var (
	// ErrNotPending is returned when an outcome is recorded for a delivery
	// that already has one.
	ErrNotPending = errors.New("delivery is no longer pending")
	// ErrNotDeadLetter is returned when a delivery that is not a dead
	// letter is replayed.
	ErrNotDeadLetter = errors.New("delivery is not a dead letter")
)

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
	// Recipient is the masked address of the last attempt (z***@example.com,
	// 138****5678, the webhook's host).
	Recipient string
	// Via is the channel the last attempt used: Channel itself, or for
	// ChannelCustomer the one ChooseChannel picked; empty before any
	// attempt (or when no channel could be chosen).
	Via Channel
	// Decision says in words why the last attempt went via Via, or why it
	// waits (quiet hours) or could not go at all. No personal data.
	Decision string
	// Late: the message was sent after the answer time it tells of had
	// passed (after an outage); it says so rather than being dropped.
	Late bool
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
	DedupKey string
	Attempts int
	// AttemptBase is Attempts when the delivery was last replayed: the
	// retry budget (MaxAttempts) counts the attempts since.
	AttemptBase   int
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

// Outdated reports whether sending at now would be pointless: a staff
// warning of a deadline already due (its breach is told instead, if it
// breached). A message to the customer is never outdated: see Late.
func (d Delivery) Outdated(now time.Time) bool {
	return d.Template == TemplateStaffDeadlineWarned && !d.ExpectedAnswerAt.After(now)
}

// OutdatedReason is the reason an Outdated delivery is skipped with.
func (d Delivery) OutdatedReason() string { return ReasonWarningPassed }

// PromisePassed reports whether d tells the customer of an answer time that
// is no longer ahead at now: an acknowledgment or a moved date sent after an
// outage. It is still sent, saying it is late (Content.Late), so the
// customer learns their case was received and hears when it is due.
func (d Delivery) PromisePassed(now time.Time) bool {
	promises := d.Template == TemplateCaseAcknowledgment || d.Template == TemplateCaseDateMoved
	return promises && !d.ExpectedAnswerAt.After(now)
}

// MarkSent records that the gateway accepted the message.
func (d *Delivery) MarkSent(now time.Time, lang Language, maskedRecipient string) error {
	if err := d.attempt(now, lang); err != nil {
		return err
	}
	d.Status, d.Recipient, d.SentAt, d.LastError = StatusSent, maskedRecipient, now, ""
	return nil
}

// MarkSkipped records that the message need not be sent at all (a staff
// member without a work address, a warning already due); it counts as an
// attempt. A message the customer should get is dead-lettered instead
// (MarkUndeliverable).
func (d *Delivery) MarkSkipped(now time.Time, lang Language, reason string) error {
	if err := d.attempt(now, lang); err != nil {
		return err
	}
	d.Status, d.LastError = StatusSkipped, reason
	return nil
}

// MarkUndeliverable dead-letters d at once: no retry can help until
// something changes (e.g. intake gets an address), so it waits for a
// replay. It counts as an attempt. reason must not contain personal data.
func (d *Delivery) MarkUndeliverable(now time.Time, lang Language, reason string) error {
	if err := d.attempt(now, lang); err != nil {
		return err
	}
	d.Status, d.LastError = StatusDeadLetter, reason
	return nil
}

// MarkFailed records a failed attempt. The delivery stays pending, the next
// attempt after Backoff (jitter in [0, 1) spreads it), until MaxAttempts
// attempts since the last replay failed; then it is dead-lettered with the
// reason. A permanent failure (e.g. the relay rejected the address) is
// dead-lettered at once. reason must not contain personal data.
func (d *Delivery) MarkFailed(now time.Time, lang Language, reason string, permanent bool, jitter float64) error {
	if err := d.attempt(now, lang); err != nil {
		return err
	}
	d.LastError = reason
	if permanent || d.Attempts-d.AttemptBase >= MaxAttempts {
		d.Status = StatusDeadLetter
		return nil
	}
	d.NextAttemptAt = now.Add(Backoff(d.Attempts-d.AttemptBase, jitter))
	return nil
}

// Defer makes a pending d wait until at without an attempt (quiet hours),
// saying why in Decision.
func (d *Delivery) Defer(now, at time.Time, why string) error {
	if d.Status.Final() {
		return fmt.Errorf("delivery %s is %s: %w", d.ID, d.Status, ErrNotPending)
	}
	d.NextAttemptAt, d.UpdatedAt, d.Decision = at, now, why
	return nil
}

// Replay makes a dead letter pending again, due at now, with a fresh retry
// budget. Its id, and so its Message-ID, stays the same.
func (d *Delivery) Replay(now time.Time) error {
	if !d.Status.Undelivered() {
		return fmt.Errorf("delivery %s is %s: %w", d.ID, d.Status, ErrNotDeadLetter)
	}
	d.Status, d.NextAttemptAt, d.UpdatedAt, d.AttemptBase = StatusPending, now, now, d.Attempts
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

// Outcome is how one attempt ended.
type Outcome string

// Outcomes of an attempt.
const (
	OutcomeSent       Outcome = "sent"
	OutcomeRetry      Outcome = "retry"
	OutcomeDeadLetter Outcome = "dead_letter"
	OutcomeSkipped    Outcome = "skipped"
)

// OutcomeOf is how the attempt just recorded in d ended.
func OutcomeOf(d Delivery) Outcome {
	switch d.Status {
	case StatusSent:
		return OutcomeSent
	case StatusSkipped:
		return OutcomeSkipped
	case StatusDeadLetter, StatusFailed:
		return OutcomeDeadLetter
	}
	return OutcomeRetry
}

// Attempt is one recorded attempt of a delivery: the channel it used, the
// masked recipient, how it ended and why. No personal data.
type Attempt struct {
	N         int
	Channel   Channel
	Recipient string
	Outcome   Outcome
	Error     string
	At        time.Time
}
