// Package notifysmtp sends notification e-mail through an SMTP relay: one
// connection per message, a UTF-8 plain-text body in base64, an RFC 2047
// subject, and the delivery's fixed Message-ID so that a message resent after
// a crash can be recognised by receivers. Its errors name the SMTP stage and
// reply code only: relays quote the recipient in their reply text, and that
// must not reach logs or the database.
package notifysmtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
)

// Mailer sends through the relay at Addr. It uses no TLS or authentication:
// the relay is the bank's internal one (or the local mail sink).
type Mailer struct {
	// Addr is the relay, host:port.
	Addr string
	// From is the sender address, in the envelope and the From header.
	From string
	// Hello is the name given in EHLO; "localhost" when empty.
	Hello string
}

var _ dispatch.Mailer = (*Mailer)(nil)

// Error is a failed send. It holds no text from the relay.
type Error struct {
	// Stage is where it failed: connect, hello, mail, rcpt, data or compose.
	Stage string
	// Code is the SMTP reply code, 0 when the failure was not a reply.
	Code int
	err  error // a network error, never a relay reply
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("smtp %s: relay replied %d", e.Stage, e.Code)
	}
	return fmt.Sprintf("smtp %s: %v", e.Stage, e.err)
}

func (e *Error) Unwrap() error { return e.err }

// Permanent reports whether the relay refused this message for good: a 5xx
// reply to the recipient or to the content. Other failures are retried.
func (e *Error) Permanent() bool {
	return e.Code >= 500 && (e.Stage == "rcpt" || e.Stage == "data")
}

// Send delivers m, giving up when ctx ends.
func (s *Mailer) Send(ctx context.Context, m dispatch.Mail) error {
	msg, err := Compose(s.From, m)
	if err != nil {
		return &Error{Stage: "compose", err: err}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return &Error{Stage: "connect", err: err}
	}
	// net/smtp knows no context: a deadline and a close on cancel bound it.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return replyError("connect", err)
	}
	defer c.Close()
	hello := s.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return replyError("hello", err)
	}
	// The envelope takes the bare address; SMTP_FROM may carry a display
	// name ("counterdesk <no-reply@bank.example>"). Compose already parsed it.
	sender, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("SMTP_FROM is not an address: %w", err)
	}
	if err := c.Mail(sender.Address); err != nil {
		return replyError("mail", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return replyError("rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		return replyError("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return replyError("data", err)
	}
	if err := w.Close(); err != nil { // the relay's verdict on the message
		return replyError("data", err)
	}
	// The relay has taken the message; a failed goodbye changes nothing.
	_ = c.Quit()
	return nil
}

// replyError keeps the reply code of a relay reply and drops its text.
// net/smtp reports local checks (e.g. a line break in an address) as plain
// errors whose text quotes the address, so those are replaced too.
func replyError(stage string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return &Error{Stage: stage, Code: tp.Code}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &Error{Stage: stage, err: ne}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Stage: stage, err: err}
	}
	return &Error{Stage: stage, err: errors.New("protocol error")}
}

// Compose writes m as an RFC 5322 message from from.
func Compose(from string, m dispatch.Mail) ([]byte, error) {
	if m.MessageID == "" || strings.ContainsAny(m.MessageID, "<>\r\n ") {
		return nil, errors.New("invalid Message-ID")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Address != m.To {
		return nil, errors.New("invalid recipient address") // never quote it
	}
	to.Name = m.ToName
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("invalid sender address %q: %w", from, err)
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("Date", m.Date.Format(time.RFC1123Z))
	header("From", sender.String())
	header("To", to.String())
	header("Subject", encodeHeader(m.Subject))
	header("Message-ID", "<"+m.MessageID+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "base64")
	if m.Language != "" {
		header("Content-Language", string(m.Language))
	}
	// RFC 3834: tells auto-responders not to answer.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes(), nil
}

// encodeHeader writes a header value as RFC 2047 B-encoded UTF-8 words when
// it is not plain ASCII. Each word holds whole characters, at most 36 bytes,
// and sits on its own folded line, so no line passes 78 octets even after
// "Subject: ". Line breaks in s never survive.
func encodeHeader(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	const maxChunk = 36
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxChunk {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}
