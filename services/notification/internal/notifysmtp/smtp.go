// Package notifysmtp sends notification e-mail through the bank's SMTP relay
// with wneessen/go-mail: TLS as configured (none, STARTTLS required, or
// implicit TLS), SMTP authentication when a user name is set, a UTF-8
// plain-text body with an HTML alternative when the template has one, and
// the delivery's fixed Message-ID so that a message resent after a crash
// can be recognised by receivers. Its errors name the SMTP stage and reply
// code only: relays quote the recipient in their reply text, and that must
// not reach logs or the database.
package notifysmtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	gomail "github.com/wneessen/go-mail"
)

// TLS modes (SMTP_TLS).
const (
	// TLSNone: plain SMTP, for a relay on the same host or a local sink.
	TLSNone = "none"
	// TLSStartTLS: STARTTLS is required; a relay that does not offer it is
	// an error, never a silent fallback to plain text.
	TLSStartTLS = "starttls"
	// TLSImplicit: TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit = "tls"
)

// Mailer sends through the relay at Addr.
type Mailer struct {
	// Addr is the relay, host:port.
	Addr string
	// From is the sender address, in the envelope and the From header.
	From string
	// Hello is the name given in EHLO; "localhost" when empty.
	Hello string
	// TLS is TLSNone (the default), TLSStartTLS or TLSImplicit.
	TLS string
	// TLSConfig overrides the TLS client settings (e.g. a private CA);
	// ServerName defaults to the relay's host.
	TLSConfig *tls.Config
	// Username and Password authenticate; none when Username is empty.
	Username, Password string
	// Auth is the mechanism (SMTP_AUTH): plain (the default), login,
	// cram-md5, scram-sha-256, or auto (the strongest the relay offers of
	// those go-mail deems safe on the connection).
	Auth string
}

var mechanisms = map[string]gomail.SMTPAuthType{
	"": gomail.SMTPAuthPlain, "plain": gomail.SMTPAuthPlain, "login": gomail.SMTPAuthLogin,
	"cram-md5": gomail.SMTPAuthCramMD5, "scram-sha-256": gomail.SMTPAuthSCRAMSHA256, "auto": gomail.SMTPAuthAutoDiscover,
}

var _ dispatch.Mailer = (*Mailer)(nil)

// Validate reports a configuration that can never send.
func (s *Mailer) Validate() error {
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return fmt.Errorf("SMTP_ADDR %q: want host:port", s.Addr)
	}
	switch s.TLS {
	case "", TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("SMTP_TLS %q: want none, starttls or tls", s.TLS)
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return fmt.Errorf("SMTP_FROM is not an address: %w", err)
	}
	if s.Password != "" && s.Username == "" {
		return errors.New("SMTP_PASSWORD is set without SMTP_USERNAME")
	}
	if _, ok := mechanisms[s.Auth]; !ok {
		return fmt.Errorf("SMTP_AUTH %q: want plain, login, cram-md5, scram-sha-256 or auto", s.Auth)
	}
	return nil
}

// Error is a failed send. It holds no text from the relay.
type Error struct {
	// Stage is where it failed: connect, hello, auth, mail, rcpt, data or compose.
	Stage string
	// Code is the SMTP reply code, 0 when the failure was not a reply.
	Code int
	err  error // a network error, never a relay reply
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("smtp %s: relay replied %d", e.Stage, e.Code)
	}
	if e.err == nil {
		return fmt.Sprintf("smtp %s: failed", e.Stage)
	}
	return fmt.Sprintf("smtp %s: %v", e.Stage, e.err)
}

func (e *Error) Unwrap() error { return e.err }

// Permanent reports whether the relay refused this message for good: a 5xx
// reply to the recipient or to the content. Other failures are retried.
func (e *Error) Permanent() bool {
	return e.Code >= 500 && (e.Stage == "rcpt" || e.Stage == "data")
}

// Send delivers m, giving up when ctx ends. Once the relay has accepted the
// message, a failed goodbye changes nothing: the send counts.
func (s *Mailer) Send(ctx context.Context, m dispatch.Mail) error {
	msg, err := s.compose(m)
	if err != nil {
		return &Error{Stage: "compose", err: err}
	}
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	conn, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return dialError(err)
	}
	// go-mail bounds each command by its timeout; a cancel closes the
	// connection at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	err = c.SendWithSMTPClient(conn, msg)
	_ = c.CloseWithSMTPClient(conn)
	if err != nil {
		return sendError(err)
	}
	return nil
}

func (s *Mailer) client(ctx context.Context) (*gomail.Client, error) {
	host, portText, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, &Error{Stage: "connect", err: errors.New("SMTP_ADDR is not host:port")}
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, &Error{Stage: "connect", err: errors.New("SMTP_ADDR has no numeric port")}
	}
	hello := s.Hello
	if hello == "" {
		hello = "localhost"
	}
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond) //nolint:forbidigo // a network deadline, not domain time
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tc = s.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = host
		}
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithHELO(hello), gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tc), gomail.WithoutNoop()}
	switch s.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSMandatory), gomail.WithPort(port))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithPort(port))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.Username != "" {
		mech, ok := mechanisms[s.Auth]
		if !ok {
			return nil, &Error{Stage: "auth", err: errors.New("unknown SMTP_AUTH mechanism")}
		}
		opts = append(opts, gomail.WithSMTPAuth(mech),
			gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	c, err := gomail.NewClient(host, opts...)
	if err != nil {
		return nil, &Error{Stage: "connect", err: errors.New("invalid client settings")}
	}
	return c, nil
}

// dialError keeps a network failure and drops anything the relay said
// (a refused login's reply may quote the account).
func dialError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) {
		return &Error{Stage: "connect", err: ne}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return &Error{Stage: "connect", err: oe}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Stage: "connect", err: err}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "auth"):
		return &Error{Stage: "auth", err: errors.New("authentication failed")}
	case strings.Contains(msg, "STARTTLS"), strings.Contains(msg, "tls"), strings.Contains(msg, "TLS"):
		return &Error{Stage: "hello", err: errors.New("TLS could not be established")}
	}
	return &Error{Stage: "hello", err: errors.New("protocol error")}
}

// sendError keeps the stage and reply code of a go-mail SendError.
func sendError(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		var ne net.Error
		if errors.As(err, &ne) {
			return &Error{Stage: "data", err: ne}
		}
		return &Error{Stage: "data", err: errors.New("protocol error")}
	}
	stage := "data"
	switch se.Reason {
	case gomail.ErrSMTPMailFrom, gomail.ErrGetSender:
		stage = "mail"
	case gomail.ErrSMTPRcptTo, gomail.ErrGetRcpts:
		stage = "rcpt"
	case gomail.ErrConnCheck, gomail.ErrSMTPReset:
		stage = "connect"
	}
	code := se.ErrorCode()
	if code == 0 && !se.IsTemp() && stage == "rcpt" {
		code = 550
	}
	return &Error{Stage: stage, Code: code}
}

// compose builds the go-mail message for m from s.From.
func (s *Mailer) compose(m dispatch.Mail) (*gomail.Msg, error) {
	if m.MessageID == "" || strings.ContainsAny(m.MessageID, "<>\r\n ") {
		return nil, errors.New("invalid Message-ID")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Address != m.To {
		return nil, errors.New("invalid recipient address") // never quote it
	}
	sender, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("invalid sender address %q: %w", s.From, err)
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64), gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(sender)
	// The display name is data: one line, encoded by go-mail.
	msg.ToMailAddress(&mail.Address{Name: strings.Join(strings.Fields(m.ToName), " "), Address: to.Address})
	msg.Subject(strings.Join(strings.Fields(m.Subject), " "))
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDateWithValue(m.Date)
	if m.Language != "" {
		msg.SetGenHeader(gomail.HeaderContentLang, string(m.Language))
	}
	// RFC 3834: tells auto-responders not to answer.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	msg.SetBodyString(gomail.TypeTextPlain, body)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// Compose writes m as an RFC 5322 message from from, as Send would send it.
func Compose(from string, m dispatch.Mail) ([]byte, error) {
	msg, err := (&Mailer{From: from}).compose(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	return b.Bytes(), nil
}
