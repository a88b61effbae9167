package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/intakefake"
	"github.com/counterdesk/counterdesk/services/notification/internal/routingfake"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/services/platform/service"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// A test runs this binary as the service itself, to kill it.
		os.Exit(service.Main("notification", migrations.FS, run))
	}
	os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Kafka))
}

// The test owns the service's clock: the case was received on a Sunday
// morning and its answer is due the next day, whatever day the test runs.
var (
	received = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	answerBy = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock    = func() time.Time { return received }
)

// TestTheServiceAcknowledgesACaseEndToEnd runs the real main wiring against
// real Postgres, Kafka and SMTP: a DeadlinesArmed on sla-events becomes one
// mail, a NotificationSent on notification-events and a row the HTTP API
// shows, and nothing personal reaches the logs; a DeadlineRecomputed of the
// promised deadline then becomes a second mail, counted and listed under its
// own template.
func TestTheServiceAcknowledgesACaseEndToEnd(t *testing.T) {
	brokers := testinfra.Brokers(t)
	sink, err := localinfra.StartMailSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	keys, err := authdev.New([]string{"bank-a"}, []string{"notification"})
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	trustFile, err := keys.WriteFiles(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := keys.Verifier(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	intake := intakefake.New()
	caseID := uuid.Must(uuid.NewV7()).String()
	intake.Add(caseID, intakefake.Case{Tenant: "bank-a", Branch: "b1", Region: "r1", Contact: &intakev1.GetCaseContactResponse{
		CaseId: caseID, CaseNumber: "CD-20261122-000042", TenantId: "bank-a",
		CustomerName: "张三", Email: "zhang.san@example.com", Phone: "13812345678", Language: "zh-CN",
	}})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(auth.UnaryServerInterceptor(verifier)))
	intake.Register(gs)
	routing := routingfake.New()
	routing.Set(caseID, "b1", []*routingv1.StaffContact{{StaffId: "st-cm", DisplayName: "陈静", Email: "chen.jing@bank-a.example"}},
		[]*routingv1.StaffContact{{StaffId: "st-head", DisplayName: "刘伟", Email: "liu.wei@bank-a.example"}})
	routing.Register(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	grpcPort, httpPort := freePort(t), freePort(t)
	for k, v := range map[string]string{
		// The service connects as its app role, after the migrate step.
		"DATABASE_URL": testinfra.NewAppRoleDatabase(t, migrations.FS).AppURL, "KAFKA_BROKERS": brokers, "KAFKA_PARTITIONS": "3",
		"AUTH_TRUST_FILE": trustFile, "SERVICE_KEY_FILE": filepath.Join(keyDir, "notification.jwk"), "GRPC_ADDR": "127.0.0.1:" + strconv.Itoa(grpcPort),
		"HTTP_ADDR": "127.0.0.1:" + strconv.Itoa(httpPort), "SMTP_ADDR": sink.Addr(),
		"INTAKE_ADDR": lis.Addr().String(), "ROUTING_ADDR": lis.Addr().String(), "LOG_LEVEL": "debug", "OTEL_EXPORTER_OTLP_ENDPOINT": "",
	} {
		t.Setenv(k, v)
	}
	logs := captureStdout(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, clock) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not return within 30s of cancellation")
		}
	}
	t.Cleanup(stop)

	publishArmed(t, brokers, caseID)

	waitFor(t, 30*time.Second, "the acknowledgment mail", func() bool {
		msgs, err := sink.Messages()
		return err == nil && len(msgs) == 1
	})
	msgs, _ := sink.Messages()
	if !strings.Contains(msgs[0].Subject, "CD-20261122-000042") || !strings.Contains(msgs[0].Body, "2026年11月23日 17:00") {
		t.Errorf("mail: %q\n%s", msgs[0].Subject, msgs[0].Body)
	}

	sent := readNotificationSent(t, brokers, caseID)
	if sent.GetNotificationSent().GetTemplate() != "case_acknowledgment" || sent.GetTenantId() != "bank-a" {
		t.Errorf("event = %v", sent)
	}
	if msgs[0].MessageID != sent.GetNotificationSent().GetNotificationId()+"@counterdesk" {
		t.Errorf("Message-ID %q does not name notification %s", msgs[0].MessageID, sent.GetNotificationSent().GetNotificationId())
	}

	// The State Council's holiday year is loaded and the promised answer
	// moves by three days: a second mail tells the customer.
	publish(t, brokers, caseID, recomputedEnvelope(caseID))
	waitFor(t, 30*time.Second, "the date-moved mail", func() bool {
		msgs, err := sink.Messages()
		return err == nil && len(msgs) == 2
	})
	msgs, _ = sink.Messages()
	if !strings.Contains(msgs[1].Subject, "CD-20261122-000042") || !strings.Contains(msgs[1].Body, "原定答复时间：2026年11月23日 17:00") ||
		!strings.Contains(msgs[1].Body, "调整后答复时间：2026年11月26日 17:00") {
		t.Errorf("second mail: %q\n%s", msgs[1].Subject, msgs[1].Body)
	}

	tok, err := keys.Mint(auth.Principal{Tenant: "bank-a", Subject: "m1", Role: auth.RoleComplaintManager, Branch: "b1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	body := getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/v1/cases/%s/notifications", httpPort, caseID), tok)
	var resp struct {
		CaseID        string `json:"caseId"`
		Notifications []struct {
			Status, Recipient, Template, Channel string
		} `json:"notifications"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(resp.Notifications) != 2 {
		t.Fatalf("GET notifications = %s, want two", body)
	}
	for i, template := range []string{"case_acknowledgment", "case_date_moved"} {
		if n := resp.Notifications[i]; n.Template != template || n.Status != "DELIVERY_STATUS_SENT" ||
			n.Recipient != "z***@example.com" || n.Channel != "NOTIFICATION_CHANNEL_EMAIL" {
			t.Errorf("GET notifications = %s", body)
		}
	}

	metrics := string(getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort), tok))
	for _, template := range []string{"case_acknowledgment", "case_date_moved"} {
		if !regexp.MustCompile(`(?m)^counterdesk_notifications_total\{channel="email",.*outcome="sent",template="` + template + `"\} 1$`).MatchString(metrics) {
			t.Errorf("/metrics lacks one sent %s:\n%s", template, metrics)
		}
	}

	// The first answer breaches: routing names the owner and the level
	// above, asked with the service's own credential, and each gets a mail.
	breach := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: caseID,
		Type: "DeadlineBreached", OccurredAt: timestamppb.New(answerBy), Producer: "slatimer",
		Payload: &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{
			Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: timestamppb.New(answerBy)}}}
	publish(t, brokers, caseID, breach)
	waitFor(t, 30*time.Second, "the breach alerts", func() bool {
		msgs, err := sink.Messages()
		return err == nil && len(msgs) == 4
	})
	msgs, _ = sink.Messages()
	to := map[string]string{}
	for _, m := range msgs[2:] {
		to[strings.Join(m.To, ",")] = m.Subject
	}
	if !strings.Contains(to["chen.jing@bank-a.example"], "已超时") || !strings.Contains(to["liu.wei@bank-a.example"], "已超时") {
		t.Errorf("breach alerts went to %v, want the owner and the branch head", to)
	}
	if calls := routing.Calls(); len(calls) != 1 || calls[0].Cause != breach.GetEventId() {
		t.Errorf("routing was asked %v, want once naming the breach", calls)
	}

	stop()
	out := logs()
	for _, secret := range []string{"zhang.san", "张三", "13812345678"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
	if os.Getenv("SHOW_LOGS") != "" {
		t.Log(out)
	}
	if !strings.Contains(out, `"msg":"notification attempt"`) {
		t.Errorf("no attempt was logged; captured:\n%s", out)
	}
}

func publishArmed(t *testing.T, brokers, caseID string) {
	t.Helper()
	publish(t, brokers, caseID, &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: caseID,
		Type: "DeadlinesArmed", OccurredAt: timestamppb.New(received), Producer: "slatimer",
		Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: &eventsv1.DeadlinesArmed{
			TimeZone: "Asia/Shanghai",
			Deadlines: []*eventsv1.ArmedDeadline{{Kind: "DEADLINE_KIND_FIRST_ANSWER",
				DueAt: timestamppb.New(answerBy)}},
		}}})
}

// recomputedEnvelope moves the first answer of the case by three days, as
// slatimer announces it when a national holiday year is loaded.
func recomputedEnvelope(caseID string) *eventsv1.Envelope {
	return &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: caseID,
		Type: "DeadlineRecomputed", OccurredAt: timestamppb.New(received), Producer: "slatimer",
		Payload: &eventsv1.Envelope_DeadlineRecomputed{DeadlineRecomputed: &eventsv1.DeadlineRecomputed{
			Kind: "DEADLINE_KIND_FIRST_ANSWER", OldDueAt: timestamppb.New(answerBy), NewDueAt: timestamppb.New(answerBy.Add(72 * time.Hour)),
			Reason: "calendar_year_loaded", TimeZone: "Asia/Shanghai", CalendarVersion: 1,
		}}}
}

func publish(t *testing.T, brokers, caseID string, env *eventsv1.Envelope) {
	t.Helper()
	payload, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	w := eventbus.NewWriter([]string{brokers})
	defer w.Close()
	// The service creates its topics as it starts; until then writes fail.
	waitFor(t, 30*time.Second, "publishing to sla-events", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return w.WriteMessages(ctx, kafka.Message{Topic: eventbus.TopicSLAEvents, Key: []byte(caseID), Value: payload}) == nil
	})
}

func readNotificationSent(t *testing.T, brokers, caseID string) *eventsv1.Envelope {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{brokers}, GroupID: "main-test-" + caseID,
		GroupTopics: []string{eventbus.TopicNotificationEvents}, StartOffset: kafka.FirstOffset,
		MaxWait: 200 * time.Millisecond, JoinGroupBackoff: 200 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read notification-events: %v", err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(m.Value, env); err != nil {
			t.Fatal(err)
		}
		if env.GetCaseId() == caseID && env.GetNotificationSent() != nil {
			return env
		}
	}
}

func getJSON(t *testing.T, url, token string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body
}

// captureStdout sends the service's log (it writes to stdout) into a buffer
// until the returned function is called, which restores stdout and returns
// what was written.
func captureStdout(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	var (
		buf  bytes.Buffer
		wg   sync.WaitGroup
		once sync.Once
	)
	wg.Go(func() { _, _ = io.Copy(&buf, r) })
	finish := func() string {
		once.Do(func() {
			os.Stdout = orig
			w.Close()
			wg.Wait()
			r.Close()
		})
		return buf.String()
	}
	t.Cleanup(func() { finish() })
	return finish
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := localinfra.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
