package notify

import (
	"context"
	"strings"
	"unicode/utf8"
)

// SMSMaxRunes is the longest SMS text counterdesk sends: four concatenated
// parts of 70 Chinese characters (UCS-2), which every Chinese carrier joins.
const SMSMaxRunes = 280

// Renderer writes messages for one channel: the bank's own template where
// it keeps one for the template, channel and language, the shipped one
// otherwise. The dispatcher renders through it at each attempt.
type Renderer interface {
	// Render writes a message to a customer of tenantID.
	Render(ctx context.Context, tenantID string, ch Channel, t Template, lang Language, c Content) (Message, error)
	// RenderStaff writes a staff alert (d.IsStaffAlert()).
	RenderStaff(ctx context.Context, tenantID string, ch Channel, d Delivery, lang Language) (Message, error)
}

// Shipped renders with the templates shipped in the binary only.
type Shipped struct{}

// Render implements Renderer.
func (Shipped) Render(_ context.Context, _ string, ch Channel, t Template, lang Language, c Content) (Message, error) {
	m, err := Render(t, lang, c)
	if err != nil {
		return Message{}, err
	}
	return forChannel(m, ch), nil
}

// RenderStaff implements Renderer.
func (Shipped) RenderStaff(_ context.Context, _ string, ch Channel, d Delivery, lang Language) (Message, error) {
	lang = normLang(lang)
	data, err := staffData(d, lang)
	if err != nil {
		return Message{}, err
	}
	m, err := execute(d.Template, lang, data)
	if err != nil {
		return Message{}, err
	}
	return forChannel(m, ch), nil
}

// forChannel fills the short text an SMS carries when a template has no
// SMS text of its own (the subject and the body on one line), and cuts it
// to SMSMaxRunes.
func forChannel(m Message, ch Channel) Message {
	if ch != ChannelSMS {
		return m
	}
	if m.SMS == "" {
		m.SMS = SingleLine(m.Subject + " " + m.Body)
	}
	// Only a customer's own text (an answer) can make a shipped SMS this
	// long: the full text is in the e-mail and at the counter.
	m.SMS = truncateRunes(m.SMS, SMSMaxRunes)
	return m
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
