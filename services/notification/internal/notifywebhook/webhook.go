// Package notifywebhook posts notifications to a bank's own systems (its
// app, its CRM) as signed JSON webhooks, and holds the verification recipe
// the bank's receiver follows (Verify; the README shows it in Go and with
// openssl). Each bank has its own endpoint and secret, read from a file
// mounted from a Kubernetes Secret; no bank's secret signs another's hooks.
//
// A hook carries three headers:
//
//	X-Counterdesk-Delivery:  the delivery id, the same on every attempt: a receiver that keeps the ids it saw drops a resend
//	X-Counterdesk-Timestamp: Unix seconds when this attempt was signed
//	X-Counterdesk-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// and the receiver refuses a hook whose timestamp is more than the replay
// window (DefaultWindow, 5 minutes) away from its clock, so a captured hook
// cannot be played again later. Errors name the bank and the HTTP status
// only, never the body.
package notifywebhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
)

// Header names.
const (
	HeaderDelivery  = "X-Counterdesk-Delivery"
	HeaderTimestamp = "X-Counterdesk-Timestamp"
	HeaderSignature = "X-Counterdesk-Signature"
	// signatureVersion prefixes the signature, so the scheme can change
	// without a receiver mistaking one for the other.
	signatureVersion = "v1="
)

// DefaultWindow is the replay window: how far a hook's timestamp may be
// from the receiver's clock.
const DefaultWindow = 5 * time.Minute

// Target is one bank's endpoint.
type Target struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Config is every bank's endpoint, by tenant id.
type Config map[string]Target

// ParseConfig reads WEBHOOKS, JSON {"<tenant>": {"url": "https://…", "secret": "…"}, …}
// (in Kubernetes from a Secret). Empty is no webhooks at all. Secrets must
// be at least 32 characters; URLs http or https. Errors never quote a
// secret.
func ParseConfig(raw string) (Config, error) {
	if strings.TrimSpace(raw) == "" {
		return Config{}, nil
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, errors.New(`WEBHOOKS: want {"<tenant>": {"url": "https://…", "secret": "…"}}`)
	}
	for tenant, t := range c {
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("WEBHOOKS: bank %s: url must be an http(s) URL", tenant)
		}
		if len(t.Secret) < 32 {
			return nil, fmt.Errorf("WEBHOOKS: bank %s: secret must be at least 32 characters", tenant)
		}
	}
	return c, nil
}

// Sign returns the X-Counterdesk-Signature value for body signed at ts
// (Unix seconds, as sent in X-Counterdesk-Timestamp).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return signatureVersion + hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp is outside the replay window")
)

// Verify is the receiver's recipe: ts must be Unix seconds within window of
// now (DefaultWindow when window is 0), and sig the HMAC-SHA256 of
// ts + "." + body under the bank's secret, compared in constant time.
func Verify(secret []byte, ts string, body []byte, sig string, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultWindow
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrStale, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > window || d < -window {
		return fmt.Errorf("%w: %s off", ErrStale, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(strings.TrimSpace(sig))) {
		return ErrBadSignature
	}
	return nil
}

// Sender posts hooks to the configured banks.
type Sender struct {
	Config Config
	// Client is the HTTP client; one with a 30-second timeout when nil.
	Client *http.Client
	// Now is the clock the timestamp is taken from; time.Now when nil.
	Now func() time.Time
}

// Error is a failed post. It holds the HTTP status, never the reply body.
type Error struct {
	Tenant string
	Status int
	err    error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("webhook of bank %s: receiver answered %d", e.Tenant, e.Status)
	}
	return fmt.Sprintf("webhook of bank %s: %v", e.Tenant, e.err)
}

func (e *Error) Unwrap() error { return e.err }

// Permanent: the receiver refused the hook itself (a 4xx other than 408
// and 429); resending the same hook cannot help. Also a bank without a
// webhook.
func (e *Error) Permanent() bool {
	return errors.Is(e.err, ErrNoTarget) || (e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429)
}

// ErrNoTarget: the bank has no webhook.
var ErrNoTarget = errors.New("no webhook configured")

// Configured reports whether tenant has a webhook.
func (s *Sender) Configured(tenant string) bool {
	_, ok := s.Config[tenant]
	return ok
}

// Target returns the host hooks of tenant go to, for the record (the masked
// recipient of a webhook delivery).
func (s *Sender) Target(tenant string) string {
	u, err := url.Parse(s.Config[tenant].URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// Payload is the JSON body of a hook: which notification, which case, and
// the message as rendered for the bank's app. It names no address.
type Payload struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	TenantID   string    `json:"tenantId"`
	CaseID     string    `json:"caseId"`
	CaseNumber string    `json:"caseNumber"`
	Template   string    `json:"template"`
	Language   string    `json:"language"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	Short      string    `json:"short,omitempty"`
	Late       bool      `json:"late,omitempty"`
	At         time.Time `json:"at"`
}

var _ dispatch.Webhooks = (*Sender)(nil)

// Send implements dispatch.Webhooks.
func (s *Sender) Send(ctx context.Context, h dispatch.Hook) error {
	body, err := json.Marshal(Payload{ID: h.ID, Type: "notification", TenantID: h.TenantID, CaseID: h.CaseID,
		CaseNumber: h.CaseNumber, Template: string(h.Template), Language: string(h.Language), Subject: h.Subject,
		Body: h.Body, Short: h.Short, Late: h.Late, At: h.At.UTC()})
	if err != nil {
		return &Error{Tenant: h.TenantID, err: errors.New("encode hook")}
	}
	return s.Post(ctx, h.TenantID, h.ID, body)
}

// Post sends body (JSON) as delivery id to tenant's endpoint, signed now.
func (s *Sender) Post(ctx context.Context, tenant, id string, body []byte) error {
	t, ok := s.Config[tenant]
	if !ok {
		return &Error{Tenant: tenant, err: ErrNoTarget}
	}
	now := time.Now //nolint:forbidigo // the default clock; the service passes its own
	if s.Now != nil {
		now = s.Now
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return &Error{Tenant: tenant, err: errors.New("invalid webhook url")}
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign([]byte(t.Secret), ts, body))
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token in its query: never repeat it
		}
		return &Error{Tenant: tenant, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &Error{Tenant: tenant, Status: resp.StatusCode}
	}
	return nil
}
