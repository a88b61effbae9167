package notify

import (
	"fmt"
	"slices"
)

// Restrict applies r to what is known of how a customer can be reached:
// channels the rule leaves out cannot be used, and the rule's order is the
// fallback order (see Choose).
func (r Rule) Restrict(reach Reach) (Reach, []Channel) {
	if len(r.Channels) == 0 {
		return reach, fallbackOrder
	}
	if !slices.Contains(r.Channels, reach.Preferred) {
		reach.Preferred = ""
	}
	reach.HasEmail = reach.HasEmail && slices.Contains(r.Channels, ChannelEmail)
	reach.HasPhone = reach.HasPhone && slices.Contains(r.Channels, ChannelSMS)
	reach.HasWebhook = reach.HasWebhook && slices.Contains(r.Channels, ChannelWebhook)
	return reach, r.Channels
}

// Choose picks the channel of a customer message under rule r: the
// customer's preferred channel if the rule allows it and it reaches them,
// else the first of the rule's channels (e-mail, SMS, the bank's webhook
// without a rule) that reaches them. It says why (no personal data), and
// returns false when nothing the rule allows reaches them.
func (r Rule) Choose(reach Reach) (Channel, string, bool) {
	if len(r.Channels) == 0 {
		return ChooseChannel(reach)
	}
	allowed, order := r.Restrict(reach)
	if allowed.Preferred != "" && allowed.has(allowed.Preferred) {
		return allowed.Preferred, fmt.Sprintf("the customer's preferred channel (%s)", allowed.Preferred), true
	}
	for _, ch := range order {
		if allowed.has(ch) {
			return ch, fmt.Sprintf("the bank's rule allows %v; %s is the first that reaches the customer", r.Channels, ch), true
		}
	}
	return "", fmt.Sprintf("%s: none of the channels the bank's rule allows (%v) reaches the customer", ReasonNoChannel, r.Channels), false
}
