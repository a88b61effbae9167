// Package dispatch sends the deliveries that are due: it claims them from the
// store, looks up the customer's contact at intake, renders the message in
// the customer's language, hands it to the mail relay and records the
// outcome together with the NotificationSent event. It declares the ports it
// needs (Store, Contacts, Mailer); adapters implement them. Any number of
// replicas may run: claims skip rows another replica holds.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Language  notify.Language
	Date      time.Time
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
	if opts.StaffLanguage != notify.LanguageEn {
		opts.StaffLanguage = notify.LanguageZhCN
	}
	if opts.Lease < 2*opts.AttemptTimeout {
		return nil, fmt.Errorf("lease %v must be at least twice the attempt timeout %v", opts.Lease, opts.AttemptTimeout)
	}
	counter, err := otel.Meter("counterdesk/notification").Int64Counter("counterdesk_notifications_total",
		metric.WithDescription("Delivery attempts by channel, template and outcome (sent, skipped, retry, failed)."))
	if err != nil {
		return nil, fmt.Errorf("create notifications counter: %w", err)
	}
	return &Dispatcher{
		store: store, contacts: contacts, mailer: mailer, log: log, opts: opts,
		wake: make(chan struct{}, 1), tracer: otel.Tracer("counterdesk/notification"), counter: counter,
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
	outcome := outcomeOf(del)
	span.SetAttributes(attribute.String("notification.outcome", outcome))
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
	d.counter.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", string(del.Channel)),
		attribute.String("template", string(del.Template)), attribute.String("outcome", outcome)))
	level := slog.LevelInfo
	attrs := []any{"notification_id", del.ID, "case_id", del.CaseID, "template", del.Template,
		"channel", del.Channel, "outcome", outcome, "attempts", del.Attempts}
	switch outcome {
	case "retry":
		level = slog.LevelWarn
		attrs = append(attrs, "reason", del.LastError, "next_attempt_at", del.NextAttemptAt)
	case "failed":
		level = slog.LevelWarn
		attrs = append(attrs, "reason", del.LastError)
	case "skipped":
		attrs = append(attrs, "reason", del.LastError)
	}
	d.log.Log(ctx, level, "notification attempt", attrs...)
}

// attempt looks up the contact, renders and sends, and applies the outcome
// to del. Every reason it records is scrubbed of the contact's data.
func (d *Dispatcher) attempt(ctx context.Context, del *notify.Delivery) error {
	if del.Outdated(d.opts.Now()) {
		return del.MarkSkipped(d.opts.Now(), "", del.OutdatedReason())
	}
	if del.IsStaffAlert() {
		return d.attemptStaff(ctx, del)
	}
	contact, err := d.contacts.CaseContact(ctx, del.CaseID)
	if err != nil {
		return del.MarkFailed(d.opts.Now(), "", "look up contact: "+err.Error(), isPermanent(err))
	}
	scrub := scrubber(contact)
	if contact.TenantID != "" && contact.TenantID != del.TenantID {
		// Never write to another bank's customer, whatever intake answered.
		return del.MarkFailed(d.opts.Now(), "", "contact belongs to another tenant", true)
	}
	lang := notify.LanguageFor(contact.Language)
	if del.Channel != notify.ChannelEmail {
		return del.MarkFailed(d.opts.Now(), lang, fmt.Sprintf("channel %q is not supported yet", del.Channel), true)
	}
	if strings.TrimSpace(contact.Email) == "" {
		return del.MarkSkipped(d.opts.Now(), lang, notify.ReasonNoEmail)
	}
	msg, err := d.opts.Renderer.Render(ctx, del.TenantID, del.Channel, del.Template, lang, notify.Content{
		CaseNumber: contact.CaseNumber, CustomerName: contact.CustomerName,
		ExpectedAnswerAt: del.ExpectedAnswerAt, TimeZone: del.TimeZone, Provisional: del.Provisional,
		PreviousAnswerAt: del.PreviousAnswerAt, ChangeReason: del.ChangeReason, Answer: contact.Answer,
	})
	if err != nil {
		return del.MarkFailed(d.opts.Now(), lang, scrub("render: "+err.Error()), true)
	}
	err = d.mailer.Send(ctx, Mail{
		// The display name is data: one line, like the name in the body.
		MessageID: notify.MessageID(del.ID), To: contact.Email, ToName: notify.SingleLine(contact.CustomerName),
		Subject: msg.Subject, Body: msg.Body, Language: msg.Language, Date: d.opts.Now(),
	})
	if err != nil {
		return del.MarkFailed(d.opts.Now(), lang, scrub(err.Error()), isPermanent(err))
	}
	return del.MarkSent(d.opts.Now(), lang, pii.MaskEmail(contact.Email))
}

func outcomeOf(d notify.Delivery) string {
	switch d.Status {
	case notify.StatusSent:
		return "sent"
	case notify.StatusSkipped:
		return "skipped"
	case notify.StatusFailed:
		return "failed"
	default:
		return "retry"
	}
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
