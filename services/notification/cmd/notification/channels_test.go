package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/intakefake"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifywebhook"
	"github.com/counterdesk/counterdesk/services/notification/internal/routingfake"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// childEnv makes the test binary run the notification service itself (see
// TestMain), so a test can kill it with SIGKILL mid-send.
const childEnv = "NOTIFICATION_TEST_CHILD"

const hookSecret = "bank-a-hooks-secret-0123456789abcdefghij"

// channelStack is everything the service talks to, for real: Kafka,
// Postgres (as the app role), the SMTP server, the SMS gateway and webhook
// sinks, and one gRPC server playing intake and routing.
type channelStack struct {
	t        *testing.T
	env      map[string]string
	db       testinfra.AppRole
	owner    *pgxpool.Pool
	brokers  string
	mailDir  string
	mailAddr string
	mail     *localinfra.MailSink
	sms      *localinfra.HTTPSink
	hooks    *localinfra.HTTPSink
	intake   *intakefake.Server
	keys     *authdev.Installation
	httpPort int
}

func newChannelStack(t *testing.T) *channelStack {
	t.Helper()
	s := &channelStack{t: t, brokers: testinfra.Brokers(t), db: testinfra.NewAppRoleDatabase(t, migrations.FS), mailDir: t.TempDir()}
	var err error
	if s.mail, err = localinfra.StartMailSink(s.mailDir, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.mailAddr = s.mail.Addr()
	t.Cleanup(func() { _ = s.mail.Close() })
	if s.sms, err = localinfra.StartSMSSink(t.TempDir(), "127.0.0.1:0", "gw-token"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.sms.Close() })
	if s.hooks, err = localinfra.StartWebhookSink(t.TempDir(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.hooks.Close() })
	if s.owner, err = pgxpool.New(context.Background(), s.db.OwnerURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.owner.Close)
	if s.keys, err = authdev.New([]string{"bank-a", "bank-b"}, []string{"notification"}); err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	trustFile, err := s.keys.WriteFiles(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := s.keys.Verifier(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	s.intake = intakefake.New()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(auth.UnaryServerInterceptor(verifier)))
	s.intake.Register(gs)
	routingfake.New().Register(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	hooks, _ := json.Marshal(map[string]notifywebhook.Target{"bank-a": {URL: s.hooks.URL() + "/hooks/bank-a", Secret: hookSecret}})
	s.httpPort = freePort(t)
	s.env = map[string]string{
		"DATABASE_URL": s.db.AppURL, "KAFKA_BROKERS": s.brokers, "KAFKA_PARTITIONS": "3",
		"AUTH_TRUST_FILE": trustFile, "SERVICE_KEY_FILE": filepath.Join(keyDir, "notification.jwk"),
		"GRPC_ADDR": "127.0.0.1:" + strconv.Itoa(freePort(t)), "HTTP_ADDR": "127.0.0.1:" + strconv.Itoa(s.httpPort),
		"SMTP_ADDR": s.mailAddr, "INTAKE_ADDR": lis.Addr().String(), "ROUTING_ADDR": lis.Addr().String(),
		"SMS_GATEWAY_URL": s.sms.URL() + "/v1/sms", "SMS_GATEWAY_AUTH": "Bearer gw-token", "WEBHOOKS": string(hooks),
		"LOG_LEVEL": "info", "OTEL_EXPORTER_OTLP_ENDPOINT": "", "SHUTDOWN_TIMEOUT": "5s",
	}
	return s
}

// runInProcess runs the service's main wiring on clock until the returned
// stop is called (also at cleanup).
func (s *channelStack) runInProcess(clock func() time.Time) (stop func()) {
	s.t.Helper()
	for k, v := range s.env {
		s.t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, clock) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					s.t.Errorf("run: %v", err)
				}
			case <-time.After(30 * time.Second):
				s.t.Error("run did not return within 30s of cancellation")
			}
		})
	}
	s.t.Cleanup(stop)
	waitFor(s.t, 30*time.Second, "the service to be ready", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", s.httpPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return stop
}

// addCase makes a case of bank-a (which has a webhook) known to the intake
// stand-in.
func (s *channelStack) addCase(email, phone string, pref intakev1.ContactChannel) (id, number string) {
	return s.addCaseOf("bank-a", email, phone, pref)
}

func (s *channelStack) addCaseOf(tenant, email, phone string, pref intakev1.ContactChannel) (id, number string) {
	id = uuid.Must(uuid.NewV7()).String()
	number = "CD-20261122-" + strings.ToUpper(id[len(id)-6:])
	s.intake.Add(id, intakefake.Case{Tenant: tenant, Branch: "b1", Region: "r1", Contact: &intakev1.GetCaseContactResponse{
		CaseId: id, CaseNumber: number, TenantId: tenant, CustomerName: "王先生", Email: email, Phone: phone,
		Language: "zh-CN", PreferredChannel: pref}})
	return id, number
}

// arm announces the case's deadlines, which calls for its acknowledgment.
func (s *channelStack) arm(caseID string, due time.Time) {
	s.t.Helper()
	tenant := s.intake.Case(caseID).Tenant
	publish(s.t, s.brokers, caseID, &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: caseID,
		Type: "DeadlinesArmed", OccurredAt: timestamppb.New(due.Add(-24 * time.Hour)), Producer: "slatimer",
		Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: &eventsv1.DeadlinesArmed{TimeZone: "Asia/Shanghai",
			Deadlines: []*eventsv1.ArmedDeadline{{Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: timestamppb.New(due)}}}}})
}

func (s *channelStack) token(p auth.Principal) string {
	s.t.Helper()
	tok, err := s.keys.Mint(p, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// call makes an HTTP request to the service and returns the status and body.
func (s *channelStack) call(method, path, token string) (int, string) {
	s.t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", s.httpPort, path), body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// statuses counts the case's deliveries by status, as stored.
func (s *channelStack) deliveryStatus(caseID string) (status, lastError string, attempts int) {
	s.t.Helper()
	err := s.owner.QueryRow(context.Background(), `SELECT status, last_error, attempts FROM deliveries WHERE case_id = $1`, caseID).
		Scan(&status, &lastError, &attempts)
	if err != nil {
		return "", err.Error(), 0
	}
	return status, lastError, attempts
}

func smsNaming(t *testing.T, dir, text string) int {
	t.Helper()
	msgs, err := localinfra.ReadSMS(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if strings.Contains(m.Text, text) {
			n++
		}
	}
	return n
}

// mailsNaming counts the stored mails naming text, and the distinct
// Message-IDs among them.
func mailsNaming(t *testing.T, dir, text string) (files, ids int) {
	t.Helper()
	msgs, err := localinfra.ReadMessages(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if strings.Contains(m.Subject+m.Body, text) {
			files++
			seen[m.MessageID] = true
		}
	}
	return files, len(seen)
}

// TestCustomersAreReachedOnTheirChannelAndWhatCannotBeSentIsDeadLetteredAndReplayedOnce
// runs the real service against the real SMTP server, SMS gateway sink and
// webhook sink: a customer with only a phone gets one SMS; a customer who
// chose the bank's app gets one signed webhook that verifies with the
// documented recipe; a customer nothing reaches (no address, and a bank
// without a webhook) is dead-lettered with the reason, counted, listed,
// and replayed exactly once through the API once intake has a phone
// number; bad requests are refused naming the field.
func TestCustomersAreReachedOnTheirChannelAndWhatCannotBeSentIsDeadLetteredAndReplayedOnce(t *testing.T) {
	s := newChannelStack(t)
	s.runInProcess(clock)

	phoneOnly, phoneNumber := s.addCase("", "13812345678", intakev1.ContactChannel_CONTACT_CHANNEL_UNSPECIFIED)
	app, appNumber := s.addCase("li.si@example.com", "13900001111", intakev1.ContactChannel_CONTACT_CHANNEL_BANK_APP)
	nobody, nobodyNumber := s.addCaseOf("bank-b", "", "", intakev1.ContactChannel_CONTACT_CHANNEL_UNSPECIFIED)
	for _, id := range []string{phoneOnly, app, nobody} {
		s.arm(id, answerBy)
	}

	waitFor(t, 30*time.Second, "the SMS to the phone-only customer", func() bool { return smsNaming(t, s.sms.Dir(), phoneNumber) == 1 })
	waitFor(t, 30*time.Second, "the hook for the bank-app customer", func() bool {
		hooks, err := localinfra.ReadHooks(s.hooks.Dir())
		return err == nil && len(hooks) == 1
	})
	waitFor(t, 30*time.Second, "the dead letter", func() bool { st, _, _ := s.deliveryStatus(nobody); return st == "DEAD_LETTER" })

	// The webhook, checked as the bank's receiver would.
	hooks, _ := localinfra.ReadHooks(s.hooks.Dir())
	h := hooks[0]
	ts, sig := h.Headers[notifywebhook.HeaderTimestamp], h.Headers[notifywebhook.HeaderSignature]
	if err := notifywebhook.Verify([]byte(hookSecret), ts, []byte(h.Body), sig, clock(), 0); err != nil {
		t.Fatalf("the hook does not verify: %v (%+v)", err, h)
	}
	if err := notifywebhook.Verify([]byte(hookSecret), ts, []byte(h.Body), sig, clock().Add(notifywebhook.DefaultWindow+time.Minute), 0); !errors.Is(err, notifywebhook.ErrStale) {
		t.Errorf("a hook replayed after the window verifies: %v", err)
	}
	var p notifywebhook.Payload
	if err := json.Unmarshal([]byte(h.Body), &p); err != nil || p.CaseNumber != appNumber || p.CaseID != app || strings.Contains(h.Body, "13900001111") || strings.Contains(h.Body, "li.si") {
		t.Errorf("hook body %s", h.Body)
	}
	if files, _ := mailsNaming(t, s.mailDir, appNumber); files != 0 {
		t.Errorf("the bank-app customer also got %d mails", files)
	}
	if st, why, _ := s.deliveryStatus(nobody); why != notify.ReasonNoChannel {
		t.Errorf("dead letter %s with %q, want the reason %q", st, why, notify.ReasonNoChannel)
	}

	// The dead letter is bank-b's.
	head := s.token(auth.Principal{Tenant: "bank-b", Subject: "ho-1", Role: auth.RoleHeadOffice})
	sre := s.token(auth.Principal{Tenant: "bank-b", Subject: "sre-1", Role: auth.RoleSRE})
	teller := s.token(auth.Principal{Tenant: "bank-b", Subject: "t1", Role: auth.RoleTeller, Branch: "b1"})
	otherHead := s.token(auth.Principal{Tenant: "bank-a", Subject: "ho-a", Role: auth.RoleHeadOffice})

	code, body := s.call(http.MethodGet, "/v1/notifications?status=DELIVERY_STATUS_DEAD_LETTER", head)
	var list struct {
		Notifications []struct{ ID, CaseID, Status, LastError, Recipient, RequestedChannel string }
	}
	if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil || len(list.Notifications) != 1 ||
		list.Notifications[0].CaseID != nobody || list.Notifications[0].LastError != notify.ReasonNoChannel {
		t.Fatalf("dead letters: %d %s", code, body)
	}
	deadID := list.Notifications[0].ID
	if code, body := s.call(http.MethodGet, "/v1/notifications?status=DELIVERY_STATUS_DEAD_LETTER", otherHead); code != http.StatusOK || strings.Contains(body, deadID) {
		t.Errorf("another bank sees the dead letter: %d %s", code, body)
	}

	// Bad input is refused naming the field, and changes nothing.
	for _, tt := range []struct {
		method, path, token string
		code                int
		field               string
	}{
		{http.MethodGet, "/v1/notifications", head, http.StatusBadRequest, "status"},
		{http.MethodGet, "/v1/notifications?status=DELIVERY_STATUS_SENT&pageSize=500", head, http.StatusBadRequest, "pageSize"},
		{http.MethodGet, "/v1/notifications?status=DELIVERY_STATUS_SENT&pageToken=bm9wZQ", head, http.StatusBadRequest, "pageToken"},
		{http.MethodPost, "/v1/notifications/not-a-uuid:retry", head, http.StatusBadRequest, "id"},
		{http.MethodPost, "/v1/notifications/" + deadID + ":retry", teller, http.StatusForbidden, ""},
		{http.MethodPost, "/v1/notifications/" + deadID + ":retry", otherHead, http.StatusNotFound, ""},
	} {
		code, body := s.call(tt.method, tt.path, tt.token)
		if code != tt.code || (tt.field != "" && !strings.Contains(body, tt.field)) {
			t.Errorf("%s %s: %d %s, want %d naming %q", tt.method, tt.path, code, body, tt.code, tt.field)
		}
	}
	if st, _, _ := s.deliveryStatus(nobody); st != "DEAD_LETTER" {
		t.Fatalf("a refused request changed the dead letter to %s", st)
	}

	metrics := string(getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", s.httpPort), head))
	if !regexp.MustCompile(`(?m)^counterdesk_notifications_undeliverable_total\{cause="no_channel",channel="none",.*template="case_acknowledgment"\} 1$`).MatchString(metrics) {
		t.Errorf("/metrics does not count the dead letter:\n%s", grepLines(metrics, "counterdesk_notifications"))
	}

	// Intake learns a phone number; the replay sends once, a second replay
	// is refused.
	s.intake.Add(nobody, intakefake.Case{Tenant: "bank-b", Branch: "b1", Region: "r1", Contact: &intakev1.GetCaseContactResponse{
		CaseId: nobody, CaseNumber: nobodyNumber, TenantId: "bank-b", CustomerName: "赵先生", Phone: "13700002222", Language: "zh-CN"}})
	var codes []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			code, _ := s.call(http.MethodPost, "/v1/notifications/"+deadID+":retry", head)
			mu.Lock()
			codes = append(codes, code)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(codes)
	if !slices.Equal(codes, []int{http.StatusOK, http.StatusConflict}) {
		t.Fatalf("two concurrent replays answered %v, want one 200 and one refusal", codes)
	}
	waitFor(t, 30*time.Second, "the replayed SMS", func() bool { st, _, _ := s.deliveryStatus(nobody); return st == "SENT" })
	if n := smsNaming(t, s.sms.Dir(), nobodyNumber); n != 1 {
		t.Fatalf("%d SMS after the replay, want 1", n)
	}
	if code, body := s.call(http.MethodPost, "/v1/notifications/"+deadID+":retry", head); code != http.StatusConflict || !strings.Contains(body, "not a dead letter") {
		t.Errorf("replaying a sent notification: %d %s", code, body)
	}
	code, body = s.call(http.MethodGet, "/v1/notifications/"+deadID+"/attempts", sre)
	var attempts struct {
		Attempts []struct {
			Attempt            int
			Outcome, Recipient string
			Channel            string
		}
	}
	if err := json.Unmarshal([]byte(body), &attempts); code != http.StatusOK || err != nil || len(attempts.Attempts) != 2 ||
		attempts.Attempts[0].Outcome != "dead_letter" || attempts.Attempts[1].Outcome != "sent" ||
		attempts.Attempts[1].Channel != "NOTIFICATION_CHANNEL_SMS" || attempts.Attempts[1].Recipient != "" {
		t.Errorf("attempts as an SRE: %d %s", code, body)
	}
	code, body = s.call(http.MethodGet, "/v1/notifications/"+deadID+"/attempts", head)
	if code != http.StatusOK || !strings.Contains(body, "137****2222") || strings.Contains(body, "13700002222") {
		t.Errorf("attempts as head office: %d %s", code, body)
	}
	if n := smsNaming(t, s.sms.Dir(), phoneNumber); n != 1 {
		t.Errorf("%d SMS to the phone-only customer, want 1", n)
	}
}

// TestMailHeldUpByAStoppedRelayGoesOutOnceWhenItIsBack stops the SMTP
// server, registers cases, starts it again and sees every message
// delivered exactly once.
func TestMailHeldUpByAStoppedRelayGoesOutOnceWhenItIsBack(t *testing.T) {
	s := newChannelStack(t)
	var mu sync.Mutex
	now := received
	c := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s.runInProcess(c)
	if err := s.mail.Close(); err != nil {
		t.Fatal(err)
	}
	const n = 12
	ids, numbers := make([]string, n), make([]string, n)
	for i := range n {
		ids[i], numbers[i] = s.addCase(fmt.Sprintf("customer.%d@example.com", i), "13812345678", intakev1.ContactChannel_CONTACT_CHANNEL_UNSPECIFIED)
		s.arm(ids[i], answerBy)
	}
	waitFor(t, 30*time.Second, "every acknowledgment to fail against the stopped relay", func() bool {
		for _, id := range ids {
			if st, _, attempts := s.deliveryStatus(id); st != "PENDING" || attempts < 1 {
				return false
			}
		}
		return true
	})
	var err error
	if s.mail, err = localinfra.StartMailSink(s.mailDir, s.mailAddr); err != nil {
		t.Fatal(err)
	}
	// The retries fall due: the relay is back an hour later.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	waitFor(t, 60*time.Second, "every acknowledgment once the relay is back", func() bool {
		for _, id := range ids {
			if st, _, _ := s.deliveryStatus(id); st != "SENT" {
				return false
			}
		}
		return true
	})
	for i, number := range numbers {
		if files, msgIDs := mailsNaming(t, s.mailDir, number); files != 1 || msgIDs != 1 {
			t.Errorf("case %d (%s): %d mails, %d Message-IDs; want exactly one", i, number, files, msgIDs)
		}
	}
	var retried int
	if err := s.owner.QueryRow(context.Background(), `SELECT count(*) FROM delivery_attempts WHERE outcome = 'retry' AND error LIKE 'smtp connect:%'`).Scan(&retried); err != nil || retried < n {
		t.Errorf("%d failed attempts recorded (%v), want one per case at least", retried, err)
	}
}

// TestAKilledSenderStillSendsEveryMessageExactlyOnce runs the service as a
// process of its own, kills it (SIGKILL) while it is sending through a slow
// relay and a gateway, starts it again and counts one message per case:
// one Message-ID per mail (a resend after a kill between the relay's
// acceptance and the record carries the same one, which receivers drop),
// one SMS per phone-only customer (the gateway keeps client message ids).
func TestAKilledSenderStillSendsEveryMessageExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the service twice")
	}
	s := newChannelStack(t)
	// The relay answers each connection 200 ms late, so the kill falls
	// in the middle of sending.
	slow := slowProxy(t, s.mailAddr, 200*time.Millisecond)
	s.env["SMTP_ADDR"] = slow
	s.env["SEND_ATTEMPT_TIMEOUT"] = "2s"
	s.env["SEND_LEASE"] = "4s"
	due := time.Now().Add(72 * time.Hour) //nolint:forbidigo // the child process runs on the real clock
	const mails, texts = 24, 8
	var mailNumbers, smsNumbers []string
	first := s.startChild("first") // it creates the topics the events go to
	for i := range mails + texts {
		email := fmt.Sprintf("customer.%d@example.com", i)
		if i >= mails {
			email = ""
		}
		id, number := s.addCase(email, "13812345678", intakev1.ContactChannel_CONTACT_CHANNEL_UNSPECIFIED)
		if email == "" {
			smsNumbers = append(smsNumbers, number)
		} else {
			mailNumbers = append(mailNumbers, number)
		}
		s.arm(id, due)
	}
	waitFor(t, 60*time.Second, "the first messages", func() bool {
		msgs, _ := localinfra.ReadMessages(s.mailDir)
		return len(msgs) >= 3
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	before, _ := localinfra.ReadMessages(s.mailDir)
	if len(before) >= mails {
		t.Fatalf("all %d mails went out before the kill; the test proves nothing", len(before))
	}
	second := s.startChild("second")
	defer func() { _ = second.Process.Signal(syscall.SIGTERM); _ = second.Wait() }()
	waitFor(t, 90*time.Second, "every message after the restart", func() bool {
		var pending int
		if err := s.owner.QueryRow(context.Background(), `SELECT count(*) FROM deliveries WHERE status <> 'SENT'`).Scan(&pending); err != nil {
			return false
		}
		var total int
		_ = s.owner.QueryRow(context.Background(), `SELECT count(*) FROM deliveries`).Scan(&total)
		return total == mails+texts && pending == 0
	})
	resent := 0
	for _, number := range mailNumbers {
		files, ids := mailsNaming(t, s.mailDir, number)
		if ids != 1 {
			t.Errorf("case %s: %d Message-IDs, want exactly one", number, ids)
		}
		resent += files - 1
	}
	for _, number := range smsNumbers {
		if n := smsNaming(t, s.sms.Dir(), number); n != 1 {
			t.Errorf("case %s: %d SMS, want exactly one", number, n)
		}
	}
	var sentAttempts int
	if err := s.owner.QueryRow(context.Background(), `SELECT count(*) FROM delivery_attempts WHERE outcome = 'sent'`).Scan(&sentAttempts); err != nil || sentAttempts != mails+texts {
		t.Errorf("%d sent attempts recorded (%v), want %d", sentAttempts, err, mails+texts)
	}
	t.Logf("killed after %d of %d mails; %d resent under the same Message-ID, %d SMS resends dropped by the gateway",
		len(before), mails, resent, s.sms.Duplicates())
}

// startChild runs the test binary as the notification service (TestMain
// sees childEnv), logging to a file beside the test's temp files.
func (s *channelStack) startChild(name string) *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logFile, err := os.Create(filepath.Join(s.t.TempDir(), name+".log"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { logFile.Close() })
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if s.t.Failed() {
			raw, _ := os.ReadFile(logFile.Name())
			s.t.Logf("%s service log:\n%s", name, tailLines(string(raw), 30))
		}
	})
	return cmd
}

// slowProxy relays TCP connections to target, each after delay: a relay
// slow to answer.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				time.Sleep(delay)
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c) }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	return ln.Addr().String()
}

func grepLines(text, substr string) string {
	var b bytes.Buffer
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func tailLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestAChannelConfigurationThatCanNeverSendIsRefusedAtStart(t *testing.T) {
	good := ChannelConfig{SMTPAddr: "relay:25", SMTPFrom: "a@bank.example", SMTPTLS: "starttls", SMTPAuth: "plain",
		QuietHours: "21:00-08:00", SendAttemptTimeout: time.Second, SendLease: time.Minute}
	for name, edit := range map[string]func(*ChannelConfig){
		"an unknown TLS mode":                   func(c *ChannelConfig) { c.SMTPTLS = "ssl" },
		"a password without a user":             func(c *ChannelConfig) { c.SMTPPassword = "p" },
		"an SMS gateway that is not a URL":      func(c *ChannelConfig) { c.SMSGatewayURL = "sms-gateway:80" },
		"an SMS credential without the gateway": func(c *ChannelConfig) { c.SMSGatewayAuth = "Bearer x" },
		"webhooks that are not JSON":            func(c *ChannelConfig) { c.Webhooks = "bank-a=https://x" },
		"quiet hours that are not hours":        func(c *ChannelConfig) { c.QuietHours = "night" },
		"a bank's quiet hours without the bank": func(c *ChannelConfig) { c.QuietHoursByBank = "=22:00-07:00" },
		"a CA file that does not exist":         func(c *ChannelConfig) { c.SMTPCAFile = "/nonexistent/ca.pem" },
	} {
		c := good
		edit(&c)
		var opts dispatch.Options
		if _, err := c.channels(time.Now, &opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := good
	c.QuietHoursByBank = "bank-b=off"
	c.SMSGatewayURL = "https://sms.bank.example/v1"
	var opts dispatch.Options
	if _, err := c.channels(time.Now, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.SMS == nil || opts.QuietHours("bank-b") != (notify.QuietHours{}) || opts.QuietHours("bank-a") != notify.DefaultQuietHours {
		t.Errorf("options %+v", opts)
	}
}
