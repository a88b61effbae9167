package sla

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
)

var shanghai = calendar.DefaultLocation()

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, shanghai)
	if err != nil {
		v, err = time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func china(t *testing.T) *calendar.Calendar {
	t.Helper()
	c, err := calendar.China()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// due maps kind to due time for compact assertions.
func due(ds []Deadline) map[Kind]time.Time {
	m := map[Kind]time.Time{}
	for _, d := range ds {
		m[d.Kind] = d.DueAt
	}
	return m
}

func TestDefaultPolicyIsValid(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
}

func TestArmAtCreationFollowsTheDefaultTable(t *testing.T) {
	tests := []struct {
		name  string
		facts CaseFacts
		want  map[Kind]string // kind -> due, Asia/Shanghai
	}{
		{
			"a normal fee dispute received on Friday morning gets acknowledge, answer, resolution and the regulatory limit",
			CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL", Channel: "CHANNEL_ON_SITE", StartedAt: at(t, "2026-11-20 10:00")},
			map[Kind]string{
				KindAcknowledge:        "2026-11-20 11:00",
				KindFirstAnswer:        "2026-11-23 17:00",
				KindResolution:         "2026-12-01 17:00",
				KindRegulatoryDecision: "2026-12-08 00:00", // 15th day Saturday 12-05: the end of Monday 12-07
			},
		},
		{
			"a major equipment failure gets the 15-minute response and the 2-hour report but no regulatory limit",
			CaseFacts{Category: "CATEGORY_EQUIPMENT_FAILURE", Severity: "SEVERITY_MAJOR", Channel: "CHANNEL_ON_SITE", StartedAt: at(t, "2026-11-20 10:00")},
			map[Kind]string{
				KindAcknowledge:       "2026-11-20 11:00",
				KindEquipmentResponse: "2026-11-20 10:15",
				KindMajorReport:       "2026-11-20 12:00",
				KindFirstAnswer:       "2026-11-27 17:00",
				KindResolution:        "2026-12-01 17:00",
			},
		},
		{
			"a complex complaint received on the eve of National Day waits out the holiday for working-day limits only",
			CaseFacts{Category: "CATEGORY_SERVICE_ATTITUDE", Severity: "SEVERITY_COMPLEX", Channel: "CHANNEL_PHONE", StartedAt: at(t, "2026-09-30 16:00")},
			map[Kind]string{
				KindAcknowledge:        "2026-09-30 17:00",
				KindFirstAnswer:        "2026-10-13 17:00", // 10-08, 10-09, 10-10 (make-up Sat), 10-12, 10-13
				KindResolution:         "2026-10-15 17:00",
				KindRegulatoryDecision: "2026-10-16 00:00", // calendar days: the holiday counts; the 15th day 10-15 ends at 24:00
			},
		},
		{
			"a normal complaint received on the make-up Saturday before Spring Festival is answered after the holiday",
			CaseFacts{Category: "CATEGORY_PROCESSING_DELAY", Severity: "SEVERITY_NORMAL", StartedAt: at(t, "2026-02-14 11:00")},
			map[Kind]string{
				KindAcknowledge:        "2026-02-14 12:00",
				KindFirstAnswer:        "2026-02-24 17:00",
				KindResolution:         "2026-03-03 17:00", // 02-24, 25, 26, 27, 28 (make-up Sat), 03-02, 03-03
				KindRegulatoryDecision: "2026-03-03 00:00", // 15th day Sunday 03-01: the end of Monday 03-02
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := ArmAtCreation(DefaultPolicy(), china(t), tt.facts)
			if err != nil {
				t.Fatal(err)
			}
			got := due(ds)
			if len(got) != len(tt.want) {
				t.Errorf("armed %v, want exactly %v", kinds(ds), keys(tt.want))
			}
			for k, w := range tt.want {
				if g, ok := got[k]; !ok || !g.Equal(at(t, w)) {
					t.Errorf("%s due %s (armed %v), want %s", k, g, ok, w)
				}
			}
			for _, d := range ds {
				if !d.StartedAt.Equal(tt.facts.StartedAt) {
					t.Errorf("%s StartedAt = %s, want %s", d.Kind, d.StartedAt, tt.facts.StartedAt)
				}
				if d.Kind == KindHandoverPickup || d.Kind == KindReturnVisit {
					t.Errorf("%s must not be armed at creation", d.Kind)
				}
			}
		})
	}
}

func kinds(ds []Deadline) []Kind {
	var ks []Kind
	for _, d := range ds {
		ks = append(ks, d.Kind)
	}
	return ks
}

func keys(m map[Kind]string) []Kind {
	var ks []Kind
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestArmAtCreationSortsByDueTimeThenKind(t *testing.T) {
	p := DefaultPolicy()
	// Two limits due at the same instant: order must fall back to the kind.
	p.Rules = append(p.Rules, Rule{Kind: KindMajorReport, Clock: ClockCalendar, Duration: time.Hour, Category: "CATEGORY_EQUIPMENT_FAILURE", Severity: "SEVERITY_MAJOR"})
	ds, err := ArmAtCreation(p, china(t), CaseFacts{Category: "CATEGORY_EQUIPMENT_FAILURE", Severity: "SEVERITY_MAJOR", StartedAt: at(t, "2026-11-20 10:00")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Kind{KindEquipmentResponse, KindAcknowledge, KindMajorReport, KindFirstAnswer, KindResolution}
	if got := kinds(ds); !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if !slices.IsSortedFunc(ds, func(a, b Deadline) int { return a.DueAt.Compare(b.DueAt) }) {
		t.Error("deadlines are not sorted by DueAt")
	}
}

func TestTheMostSpecificRuleWins(t *testing.T) {
	p := Policy{Rules: []Rule{
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 3},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 5, Severity: "SEVERITY_COMPLEX"},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 2, Category: "CATEGORY_FEE_DISPUTE"},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 4, Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_COMPLEX"},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 6, Category: CategoryComplaint},
		{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 8, Category: CategoryCounterException, Severity: "SEVERITY_MAJOR"},
	}}
	start := at(t, "2026-11-23 10:00") // Monday; N working days end on Monday+N (same week, then next)
	dueAfter := map[int]string{2: "2026-11-25 17:00", 3: "2026-11-26 17:00", 4: "2026-11-27 17:00", 5: "2026-11-30 17:00", 6: "2026-12-01 17:00", 8: "2026-12-03 17:00"}
	tests := []struct {
		name               string
		category, severity string
		wantDays           int
	}{
		{"category and severity together beat either alone", "CATEGORY_FEE_DISPUTE", "SEVERITY_COMPLEX", 4},
		{"an exact category beats the catch-all", "CATEGORY_FEE_DISPUTE", "SEVERITY_NORMAL", 2},
		{"a category group beats the catch-all", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL", 6},
		{"between a severity rule and an equally specific group rule the earlier due time wins", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_COMPLEX", 5},
		{"a group with a severity beats a severity alone", "CATEGORY_SYSTEM_FAILURE", "SEVERITY_MAJOR", 8},
		{"with nothing more specific the catch-all applies", "CATEGORY_SYSTEM_FAILURE", "SEVERITY_NORMAL", 3},
		{"a severity rule applies to a counter exception too", "CATEGORY_CASH_DISCREPANCY", "SEVERITY_COMPLEX", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok, err := Arm(p, china(t), KindFirstAnswer, CaseFacts{Category: tt.category, Severity: tt.severity, StartedAt: start})
			if err != nil || !ok {
				t.Fatalf("Arm = %v, %v", ok, err)
			}
			if want := at(t, dueAfter[tt.wantDays]); !d.DueAt.Equal(want) {
				t.Errorf("due %s, want %s (the %d-working-day rule)", d.DueAt, want, tt.wantDays)
			}
		})
	}
}

func TestTheRegulatoryLimitAppliesToComplaintsOnly(t *testing.T) {
	all := []struct {
		category  string
		complaint bool
	}{
		{"CATEGORY_SYSTEM_FAILURE", false}, {"CATEGORY_EQUIPMENT_FAILURE", false}, {"CATEGORY_IDENTITY_MISMATCH", false},
		{"CATEGORY_ACCOUNT_INFO_ERROR", false}, {"CATEGORY_TRANSACTION_ERROR", false}, {"CATEGORY_CASH_DISCREPANCY", false},
		{"CATEGORY_VOUCHER_ANOMALY", false}, {"CATEGORY_SUSPECTED_FRAUD", false}, {"CATEGORY_QUEUE_TICKET_INCIDENT", false},
		{"CATEGORY_SERVICE_ATTITUDE", true}, {"CATEGORY_PROCESSING_DELAY", true}, {"CATEGORY_FEE_DISPUTE", true},
		{"CATEGORY_BUSINESS_DISPUTE", true}, {"CATEGORY_PRODUCT_MISUNDERSTANDING", true}, {"CATEGORY_RULE_DISPUTE", true},
		{"CATEGORY_COMPENSATION_DEMAND", true}, {"CATEGORY_FACILITIES", true},
	}
	start := at(t, "2026-09-30 16:00")
	for _, c := range all {
		name := fmt.Sprintf("a %s case is not given the 15-day regulatory limit", c.category)
		if c.complaint {
			name = fmt.Sprintf("a %s complaint gets 15 calendar days to the regulatory decision", c.category)
		}
		t.Run(name, func(t *testing.T) {
			d, ok, err := Arm(DefaultPolicy(), china(t), KindRegulatoryDecision, CaseFacts{Category: c.category, Severity: "SEVERITY_NORMAL", Channel: "CHANNEL_REGULATOR_REFERRAL", StartedAt: start})
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.complaint {
				t.Fatalf("armed = %v, want %v", ok, c.complaint)
			}
			// 09-30 not counted; the 15th day, Thursday 10-15, is a working day.
			if want := at(t, "2026-10-16 00:00"); ok && (!d.DueAt.Equal(want) || d.Clock != ClockCalendarDays) {
				t.Errorf("due %s on %s, want %s on the calendar-days clock", d.DueAt, d.Clock, want)
			}
			if IsComplaint(c.category) != c.complaint || IsCounterException(c.category) == c.complaint {
				t.Errorf("IsComplaint/IsCounterException disagree with the proto numbering for %s", c.category)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name  string
		rule  Rule
		start string
		want  []string // yellow, orange, red
		due   string
	}{
		{"a 1-hour calendar deadline warns at +30m, +45m and +54m",
			Rule{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: time.Hour}, "2026-11-20 10:00",
			[]string{"2026-11-20 10:30", "2026-11-20 10:45", "2026-11-20 10:54"}, "2026-11-20 11:00"},
		{"a calendar deadline's warnings run through the weekend",
			Rule{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: 4 * 24 * time.Hour}, "2026-11-20 10:00",
			[]string{"2026-11-22 10:00", "2026-11-23 10:00", "2026-11-24 00:24"}, "2026-11-24 10:00"},
		{"a 15-minute business-hours deadline from 16:50 on Friday warns once on Friday and twice on Monday",
			Rule{Kind: KindHandoverPickup, Clock: ClockBusinessHours, Duration: 15 * time.Minute}, "2026-11-20 16:50",
			[]string{"2026-11-20 16:57:30", "2026-11-23 09:01:15", "2026-11-23 09:03:30"}, "2026-11-23 09:05"},
		{"a 1-working-day deadline from Friday 10:00 warns on the fractions of its 15 business hours",
			Rule{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 1}, "2026-11-20 10:00",
			[]string{"2026-11-23 09:30", "2026-11-23 13:15", "2026-11-23 15:30"}, "2026-11-23 17:00"},
		{"a 1-working-day deadline from Saturday measures from Monday's opening",
			Rule{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 1}, "2026-11-21 10:00",
			[]string{"2026-11-23 13:00", "2026-11-23 15:00", "2026-11-23 16:12"}, "2026-11-23 17:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Rules: []Rule{tt.rule}}
			d, ok, err := Arm(p, china(t), tt.rule.Kind, CaseFacts{StartedAt: at(t, tt.start)})
			if err != nil || !ok {
				t.Fatalf("Arm = %v, %v", ok, err)
			}
			if !d.DueAt.Equal(at(t, tt.due)) {
				t.Errorf("due %s, want %s", d.DueAt, tt.due)
			}
			if len(d.Warnings) != 3 {
				t.Fatalf("got %d warnings, want 3", len(d.Warnings))
			}
			for i, lvl := range []string{LevelYellow, LevelOrange, LevelRed} {
				w := d.Warnings[i]
				if w.Level != lvl || !w.At.Equal(at(t, tt.want[i])) {
					t.Errorf("warning %d = %s at %s, want %s at %s", i, w.Level, w.At, lvl, tt.want[i])
				}
			}
		})
	}
}

func TestABankWithTwoWarningFractionsGetsYellowAndOrangeOnly(t *testing.T) {
	p := Policy{Rules: []Rule{{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: time.Hour}}, WarningFractions: []float64{0.6, 0.8}}
	d, _, err := Arm(p, china(t), KindAcknowledge, CaseFacts{StartedAt: at(t, "2026-11-20 10:00")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{{LevelYellow, at(t, "2026-11-20 10:36")}, {LevelOrange, at(t, "2026-11-20 10:48")}}
	if len(d.Warnings) != 2 || d.Warnings[0].Level != want[0].Level || !d.Warnings[0].At.Equal(want[0].At) ||
		d.Warnings[1].Level != want[1].Level || !d.Warnings[1].At.Equal(want[1].At) {
		t.Errorf("warnings = %v, want %v", d.Warnings, want)
	}
}

func TestArmForLaterKinds(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		start string
		want  string
	}{
		{"a hand-over at 16:50 on the eve of National Day must be picked up by 10-08 09:05", KindHandoverPickup, "2026-09-30 16:50", "2026-10-08 09:05"},
		{"a return visit after closure on the eve of National Day counts the make-up Saturday", KindReturnVisit, "2026-09-30 15:00", "2026-10-10 17:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok, err := Arm(DefaultPolicy(), china(t), tt.kind, CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL", StartedAt: at(t, tt.start)})
			if err != nil || !ok {
				t.Fatalf("Arm = %v, %v", ok, err)
			}
			if !d.DueAt.Equal(at(t, tt.want)) {
				t.Errorf("due %s, want %s", d.DueAt, tt.want)
			}
		})
	}

	t.Run("a kind with no matching rule is reported as not armed", func(t *testing.T) {
		_, ok, err := Arm(DefaultPolicy(), china(t), KindEquipmentResponse, CaseFacts{Category: "CATEGORY_FEE_DISPUTE", StartedAt: at(t, "2026-11-20 10:00")})
		if err != nil || ok {
			t.Errorf("Arm = ok %v, err %v; want not armed, no error", ok, err)
		}
	})
	t.Run("an unknown kind is an error", func(t *testing.T) {
		if _, _, err := Arm(DefaultPolicy(), china(t), "DEADLINE_KIND_LUNCH", CaseFacts{StartedAt: at(t, "2026-11-20 10:00")}); err == nil {
			t.Error("Arm(unknown kind) = nil error")
		}
	})
}

func TestThePolicysWorkHoursSetTheEndOfAWorkingDay(t *testing.T) {
	p := DefaultPolicy()
	p.WorkHours = calendar.WorkHours{Start: 8*time.Hour + 30*time.Minute, End: 17*time.Hour + 30*time.Minute}
	d, _, err := Arm(p, china(t), KindFirstAnswer, CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL", StartedAt: at(t, "2026-11-20 10:00")})
	if err != nil {
		t.Fatal(err)
	}
	if want := at(t, "2026-11-23 17:30"); !d.DueAt.Equal(want) {
		t.Errorf("due %s, want %s", d.DueAt, want)
	}
}

func TestTheBranchLocationDecidesTheCalendarDay(t *testing.T) {
	// 2026-11-20 20:00 UTC is Friday in UTC but Saturday 04:00 in Shanghai.
	started := time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		loc  *time.Location
		want time.Time
	}{
		{"with no location the calendar's Asia/Shanghai reads it as Saturday", nil, at(t, "2026-11-23 17:00")},
		{"a branch in UTC reads it as Friday evening", time.UTC, time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, err := Arm(DefaultPolicy(), china(t), KindFirstAnswer, CaseFacts{Severity: "SEVERITY_NORMAL", StartedAt: started, Location: tt.loc})
			if err != nil {
				t.Fatal(err)
			}
			if !d.DueAt.Equal(tt.want) {
				t.Errorf("due %s, want %s", d.DueAt, tt.want)
			}
		})
	}
}

func TestDeadlinesCountedBeyondTheCalendarDataAreMarkedProvisional(t *testing.T) {
	tests := []struct {
		name  string
		start string
		kind  Kind
		want  bool
	}{
		{"a resolution counted into 2028 (no official data) is provisional", "2027-12-28 10:00", KindResolution, true},
		{"a resolution counted from 2026 into 2027 (shipped data) is not", "2026-12-28 10:00", KindResolution, false},
		{"a resolution counted inside 2026 is not", "2026-11-20 10:00", KindResolution, false},
		{"a calendar-clock deadline never depends on the calendar", "2027-12-31 10:00", KindAcknowledge, false},
		{"a regulatory limit whose days run into 2028 is provisional", "2027-12-28 10:00", KindRegulatoryDecision, true},
		{"a regulatory limit whose last day is 2027-12-31 is not, though it ends at midnight in 2028", "2027-12-16 10:00", KindRegulatoryDecision, false},
		{"a regulatory limit inside 2026 is not", "2026-11-20 10:00", KindRegulatoryDecision, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok, err := Arm(DefaultPolicy(), china(t), tt.kind, CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL", StartedAt: at(t, tt.start)})
			if err != nil || !ok {
				t.Fatalf("Arm = %v, %v", ok, err)
			}
			if d.Provisional != tt.want {
				t.Errorf("Provisional = %v, want %v (due %s)", d.Provisional, tt.want, d.DueAt)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Policy)
		want   string
	}{
		{"a working-days rule without days", func(p *Policy) { p.Rules[4].WorkingDays = 0 }, "rules[4].working_days: must be > 0 for the working-days clock"},
		{"a working-days rule with too many days", func(p *Policy) { p.Rules[4].WorkingDays = 61 }, "rules[4].working_days: must be <= 60"},
		{"a working-days rule with a duration", func(p *Policy) { p.Rules[4].Duration = time.Hour }, "rules[4].duration: must be 0 for the working-days clock"},
		{"a calendar rule without a duration", func(p *Policy) { p.Rules[0].Duration = 0 }, "rules[0].duration: must be > 0 for the calendar clock"},
		{"a business-hours rule with working days", func(p *Policy) { p.Rules[1].WorkingDays = 2 }, "rules[1].working_days: must be 0 for the business-hours clock"},
		{"an unknown kind", func(p *Policy) { p.Rules[2].Kind = "DEADLINE_KIND_NAP" }, `rules[2].kind: unknown deadline kind "DEADLINE_KIND_NAP"`},
		{"an unknown clock", func(p *Policy) { p.Rules[2].Clock = "CLOCK_LUNAR" }, `rules[2].clock: unknown clock "CLOCK_LUNAR"`},
		{"an unknown severity", func(p *Policy) { p.Rules[3].Severity = "SEVERITY_HUGE" }, `rules[3].severity: unknown severity "SEVERITY_HUGE"`},
		{"an unknown category", func(p *Policy) { p.Rules[2].Category = "complaints" }, `rules[2].category: unknown category "complaints"`},
		{"a duplicate rule", func(p *Policy) { p.Rules = append(p.Rules, p.Rules[5]) }, "rules[10]: same kind, severity, category, channel and customer tier as rules[5]"},
		{"no rules", func(p *Policy) { p.Rules = nil }, "rules: must contain at least one rule"},
		{"a warning fraction of 1", func(p *Policy) { p.WarningFractions[2] = 1 }, "warning_fractions[2]: must be between 0 and 1 exclusive"},
		{"a NaN warning fraction", func(p *Policy) { p.WarningFractions[0] = math.NaN() }, "warning_fractions[0]: must be between 0 and 1 exclusive"},
		{"warning fractions out of order", func(p *Policy) { p.WarningFractions = []float64{0.5, 0.4} }, "warning_fractions[1]: must be greater than warning_fractions[0] (0.5)"},
		{"four warning fractions", func(p *Policy) { p.WarningFractions = []float64{0.2, 0.4, 0.6, 0.8} }, "warning_fractions: at most 3 values"},
		{"closing before opening", func(p *Policy) { p.WorkHours = calendar.WorkHours{Start: 17 * time.Hour, End: 9 * time.Hour} }, "workday_end: must be after workday_start (17:00), got 09:00"},
		{"opening past midnight", func(p *Policy) { p.WorkHours = calendar.WorkHours{Start: 25 * time.Hour, End: 9 * time.Hour} }, "workday_start: must be a time of day"},
	}
	for _, tt := range tests {
		t.Run("Validate rejects "+tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.Rules = slices.Clone(p.Rules)
			tt.mutate(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Errorf("Validate() error %v does not carry a *FieldError", err)
			}
		})
	}

	t.Run("Validate reports every problem at once", func(t *testing.T) {
		p := DefaultPolicy()
		p.Rules = slices.Clone(p.Rules)
		p.Rules[0].Duration = 0
		p.Rules[4].WorkingDays = 0
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), "rules[0].duration") || !strings.Contains(err.Error(), "rules[4].working_days") {
			t.Errorf("Validate() = %v, want both problems", err)
		}
	})

	t.Run("ArmAtCreation refuses an invalid policy", func(t *testing.T) {
		p := DefaultPolicy()
		p.Rules = slices.Clone(p.Rules)
		p.Rules[4].WorkingDays = 0
		if _, err := ArmAtCreation(p, china(t), CaseFacts{StartedAt: at(t, "2026-11-20 10:00")}); err == nil {
			t.Error("ArmAtCreation with an invalid policy = nil error")
		}
	})
}

func TestArmAtCreationRejectsMissingInputs(t *testing.T) {
	tests := []struct {
		name  string
		cal   func(*testing.T) *calendar.Calendar
		facts CaseFacts
		want  string
	}{
		{"a case without a start time", china, CaseFacts{Severity: "SEVERITY_NORMAL"}, "started_at: must be set"},
		{"a nil calendar", func(*testing.T) *calendar.Calendar { return nil }, CaseFacts{StartedAt: time.Now()}, "nil calendar"},
	}
	for _, tt := range tests {
		t.Run("ArmAtCreation rejects "+tt.name, func(t *testing.T) {
			_, err := ArmAtCreation(DefaultPolicy(), tt.cal(t), tt.facts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestKindAndClockNamesMatchTheProto(t *testing.T) {
	// The proto enum names as they appear in counterdesk/slatimer/v1; JSON
	// here so a typo in a Go constant cannot hide behind the same typo in
	// the test.
	var want struct {
		Kinds  []string
		Clocks []string
	}
	if err := json.Unmarshal([]byte(`{
		"kinds": ["DEADLINE_KIND_ACKNOWLEDGE","DEADLINE_KIND_HANDOVER_PICKUP","DEADLINE_KIND_EQUIPMENT_RESPONSE","DEADLINE_KIND_MAJOR_REPORT","DEADLINE_KIND_FIRST_ANSWER","DEADLINE_KIND_RESOLUTION","DEADLINE_KIND_REGULATORY_DECISION","DEADLINE_KIND_RETURN_VISIT"],
		"clocks": ["CLOCK_CALENDAR","CLOCK_BUSINESS_HOURS","CLOCK_WORKING_DAYS","CLOCK_CALENDAR_DAYS"]}`), &want); err != nil {
		t.Fatal(err)
	}
	for i, k := range Kinds() {
		if string(k) != want.Kinds[i] {
			t.Errorf("Kinds()[%d] = %s, want %s", i, k, want.Kinds[i])
		}
	}
	if len(Clocks()) != len(want.Clocks) {
		t.Fatalf("Clocks() = %v, want %v", Clocks(), want.Clocks)
	}
	for i, c := range Clocks() {
		if string(c) != want.Clocks[i] {
			t.Errorf("clock %d = %s, want %s", i, c, want.Clocks[i])
		}
	}
}
