// Package notifysms sends text messages through a bank's HTTP SMS gateway:
// one JSON POST per message,
//
//	{"messageId": "<delivery id>", "to": "+8613812345678", "text": "…", "sender": "…", "language": "zh-CN"}
//
// to SMS_GATEWAY_URL, with the credential the gateway wants in a header of
// its choosing (SMS_GATEWAY_AUTH_HEADER, default Authorization). messageId
// is the same on every attempt of a delivery, so a gateway that keeps client
// message ids (as the Chinese carriers' platforms do) drops a resend after
// a crash between its acceptance and our record. Errors carry the HTTP
// status only, never the number or the text.
package notifysms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
)

// Gateway is the bank's HTTP SMS gateway.
type Gateway struct {
	// URL receives the POST.
	URL string
	// AuthHeader and AuthValue are the credential header (e.g.
	// "Authorization: Bearer …", "X-Api-Key: …"); none when AuthValue is empty.
	AuthHeader, AuthValue string
	// Sender is the registered sender name (签名) the gateway shows.
	Sender string
	// Client is the HTTP client; one with a 30-second timeout when nil.
	Client *http.Client
}

var _ dispatch.SMSSender = (*Gateway)(nil)

// Message is the JSON the gateway receives.
type Message struct {
	MessageID string `json:"messageId"`
	To        string `json:"to"`
	Text      string `json:"text"`
	Sender    string `json:"sender,omitempty"`
	Language  string `json:"language,omitempty"`
}

// Error is a failed send: the HTTP status, or the network failure.
type Error struct {
	Status int
	err    error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("sms gateway answered %d", e.Status)
	}
	return fmt.Sprintf("sms gateway: %v", e.err)
}

func (e *Error) Unwrap() error { return e.err }

// Permanent: the gateway refused this message itself (a 4xx other than
// 401/403 — a credential may be fixed —, 408 and 429).
func (e *Error) Permanent() bool {
	switch e.Status {
	case 401, 403, 408, 429:
		return false
	}
	return e.Status >= 400 && e.Status < 500
}

// SendSMS implements dispatch.SMSSender.
func (g *Gateway) SendSMS(ctx context.Context, m dispatch.SMS) error {
	body, err := json.Marshal(Message{MessageID: m.ID, To: m.To, Text: m.Text, Sender: g.Sender, Language: string(m.Language)})
	if err != nil {
		return &Error{err: errors.New("encode message")}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return &Error{err: errors.New("invalid gateway url")}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Idempotency-Key", m.ID)
	if g.AuthValue != "" {
		h := g.AuthHeader
		if h == "" {
			h = "Authorization"
		}
		req.Header.Set(h, g.AuthValue)
	}
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // never the URL, which may carry a key
		}
		return &Error{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &Error{Status: resp.StatusCode}
	}
	return nil
}
