package notify

import "testing"

func TestARuleRestrictsTheChannelsACustomerMayGetAMessageOn(t *testing.T) {
	rs := Rules{ByTemplate: map[Template]Rule{TemplateCaseHandedOver: {Template: TemplateCaseHandedOver, Channels: []Channel{ChannelSMS}}}}
	reach, order := rs.For(TemplateCaseHandedOver).Restrict(Reach{Preferred: ChannelEmail, HasEmail: true, HasPhone: true})
	if reach.Preferred != "" || reach.HasEmail || !reach.HasPhone || len(order) != 1 {
		t.Errorf("SMS-only rule: %+v %v", reach, order)
	}
	if ch, _, ok := ChooseChannel(reach); !ok || ch != ChannelSMS {
		t.Errorf("chose %s %v", ch, ok)
	}
}

func TestARuleChoosesAmongTheChannelsItAllowsInItsOrder(t *testing.T) {
	both := Reach{Preferred: ChannelEmail, HasEmail: true, HasPhone: true}
	for _, tc := range []struct {
		rule  Rule
		reach Reach
		want  Channel
		ok    bool
	}{
		{Rule{}, both, ChannelEmail, true},
		{Rule{Channels: []Channel{ChannelSMS, ChannelEmail}}, both, ChannelEmail, true},                  // preferred and allowed
		{Rule{Channels: []Channel{ChannelSMS}}, both, ChannelSMS, true},                                  // preferred not allowed
		{Rule{Channels: []Channel{ChannelWebhook, ChannelSMS}}, Reach{HasPhone: true}, ChannelSMS, true}, // the first that reaches
		{Rule{Channels: []Channel{ChannelWebhook}}, Reach{HasEmail: true, HasPhone: true}, "", false},    // nothing allowed reaches
	} {
		ch, why, ok := tc.rule.Choose(tc.reach)
		if ch != tc.want || ok != tc.ok || why == "" {
			t.Errorf("%v on %+v: %s %v (%s), want %s %v", tc.rule.Channels, tc.reach, ch, ok, why, tc.want, tc.ok)
		}
	}
}
