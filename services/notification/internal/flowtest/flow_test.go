package flowtest

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifykafka"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	email = "zhang.san@example.com"
	name  = "张三"
)

var (
	firstAnswer = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // 17:00 in Shanghai
	resolution  = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
)

func armedDeadlines() map[string]time.Time {
	return map[string]time.Time{notify.KindFirstAnswer: firstAnswer, notify.KindResolution: resolution}
}

// withParentSpan returns ctx inside a remote span, as the consumer's ctx is.
func withParentSpan(ctx context.Context) (context.Context, trace.SpanContext) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	return trace.ContextWithRemoteSpanContext(ctx, sc), sc
}

func TestACaseIsAcknowledgedByOneMailAndOneEvent(t *testing.T) {
	e := newEnv(t)
	caseID := e.addCase("bank-a", "b1", email, name, "zh-CN")
	ctx, parent := withParentSpan(e.ctx)
	e.armed(ctx, "bank-a", caseID, armedDeadlines())
	// slatimer re-arms (e.g. after a pause): the customer is not told twice.
	e.armed(e.ctx, "bank-a", caseID, map[string]time.Time{notify.KindFirstAnswer: firstAnswer.Add(time.Hour)})
	ids := e.deliveriesOf(caseID)
	if len(ids) != 1 {
		t.Fatalf("%d deliveries for one case, want 1", len(ids))
	}
	queued, err := e.store.Get(e.ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if tp := queued.TraceContext["traceparent"]; !strings.Contains(tp, parent.TraceID().String()) {
		t.Errorf("stored trace context %v does not continue trace %s", queued.TraceContext, parent.TraceID())
	}

	sendAt := start.Add(2 * time.Second)
	e.clock.Set(sendAt)
	if n := e.runOnce(); n != 1 {
		t.Fatalf("claimed %d deliveries, want 1", n)
	}
	mails := e.mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	m := mails[0]
	number := e.caseNumber(caseID)
	if !strings.Contains(m.Subject, number) {
		t.Errorf("subject %q lacks case number %s", m.Subject, number)
	}
	for _, want := range []string{number, "2026年11月23日 17:00", "尊敬的张三"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	if m.MessageID != ids[0]+"@counterdesk" {
		t.Errorf("Message-ID = %q, want %s@counterdesk", m.MessageID, ids[0])
	}
	if len(m.To) != 1 || m.To[0] != email {
		t.Errorf("to %v", m.To)
	}

	sent, err := e.store.Get(e.ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != notify.StatusSent || sent.Attempts != 1 || !sent.SentAt.Equal(sendAt) ||
		sent.Recipient != "z***@example.com" || sent.Language != notify.LanguageZhCN || sent.LastError != "" {
		t.Errorf("delivery = %+v", sent)
	}
	events := e.outboxEvents()
	if len(events) != 1 {
		t.Fatalf("%d NotificationSent events, want 1", len(events))
	}
	ev := events[0]
	ns := ev.GetNotificationSent()
	if ev.GetTenantId() != "bank-a" || ev.GetCaseId() != caseID || ev.GetType() != "NotificationSent" ||
		ev.GetProducer() != "notification" || ns.GetNotificationId() != ids[0] || ns.GetChannel() != "email" ||
		ns.GetTemplate() != "case_acknowledgment" || !ns.GetSentAt().AsTime().Equal(sendAt) {
		t.Errorf("event = %v", ev)
	}

	// Nothing more is due, and the database holds no personal data.
	e.clock.Set(sendAt.Add(time.Hour))
	if n := e.runOnce(); n != 0 {
		t.Errorf("claimed %d more deliveries", n)
	}
	if got := len(e.mails()); got != 1 {
		t.Errorf("%d mails after a second round, want 1", got)
	}
	var dump string
	if err := e.pool.QueryRow(e.ctx, `SELECT coalesce(string_agg(row_to_json(d)::text, ''), '') FROM deliveries d`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"zhang.san", name, "13812345678"} {
		if strings.Contains(dump, secret) {
			t.Errorf("deliveries table holds %q", secret)
		}
	}
}

func TestAnEnglishSpeakingCustomerIsWrittenToInEnglish(t *testing.T) {
	e := newEnv(t)
	caseID := e.addCase("bank-a", "b1", "john@example.com", "John Smith", "en-GB")
	e.armed(e.ctx, "bank-a", caseID, map[string]time.Time{notify.KindResolution: resolution})
	e.runOnce()
	mails := e.mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	if !strings.Contains(mails[0].Body, "7 Dec 2026 17:00 (GMT+08:00)") || !strings.HasPrefix(mails[0].Body, "Dear John Smith,") {
		t.Errorf("body:\n%s", mails[0].Body)
	}
}

// The customer gave only a phone number and this installation has no SMS
// gateway (nor the bank a webhook): nothing reaches them, and the
// acknowledgment is dead-lettered with the reason and its attempt, never
// dropped.
func TestACustomerNoChannelReachesIsDeadLetteredAndRecorded(t *testing.T) {
	e := newEnv(t)
	caseID := e.addCase("bank-a", "b1", "", name, "")
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	e.runOnce()
	d, err := e.store.Get(e.ctx, e.deliveriesOf(caseID)[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != notify.StatusDeadLetter || d.LastError != notify.ReasonNoChannel || d.Attempts != 1 {
		t.Errorf("delivery = %+v", d)
	}
	if len(e.mails()) != 0 || len(e.outboxEvents()) != 0 {
		t.Errorf("a dead letter sent mail or announced itself")
	}
	attempts, err := e.store.Attempts(e.ctx, "bank-a", d.ID)
	if err != nil || len(attempts) != 1 || attempts[0].Outcome != notify.OutcomeDeadLetter || attempts[0].Error != notify.ReasonNoChannel {
		t.Errorf("attempts %+v, %v", attempts, err)
	}
}

func TestAnSMTPOutageIsRetriedWithBackoffThenDelivered(t *testing.T) {
	e := newEnv(t)
	up := e.mailer.Addr
	e.mailer.Addr = closedPort(t)
	caseID := e.addCase("bank-a", "b1", email, name, "zh-CN")
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	id := e.deliveriesOf(caseID)[0]

	now := start
	for attempt, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		e.clock.Set(now)
		if n := e.runOnce(); n != 1 {
			t.Fatalf("attempt %d claimed %d", attempt+1, n)
		}
		d, err := e.store.Get(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != notify.StatusPending || d.Attempts != attempt+1 || !d.NextAttemptAt.Equal(now.Add(wait)) {
			t.Fatalf("after attempt %d: status %s, attempts %d, next %v (want +%v)", attempt+1, d.Status, d.Attempts, d.NextAttemptAt, wait)
		}
		if !strings.HasPrefix(d.LastError, "smtp connect:") || strings.Contains(d.LastError, "zhang") || strings.Contains(d.LastError, name) {
			t.Fatalf("last_error = %q", d.LastError)
		}
		// Not due yet just before the back-off ends.
		e.clock.Set(now.Add(wait - time.Millisecond))
		if n := e.runOnce(); n != 0 {
			t.Fatalf("claimed %d before the back-off ended", n)
		}
		now = now.Add(wait)
	}

	e.mailer.Addr = up
	e.clock.Set(now)
	e.runOnce()
	d, err := e.store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != notify.StatusSent || d.Attempts != 4 || d.LastError != "" {
		t.Errorf("delivery = %+v", d)
	}
	if len(e.mails()) != 1 || len(e.outboxEvents()) != 1 {
		t.Errorf("%d mails, %d events; want 1 and 1", len(e.mails()), len(e.outboxEvents()))
	}
}

func TestADeliveryIsDeadLetteredAfterItsLastAttempt(t *testing.T) {
	e := newEnv(t)
	e.mailer.Addr = closedPort(t)
	caseID := e.addCase("bank-a", "b1", email, name, "zh-CN")
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	id := e.deliveriesOf(caseID)[0]
	for i := 0; i < notify.MaxAttempts; i++ {
		d, err := e.store.Get(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Set(d.NextAttemptAt)
		if n := e.runOnce(); n != 1 {
			t.Fatalf("attempt %d claimed %d", i+1, n)
		}
	}
	d, err := e.store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != notify.StatusDeadLetter || d.Attempts != notify.MaxAttempts || !strings.HasPrefix(d.LastError, "smtp connect:") {
		t.Fatalf("delivery = %+v", d)
	}
	e.clock.Set(e.clock.Now().Add(24 * time.Hour))
	if n := e.runOnce(); n != 0 {
		t.Errorf("a dead letter was claimed again")
	}
	attempts, err := e.store.Attempts(e.ctx, "bank-a", id)
	if err != nil || len(attempts) != notify.MaxAttempts || attempts[notify.MaxAttempts-1].Outcome != notify.OutcomeDeadLetter ||
		attempts[0].Outcome != notify.OutcomeRetry || attempts[0].Recipient != "z***@example.com" || attempts[0].Channel != notify.ChannelEmail {
		t.Errorf("attempts %+v, %v", attempts, err)
	}
}

func TestReplicasClaimDisjointDeliveriesAndLeasesExpire(t *testing.T) {
	e := newEnv(t)
	for range 10 {
		caseID := e.addCase("bank-a", "b1", email, name, "")
		e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	}
	const lease = time.Minute
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 3 {
		wg.Go(func() {
			ds, err := e.store.ClaimDue(e.ctx, start, 10, lease)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ds {
				seen[d.ID]++
			}
		})
	}
	wg.Wait()
	if len(seen) != 10 {
		t.Fatalf("%d distinct deliveries claimed, want 10", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times", id, n)
		}
	}
	if ds, err := e.store.ClaimDue(e.ctx, start.Add(lease-time.Second), 10, lease); err != nil || len(ds) != 0 {
		t.Errorf("claimed %d leased deliveries (err %v)", len(ds), err)
	}
	if ds, err := e.store.ClaimDue(e.ctx, start.Add(lease), 10, lease); err != nil || len(ds) != 10 {
		t.Errorf("after the lease claimed %d, want 10 (err %v)", len(ds), err)
	}
}

func TestAnOutcomeIsRecordedOnceEvenIfTwoWorkersSent(t *testing.T) {
	e := newEnv(t)
	caseID := e.addCase("bank-a", "b1", email, name, "")
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	ds, err := e.store.ClaimDue(e.ctx, start, 1, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v, %d", err, len(ds))
	}
	first, second := ds[0], ds[0]
	if err := first.MarkSent(start, notify.LanguageZhCN, "z***@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := second.MarkSent(start.Add(time.Second), notify.LanguageZhCN, "z***@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Record(e.ctx, first, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Record(e.ctx, second, 0); !errors.Is(err, notify.ErrNotPending) {
		t.Fatalf("second record: err = %v, want ErrNotPending", err)
	}
	if n := len(e.outboxEvents()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func TestTheSenderWakesWhenADeliveryIsQueued(t *testing.T) {
	e := newEnv(t)
	caseID := e.addCase("bank-a", "b1", email, name, "")
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.disp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond) // let Run go to sleep on an empty table
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	e.disp.Wake()
	deadline := time.Now().Add(900 * time.Millisecond) // under the 1s poll: the wake did it
	for len(e.mails()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no mail within 900ms of waking the sender")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListCaseNotificationsShowsOnlyWhatTheCallerMaySee(t *testing.T) {
	e := newEnv(t)
	caseID := e.addCase("bank-a", "b1", email, name, "")
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	e.runOnce()
	req := &notificationv1.ListCaseNotificationsRequest{CaseId: caseID}

	resp, err := e.api.ListCaseNotifications(e.as(auth.Principal{Tenant: "bank-a", Subject: "s1", Role: auth.RoleComplaintManager, Branch: "b1"}), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCaseId() != caseID || len(resp.GetNotifications()) != 1 {
		t.Fatalf("response = %v", resp)
	}
	n := resp.GetNotifications()[0]
	if n.GetStatus() != notificationv1.DeliveryStatus_DELIVERY_STATUS_SENT || n.GetChannel() != notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_EMAIL ||
		n.GetTemplate() != "case_acknowledgment" || n.GetLanguage() != "zh-CN" || n.GetRecipient() != "z***@example.com" ||
		n.GetAttempts() != 1 || n.GetSentAt() == nil || n.GetCreatedAt() == nil {
		t.Errorf("notification = %v", n)
	}

	tests := []struct {
		name     string
		caller   auth.Principal
		wantCode codes.Code
	}{
		{"another bank's staff do not find the case", auth.Principal{Tenant: "bank-b", Subject: "s2", Role: auth.RoleHeadOffice}, codes.NotFound},
		{"a teller of another branch is refused by intake", auth.Principal{Tenant: "bank-a", Subject: "s3", Role: auth.RoleTeller, Branch: "b2"}, codes.PermissionDenied},
		{"an SRE is refused", auth.Principal{Tenant: "bank-a", Subject: "sre1", Role: auth.RoleSRE}, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.api.ListCaseNotifications(e.as(tt.caller), req)
			if status.Code(err) != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tt.wantCode)
			}
			if err == nil && len(resp.GetNotifications()) != 0 {
				t.Fatalf("saw %d notifications", len(resp.GetNotifications()))
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestAMovedAnswerDateIsToldInASecondMail: slatimer recounts the promised
// first answer after the customer was acknowledged (a holiday year was
// loaded); the customer gets a second mail naming the old and the new date,
// once, however often the event comes, and staff see both messages.
func TestAMovedAnswerDateIsToldInASecondMail(t *testing.T) {
	e := newEnv(t)
	caseID := e.addCase("bank-a", "b1", email, name, "zh-CN")
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	e.runOnce()
	if n := len(e.mails()); n != 1 {
		t.Fatalf("%d mails after the acknowledgment, want 1", n)
	}

	e.clock.Set(start.Add(time.Hour))
	moved := firstAnswer.Add(72 * time.Hour) // 26 Nov, 17:00 in Shanghai
	ev := e.recomputed("bank-a", caseID, notify.KindFirstAnswer, firstAnswer, moved, true, notify.ChangeCalendarYearLoaded)
	// The same event again, past the consumer's guard, and a recount of a
	// deadline the customer was not promised: neither adds a message.
	e.handleBypassingTheConsumer(ev)
	e.recomputed("bank-a", caseID, notify.KindResolution, resolution, resolution.Add(48*time.Hour), false, notify.ChangeCalendarYearLoaded)
	if ids := e.deliveriesOf(caseID); len(ids) != 2 {
		t.Fatalf("%d deliveries, want the acknowledgment and one date move", len(ids))
	}

	if n := e.runOnce(); n != 1 {
		t.Fatalf("claimed %d, want the date move", n)
	}
	mails := e.mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	m := mails[1] // the sink lists mail in arrival order
	number := e.caseNumber(caseID)
	if !strings.Contains(m.Subject, number) || !strings.Contains(m.Subject, "答复时间有调整") {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"尊敬的张三", number, "原定答复时间：2026年11月23日 17:00", "调整后答复时间：预计 2026年11月26日 17:00",
		"以国务院公布的节假日安排为准", "国家节假日安排已经公布"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	id := notifykafka.DateMovedID("bank-a", ev.GetEventId())
	if m.MessageID != id+"@counterdesk" {
		t.Errorf("Message-ID = %q, want %s@counterdesk", m.MessageID, id)
	}
	events := e.outboxEvents()
	if len(events) != 2 || events[1].GetNotificationSent().GetTemplate() != "case_date_moved" ||
		events[1].GetNotificationSent().GetNotificationId() != id {
		t.Errorf("events = %v", events)
	}

	resp, err := e.api.ListCaseNotifications(e.as(auth.Principal{Tenant: "bank-a", Subject: "s1", Role: auth.RoleComplaintManager, Branch: "b1"}),
		&notificationv1.ListCaseNotificationsRequest{CaseId: caseID})
	if err != nil {
		t.Fatal(err)
	}
	var templates []string
	for _, n := range resp.GetNotifications() {
		if n.GetStatus() != notificationv1.DeliveryStatus_DELIVERY_STATUS_SENT {
			t.Errorf("notification = %v", n)
		}
		templates = append(templates, n.GetTemplate())
	}
	if strings.Join(templates, ",") != "case_acknowledgment,case_date_moved" {
		t.Errorf("listed templates %v", templates)
	}
}

// TestADateMoveWaitsForAnAcknowledgmentStillBeingRetried: the customer must
// never read that a date moved before reading the date.
func TestADateMoveWaitsForAnAcknowledgmentStillBeingRetried(t *testing.T) {
	e := newEnv(t)
	up := e.mailer.Addr
	e.mailer.Addr = closedPort(t)
	caseID := e.addCase("bank-a", "b1", email, name, "en")
	e.armed(e.ctx, "bank-a", caseID, armedDeadlines())
	if n := e.runOnce(); n != 1 {
		t.Fatalf("claimed %d, want the acknowledgment", n)
	}
	// The acknowledgment waits out its 1s back-off; the move is due at once.
	e.clock.Set(start.Add(500 * time.Millisecond))
	e.recomputed("bank-a", caseID, notify.KindFirstAnswer, firstAnswer, firstAnswer.Add(24*time.Hour), false, notify.ChangeBranchClosure)
	if n := e.runOnce(); n != 0 {
		t.Fatalf("claimed %d while the acknowledgment was pending, want 0", n)
	}

	e.mailer.Addr = up
	e.clock.Set(start.Add(time.Second))
	if n := e.runOnce(); n != 1 {
		t.Fatalf("claimed %d, want only the acknowledgment", n)
	}
	if n := e.runOnce(); n != 1 {
		t.Fatalf("claimed %d, want the date move", n)
	}
	mails := e.mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	if !strings.HasPrefix(mails[0].Subject, "We have received your case") ||
		!strings.Contains(mails[1].Body, "New date: 24 Nov 2026 17:00 (GMT+08:00)") ||
		!strings.Contains(mails[1].Body, "Previous date: 23 Nov 2026 17:00 (GMT+08:00)") {
		t.Errorf("mails out of order or wrong:\n%s\n---\n%s", mails[0].Body, mails[1].Body)
	}
}
