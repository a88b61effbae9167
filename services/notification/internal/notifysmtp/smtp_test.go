package notifysmtp

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
)

func testMail() dispatch.Mail {
	return dispatch.Mail{
		MessageID: notify.MessageID("0194f0c1-0000-7000-8000-000000000001"),
		To:        "zhang.san@example.com", ToName: "张三",
		Subject:  "您反映的问题已受理（编号 CD-20261122-000042），我们会尽快处理并在约定时间前答复您",
		Body:     "尊敬的张三：\n\n我们将在 2026年11月23日 17:00 前给您答复。\n" + strings.Repeat("很长的一行文字。", 40) + "\n",
		Language: notify.LanguageZhCN,
		Date:     time.Date(2026, 11, 22, 16, 0, 0, 0, time.FixedZone("CST", 8*3600)),
	}
}

func TestARealRelayReceivesAReadableUTF8Message(t *testing.T) {
	sink, err := localinfra.StartMailSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	m := testMail()
	mailer := &Mailer{Addr: sink.Addr(), From: "counterdesk@localhost"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := mailer.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	msgs, err := sink.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored", len(msgs))
	}
	got := msgs[0]
	if got.Subject != m.Subject {
		t.Errorf("subject = %q, want %q", got.Subject, m.Subject)
	}
	if want := strings.ReplaceAll(m.Body, "\n", "\r\n"); got.Body != want {
		t.Errorf("body = %q, want %q", got.Body, want)
	}
	if got.MessageID != m.MessageID {
		t.Errorf("Message-ID = %q, want %q", got.MessageID, m.MessageID)
	}
	if got.From != "counterdesk@localhost" || len(got.To) != 1 || got.To[0] != m.To ||
		len(got.EnvelopeTo) != 1 || got.EnvelopeTo[0] != m.To {
		t.Errorf("from %q to %v (envelope %v)", got.From, got.To, got.EnvelopeTo)
	}
	raw, err := os.ReadFile(got.Path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, "X-Envelope") {
			t.Errorf("line %d is %d octets long", i+1, len(line))
		}
		for _, r := range line {
			if r > 127 {
				t.Fatalf("line %d is not 7-bit: %q", i+1, line)
			}
		}
	}
}

func TestTheSameDeliveryAlwaysComposesTheSameMessage(t *testing.T) {
	a, err := Compose("counterdesk@localhost", testMail())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compose("counterdesk@localhost", testMail())
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) || !strings.Contains(string(a), "\r\nMessage-ID: <0194f0c1-0000-7000-8000-000000000001@counterdesk>\r\n") {
		t.Fatalf("messages differ or lack the delivery's Message-ID:\n%s", a)
	}
}

func TestComposeNeverQuotesABadAddress(t *testing.T) {
	m := testMail()
	m.To = "zhang.san@example.com\r\nBcc: all@example.com"
	_, err := Compose("counterdesk@localhost", m)
	if err == nil || strings.Contains(err.Error(), "zhang") {
		t.Fatalf("err = %v", err)
	}
}

func TestARelayThatIsDownGivesARetryableErrorWithoutTheAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = (&Mailer{Addr: addr, From: "counterdesk@localhost"}).Send(context.Background(), testMail())
	var se *Error
	if !errors.As(err, &se) || se.Stage != "connect" || se.Permanent() {
		t.Fatalf("err = %#v", err)
	}
	if strings.Contains(err.Error(), "zhang") {
		t.Fatalf("error quotes the address: %v", err)
	}
}

func TestOnlyRejectionsOfTheRecipientOrContentArePermanent(t *testing.T) {
	tests := []struct {
		stage string
		code  int
		want  bool
	}{
		{"rcpt", 550, true},
		{"data", 554, true},
		{"rcpt", 450, false},
		{"mail", 550, false},
		{"connect", 0, false},
	}
	for _, tt := range tests {
		if got := (&Error{Stage: tt.stage, Code: tt.code}).Permanent(); got != tt.want {
			t.Errorf("%s %d: permanent = %v, want %v", tt.stage, tt.code, got, tt.want)
		}
	}
}

// A sender with a display name (as SMTP_FROM is set in the Helm values) keeps
// it in the header and gives the relay only the bare address in MAIL FROM.
func TestASenderWithADisplayNameUsesTheBareAddressInTheEnvelope(t *testing.T) {
	sink, err := localinfra.StartMailSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	mailer := &Mailer{Addr: sink.Addr(), From: "counterdesk <no-reply@bank.example>"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := mailer.Send(ctx, testMail()); err != nil {
		t.Fatal(err)
	}
	msgs, err := sink.Messages()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %v, %v", msgs, err)
	}
	if msgs[0].EnvelopeFrom != "no-reply@bank.example" {
		t.Errorf("envelope sender %q, want the bare address", msgs[0].EnvelopeFrom)
	}
	if !strings.Contains(msgs[0].Headers.Get("From"), "counterdesk") {
		t.Errorf("From header %q lost the display name", msgs[0].Headers.Get("From"))
	}
}

// TestANameWithLineBreaksCannotAddHeaders: the display name and the subject
// come from a case's data; whatever line breaks they hold, the header block
// keeps exactly the headers Compose writes.
func TestANameWithLineBreaksCannotAddHeaders(t *testing.T) {
	for _, name := range []string{"John\r\nBcc: all@example.com", "张三\r\nBcc: all@example.com", "Eve\n\nforged body"} {
		msg, err := notify.Render(notify.TemplateCaseDateMoved, notify.LanguageEn, notify.Content{
			CaseNumber: "CD-1\r\nBcc: all@example.com", CustomerName: name, TimeZone: "Asia/Shanghai",
			PreviousAnswerAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), ExpectedAnswerAt: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
		})
		if err != nil {
			t.Fatal(err)
		}
		m := testMail()
		m.ToName, m.Subject, m.Body = name, msg.Subject, msg.Body
		raw, err := Compose("counterdesk@localhost", m)
		if err != nil {
			t.Fatal(err)
		}
		head, _, ok := strings.Cut(string(raw), "\r\n\r\n")
		if !ok {
			t.Fatalf("no header block:\n%s", raw)
		}
		for _, line := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(line, " ") {
				continue // a folded continuation of the header above
			}
			k, _, _ := strings.Cut(line, ":")
			switch k {
			case "Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type",
				"Content-Transfer-Encoding", "Content-Language", "Auto-Submitted":
			default:
				t.Errorf("name %q added the header line %q", name, line)
			}
		}
		if strings.ContainsAny(strings.ReplaceAll(head, "\r\n", ""), "\r\n") {
			t.Errorf("a bare line break in the headers:\n%q", head)
		}
	}
}

func TestAuthenticationAndAnHTMLAlternativeReachARealRelay(t *testing.T) {
	sink, err := localinfra.StartMailSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	m := testMail()
	m.HTML = "<p>尊敬的张三：</p>"
	mailer := &Mailer{Addr: sink.Addr(), From: "counterdesk@localhost", Username: "counterdesk", Password: "s3cret"}
	if err := mailer.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := mailer.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	msgs, err := sink.Messages()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %v, %v", msgs, err)
	}
	if msgs[0].HTML != m.HTML || !strings.Contains(msgs[0].Body, "尊敬的张三") || msgs[0].MessageID != m.MessageID {
		t.Errorf("html %q, body %q, id %q", msgs[0].HTML, msgs[0].Body, msgs[0].MessageID)
	}
}

// A relay that does not offer STARTTLS when SMTP_TLS=starttls is an error,
// never a fall-back to plain text (the local sink offers no TLS).
func TestRequiredSTARTTLSNeverFallsBackToPlainText(t *testing.T) {
	sink, err := localinfra.StartMailSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	err = (&Mailer{Addr: sink.Addr(), From: "counterdesk@localhost", TLS: TLSStartTLS, Username: "u", Password: "p"}).Send(context.Background(), testMail())
	var se *Error
	if !errors.As(err, &se) || strings.Contains(err.Error(), "zhang") {
		t.Fatalf("err = %v, want an smtp Error without the address", err)
	}
	if msgs, _ := sink.Messages(); len(msgs) != 0 {
		t.Fatalf("%d messages went in plain text", len(msgs))
	}
}

func TestAConfigurationThatCanNeverSendIsRefused(t *testing.T) {
	for _, m := range []Mailer{
		{Addr: "relay", From: "a@b.example"},
		{Addr: "relay:25", From: "a@b.example", TLS: "ssl"},
		{Addr: "relay:25", From: "not an address"},
		{Addr: "relay:25", From: "a@b.example", Password: "p"},
	} {
		if err := m.Validate(); err == nil {
			t.Errorf("%+v accepted", m)
		}
	}
}
