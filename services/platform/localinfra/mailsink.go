package localinfra

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// MailSink is a local SMTP server that accepts every message (any sender,
// any recipient, any or no credentials) and stores each one as an .eml
// file, so the dev stack and tests can see exactly what would have been
// sent without any mail leaving the machine.
type MailSink struct {
	dir  string
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}
}

// StartMailSink listens on addr (e.g. "127.0.0.1:2525", or "127.0.0.1:0"
// for a free port, see Addr) and writes accepted messages into dir, one
// file "<unix-nanos>-<random>.eml" each, created atomically (temp file then
// rename) so a reader never sees half a message. The envelope is recorded
// as X-Envelope-From and X-Envelope-To header lines at the top, because the
// envelope (e.g. Bcc recipients) is not otherwise in the message.
func StartMailSink(dir string, addr string) (*MailSink, error) {
	return StartMailSinkWithOptions(dir, addr, MailSinkOptions{})
}

// MailSinkOptions make the sink speak TLS, as a bank's relay does.
type MailSinkOptions struct {
	// TLS offers STARTTLS with this configuration (nil: plain SMTP only).
	TLS *tls.Config
	// Implicit serves TLS from the first byte (SMTPS) instead of STARTTLS.
	Implicit bool
}

// StartMailSinkWithOptions is StartMailSink with TLS. A message that came
// over TLS is stored with an X-Envelope-TLS header line, and one sent
// after AUTH with X-Envelope-Auth naming the user.
func StartMailSinkWithOptions(dir, addr string, opts MailSinkOptions) (*MailSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localinfra: create mail dir: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("localinfra: mail sink listen on %s: %w", addr, err)
	}
	if opts.TLS != nil && opts.Implicit {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &MailSink{dir: dir, ln: ln, done: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{sink: s, conn: c}, nil
	}))
	if opts.TLS != nil && !opts.Implicit {
		srv.TLSConfig = opts.TLS
	}
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // no TLS here, yet clients configured with credentials must work
	srv.MaxMessageBytes = 32 << 20
	srv.MaxRecipients = 1000
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true // we store bytes as they come, so UTF-8 addresses are fine
	srv.ErrorLog = log.New(os.Stderr, "localinfra mailsink: ", log.LstdFlags)
	s.srv = srv
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln) // returns on Close
	}()
	return s, nil
}

// Addr is the address the sink listens on, "127.0.0.1:port".
func (s *MailSink) Addr() string { return s.ln.Addr().String() }

// Dir is where messages are written.
func (s *MailSink) Dir() string { return s.dir }

// Messages reads the messages stored so far; see ReadMessages.
func (s *MailSink) Messages() ([]Message, error) { return ReadMessages(s.dir) }

// Close stops listening and drops open connections.
func (s *MailSink) Close() error {
	err := s.srv.Close()
	<-s.done
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return fmt.Errorf("localinfra: close mail sink: %w", err)
	}
	return nil
}

var _ smtp.AuthSession = (*mailSession)(nil)

type mailSession struct {
	sink *MailSink
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (m *mailSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (m *mailSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error { m.user = username; return nil }), nil
	case sasl.Login:
		return &loginServer{}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (m *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	m.from = from
	return nil
}

func (m *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	m.to = append(m.to, to)
	return nil
}

func (m *mailSession) Data(r io.Reader) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "X-Envelope-From: <%s>\r\n", m.from)
	fmt.Fprintf(&buf, "X-Envelope-To: %s\r\n", strings.Join(m.to, ", "))
	if st, ok := m.conn.TLSConnectionState(); ok && st.HandshakeComplete {
		fmt.Fprintf(&buf, "X-Envelope-TLS: %s\r\n", tls.VersionName(st.Version))
	}
	if m.user != "" {
		fmt.Fprintf(&buf, "X-Envelope-Auth: %s\r\n", m.user)
	}
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	if err := m.sink.store(buf.Bytes()); err != nil {
		m.sink.srv.ErrorLog.Println(err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store message"}
	}
	return nil
}

func (m *mailSession) Reset()        { m.from, m.to = "", nil }
func (m *mailSession) Logout() error { return nil }

// store writes one message atomically.
func (s *MailSink) store(msg []byte) error {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("random name: %w", err)
	}
	name := fmt.Sprintf("%d-%s.eml", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	// The temp name does not end in .eml, so ReadMessages skips it.
	tmp := filepath.Join(s.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, msg, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

// loginServer implements the non-standard but common AUTH LOGIN mechanism
// (go-sasl only ships its client side), accepting any credentials.
type loginServer struct{ step int }

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	l.step++
	switch l.step {
	case 1:
		if len(response) > 0 { // initial response carried the username
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		return []byte("Password:"), false, nil
	default:
		return nil, true, nil
	}
}

// Message is one stored mail, decoded for assertions.
type Message struct {
	// From is the first From address, To every To address (bare
	// addresses, e.g. "a@example.com").
	From string
	To   []string
	// EnvelopeFrom and EnvelopeTo are the SMTP envelope (X-Envelope-*).
	EnvelopeFrom string
	EnvelopeTo   []string
	// Subject is decoded from RFC 2047 encoded words.
	Subject   string
	MessageID string
	// Body is the text/plain body (the text/plain part of a multipart
	// message), transfer-decoded; HTML is the text/html part, if any.
	// When a message has only HTML, Body holds the HTML too.
	Body    string
	HTML    string
	Headers mail.Header
	Path    string
}

// ReadMessages parses every .eml file in dir, oldest first (by file name,
// which starts with the arrival time).
func ReadMessages(dir string) ([]Message, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("localinfra: read mail dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	msgs := make([]Message, 0, len(names))
	for _, n := range names {
		m, err := ReadMessage(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// ReadMessage parses one .eml file.
func ReadMessage(path string) (Message, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Message{}, fmt.Errorf("localinfra: read message: %w", err)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("localinfra: parse message %s: %w", path, err)
	}
	h := pm.Header
	dec := &mime.WordDecoder{CharsetReader: charsetReader}
	m := Message{Headers: h, Path: path, MessageID: strings.Trim(h.Get("Message-Id"), "<> ")}
	if m.Subject, err = dec.DecodeHeader(h.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("localinfra: decode subject of %s: %w", path, err)
	}
	parser := mail.AddressParser{WordDecoder: dec}
	if from, err := parser.ParseList(h.Get("From")); err == nil && len(from) > 0 {
		m.From = from[0].Address
	}
	if to, err := parser.ParseList(h.Get("To")); err == nil {
		for _, a := range to {
			m.To = append(m.To, a.Address)
		}
	}
	m.EnvelopeFrom = strings.Trim(h.Get("X-Envelope-From"), "<> ")
	for _, a := range strings.Split(h.Get("X-Envelope-To"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			m.EnvelopeTo = append(m.EnvelopeTo, a)
		}
	}
	if err := decodePart(h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), pm.Body, &m, 0); err != nil {
		return Message{}, fmt.Errorf("localinfra: decode body of %s: %w", path, err)
	}
	if m.Body == "" {
		m.Body = m.HTML
	}
	return m, nil
}

// decodePart fills m.Body/m.HTML from a (possibly multipart) entity. The
// first text/plain and text/html parts win; attachments are ignored.
func decodePart(contentType, encoding string, body io.Reader, m *Message, depth int) error {
	if depth > 10 {
		return errors.New("multipart nesting too deep")
	}
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart() // raw: we decode transfer encodings ourselves, uniformly
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if strings.HasPrefix(p.Header.Get("Content-Disposition"), "attachment") {
				continue
			}
			if err := decodePart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m, depth+1); err != nil {
				return err
			}
		}
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	r := io.Reader(body)
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips CR and LF itself
	}
	if cr, err := charsetReader(params["charset"], r); err == nil {
		r = cr
	} else {
		return err
	}
	text, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	if mediaType == "text/plain" && m.Body == "" {
		m.Body = string(text)
	} else if mediaType == "text/html" && m.HTML == "" {
		m.HTML = string(text)
	}
	return nil
}

// charsetReader handles the charsets our own services send (UTF-8 and its
// ASCII subset) plus Latin-1, which needs no tables; anything else is an
// error rather than silently garbled text.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	case "iso-8859-1", "latin1", "latin-1":
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		runes := make([]rune, len(b))
		for i, c := range b {
			runes[i] = rune(c)
		}
		return strings.NewReader(string(runes)), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", charset)
}
