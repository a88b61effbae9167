package notify

import "fmt"

// Reach is what is known at send time of how a customer can be reached:
// the channel they chose when the case was registered (empty: none) and
// which addresses exist. It holds no address itself.
type Reach struct {
	Preferred                      Channel
	HasEmail, HasPhone, HasWebhook bool
}

func (r Reach) has(ch Channel) bool {
	switch ch {
	case ChannelEmail:
		return r.HasEmail
	case ChannelSMS:
		return r.HasPhone
	case ChannelWebhook:
		return r.HasWebhook
	}
	return false
}

// fallbackOrder is tried when the customer chose no channel, or one that
// cannot reach them: e-mail carries the whole text, an SMS a short one, and
// the bank's own app only where the bank connected it.
var fallbackOrder = []Channel{ChannelEmail, ChannelSMS, ChannelWebhook}

// ChooseChannel picks the channel of a message to the customer: the one
// they chose, when it can reach them, else the first of e-mail, SMS and the
// bank's webhook that can. It says why in words (no personal data), and
// returns false when nothing reaches them.
func ChooseChannel(r Reach) (Channel, string, bool) {
	if r.Preferred != "" && r.has(r.Preferred) {
		return r.Preferred, fmt.Sprintf("the customer's preferred channel (%s)", r.Preferred), true
	}
	for _, ch := range fallbackOrder {
		if !r.has(ch) {
			continue
		}
		if r.Preferred != "" {
			return ch, fmt.Sprintf("preferred channel %s cannot reach the customer (%s); %s instead", r.Preferred, missing(r.Preferred), ch), true
		}
		return ch, fmt.Sprintf("no preferred channel; %s is the first that reaches the customer", ch), true
	}
	return "", ReasonNoChannel, false
}

func missing(ch Channel) string {
	switch ch {
	case ChannelEmail:
		return "no e-mail address"
	case ChannelSMS:
		return "no phone number"
	case ChannelWebhook:
		return "the bank has no webhook"
	}
	return "unknown channel"
}
