package localinfra

import (
	"encoding/base64"
	"mime"
	"net/smtp"
	"os"
	"strings"
	"testing"
)

func startMailSink(t *testing.T) (*MailSink, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := StartMailSink(dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, dir
}

func TestMailSinkUTF8(t *testing.T) {
	s, dir := startMailSink(t)
	subject := "您的工单 #42 已更新"
	body := "你好，\r\n您的工单已由客服处理。\r\n"
	msg := "From: =?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte("客服")) + "?= <support@counterdesk.test>\r\n" +
		"To: customer@example.com\r\n" +
		"Subject: " + mime.BEncoding.Encode("utf-8", subject) + "\r\n" +
		"Message-ID: <abc123@counterdesk.test>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" + wrap76(base64.StdEncoding.EncodeToString([]byte(body))) + "\r\n"
	// The envelope has an extra (Bcc) recipient.
	if err := smtp.SendMail(s.Addr(), nil, "bounces@counterdesk.test",
		[]string{"customer@example.com", "audit@counterdesk.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}

	msgs, err := ReadMessages(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Subject != subject {
		t.Errorf("Subject = %q, want %q", m.Subject, subject)
	}
	if m.Body != body {
		t.Errorf("Body = %q, want %q", m.Body, body)
	}
	if m.From != "support@counterdesk.test" || len(m.To) != 1 || m.To[0] != "customer@example.com" {
		t.Errorf("From %q To %v", m.From, m.To)
	}
	if m.EnvelopeFrom != "bounces@counterdesk.test" || strings.Join(m.EnvelopeTo, ",") != "customer@example.com,audit@counterdesk.test" {
		t.Errorf("envelope: from %q to %v", m.EnvelopeFrom, m.EnvelopeTo)
	}
	if m.MessageID != "abc123@counterdesk.test" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	raw, err := os.ReadFile(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "X-Envelope-From: <bounces@counterdesk.test>\r\nX-Envelope-To: ") {
		t.Errorf("file does not start with the envelope headers: %q", raw[:60])
	}
}

// TestMailSinkMultipartQPWithAuth sends the way a configured service
// would: AUTH PLAIN with any credentials, multipart/alternative with
// quoted-printable parts.
func TestMailSinkMultipartQPWithAuth(t *testing.T) {
	s, _ := startMailSink(t)
	msg := "From: a@counterdesk.test\r\nTo: b@example.com, c@example.com\r\n" +
		"Subject: =?UTF-8?Q?Caf=C3=A9_r=C3=A9ponse?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XYZ\r\n\r\n" +
		"--XYZ\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Caf=C3=A9 =E2=80=94 a long line that is soft-wrapped by quoted-printable =\r\nencoding.\r\n" +
		"--XYZ\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"<p>Caf=C3=A9</p>\r\n" +
		"--XYZ--\r\n"
	// net/smtp refuses PLAIN auth over plain text except to localhost; the
	// sink is on 127.0.0.1, so send with host "localhost".
	auth := smtp.PlainAuth("", "user", "whatever", "localhost")
	addr := strings.Replace(s.Addr(), "127.0.0.1", "localhost", 1)
	if err := smtp.SendMail(addr, auth, "a@counterdesk.test", []string{"b@example.com", "c@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages: %v, %v", len(msgs), err)
	}
	m := msgs[0]
	if m.Subject != "Café réponse" {
		t.Errorf("Subject = %q", m.Subject)
	}
	// The CRLF before a boundary belongs to the boundary, not the part.
	if want := "Café — a long line that is soft-wrapped by quoted-printable encoding."; m.Body != want {
		t.Errorf("Body = %q, want %q", m.Body, want)
	}
	if m.HTML != "<p>Café</p>" {
		t.Errorf("HTML = %q", m.HTML)
	}
	if len(m.To) != 2 {
		t.Errorf("To = %v", m.To)
	}
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}
