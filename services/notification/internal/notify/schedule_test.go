package notify

import (
	"testing"
	"time"
)

func TestBackoffDoublesFromOneSecondUpToAnHourWithItsUpperHalfJittered(t *testing.T) {
	tests := []struct {
		failed int
		jitter float64
		want   time.Duration
	}{
		{0, 0.5, 0},
		{1, 0, 500 * time.Millisecond},
		{1, 0.5, 750 * time.Millisecond},
		{1, 1, time.Second},
		{2, 0, time.Second},
		{3, 1, 4 * time.Second},
		{9, 0, 128 * time.Second},
		{13, 1, time.Hour},
		{50, 0, 30 * time.Minute},
		{50, 2, time.Hour}, // a jitter source out of range is clamped
	}
	for _, tt := range tests {
		if got := Backoff(tt.failed, tt.jitter); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.failed, tt.jitter, got, tt.want)
		}
	}
}

func TestRetriesCoverANightOfOutageBeforeTheDeadLetter(t *testing.T) {
	var least time.Duration
	for i := 1; i < MaxAttempts; i++ {
		least += Backoff(i, 0)
	}
	if least < 5*time.Hour {
		t.Errorf("all retries with the least jitter span %v, want at least 5h", least)
	}
}

func TestQuietHoursHoldUntilTheirEndInTheBranchZone(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, sh) }
	lunch := QuietHours{Start: 12 * time.Hour, End: 14 * time.Hour}
	tests := []struct {
		name string
		q    QuietHours
		now  time.Time
		want time.Time
	}{
		{"in the day a message goes at once", DefaultQuietHours, at(2, 10, 0), at(2, 10, 0)},
		{"at 20:59 a message goes at once", DefaultQuietHours, at(2, 20, 59), at(2, 20, 59)},
		{"at 21:00 a message waits until 08:00 the next day", DefaultQuietHours, at(2, 21, 0), at(3, 8, 0)},
		{"after midnight a message waits until 08:00 that day", DefaultQuietHours, at(3, 2, 30), at(3, 8, 0)},
		{"at 08:00 a message goes at once", DefaultQuietHours, at(3, 8, 0), at(3, 8, 0)},
		{"quiet hours within a day hold until their end", lunch, at(2, 12, 30), at(2, 14, 0)},
		{"outside quiet hours within a day nothing waits", lunch, at(2, 11, 59), at(2, 11, 59)},
		{"no quiet hours hold nothing", QuietHours{}, at(2, 23, 0), at(2, 23, 0)},
		{"the zone is the branch's, not UTC", DefaultQuietHours, time.Date(2026, 12, 2, 13, 30, 0, 0, time.UTC), at(3, 8, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.NextAllowed(tt.now, sh); !got.Equal(tt.want) {
				t.Errorf("NextAllowed(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestParseQuietHours(t *testing.T) {
	for in, want := range map[string]QuietHours{
		"21:00-08:00": DefaultQuietHours, "22:30-07:15": {Start: 22*time.Hour + 30*time.Minute, End: 7*time.Hour + 15*time.Minute},
		"off": {}, "": {},
	} {
		got, err := ParseQuietHours(in)
		if err != nil || got != want {
			t.Errorf("ParseQuietHours(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"21-08", "25:00-08:00", "21:00-08:60", "night"} {
		if _, err := ParseQuietHours(bad); err == nil {
			t.Errorf("ParseQuietHours(%q) accepted", bad)
		}
	}
	if s := DefaultQuietHours.String(); s != "21:00-08:00" {
		t.Errorf("String() = %q", s)
	}
}

func TestWhatQuietHoursHold(t *testing.T) {
	tests := []struct {
		name string
		d    Delivery
		held bool
	}{
		{"the acknowledgment answers the customer at once", Delivery{Template: TemplateCaseAcknowledgment}, false},
		{"a moved date waits for the morning", Delivery{Template: TemplateCaseDateMoved}, true},
		{"the answer waits for the morning", Delivery{Template: TemplateCaseAnswer}, true},
		{"an urgent customer message does not wait", Delivery{Template: TemplateCaseAnswer, Urgent: true}, false},
		{"a breach alert does not wait", Delivery{Template: TemplateStaffDeadlineBreached, Staff: StaffRecipient{ID: "s"}}, false},
		{"a red warning does not wait", Delivery{Template: TemplateStaffDeadlineWarned, AlertLevel: LevelRed, Staff: StaffRecipient{ID: "s"}}, false},
		{"a yellow warning waits", Delivery{Template: TemplateStaffDeadlineWarned, AlertLevel: LevelYellow, Staff: StaffRecipient{ID: "s"}}, true},
		{"an urgent staff notice does not wait", Delivery{Template: "staff_case_escalated", Urgent: true, Staff: StaffRecipient{ID: "s"}}, false},
	}
	for _, tt := range tests {
		if got := tt.d.HeldByQuietHours(); got != tt.held {
			t.Errorf("%s: HeldByQuietHours() = %v", tt.name, got)
		}
	}
}

func TestTheChannelIsTheCustomersChoiceElseTheFirstThatReachesThem(t *testing.T) {
	tests := []struct {
		name string
		r    Reach
		want Channel
		ok   bool
	}{
		{"SMS chosen and a phone given", Reach{Preferred: ChannelSMS, HasEmail: true, HasPhone: true}, ChannelSMS, true},
		{"nothing chosen: e-mail first", Reach{HasEmail: true, HasPhone: true}, ChannelEmail, true},
		{"nothing chosen, only a phone: SMS", Reach{HasPhone: true}, ChannelSMS, true},
		{"the bank's app chosen and connected", Reach{Preferred: ChannelWebhook, HasPhone: true, HasWebhook: true}, ChannelWebhook, true},
		{"the bank's app chosen but not connected: SMS", Reach{Preferred: ChannelWebhook, HasPhone: true}, ChannelSMS, true},
		{"e-mail chosen without an address: SMS", Reach{Preferred: ChannelEmail, HasPhone: true}, ChannelSMS, true},
		{"only the bank's app", Reach{HasWebhook: true}, ChannelWebhook, true},
		{"nothing reaches the customer", Reach{Preferred: ChannelSMS}, "", false},
	}
	for _, tt := range tests {
		got, why, ok := ChooseChannel(tt.r)
		if got != tt.want || ok != tt.ok || why == "" {
			t.Errorf("%s: ChooseChannel = %q, %q, %v; want %q, %v", tt.name, got, why, ok, tt.want, tt.ok)
		}
	}
}
