package notify

import (
	"fmt"
	"slices"
	"time"
)

// Rule is a bank's decision about one kind of message: whether it is sent,
// and on which channels a customer may get it (in order, after their
// preferred one; empty: any, e-mail first). Staff messages go by work
// e-mail whatever the channels say.
type Rule struct {
	Template Template
	Enabled  bool
	Channels []Channel
}

// Rules are a bank's rules; a template without one is sent on any channel.
type Rules struct {
	ByTemplate map[Template]Rule
	UpdatedBy  string
	UpdatedAt  time.Time
}

// ReasonRuleDisabled is recorded on a message the bank's rules say not to send.
const ReasonRuleDisabled = "the bank's notification rules do not send this message"

// DefaultRule is the rule of a template the bank has none for.
func DefaultRule(t Template) Rule { return Rule{Template: t, Enabled: true} }

// For returns the bank's rule of t, or the default.
func (rs Rules) For(t Template) Rule {
	if r, ok := rs.ByTemplate[t]; ok {
		return r
	}
	return DefaultRule(t)
}

// All returns one rule per shipped template, the bank's or the default.
func (rs Rules) All() []Rule {
	out := make([]Rule, 0, len(ShippedTemplates()))
	for _, t := range ShippedTemplates() {
		out = append(out, rs.For(t))
	}
	return out
}

// ValidateRules reports the first rule that cannot be kept, naming it by
// its index: each names a shipped template once, channels are known and
// not repeated.
func ValidateRules(rs []Rule) error {
	seen := map[Template]bool{}
	for i, r := range rs {
		switch {
		case !IsShipped(r.Template):
			return fmt.Errorf("rules[%d].template: %q is not one counterdesk sends", i, r.Template)
		case seen[r.Template]:
			return fmt.Errorf("rules[%d].template: %q has a rule already", i, r.Template)
		}
		seen[r.Template] = true
		for j, ch := range r.Channels {
			if !slices.Contains(TemplateChannels, ch) {
				return fmt.Errorf("rules[%d].channels[%d]: %q is not email, sms or webhook", i, j, ch)
			}
			if slices.Index(r.Channels, ch) != j {
				return fmt.Errorf("rules[%d].channels[%d]: %q is named twice", i, j, ch)
			}
		}
	}
	return nil
}
