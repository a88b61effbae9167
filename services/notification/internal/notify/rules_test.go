package notify

import (
	"strings"
	"testing"
)

func TestRulesAreCheckedByIndexAndFieldAndRestrictChannels(t *testing.T) {
	for _, tc := range []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{{Template: "case_bonus", Enabled: true}}, `rules[0].template: "case_bonus" is not one counterdesk sends`},
		{[]Rule{{Template: TemplateCaseAnswer}, {Template: TemplateCaseAnswer}}, `rules[1].template: "case_answer" has a rule already`},
		{[]Rule{{Template: TemplateCaseAnswer, Channels: []Channel{ChannelSMS, "fax"}}}, `rules[0].channels[1]: "fax" is not email, sms or webhook`},
		{[]Rule{{Template: TemplateCaseAnswer, Channels: []Channel{ChannelSMS, ChannelSMS}}}, `rules[0].channels[1]: "sms" is named twice`},
	} {
		if err := ValidateRules(tc.rules); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.rules, err, tc.want)
		}
	}
	rs := Rules{ByTemplate: map[Template]Rule{TemplateCaseHandedOver: {Template: TemplateCaseHandedOver, Channels: []Channel{ChannelSMS}}}}
	if err := ValidateRules(rs.All()); err != nil {
		t.Fatal(err)
	}
	if !rs.For(TemplateCaseAnswer).Enabled || len(rs.For(TemplateCaseAnswer).Channels) != 0 {
		t.Errorf("a template without a rule: %+v, want the default", rs.For(TemplateCaseAnswer))
	}
}
