package sla

import (
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
)

func TestTheCalendarDaysClockCountsTheCivilCodeWay(t *testing.T) {
	branch := func(t *testing.T) *calendar.Calendar {
		t.Helper()
		c := china(t).Derive("cn/br-typhoon")
		if err := c.AddClosure(calendar.MustParseDate("2026-12-07"), "typhoon"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		cal      func(*testing.T) *calendar.Calendar
		days     int
		received time.Time
		loc      *time.Location
		want     time.Time
	}{
		{"received the day before National Day, 15 days cross the holiday and end at 24:00 of the 15th day, a Thursday",
			china, 15, at(t, "2026-09-30 16:00"), nil, at(t, "2026-10-16 00:00")},
		{"a 15th day inside National Day moves to the end of the first working day after it",
			china, 15, at(t, "2026-09-20 10:00"), nil, at(t, "2026-10-09 00:00")},
		{"received on a Saturday, the 15th day is a Sunday and the limit ends with Monday",
			china, 15, at(t, "2026-11-21 09:00"), nil, at(t, "2026-12-08 00:00")},
		{"received on a Mid-Autumn holiday, the 15th day is a make-up working Saturday and stays",
			china, 15, at(t, "2026-09-25 10:00"), nil, at(t, "2026-10-11 00:00")},
		{"received at 23:59 the day of receipt still does not count",
			china, 1, at(t, "2026-11-19 23:59"), nil, at(t, "2026-11-21 00:00")},
		{"received at 00:01 the whole day of receipt is not counted either",
			china, 1, at(t, "2026-11-19 00:01"), nil, at(t, "2026-11-21 00:00")},
		{"one day from a Friday runs to the end of Monday",
			china, 1, at(t, "2026-11-20 10:00"), nil, at(t, "2026-11-24 00:00")},
		{"a branch closed on the Monday the limit would end on moves it to Tuesday",
			branch, 15, at(t, "2026-11-21 09:00"), nil, at(t, "2026-12-09 00:00")},
		{"a branch in UTC counts its own days: Friday evening there is Saturday in Shanghai",
			china, 15, time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC), time.UTC, time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Rules: []Rule{{Kind: KindRegulatoryDecision, Clock: ClockCalendarDays, CalendarDays: tt.days}}}
			d, ok, err := Arm(p, tt.cal(t), KindRegulatoryDecision, CaseFacts{StartedAt: tt.received, Location: tt.loc})
			if err != nil || !ok {
				t.Fatalf("Arm = %v, %v", ok, err)
			}
			if !d.DueAt.Equal(tt.want) {
				t.Errorf("due %s, want %s", d.DueAt, tt.want)
			}
			if d.Clock != ClockCalendarDays || d.Basis.Clock != ClockCalendarDays || d.Basis.CalendarDays != tt.days {
				t.Errorf("clock %s, basis %+v: want the calendar-days clock with %d days", d.Clock, d.Basis, tt.days)
			}
			if d.Provisional {
				t.Error("provisional inside official years")
			}
		})
	}
}

func TestCalendarDaysWarningsAreFractionsOfTheWallTimeToTheEnd(t *testing.T) {
	// Received Thursday 12:00, 1 day: Friday is the last day, the limit ends
	// Saturday 00:00, 36 hours later; 50/75/90% of them.
	p := Policy{Rules: []Rule{{Kind: KindRegulatoryDecision, Clock: ClockCalendarDays, CalendarDays: 1}}}
	d, _, err := Arm(p, china(t), KindRegulatoryDecision, CaseFacts{StartedAt: at(t, "2026-11-19 12:00")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{{LevelYellow, at(t, "2026-11-20 06:00")}, {LevelOrange, at(t, "2026-11-20 15:00")}, {LevelRed, at(t, "2026-11-20 20:24")}}
	if len(d.Warnings) != len(want) {
		t.Fatalf("warnings %v, want %v", d.Warnings, want)
	}
	for i, w := range want {
		if d.Warnings[i].Level != w.Level || !d.Warnings[i].At.Equal(w.At) {
			t.Errorf("warning %d = %s at %s, want %s at %s", i, d.Warnings[i].Level, d.Warnings[i].At, w.Level, w.At)
		}
	}
}

func TestRecountGivesTheSameCalendarDaysDeadline(t *testing.T) {
	p := DefaultPolicy()
	p.Version = 7
	f := CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL", Channel: "CHANNEL_LETTER", StartedAt: at(t, "2026-09-30 16:00")}
	d, _, err := Arm(p, china(t), KindRegulatoryDecision, f)
	if err != nil {
		t.Fatal(err)
	}
	if d.Basis.PolicyVersion != 7 {
		t.Errorf("basis policy version %d, want the policy's 7", d.Basis.PolicyVersion)
	}
	r, err := Recount(KindRegulatoryDecision, d.Basis, china(t), d.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	if !r.DueAt.Equal(d.DueAt) || r.Basis.PolicyVersion != 7 || len(r.Warnings) != len(d.Warnings) {
		t.Errorf("recount due %s version %d, armed due %s version 7", r.DueAt, r.Basis.PolicyVersion, d.DueAt)
	}
}

func TestTheRegulatoryLimitRunsFromReceipt(t *testing.T) {
	created := at(t, "2026-11-20 10:00")
	tests := []struct {
		name         string
		received     time.Time
		wantStart    time.Time
		wantDue      time.Time
		wantAckStart time.Time
	}{
		{"a letter received two days before it was registered counts from its receipt",
			at(t, "2026-11-18 15:00"), at(t, "2026-11-18 15:00"), at(t, "2026-12-04 00:00"), created},
		{"without a receipt time it counts from registration",
			time.Time{}, created, at(t, "2026-12-08 00:00"), created},
		{"a receipt after registration is not believed: registration counts",
			at(t, "2026-11-21 10:00"), created, at(t, "2026-12-08 00:00"), created},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := ArmAtCreation(DefaultPolicy(), china(t), CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL",
				Channel: "CHANNEL_LETTER", StartedAt: created, ReceivedAt: tt.received})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				switch d.Kind {
				case KindRegulatoryDecision:
					if !d.StartedAt.Equal(tt.wantStart) || !d.DueAt.Equal(tt.wantDue) {
						t.Errorf("regulatory decision started %s due %s, want %s and %s", d.StartedAt, d.DueAt, tt.wantStart, tt.wantDue)
					}
				default:
					if !d.StartedAt.Equal(tt.wantAckStart) {
						t.Errorf("%s started %s, want registration %s", d.Kind, d.StartedAt, created)
					}
				}
			}
		})
	}
}

func TestRulesMatchChannelAndTier(t *testing.T) {
	p := Policy{Rules: []Rule{
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 5},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 2, Channel: "CHANNEL_REGULATOR_REFERRAL"},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 3, CustomerTier: "CUSTOMER_TIER_PRIVATE"},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 4, Channel: "CHANNEL_REGULATOR_REFERRAL", CustomerTier: "CUSTOMER_TIER_PRIVATE"},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 6, Category: "CATEGORY_FEE_DISPUTE"},
	}}
	start := at(t, "2026-11-23 10:00") // Monday: N working days end Monday+N at 17:00
	dueAfter := map[int]string{2: "2026-11-25 17:00", 3: "2026-11-26 17:00", 4: "2026-11-27 17:00", 5: "2026-11-30 17:00", 6: "2026-12-01 17:00"}
	tests := []struct {
		name                    string
		category, channel, tier string
		wantDays                int
	}{
		{"a regulator's referral gets the referral rule", "CATEGORY_SERVICE_ATTITUDE", "CHANNEL_REGULATOR_REFERRAL", "CUSTOMER_TIER_REGULAR", 2},
		{"a private-banking customer gets the tier rule", "CATEGORY_SERVICE_ATTITUDE", "CHANNEL_ON_SITE", "CUSTOMER_TIER_PRIVATE", 3},
		{"channel and tier together beat either alone", "CATEGORY_SERVICE_ATTITUDE", "CHANNEL_REGULATOR_REFERRAL", "CUSTOMER_TIER_PRIVATE", 4},
		{"an exact category beats a channel rule", "CATEGORY_FEE_DISPUTE", "CHANNEL_REGULATOR_REFERRAL", "CUSTOMER_TIER_GOLD", 6},
		{"a customer without a tier gets the catch-all", "CATEGORY_SERVICE_ATTITUDE", "CHANNEL_PHONE", "", 5},
		{"an unspecified tier is no tier", "CATEGORY_SERVICE_ATTITUDE", "CHANNEL_PHONE", "CUSTOMER_TIER_UNSPECIFIED", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok, err := Arm(p, china(t), KindFirstAnswer, CaseFacts{Category: tt.category, Severity: "SEVERITY_NORMAL",
				Channel: tt.channel, Tier: tt.tier, StartedAt: start})
			if err != nil || !ok {
				t.Fatalf("Arm = %v, %v", ok, err)
			}
			if want := at(t, dueAfter[tt.wantDays]); !d.DueAt.Equal(want) {
				t.Errorf("due %s, want %s (the %d-working-day rule)", d.DueAt, want, tt.wantDays)
			}
		})
	}
}
