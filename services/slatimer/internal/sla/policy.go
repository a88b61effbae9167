// Package sla turns a bank's SLA policy and the facts of a case into
// deadlines with their yellow/orange/red warning times. It decides which rule
// applies to a case (the most specific one), counts the limit on the rule's
// clock (wall time, business hours, working days or calendar days of the
// bank's calendar), and validates policies that banks upload. It is pure domain code: the
// service layer maps its string enums to and from protobuf, stores deadlines
// and fires the timers.
package sla

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
)

// Kind is what a deadline is for. Values are the proto DeadlineKind enum
// names, so they pass through APIs and events unchanged.
type Kind string

// Deadline kinds (counterdesk.slatimer.v1.DeadlineKind).
const (
	KindAcknowledge        Kind = "DEADLINE_KIND_ACKNOWLEDGE"
	KindHandoverPickup     Kind = "DEADLINE_KIND_HANDOVER_PICKUP"
	KindEquipmentResponse  Kind = "DEADLINE_KIND_EQUIPMENT_RESPONSE"
	KindMajorReport        Kind = "DEADLINE_KIND_MAJOR_REPORT"
	KindFirstAnswer        Kind = "DEADLINE_KIND_FIRST_ANSWER"
	KindResolution         Kind = "DEADLINE_KIND_RESOLUTION"
	KindRegulatoryDecision Kind = "DEADLINE_KIND_REGULATORY_DECISION"
	KindReturnVisit        Kind = "DEADLINE_KIND_RETURN_VISIT"
)

// Kinds lists every deadline kind in proto order.
func Kinds() []Kind {
	return []Kind{KindAcknowledge, KindHandoverPickup, KindEquipmentResponse, KindMajorReport,
		KindFirstAnswer, KindResolution, KindRegulatoryDecision, KindReturnVisit}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds(), k) }

// ArmedAtCreation reports whether a deadline of this kind starts when the
// case is created. Hand-over pickup starts on each hand-over and the return
// visit at closure; the service arms those with Arm when that happens.
func (k Kind) ArmedAtCreation() bool {
	return k.Valid() && k != KindHandoverPickup && k != KindReturnVisit
}

// Clock is how a limit is counted. Values are the proto Clock enum names.
type Clock string

// Clocks (counterdesk.slatimer.v1.Clock).
const (
	// ClockCalendar counts wall time, holidays and nights included.
	ClockCalendar Clock = "CLOCK_CALENDAR"
	// ClockBusinessHours counts only time inside work hours on working days.
	ClockBusinessHours Clock = "CLOCK_BUSINESS_HOURS"
	// ClockWorkingDays counts whole working days; see ArmAtCreation for when
	// such a limit ends.
	ClockWorkingDays Clock = "CLOCK_WORKING_DAYS"
	// ClockCalendarDays counts calendar days the civil-code way (the day the
	// clock starts not counted, a last day that is not a working day moved
	// to the next working day); see ArmAtCreation for when it ends.
	ClockCalendarDays Clock = "CLOCK_CALENDAR_DAYS"
)

// Clocks lists every clock in proto order.
func Clocks() []Clock {
	return []Clock{ClockCalendar, ClockBusinessHours, ClockWorkingDays, ClockCalendarDays}
}

// Valid reports whether c is a known clock.
func (c Clock) Valid() bool { return slices.Contains(Clocks(), c) }

// Category groups usable in Rule.Category besides the proto Category names.
// The regulatory 15-day limit applies to consumer complaints as a class, and a
// bank should not have to repeat a rule for each of eight categories (nor
// miss one when a category is added).
const (
	// CategoryComplaint matches every complaint category (客户投诉; proto
	// values 100 and up).
	CategoryComplaint = "complaint"
	// CategoryCounterException matches every counter-exception category
	// (柜面异常; proto values 1-99).
	CategoryCounterException = "counter_exception"
)

var counterExceptionCategories = []string{
	"CATEGORY_SYSTEM_FAILURE", "CATEGORY_EQUIPMENT_FAILURE", "CATEGORY_IDENTITY_MISMATCH",
	"CATEGORY_ACCOUNT_INFO_ERROR", "CATEGORY_TRANSACTION_ERROR", "CATEGORY_CASH_DISCREPANCY",
	"CATEGORY_VOUCHER_ANOMALY", "CATEGORY_SUSPECTED_FRAUD", "CATEGORY_QUEUE_TICKET_INCIDENT",
}

var complaintCategories = []string{
	"CATEGORY_SERVICE_ATTITUDE", "CATEGORY_PROCESSING_DELAY", "CATEGORY_FEE_DISPUTE",
	"CATEGORY_BUSINESS_DISPUTE", "CATEGORY_PRODUCT_MISUNDERSTANDING", "CATEGORY_RULE_DISPUTE",
	"CATEGORY_COMPENSATION_DEMAND", "CATEGORY_FACILITIES",
}

var severities = []string{"SEVERITY_NORMAL", "SEVERITY_COMPLEX", "SEVERITY_MAJOR"}

// channels and tiers are the proto counterdesk.cases.v1 Channel and
// CustomerTier names a rule may be restricted to (a test holds them to the
// proto). A case always has a channel; it may have no tier (no customer
// given), which tierUnknown stands for when policies are checked for
// coverage.
var (
	channels = []string{
		"CHANNEL_ON_SITE", "CHANNEL_OPINION_BOOK", "CHANNEL_LETTER", "CHANNEL_PHONE",
		"CHANNEL_ONLINE", "CHANNEL_HOTLINE", "CHANNEL_REGULATOR_REFERRAL",
	}
	tiers       = []string{"CUSTOMER_TIER_REGULAR", "CUSTOMER_TIER_GOLD", "CUSTOMER_TIER_PRIVATE"}
	tierUnknown = "CUSTOMER_TIER_UNSPECIFIED"
)

// IsComplaint reports whether a proto Category name is a complaint.
func IsComplaint(category string) bool { return slices.Contains(complaintCategories, category) }

// IsCounterException reports whether a proto Category name is a counter
// exception.
func IsCounterException(category string) bool {
	return slices.Contains(counterExceptionCategories, category)
}

// Rule is one limit of a policy.
type Rule struct {
	Kind  Kind
	Clock Clock
	// Duration is the limit for the calendar and business-hours clocks.
	Duration time.Duration
	// WorkingDays is the limit for the working-days clock.
	WorkingDays int
	// CalendarDays is the limit for the calendar-days clock. The API has one
	// field for a number of days, PolicyRule.working_days, and carries it
	// there for both day clocks; field errors name it so.
	CalendarDays int
	// Severity restricts the rule to one proto Severity name; empty = all.
	Severity string
	// Category restricts the rule to one proto Category name, or to the
	// groups CategoryComplaint / CategoryCounterException; empty = all.
	Category string
	// Channel restricts the rule to one proto Channel name; empty = all.
	Channel string
	// CustomerTier restricts the rule to one proto CustomerTier name; empty
	// = all, including cases without a tier.
	CustomerTier string
}

// matches reports whether the rule applies to a case.
func (r Rule) matches(f CaseFacts) bool {
	if r.Severity != "" && r.Severity != f.Severity ||
		r.Channel != "" && r.Channel != f.Channel ||
		r.CustomerTier != "" && r.CustomerTier != f.Tier {
		return false
	}
	switch r.Category {
	case "":
		return true
	case CategoryComplaint:
		return IsComplaint(f.Category)
	case CategoryCounterException:
		return IsCounterException(f.Category)
	default:
		return r.Category == f.Category
	}
}

// unrestricted reports whether the rule applies to every case.
func (r Rule) unrestricted() bool {
	return r.Severity == "" && r.Category == "" && r.Channel == "" && r.CustomerTier == ""
}

// specificity ranks matching rules: the number of restricting fields first
// (category, severity, channel, tier: more named > fewer), and among equals
// an exact category above a category group, because naming the category is
// the narrower choice.
func (r Rule) specificity() int {
	s := 0
	for _, named := range []string{r.Severity, r.Channel, r.CustomerTier} {
		if named != "" {
			s += 2
		}
	}
	switch r.Category {
	case "":
	case CategoryComplaint, CategoryCounterException:
		s += 2
	default:
		s += 3
	}
	return s
}

// Bounds of a limit. Anything longer is a typo or an attempt to switch a
// clock off, not a service level: the longest limit of the domain is the
// regulator's 15 days extended twice. A calendar-clock limit may be as short
// as a second so that a drill or a test can watch a case breach in real
// time.
const (
	// MinDuration is the shortest calendar or business-hours limit.
	MinDuration = time.Second
	// MaxDuration is the longest calendar or business-hours limit.
	MaxDuration = 90 * 24 * time.Hour
	// MaxWorkingDays mirrors the API's bound on PolicyRule.working_days.
	MaxWorkingDays = 60
	// MaxCalendarDays is the longest calendar-days limit.
	MaxCalendarDays = 60
	// RegulatoryDays is the regulator's decision limit on a consumer
	// complaint (银行保险机构消费投诉处理管理办法: 15 days from receipt). A
	// policy may shorten it, never lengthen it; extensions are granted per
	// case, with an approver and a reason.
	RegulatoryDays = 15
)

// requiredKinds must be armed for every case they apply to: a policy cannot
// drop the acknowledgment, the answer or the resolution, nor the regulator's
// limit on complaints.
var requiredKinds = []Kind{KindAcknowledge, KindFirstAnswer, KindResolution, KindRegulatoryDecision}

// Warning levels, in the order their fractions are listed.
const (
	LevelYellow = "yellow"
	LevelOrange = "orange"
	LevelRed    = "red"
)

var levels = []string{LevelYellow, LevelOrange, LevelRed}

// DefaultWarningFractions are the shares of a limit at which yellow, orange
// and red warnings are raised.
func DefaultWarningFractions() []float64 { return []float64{0.5, 0.75, 0.9} }

// Policy is a bank's SLA policy.
type Policy struct {
	// Version is the stored version of the policy (1 for a bank's first,
	// 0 for the default). The store sets it when it reads the policy; arming
	// records it in each deadline's Basis. It is not part of the policy's
	// stored form.
	Version int64 `json:"-"`
	Rules   []Rule
	// WarningFractions raise warnings in level order (yellow, orange, red)
	// when that share of a limit has elapsed; empty means
	// DefaultWarningFractions. A bank listing fewer than three gets only the
	// first levels.
	WarningFractions []float64
	// WorkHours are the bank's opening hours; zero means 09:00-17:00.
	WorkHours calendar.WorkHours
}

// Fractions returns the warning fractions in effect.
func (p Policy) Fractions() []float64 {
	if len(p.WarningFractions) == 0 {
		return DefaultWarningFractions()
	}
	return p.WarningFractions
}

// DefaultPolicy is domain.md's table of time limits.
//
// Choices the table leaves open:
//   - A major case answers the customer within 5 working days, like a complex
//     one: a major case is at least as complex, goes up to head office, and its
//     urgency is already covered by the 2-hour written report; 1 working day
//     would be breached routinely and train staff to ignore the warnings.
//   - The regulatory decision limit is 15 calendar days (ClockCalendarDays,
//     from the case's receipt: CaseFacts.ReceivedAt) and applies to every
//     complaint (CategoryComplaint), whatever the channel, since it is the
//     consumer-complaint rules' limit, not a referral's.
//   - Hand-over pickup and return visit are in the policy but not armed at
//     creation (Kind.ArmedAtCreation).
func DefaultPolicy() Policy {
	return Policy{
		Rules: []Rule{
			{Kind: KindAcknowledge, Clock: ClockCalendar, Duration: time.Hour},
			{Kind: KindHandoverPickup, Clock: ClockBusinessHours, Duration: 15 * time.Minute},
			{Kind: KindEquipmentResponse, Clock: ClockCalendar, Duration: 15 * time.Minute, Category: "CATEGORY_EQUIPMENT_FAILURE"},
			{Kind: KindMajorReport, Clock: ClockCalendar, Duration: 2 * time.Hour, Severity: "SEVERITY_MAJOR"},
			{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 1, Severity: "SEVERITY_NORMAL"},
			{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 5, Severity: "SEVERITY_COMPLEX"},
			{Kind: KindFirstAnswer, Clock: ClockWorkingDays, WorkingDays: 5, Severity: "SEVERITY_MAJOR"},
			{Kind: KindResolution, Clock: ClockWorkingDays, WorkingDays: 7},
			{Kind: KindRegulatoryDecision, Clock: ClockCalendarDays, CalendarDays: RegulatoryDays, Category: CategoryComplaint},
			{Kind: KindReturnVisit, Clock: ClockWorkingDays, WorkingDays: 3},
		},
		WarningFractions: DefaultWarningFractions(),
		WorkHours:        calendar.DefaultWorkHours(),
	}
}

// FieldError is one problem of a policy, named by the API field path.
type FieldError struct {
	Field   string // e.g. "rules[2].working_days"
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate reports every problem of the policy at once (joined), each naming
// the field with the API's names, so an administrator can fix an upload in
// one go. On top of what arming needs (every rule countable), a policy a
// bank sets must keep every limit within bounds (MinDuration-MaxDuration,
// MaxWorkingDays, MaxCalendarDays), cover every case with an acknowledgment,
// a first answer and a resolution, and every complaint with the regulator's
// limit, counted in calendar days and no longer than RegulatoryDays.
func (p Policy) Validate() error {
	errs := p.countable()
	errs = append(errs, p.bounded()...)
	errs = append(errs, p.complete()...)
	return errors.Join(errs...)
}

func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

func ruleField(i int, name string) string { return fmt.Sprintf("rules[%d].%s", i, name) }

// countable lists what would stop a policy's rules from being counted at
// all. Arming checks only this: a policy stored under older, looser rules
// still arms its cases rather than leaving them without deadlines.
func (p Policy) countable() []error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldError(field, format, args...)) }
	if len(p.Rules) == 0 {
		bad("rules", "must contain at least one rule")
	}
	type key struct {
		kind                                      Kind
		severity, category, channel, customerTier string
	}
	first := map[key]int{}
	for i, r := range p.Rules {
		f := func(name string) string { return ruleField(i, name) }
		if !r.Kind.Valid() {
			bad(f("kind"), "unknown deadline kind %q", r.Kind)
		}
		switch r.Clock {
		case ClockCalendar, ClockBusinessHours:
			name := clockName(r.Clock)
			if r.Duration <= 0 {
				bad(f("duration"), "must be > 0 for the %s clock", name)
			}
			if r.WorkingDays != 0 || r.CalendarDays != 0 {
				bad(f("working_days"), "must be 0 for the %s clock (use duration)", name)
			}
		case ClockWorkingDays:
			if r.WorkingDays <= 0 {
				bad(f("working_days"), "must be > 0 for the working-days clock")
			} else if r.WorkingDays > MaxWorkingDays {
				bad(f("working_days"), "must be <= %d, got %d", MaxWorkingDays, r.WorkingDays)
			}
			if r.CalendarDays != 0 {
				bad(f("working_days"), "a working-days rule has no calendar days")
			}
			if r.Duration != 0 {
				bad(f("duration"), "must be 0 for the working-days clock (use working_days)")
			}
		case ClockCalendarDays:
			if r.CalendarDays <= 0 {
				bad(f("working_days"), "must be > 0 for the calendar-days clock (the number of calendar days)")
			} else if r.CalendarDays > MaxCalendarDays {
				bad(f("working_days"), "must be <= %d calendar days, got %d", MaxCalendarDays, r.CalendarDays)
			}
			if r.WorkingDays != 0 {
				bad(f("working_days"), "a calendar-days rule has no working days")
			}
			if r.Duration != 0 {
				bad(f("duration"), "must be 0 for the calendar-days clock (use working_days for the number of days)")
			}
		default:
			bad(f("clock"), "unknown clock %q", r.Clock)
		}
		if r.Severity != "" && !slices.Contains(severities, r.Severity) {
			bad(f("severity"), "unknown severity %q", r.Severity)
		}
		if r.Category != "" && r.Category != CategoryComplaint && r.Category != CategoryCounterException &&
			!IsComplaint(r.Category) && !IsCounterException(r.Category) {
			bad(f("category"), "unknown category %q (a CATEGORY_* name, %q or %q)", r.Category, CategoryComplaint, CategoryCounterException)
		}
		if r.Channel != "" && !slices.Contains(channels, r.Channel) {
			bad(f("channel"), "unknown channel %q (a CHANNEL_* name)", r.Channel)
		}
		if r.CustomerTier != "" && !slices.Contains(tiers, r.CustomerTier) {
			bad(f("customer_tier"), "unknown customer tier %q (a CUSTOMER_TIER_* name)", r.CustomerTier)
		}
		k := key{r.Kind, r.Severity, r.Category, r.Channel, r.CustomerTier}
		if j, dup := first[k]; dup {
			bad(fmt.Sprintf("rules[%d]", i), "same kind, severity, category, channel and customer tier as rules[%d]", j)
		} else {
			first[k] = i
		}
	}
	if len(p.WarningFractions) > len(levels) {
		bad("warning_fractions", "at most %d values (yellow, orange, red), got %d", len(levels), len(p.WarningFractions))
	}
	for i, fr := range p.WarningFractions {
		field := fmt.Sprintf("warning_fractions[%d]", i)
		switch {
		case !(fr > 0 && fr < 1): // also rejects NaN
			bad(field, "must be between 0 and 1 exclusive, got %v", fr)
		case i > 0 && fr <= p.WarningFractions[i-1]:
			bad(field, "must be greater than warning_fractions[%d] (%v), got %v", i-1, p.WarningFractions[i-1], fr)
		}
	}
	if w := p.WorkHours; !w.IsZero() {
		// Same bounds as calendar.WorkHours.Validate, reported under the API's
		// field names.
		clockOK := func(d time.Duration) bool { return d >= 0 && d < 24*time.Hour && d%time.Second == 0 }
		switch {
		case !clockOK(w.Start):
			bad("workday_start", "must be a time of day between 00:00 and 23:59, got %v", w.Start)
		case !clockOK(w.End):
			bad("workday_end", "must be a time of day between 00:00 and 23:59, got %v", w.End)
		case w.End <= w.Start:
			bad("workday_end", "must be after workday_start (%s), got %s", calendar.FormatClock(w.Start), calendar.FormatClock(w.End))
		}
	}
	return errs
}

// bounded lists the limits out of bounds and the regulator's limit set on
// another clock or lengthened.
func (p Policy) bounded() []error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldError(field, format, args...)) }
	for i, r := range p.Rules {
		if (r.Clock == ClockCalendar || r.Clock == ClockBusinessHours) && r.Duration > 0 &&
			(r.Duration < MinDuration || r.Duration > MaxDuration) {
			bad(ruleField(i, "duration"), "must be between %v and %v (90 days) for the %s clock, got %v",
				MinDuration, MaxDuration, clockName(r.Clock), r.Duration)
		}
		if r.Kind != KindRegulatoryDecision {
			continue
		}
		switch {
		case r.Clock != ClockCalendarDays:
			bad(ruleField(i, "clock"), "the regulatory decision limit is counted in calendar days (%s), got %q", ClockCalendarDays, r.Clock)
		case r.CalendarDays > RegulatoryDays:
			bad(ruleField(i, "working_days"), "the regulatory decision limit is at most %d calendar days (extensions are granted per case), got %d",
				RegulatoryDays, r.CalendarDays)
		}
	}
	return errs
}

// complete lists the required kinds some case would be armed without: for
// each, the first case (category, severity, channel, tier) no rule of the
// kind matches. The regulator's limit is required for complaints only.
func (p Policy) complete() []error {
	var errs []error
	for _, k := range requiredKinds {
		var rules []Rule
		for _, r := range p.Rules {
			if r.Kind == k {
				rules = append(rules, r)
			}
		}
		if slices.ContainsFunc(rules, Rule.unrestricted) {
			continue
		}
		cats := slices.Concat(counterExceptionCategories, complaintCategories)
		scope, advice := "case", "add a rule of that kind without restrictions"
		if k == KindRegulatoryDecision {
			cats = complaintCategories
			scope, advice = "complaint", fmt.Sprintf("it cannot be removed: add a rule of that kind for category %q", CategoryComplaint)
		}
		if f, ok := uncovered(rules, cats); ok {
			errs = append(errs, fieldError("rules", "no %s rule applies to a %s %s %s %s from %s (%s)",
				k, f.Severity, f.Category, scope, tierName(f.Tier), f.Channel, advice))
		}
	}
	return errs
}

// uncovered returns the first case of the given categories no rule matches.
func uncovered(rules []Rule, categories []string) (CaseFacts, bool) {
	allTiers := append(slices.Clone(tiers), tierUnknown)
	for _, c := range categories {
		for _, s := range severities {
			for _, ch := range channels {
				for _, t := range allTiers {
					f := CaseFacts{Category: c, Severity: s, Channel: ch, Tier: t}
					if !slices.ContainsFunc(rules, func(r Rule) bool { return r.matches(f) }) {
						return f, true
					}
				}
			}
		}
	}
	return CaseFacts{}, false
}

func tierName(t string) string {
	if t == tierUnknown {
		return "of a customer without a tier"
	}
	return "of a " + t + " customer"
}

func clockName(c Clock) string {
	switch c {
	case ClockCalendar:
		return "calendar"
	case ClockBusinessHours:
		return "business-hours"
	case ClockWorkingDays:
		return "working-days"
	case ClockCalendarDays:
		return "calendar-days"
	}
	return string(c)
}
