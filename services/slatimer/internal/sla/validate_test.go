package sla

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
)

// fieldErrors returns the *FieldErrors an error of Validate joins.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	}
	return out
}

// Default policy rules by index: 0 acknowledge, 1 pick-up, 2 equipment
// response, 3 major report, 4-6 first answer (normal, complex, major),
// 7 resolution, 8 regulatory decision, 9 return visit.
func TestValidateBoundsEveryLimitAndKeepsTheRequiredOnes(t *testing.T) {
	without := func(kind Kind) func(*Policy) {
		return func(p *Policy) {
			p.Rules = slices.DeleteFunc(p.Rules, func(r Rule) bool { return r.Kind == kind })
		}
	}
	tests := []struct {
		name    string
		mutate  func(*Policy)
		field   string // "" when the policy is valid
		problem string
	}{
		{"a one-second calendar limit, for drills", func(p *Policy) { p.Rules[0].Duration = time.Second }, "", ""},
		{"a half-second calendar limit", func(p *Policy) { p.Rules[0].Duration = 500 * time.Millisecond }, "rules[0].duration", "must be between 1s and 2160h0m0s"},
		{"a calendar limit of 90 days", func(p *Policy) { p.Rules[0].Duration = 90 * 24 * time.Hour }, "", ""},
		{"a calendar limit of 91 days", func(p *Policy) { p.Rules[0].Duration = 91 * 24 * time.Hour }, "rules[0].duration", "must be between 1s and 2160h0m0s (90 days) for the calendar clock"},
		{"a ten-year calendar limit", func(p *Policy) { p.Rules[2].Duration = 10 * 365 * 24 * time.Hour }, "rules[2].duration", "for the calendar clock, got"},
		{"a business-hours limit of 91 days", func(p *Policy) { p.Rules[1].Duration = 91 * 24 * time.Hour }, "rules[1].duration", "for the business-hours clock"},
		{"a negative business-hours limit", func(p *Policy) { p.Rules[1].Duration = -time.Minute }, "rules[1].duration", "must be > 0 for the business-hours clock"},
		{"60 working days", func(p *Policy) { p.Rules[7].WorkingDays = 60 }, "", ""},
		{"61 working days", func(p *Policy) { p.Rules[7].WorkingDays = 61 }, "rules[7].working_days", "must be <= 60"},
		{"a calendar-days return visit of 60 days", func(p *Policy) {
			p.Rules[9] = Rule{Kind: KindReturnVisit, Clock: ClockCalendarDays, CalendarDays: 60}
		}, "", ""},
		{"a calendar-days return visit of 61 days", func(p *Policy) {
			p.Rules[9] = Rule{Kind: KindReturnVisit, Clock: ClockCalendarDays, CalendarDays: 61}
		}, "rules[9].working_days", "must be <= 60 calendar days"},
		{"a calendar-days rule without days", func(p *Policy) { p.Rules[8].CalendarDays = 0 }, "rules[8].working_days", "must be > 0 for the calendar-days clock"},
		{"a calendar-days rule with a duration", func(p *Policy) { p.Rules[8].Duration = time.Hour }, "rules[8].duration", "must be 0 for the calendar-days clock"},
		{"a calendar-days rule with working days", func(p *Policy) { p.Rules[8].WorkingDays = 3 }, "rules[8].working_days", "no working days"},
		{"a calendar rule with calendar days", func(p *Policy) { p.Rules[0].CalendarDays = 3 }, "rules[0].working_days", "must be 0 for the calendar clock"},
		{"a regulatory limit of 10 days: shorter is the bank's right", func(p *Policy) { p.Rules[8].CalendarDays = 10 }, "", ""},
		{"a regulatory limit of 16 days", func(p *Policy) { p.Rules[8].CalendarDays = 16 }, "rules[8].working_days", "at most 15 calendar days"},
		{"a regulatory limit of 30 days, as if extended", func(p *Policy) { p.Rules[8].CalendarDays = 30 }, "rules[8].working_days", "extensions are granted per case"},
		{"a regulatory limit on the calendar clock (15×24h)", func(p *Policy) {
			p.Rules[8] = Rule{Kind: KindRegulatoryDecision, Clock: ClockCalendar, Duration: 15 * 24 * time.Hour, Category: CategoryComplaint}
		}, "rules[8].clock", "counted in calendar days"},
		{"a regulatory limit in working days", func(p *Policy) {
			p.Rules[8] = Rule{Kind: KindRegulatoryDecision, Clock: ClockWorkingDays, WorkingDays: 10, Category: CategoryComplaint}
		}, "rules[8].clock", "counted in calendar days"},
		{"a longer regulatory limit hidden in a more specific rule", func(p *Policy) {
			p.Rules = append(p.Rules, Rule{Kind: KindRegulatoryDecision, Clock: ClockCalendarDays, CalendarDays: 20, Channel: "CHANNEL_LETTER"})
		}, "rules[10].working_days", "at most 15 calendar days"},
		{"no regulatory limit", without(KindRegulatoryDecision), "rules", "no DEADLINE_KIND_REGULATORY_DECISION rule applies"},
		{"a regulatory limit for fee disputes only", func(p *Policy) { p.Rules[8].Category = "CATEGORY_FEE_DISPUTE" }, "rules", "DEADLINE_KIND_REGULATORY_DECISION"},
		{"a regulatory limit for letters only", func(p *Policy) { p.Rules[8].Channel = "CHANNEL_LETTER" }, "rules", "from CHANNEL_ON_SITE"},
		{"a regulatory limit for counter exceptions instead of complaints", func(p *Policy) { p.Rules[8].Category = CategoryCounterException }, "rules", "complaint"},
		{"a regulatory limit per complaint category, all eight named", func(p *Policy) {
			p.Rules = slices.Delete(p.Rules, 8, 9)
			for _, c := range complaintCategories {
				p.Rules = append(p.Rules, Rule{Kind: KindRegulatoryDecision, Clock: ClockCalendarDays, CalendarDays: 15, Category: c})
			}
		}, "", ""},
		{"an unrestricted regulatory limit, for counter exceptions too", func(p *Policy) { p.Rules[8].Category = "" }, "", ""},
		{"no acknowledgment", without(KindAcknowledge), "rules", "no DEADLINE_KIND_ACKNOWLEDGE rule applies"},
		{"no resolution", without(KindResolution), "rules", "no DEADLINE_KIND_RESOLUTION rule applies"},
		{"no first answer", without(KindFirstAnswer), "rules", "no DEADLINE_KIND_FIRST_ANSWER rule applies"},
		{"no first answer for major cases", func(p *Policy) { p.Rules = slices.Delete(p.Rules, 6, 7) }, "rules", "DEADLINE_KIND_FIRST_ANSWER rule applies to a SEVERITY_MAJOR"},
		{"a resolution for regular-tier customers only", func(p *Policy) { p.Rules[7].CustomerTier = "CUSTOMER_TIER_REGULAR" }, "rules", "DEADLINE_KIND_RESOLUTION rule applies to a SEVERITY_NORMAL CATEGORY_SYSTEM_FAILURE case of a CUSTOMER_TIER_GOLD customer"},
		{"a resolution per tier misses customers without one", func(p *Policy) {
			p.Rules[7].CustomerTier = "CUSTOMER_TIER_REGULAR"
			for _, tier := range []string{"CUSTOMER_TIER_GOLD", "CUSTOMER_TIER_PRIVATE"} {
				p.Rules = append(p.Rules, Rule{Kind: KindResolution, Clock: ClockWorkingDays, WorkingDays: 7, CustomerTier: tier})
			}
		}, "rules", "of a customer without a tier"},
		{"an acknowledgment per channel, all seven named", func(p *Policy) {
			p.Rules = slices.Delete(p.Rules, 0, 1)
			for _, ch := range channels {
				p.Rules = append(p.Rules, Rule{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: time.Hour, Channel: ch})
			}
		}, "", ""},
		{"an unknown channel", func(p *Policy) { p.Rules[2].Channel = "CHANNEL_PIGEON" }, "rules[2].channel", `unknown channel "CHANNEL_PIGEON"`},
		{"an unknown tier", func(p *Policy) { p.Rules[3].CustomerTier = "CUSTOMER_TIER_PLATINUM" }, "rules[3].customer_tier", `unknown customer tier "CUSTOMER_TIER_PLATINUM"`},
		{"the unspecified tier as a restriction", func(p *Policy) { p.Rules[3].CustomerTier = "CUSTOMER_TIER_UNSPECIFIED" }, "rules[3].customer_tier", "unknown customer tier"},
		{"two rules that differ only by channel", func(p *Policy) {
			p.Rules = append(p.Rules, Rule{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: 30 * time.Minute, Channel: "CHANNEL_ON_SITE"})
		}, "", ""},
		{"the same channel rule twice", func(p *Policy) {
			r := Rule{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: 30 * time.Minute, Channel: "CHANNEL_ON_SITE"}
			p.Rules = append(p.Rules, r, r)
		}, "rules[11]", "same kind, severity, category, channel and customer tier as rules[10]"},
	}
	for _, tt := range tests {
		verdict := "accepts "
		if tt.field != "" {
			verdict = "rejects "
		}
		t.Run("Validate "+verdict+tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.Rules = slices.Clone(p.Rules)
			tt.mutate(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			fes := fieldErrors(err)
			for _, fe := range fes {
				if fe.Field == tt.field && strings.Contains(fe.Problem, tt.problem) {
					return
				}
			}
			t.Fatalf("Validate() = %v (%d field errors), want one of field %q containing %q", err, len(fes), tt.field, tt.problem)
		})
	}
}

func TestArmingCountsAStoredPolicyThatPredatesTheStricterRules(t *testing.T) {
	// A policy stored before the bounds and required kinds (no regulatory
	// limit, a ten-year acknowledgment) still arms what it has: refusing
	// would leave the bank's new cases with no deadline at all.
	p := Policy{Rules: []Rule{{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: 10 * 365 * 24 * time.Hour}}}
	if p.Validate() == nil {
		t.Fatal("the old policy passes Validate; the test needs one that does not")
	}
	ds, err := ArmAtCreation(p, china(t), CaseFacts{Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_NORMAL", StartedAt: at(t, "2026-11-20 10:00")})
	if err != nil || len(ds) != 1 {
		t.Fatalf("ArmAtCreation = %v, %v; want the acknowledgment", ds, err)
	}
}

func TestRuleValuesMatchTheCasesProto(t *testing.T) {
	names := func(m map[int32]string, keep func(int32) bool) []string {
		var nums []int32
		for n := range m {
			if n != 0 && keep(n) {
				nums = append(nums, n)
			}
		}
		slices.Sort(nums)
		out := make([]string, len(nums))
		for i, n := range nums {
			out[i] = m[n]
		}
		return out
	}
	all := func(int32) bool { return true }
	tests := []struct {
		name      string
		got, want []string
	}{
		{"channels", channels, names(casesv1.Channel_name, all)},
		{"customer tiers", tiers, names(casesv1.CustomerTier_name, all)},
		{"severities", severities, names(casesv1.Severity_name, all)},
		{"counter-exception categories", counterExceptionCategories, names(casesv1.Category_name, func(n int32) bool { return n < 100 })},
		{"complaint categories", complaintCategories, names(casesv1.Category_name, func(n int32) bool { return n >= 100 })},
	}
	for _, tt := range tests {
		t.Run("the "+tt.name+" a rule may name are the proto's", func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("sla has %v, the proto %v", tt.got, tt.want)
			}
		})
	}
	if tierUnknown != casesv1.CustomerTier_CUSTOMER_TIER_UNSPECIFIED.String() {
		t.Errorf("tierUnknown = %q, want the proto's unspecified tier", tierUnknown)
	}
}
