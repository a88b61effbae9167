// Package dispatch sends the deliveries that are due: it claims them from the
// store, holds what quiet hours hold, looks up the customer's contact at
// intake, chooses the channel (the customer's preferred one, else the first
// that reaches them: e-mail, SMS, the bank's webhook), renders the message
// in the customer's language, hands it to the mail relay, the SMS gateway or
// the bank's webhook, and records the outcome and the attempt together with
// the NotificationSent event. What cannot be sent is dead-lettered with the
// reason, counted and can be replayed; nothing is dropped without a record.
// It declares the ports it needs (Store, Contacts, Mailer, SMSSender,
// Webhooks); adapters implement them. Any number of replicas may run:
// claims skip rows another replica holds.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Store keeps deliveries.
type Store interface {
	// ClaimDue returns up to limit pending deliveries due at now and makes
	// them due again only at now+lease, so other replicas skip them while
	// this one works and a crash mid-send means a retry after the lease.
	ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]notify.Delivery, error)
	// Record saves d's new state if the stored row is still pending with
	// prevAttempts attempts, and returns notify.ErrNotPending otherwise (a
	// replica that re-claimed it after the lease got there first). A sent
	// delivery's NotificationSent event is stored in the same transaction.
	Record(ctx context.Context, d notify.Delivery, prevAttempts int) error
}

// Contact is what intake reveals to write to a case's customer. It is
// personal data: it lives in memory for one attempt and is never stored,
// logged or put in a span or error.
type Contact struct {
	TenantID     string
	CaseNumber   string
	CustomerName string
	Email        string
	Phone        string
	Language     string
	// PreferredChannel is the channel the customer chose (e-mail, SMS, the
	// bank's app: ChannelWebhook); empty when they chose none.
	PreferredChannel notify.Channel
	// Answer is the latest answer given to the customer, if any.
	Answer string
}

// Contacts looks up a case's contact. Its errors must carry no personal data.
type Contacts interface {
	CaseContact(ctx context.Context, caseID string) (Contact, error)
}

// Mail is one e-mail to send.
type Mail struct {
	// MessageID is the Message-ID without angle brackets; see notify.MessageID.
	MessageID string
	To        string
	ToName    string
	Subject   string
	Body      string
	// HTML is the HTML alternative of Body; none when empty.
	HTML     string
	Language notify.Language
	Date     time.Time
}

// SMS is one text message to send.
type SMS struct {
	// ID is the delivery id, the same on every attempt: the gateway's
	// client message id, by which it can drop a resend.
	ID       string
	To       string
	Text     string
	Language notify.Language
}

// SMSSender hands text messages to the bank's SMS gateway. Its errors must
// carry neither the number nor the text; Permanent() as for Mailer.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// Hook is one message to a bank's own systems (its app shows it to the
// customer). It names the case, never the customer's addresses.
type Hook struct {
	// ID is the delivery id, the same on every attempt.
	ID, TenantID, CaseID, CaseNumber string
	Template                         notify.Template
	Language                         notify.Language
	Subject, Body, Short             string
	Late                             bool
	At                               time.Time
}

// Webhooks posts hooks to the banks that configured one. Its errors carry
// no body; Permanent() as for Mailer.
type Webhooks interface {
	// Configured reports whether the bank has a webhook.
	Configured(tenantID string) bool
	// Target is what the record shows as the recipient (the endpoint's host).
	Target(tenantID string) string
	Send(ctx context.Context, h Hook) error
}

// Mailer hands mail to the relay. Its errors must not include the address
// or the relay's reply text (which often quotes it). An error whose chain
// holds a value with a Permanent() bool method returning true means retrying
// cannot help (e.g. the relay rejected the address).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	// Now is the clock; time.Now by default. Tests set it.
	Now func() time.Time
	// Batch is how many deliveries one round claims (and sends at once); 8.
	Batch int
	// Poll is how long the worker sleeps when nothing woke it; 1s.
	Poll time.Duration
	// AttemptTimeout bounds one attempt (contact look-up and send); 30s.
	AttemptTimeout time.Duration
	// Lease is how long a claimed delivery stays hidden; 2 minutes. It must
	// be well above AttemptTimeout.
	Lease time.Duration
	// StaffLanguage is the language of staff alerts; Chinese by default.
	StaffLanguage notify.Language
	// Renderer writes the messages; the shipped templates (notify.Shipped)
	// by default.
	Renderer notify.Renderer
	// SurveyLinks mints the return-visit survey's link at each attempt;
	// nil: a survey message cannot be sent (dead-lettered, replayable).
	SurveyLinks notify.SurveyLinks
	// SMS is the SMS gateway; nil: no SMS (a phone number reaches nobody).
	SMS SMSSender
	// Webhooks are the banks' own systems; nil: none.
	Webhooks Webhooks
	// Jitter draws the spread of each retry, in [0, 1); math/rand by
	// default. Tests pass a fixed source.
	Jitter func() float64
	// QuietHours are a bank's quiet hours (notify.DefaultQuietHours by
	// default), in the branch's zone.
	QuietHours func(tenantID string) notify.QuietHours
	// Rules are a bank's notification rules: the channels a customer
	// message may take (nil: any).
	Rules func(ctx context.Context, tenantID string) (notify.Rules, error)
}

// Dispatcher sends due deliveries.
type Dispatcher struct {
	store    Store
	contacts Contacts
	mailer   Mailer
	log      *slog.Logger
	opts     Options
	wake     chan struct{}
	tracer   trace.Tracer
	counter  metric.Int64Counter
	// undeliverable counts dead letters (what an alert watches).
	undeliverable metric.Int64Counter
}

// New returns a dispatcher; call Run, or RunOnce from tests.
func New(store Store, contacts Contacts, mailer Mailer, log *slog.Logger, opts Options) (*Dispatcher, error) {
	if opts.Now == nil {
		opts.Now = time.Now //nolint:forbidigo // the default clock; the service passes its own
	}
	if opts.Batch <= 0 {
		opts.Batch = 8
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 30 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Renderer == nil {
		opts.Renderer = notify.Shipped{}
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.QuietHours == nil {
		opts.QuietHours = func(string) notify.QuietHours { return notify.DefaultQuietHours }
	}
	if opts.StaffLanguage != notify.LanguageEn {
		opts.StaffLanguage = notify.LanguageZhCN
	}
	if opts.Lease < 2*opts.AttemptTimeout {
		return nil, fmt.Errorf("lease %v must be at least twice the attempt timeout %v", opts.Lease, opts.AttemptTimeout)
	}
	meter := otel.Meter("counterdesk/notification")
	counter, err := meter.Int64Counter("counterdesk_notifications_total",
		metric.WithDescription("Delivery attempts by channel, template and outcome (sent, skipped, retry, dead_letter)."))
	if err != nil {
		return nil, fmt.Errorf("create notifications counter: %w", err)
	}
	undeliverable, err := meter.Int64Counter("counterdesk_notifications_undeliverable_total",
		metric.WithDescription("Deliveries dead-lettered, by channel, template and cause (no_channel, permanent, retries_exhausted): each waits for a replay."))
	if err != nil {
		return nil, fmt.Errorf("create undeliverable counter: %w", err)
	}
	return &Dispatcher{
		store: store, contacts: contacts, mailer: mailer, log: log, opts: opts,
		wake: make(chan struct{}, 1), tracer: otel.Tracer("counterdesk/notification"), counter: counter,
		undeliverable: undeliverable,
	}, nil
}

// Wake makes a sleeping Run look for due deliveries now, e.g. after a new one
// was committed. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends due deliveries until ctx ends. Attempts under way when ctx ends
// are finished (each within AttemptTimeout), so a shutdown neither loses
// an outcome nor leaves a delivery waiting out its lease.
func (d *Dispatcher) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		n, err := d.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := d.opts.Poll
		switch {
		case err != nil:
			d.log.WarnContext(ctx, "sending notifications failed; will retry", "err", err, "backoff", backoff.String())
			wait = backoff
			backoff = min(backoff*2, 10*time.Second)
		case n == d.opts.Batch:
			backoff = 100 * time.Millisecond
			continue // more are probably due
		default:
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-time.After(wait):
		}
	}
}

// RunOnce claims one batch of due deliveries at the clock's now, attempts
// them concurrently and returns how many it claimed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	due, err := d.store.ClaimDue(ctx, d.opts.Now(), d.opts.Batch, d.opts.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim due deliveries: %w", err)
	}
	var wg sync.WaitGroup
	for _, del := range due {
		wg.Go(func() { d.deliver(ctx, del) })
	}
	wg.Wait()
	return len(due), nil
}

// deliver makes one attempt and records its outcome. It continues the trace
// of the event that created the delivery.
func (d *Dispatcher) deliver(parent context.Context, del notify.Delivery) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), d.opts.AttemptTimeout)
	defer cancel()
	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(del.TraceContext))
	ctx, span := d.tracer.Start(ctx, "send "+string(del.Template), trace.WithAttributes(
		attribute.String("notification.id", del.ID),
		attribute.String("notification.channel", string(del.Channel)),
		attribute.String("notification.template", string(del.Template)),
		attribute.Int("notification.attempt", del.Attempts+1),
		attribute.String("case.id", del.CaseID),
		attribute.String("tenant.id", del.TenantID),
	))
	defer span.End()

	prev := del.Attempts
	if err := d.attempt(ctx, &del); err != nil {
		// Only an outcome that cannot be recorded at all ends here.
		span.SetStatus(codes.Error, err.Error())
		d.log.ErrorContext(ctx, "cannot record delivery outcome", "notification_id", del.ID, "case_id", del.CaseID, "err", err)
		return
	}
	outcome := string(notify.OutcomeOf(del))
	if del.Attempts == prev {
		outcome = "deferred"
	}
	span.SetAttributes(attribute.String("notification.outcome", outcome), attribute.String("notification.via", string(del.Via)))
	if del.LastError != "" && del.Status != notify.StatusSkipped {
		span.SetStatus(codes.Error, del.LastError)
	}
	// Recording gets its own time: an attempt that used up its timeout must
	// still be able to say so.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if err := d.store.Record(rctx, del, prev); err != nil {
		if errors.Is(err, notify.ErrNotPending) {
			d.log.InfoContext(ctx, "delivery was finished by another worker", "notification_id", del.ID, "case_id", del.CaseID)
			return
		}
		// The row becomes due again after its lease; a resend carries the
		// same Message-ID.
		span.SetStatus(codes.Error, "record outcome failed")
		d.log.ErrorContext(ctx, "cannot record delivery outcome; it will be retried after the lease",
			"notification_id", del.ID, "case_id", del.CaseID, "outcome", outcome, "err", err)
		return
	}
	channel := string(del.Via)
	if channel == "" {
		channel = "none"
	}
	if outcome != "deferred" {
		d.counter.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", channel),
			attribute.String("template", string(del.Template)), attribute.String("outcome", outcome)))
	}
	level := slog.LevelInfo
	attrs := []any{"notification_id", del.ID, "case_id", del.CaseID, "template", del.Template,
		"channel", del.Channel, "via", del.Via, "outcome", outcome, "attempts", del.Attempts}
	switch outcome {
	case "retry":
		level = slog.LevelWarn
		attrs = append(attrs, "reason", del.LastError, "next_attempt_at", del.NextAttemptAt)
	case "dead_letter":
		level = slog.LevelError
		cause := undeliverableCause(del)
		d.undeliverable.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", channel),
			attribute.String("template", string(del.Template)), attribute.String("cause", cause)))
		attrs = append(attrs, "reason", del.LastError, "cause", cause)
	case "skipped":
		attrs = append(attrs, "reason", del.LastError)
	case "deferred":
		attrs = append(attrs, "decision", del.Decision, "next_attempt_at", del.NextAttemptAt)
	}
	d.log.Log(ctx, level, "notification attempt", attrs...)
}

// attempt holds what quiet hours hold, looks up the contact, chooses the
// channel, renders and sends, and applies the outcome to del. Every reason
// it records is scrubbed of the contact's data.
func (d *Dispatcher) attempt(ctx context.Context, del *notify.Delivery) error {
	now := d.opts.Now()
	if del.Outdated(now) {
		return del.MarkSkipped(now, "", del.OutdatedReason())
	}
	if del.HeldByQuietHours() {
		q := d.opts.QuietHours(del.TenantID)
		loc := zone(del.TimeZone)
		if next := q.NextAllowed(now, loc); next.After(now) {
			return del.Defer(now, next, fmt.Sprintf("quiet hours %s (%s): held until %s", q, loc, next.In(loc).Format("2006-01-02 15:04")))
		}
	}
	if del.IsStaffAlert() {
		return d.attemptStaff(ctx, del)
	}
	contact, err := d.contacts.CaseContact(ctx, del.CaseID)
	if err != nil {
		return del.MarkFailed(now, "", "look up contact: "+err.Error(), isPermanent(err), d.opts.Jitter())
	}
	scrub := scrubber(contact)
	if contact.TenantID != "" && contact.TenantID != del.TenantID {
		// Never write to another bank's customer, whatever intake answered.
		return del.MarkFailed(now, "", "contact belongs to another tenant", true, 0)
	}
	lang := notify.LanguageFor(contact.Language)
	reach := notify.Reach{
		Preferred:  contact.PreferredChannel,
		HasEmail:   strings.TrimSpace(contact.Email) != "",
		HasPhone:   strings.TrimSpace(contact.Phone) != "" && d.opts.SMS != nil,
		HasWebhook: d.opts.Webhooks != nil && d.opts.Webhooks.Configured(del.TenantID),
	}
	if reach.Preferred == "" && del.Channel != notify.ChannelCustomer {
		// The customer chose nothing and the message was asked for on one
		// channel (or queued for e-mail before channels were chosen): that
		// one, else what reaches the customer. Their own choice comes first.
		reach.Preferred = del.Channel
	}
	rule := notify.DefaultRule(del.Template)
	if d.opts.Rules != nil {
		rs, err := d.opts.Rules(ctx, del.TenantID)
		if err != nil {
			return del.MarkFailed(now, lang, "read the bank's notification rules: "+err.Error(), false, d.opts.Jitter())
		}
		rule = rs.For(del.Template)
	}
	via, why, ok := rule.Choose(reach)
	del.Via, del.Decision, del.Recipient = via, why, ""
	if !ok {
		return del.MarkUndeliverable(now, lang, why)
	}
	late := del.PromisePassed(now)
	del.Late = late
	surveyURL, err := d.surveyURL(*del, lang)
	if err != nil {
		return del.MarkFailed(now, lang, "survey link: "+err.Error(), true, 0)
	}
	msg, err := d.opts.Renderer.Render(ctx, del.TenantID, via, del.Template, lang, notify.Content{
		CaseNumber: contact.CaseNumber, CustomerName: contact.CustomerName,
		ExpectedAnswerAt: del.ExpectedAnswerAt, TimeZone: del.TimeZone, Provisional: del.Provisional,
		PreviousAnswerAt: del.PreviousAnswerAt, ChangeReason: del.ChangeReason, Answer: contact.Answer,
		Level: del.AlertLevel, Late: late, SurveyURL: surveyURL,
	})
	if err != nil {
		return del.MarkFailed(now, lang, scrub("render: "+err.Error()), true, 0)
	}
	switch via {
	case notify.ChannelSMS:
		del.Recipient = pii.MaskPhone(contact.Phone)
		err = d.opts.SMS.SendSMS(ctx, SMS{ID: del.ID, To: strings.TrimSpace(contact.Phone), Text: msg.SMS, Language: msg.Language})
	case notify.ChannelWebhook:
		del.Recipient = d.opts.Webhooks.Target(del.TenantID)
		err = d.opts.Webhooks.Send(ctx, Hook{
			ID: del.ID, TenantID: del.TenantID, CaseID: del.CaseID, CaseNumber: contact.CaseNumber, Template: del.Template,
			Language: msg.Language, Subject: msg.Subject, Body: msg.Body, Short: msg.SMS, Late: late, At: now,
		})
	default:
		del.Recipient = pii.MaskEmail(contact.Email)
		err = d.mailer.Send(ctx, Mail{
			// The display name is data: one line, like the name in the body.
			MessageID: notify.MessageID(del.ID), To: strings.TrimSpace(contact.Email), ToName: notify.SingleLine(contact.CustomerName),
			Subject: msg.Subject, Body: msg.Body, HTML: msg.HTML, Language: msg.Language, Date: now,
		})
	}
	if err != nil {
		return del.MarkFailed(now, lang, scrub(err.Error()), isPermanent(err), d.opts.Jitter())
	}
	return del.MarkSent(now, lang, del.Recipient)
}

// undeliverableCause says, as a metric label, why del was dead-lettered.
func undeliverableCause(del notify.Delivery) string {
	switch {
	case del.Via == "" && strings.HasPrefix(del.LastError, notify.ReasonNoChannel):
		return "no_channel"
	case del.Attempts-del.AttemptBase >= notify.MaxAttempts:
		return "retries_exhausted"
	}
	return "permanent"
}

// zone is the branch's time zone, Asia/Shanghai when unknown.
func zone(name string) *time.Location {
	if name == "" {
		name = notify.DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc, _ = time.LoadLocation(notify.DefaultTimeZone)
	}
	if loc == nil {
		return time.UTC
	}
	return loc
}

func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// scrubber returns a function that blanks out c's personal data in a text.
// Adapters already keep it out of their errors; this is the second line of
// defence before anything is stored or logged.
func scrubber(c Contact) func(string) string {
	var secrets []*regexp.Regexp
	for _, s := range []string{c.Email, c.CustomerName, c.Phone} {
		if s = strings.TrimSpace(s); s != "" {
			// Case-insensitive: relays quote addresses as they please.
			secrets = append(secrets, regexp.MustCompile("(?i)"+regexp.QuoteMeta(s)))
		}
	}
	return func(text string) string {
		for _, re := range secrets {
			text = re.ReplaceAllLiteralString(text, "***")
		}
		return text
	}
}
