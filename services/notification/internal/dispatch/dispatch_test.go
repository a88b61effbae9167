package dispatch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var now = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// memStore is an in-memory Store for the dispatcher's own rules; the
// Postgres store is tested against a real database elsewhere.
type memStore struct {
	mu   sync.Mutex
	rows map[string]notify.Delivery
}

func (m *memStore) ClaimDue(_ context.Context, at time.Time, limit int, lease time.Duration) ([]notify.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []notify.Delivery
	for id, d := range m.rows {
		if d.Status == notify.StatusPending && !d.NextAttemptAt.After(at) && len(out) < limit {
			d.NextAttemptAt = at.Add(lease)
			m.rows[id] = d
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memStore) Record(_ context.Context, d notify.Delivery, prev int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.rows[d.ID]; cur.Status != notify.StatusPending || cur.Attempts != prev {
		return notify.ErrNotPending
	}
	m.rows[d.ID] = d
	return nil
}

type fakeContacts struct {
	contact Contact
	err     error
}

func (f fakeContacts) CaseContact(context.Context, string) (Contact, error) { return f.contact, f.err }

type fakeMailer struct {
	mu   sync.Mutex
	sent []Mail
	err  error
}

func (f *fakeMailer) Send(_ context.Context, m Mail) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, m)
	return nil
}

type rejected struct{}

func (rejected) Error() string   { return "smtp rcpt: relay replied 550 <zhang.san@example.com> unknown" }
func (rejected) Permanent() bool { return true }

var zhang = Contact{TenantID: "bank-a", CaseNumber: "CD-20261122-000042", CustomerName: "张三",
	Email: "zhang.san@example.com", Phone: "13812345678", Language: "en-GB"}

func setup(t *testing.T, c Contacts, m Mailer) (*Dispatcher, *memStore, notify.Delivery) {
	t.Helper()
	d := notify.NewDelivery("0194f0c1-0000-7000-8000-000000000001", "bank-a", "0194f0c1-0000-7000-8000-0000000000c1",
		notify.ChannelEmail, notify.TemplateCaseAcknowledgment,
		notify.Acknowledgment{ExpectedAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), TimeZone: "Asia/Shanghai"},
		nil, now)
	store := &memStore{rows: map[string]notify.Delivery{d.ID: d}}
	disp, err := New(store, c, m, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Now: func() time.Time { return now },
		Jitter: func() float64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	return disp, store, d
}

func TestASentMessageRecordsOnlyTheMaskedAddress(t *testing.T) {
	mailer := &fakeMailer{}
	disp, store, d := setup(t, fakeContacts{contact: zhang}, mailer)
	if n, err := disp.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	got := store.rows[d.ID]
	if got.Status != notify.StatusSent || got.Recipient != "z***@example.com" || got.Language != notify.LanguageEn ||
		got.Attempts != 1 || !got.SentAt.Equal(now) {
		t.Fatalf("row = %+v", got)
	}
	if len(mailer.sent) != 1 {
		t.Fatalf("sent %d mails", len(mailer.sent))
	}
	m := mailer.sent[0]
	if m.MessageID != d.ID+"@counterdesk" || m.To != zhang.Email || !strings.Contains(m.Body, "23 Nov 2026 17:00 (GMT+08:00)") {
		t.Fatalf("mail = %+v", m)
	}
}

type fakeSMS struct {
	mu   sync.Mutex
	sent []SMS
}

func (f *fakeSMS) SendSMS(_ context.Context, m SMS) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	return nil
}

func TestACustomerWithOnlyAPhoneGetsAnSMSAndTheDecisionIsRecorded(t *testing.T) {
	c := zhang
	c.Email = ""
	mailer, sms := &fakeMailer{}, &fakeSMS{}
	disp, store, d := setup(t, fakeContacts{contact: c}, mailer)
	disp.opts.SMS = sms
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.rows[d.ID]
	if got.Status != notify.StatusSent || got.Via != notify.ChannelSMS || got.Recipient != "138****5678" || got.Decision == "" || len(mailer.sent) != 0 {
		t.Fatalf("row = %+v, %d mails", got, len(mailer.sent))
	}
	if len(sms.sent) != 1 || sms.sent[0].ID != d.ID || sms.sent[0].To != c.Phone || !strings.Contains(sms.sent[0].Text, c.CaseNumber) {
		t.Fatalf("sms = %+v", sms.sent)
	}
}

func TestTheCustomersPreferredChannelComesFirst(t *testing.T) {
	c := zhang
	c.PreferredChannel = notify.ChannelSMS
	mailer, sms := &fakeMailer{}, &fakeSMS{}
	disp, store, d := setup(t, fakeContacts{contact: c}, mailer)
	disp.opts.SMS = sms
	d.Channel = notify.ChannelCustomer
	store.rows[d.ID] = d
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[d.ID]; got.Via != notify.ChannelSMS || len(sms.sent) != 1 || len(mailer.sent) != 0 {
		t.Fatalf("row = %+v, %d sms, %d mails", got, len(sms.sent), len(mailer.sent))
	}
}

func TestACustomerNothingReachesIsDeadLetteredWithTheReason(t *testing.T) {
	c := zhang
	c.Email, c.Phone = "", ""
	mailer := &fakeMailer{}
	disp, store, d := setup(t, fakeContacts{contact: c}, mailer)
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[d.ID]; got.Status != notify.StatusDeadLetter || got.LastError != notify.ReasonNoChannel || len(mailer.sent) != 0 {
		t.Fatalf("row = %+v, %d mails", got, len(mailer.sent))
	}
}

func TestQuietHoursHoldAnAnswerUntilMorningWithoutAnAttempt(t *testing.T) {
	mailer := &fakeMailer{}
	c := zhang
	c.Answer = "已向您说明收费标准。"
	disp, store, _ := setup(t, fakeContacts{contact: c}, mailer)
	night := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC) // 23:00 in Shanghai
	disp.opts.Now = func() time.Time { return night }
	a := notify.NewAnswerDelivery("0194f0c1-0000-5000-8000-000000000009", "bank-a", "0194f0c1-0000-7000-8000-0000000000c1",
		notify.ChannelCustomer, night, "e9", nil, night)
	store.rows = map[string]notify.Delivery{a.ID: a}
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.rows[a.ID]
	if want := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC); got.Status != notify.StatusPending || got.Attempts != 0 ||
		!got.NextAttemptAt.Equal(want) || !strings.Contains(got.Decision, "quiet hours") || len(mailer.sent) != 0 {
		t.Fatalf("row = %+v, %d mails; want held until %v", got, len(mailer.sent), want)
	}
	disp.opts.QuietHours = func(string) notify.QuietHours { return notify.QuietHours{} }
	got.NextAttemptAt = night
	store.rows[a.ID] = got
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[a.ID]; got.Status != notify.StatusSent {
		t.Fatalf("a bank without quiet hours: row = %+v", got)
	}
}

func TestARetryWaitsItsJitteredBackoff(t *testing.T) {
	mailer := &fakeMailer{err: errors.New("smtp connect: connection refused")}
	disp, store, d := setup(t, fakeContacts{contact: zhang}, mailer)
	disp.opts.Jitter = func() float64 { return 0.5 }
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[d.ID]; got.Status != notify.StatusPending || !got.NextAttemptAt.Equal(now.Add(750*time.Millisecond)) ||
		got.Recipient != "z***@example.com" || got.Via != notify.ChannelEmail {
		t.Fatalf("row = %+v", got)
	}
}

func TestFailureReasonsNeverHoldTheCustomersData(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus notify.Status
	}{
		{"a relay that quotes the address is scrubbed",
			errors.New("smtp data: 451 temporary failure for ZHANG.SAN@example.com (张三, 13812345678)"), notify.StatusPending},
		{"a permanent rejection is final at once and scrubbed", rejected{}, notify.StatusDeadLetter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			disp, store, d := setup(t, fakeContacts{contact: zhang}, &fakeMailer{err: tt.err})
			if _, err := disp.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := store.rows[d.ID]
			if got.Status != tt.wantStatus || got.Attempts != 1 {
				t.Fatalf("row = %+v", got)
			}
			for _, secret := range []string{"zhang.san", "ZHANG.SAN", "张三", "13812345678"} {
				if strings.Contains(got.LastError, secret) {
					t.Errorf("last_error %q holds %q", got.LastError, secret)
				}
			}
			if got.Recipient != "z***@example.com" {
				t.Errorf("recipient %q recorded for the attempt, want only the masked address", got.Recipient)
			}
			if tt.wantStatus == notify.StatusPending && !got.NextAttemptAt.Equal(now.Add(time.Second)) {
				t.Errorf("next attempt at %v, want one second later", got.NextAttemptAt)
			}
		})
	}
}

func TestAContactFromAnotherTenantIsNeverWrittenTo(t *testing.T) {
	c := zhang
	c.TenantID = "bank-b"
	mailer := &fakeMailer{}
	disp, store, d := setup(t, fakeContacts{contact: c}, mailer)
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[d.ID]; got.Status != notify.StatusDeadLetter || len(mailer.sent) != 0 {
		t.Fatalf("row = %+v, %d mails", got, len(mailer.sent))
	}
}

func TestAnIntakeOutageIsRetried(t *testing.T) {
	disp, store, d := setup(t, fakeContacts{err: errors.New("intake GetCaseContact: Unavailable")}, &fakeMailer{})
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.rows[d.ID]
	if got.Status != notify.StatusPending || got.Attempts != 1 || got.LastError != "look up contact: intake GetCaseContact: Unavailable" {
		t.Fatalf("row = %+v", got)
	}
}

func TestSendingContinuesTheTraceOfTheEventThatQueuedIt(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	disp, store, d := setup(t, fakeContacts{contact: zhang}, &fakeMailer{})
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	d.TraceContext = map[string]string{"traceparent": parent}
	store.rows[d.ID] = d
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended", len(spans))
	}
	s := spans[0]
	if s.Name() != "send case_acknowledgment" || s.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("span %q with parent %v", s.Name(), s.Parent())
	}
	for _, a := range s.Attributes() {
		if v := a.Value.String(); strings.Contains(v, "zhang") || strings.Contains(v, "张三") {
			t.Errorf("span attribute %s holds personal data", a.Key)
		}
	}
}

func TestALeaseShorterThanTwoAttemptsIsRefused(t *testing.T) {
	_, err := New(&memStore{}, fakeContacts{}, &fakeMailer{}, slog.Default(), Options{AttemptTimeout: time.Minute, Lease: time.Minute})
	if err == nil {
		t.Fatal("want an error")
	}
}

// lateRenderer records what it was asked to render.
type lateRenderer struct {
	notify.Shipped
	mu   sync.Mutex
	late []bool
}

func (r *lateRenderer) Render(ctx context.Context, tenant string, ch notify.Channel, t notify.Template, lang notify.Language, c notify.Content) (notify.Message, error) {
	r.mu.Lock()
	r.late = append(r.late, c.Late)
	r.mu.Unlock()
	return r.Shipped.Render(ctx, tenant, ch, t, lang, c)
}

func TestAnAcknowledgmentHeldUpPastItsPromisedTimeIsSentMarkedLate(t *testing.T) {
	mailer := &fakeMailer{}
	disp, store, d := setup(t, fakeContacts{contact: zhang}, mailer)
	r := &lateRenderer{}
	disp.opts.Renderer = r
	late := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai, a day after the promise
	disp.opts.Now = func() time.Time { return late }
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[d.ID]; got.Status != notify.StatusSent || !got.Late || len(mailer.sent) != 1 || len(r.late) != 1 || !r.late[0] {
		t.Fatalf("row = %+v, %d mails, rendered late %v", got, len(mailer.sent), r.late)
	}
}

func TestADateMoveIsSentWithBothDatesAndItsProvisionalWording(t *testing.T) {
	c := zhang
	c.Language, c.CustomerName = "zh-CN", "张三\r\nBcc: evil@example.com"
	mailer := &fakeMailer{}
	disp, store, _ := setup(t, fakeContacts{contact: c}, mailer)
	move := notify.NewDateMovedDelivery("0194f0c1-0000-5000-8000-000000000002", "bank-a", "0194f0c1-0000-7000-8000-0000000000c1",
		notify.ChannelEmail, notify.DateMove{Kind: notify.KindFirstAnswer,
			PreviousAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), ExpectedAnswerAt: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
			Provisional: true, Reason: notify.ChangeBranchClosure, TimeZone: "Asia/Shanghai"}, "e1", nil, now)
	store.rows = map[string]notify.Delivery{move.ID: move}
	if n, err := disp.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if got := store.rows[move.ID]; got.Status != notify.StatusSent {
		t.Fatalf("row = %+v", got)
	}
	m := mailer.sent[0]
	for _, want := range []string{"原定答复时间：2026年11月23日 17:00", "调整后答复时间：预计 2026年11月24日 17:00", "以国务院公布的节假日安排为准", "暂停营业"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	if m.MessageID != move.ID+"@counterdesk" || m.ToName != "张三 Bcc: evil@example.com" {
		t.Errorf("Message-ID %q, display name %q", m.MessageID, m.ToName)
	}
}

func TestAMovedDateIsSentMarkedLateAfterItsNewTime(t *testing.T) {
	mailer := &fakeMailer{}
	disp, store, _ := setup(t, fakeContacts{contact: zhang}, mailer)
	move := notify.NewDateMovedDelivery("0194f0c1-0000-5000-8000-000000000003", "bank-a", "0194f0c1-0000-7000-8000-0000000000c1",
		notify.ChannelEmail, notify.DateMove{Kind: notify.KindFirstAnswer, PreviousAnswerAt: now.Add(-time.Hour),
			ExpectedAnswerAt: now, TimeZone: "Asia/Shanghai"}, "e1", nil, now)
	store.rows = map[string]notify.Delivery{move.ID: move}
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.rows[move.ID]; got.Status != notify.StatusSent || !got.Late || len(mailer.sent) != 1 {
		t.Fatalf("row = %+v, %d mails", got, len(mailer.sent))
	}
}

// A bank whose rule sends acknowledgments by SMS only: a customer who
// prefers e-mail and has a phone gets an SMS, and the decision says why.
func TestTheBanksRuleRestrictsTheChannelsAMessageMayTake(t *testing.T) {
	c := zhang
	c.PreferredChannel = notify.ChannelEmail
	mailer, sms := &fakeMailer{}, &fakeSMS{}
	disp, store, d := setup(t, fakeContacts{contact: c}, mailer)
	disp.opts.SMS = sms
	d.Channel = notify.ChannelCustomer
	store.rows[d.ID] = d
	disp.opts.Rules = func(_ context.Context, tenant string) (notify.Rules, error) {
		if tenant != "bank-a" {
			t.Errorf("rules of %s asked for", tenant)
		}
		return notify.Rules{ByTemplate: map[notify.Template]notify.Rule{notify.TemplateCaseAcknowledgment: {
			Template: notify.TemplateCaseAcknowledgment, Enabled: true, Channels: []notify.Channel{notify.ChannelSMS}}}}, nil
	}
	if _, err := disp.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := store.rows[d.ID]
	if got.Via != notify.ChannelSMS || len(sms.sent) != 1 || len(mailer.sent) != 0 || !strings.Contains(got.Decision, "the bank's rule allows") {
		t.Fatalf("row = %+v, %d sms, %d mails", got, len(sms.sent), len(mailer.sent))
	}
}
