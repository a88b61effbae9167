// Package sla turns a bank's SLA policy and the facts of a case into
// deadlines with their yellow/orange/red warning times. It decides which rule
// applies to a case (the most specific one), counts the limit on the rule's
// clock (wall time, business hours or working days of the bank's calendar),
// and validates policies that banks upload. It is pure domain code: the
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
)

// Valid reports whether c is a known clock.
func (c Clock) Valid() bool {
	return c == ClockCalendar || c == ClockBusinessHours || c == ClockWorkingDays
}

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
	// Severity restricts the rule to one proto Severity name; empty = all.
	Severity string
	// Category restricts the rule to one proto Category name, or to the
	// groups CategoryComplaint / CategoryCounterException; empty = all.
	Category string
}

// matches reports whether the rule applies to a case.
func (r Rule) matches(category, severity string) bool {
	if r.Severity != "" && r.Severity != severity {
		return false
	}
	switch r.Category {
	case "":
		return true
	case CategoryComplaint:
		return IsComplaint(category)
	case CategoryCounterException:
		return IsCounterException(category)
	default:
		return r.Category == category
	}
}

// specificity ranks matching rules: the number of restricting fields first
// (category+severity > one of them > none), and among equals an exact category
// above a category group, because naming the category is the narrower choice.
func (r Rule) specificity() int {
	s := 0
	if r.Severity != "" {
		s += 2
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

// MaxWorkingDays mirrors the API's bound on PolicyRule.working_days.
const MaxWorkingDays = 60

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
	Rules []Rule
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
//   - The regulatory 15-day decision limit is 15×24h of wall time and applies
//     to every complaint (CategoryComplaint), whatever the channel, since it is
//     the consumer-complaint rules' limit, not a referral's.
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
			{Kind: KindRegulatoryDecision, Clock: ClockCalendar, Duration: 15 * 24 * time.Hour, Category: CategoryComplaint},
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
// one go.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if len(p.Rules) == 0 {
		bad("rules", "must contain at least one rule")
	}
	type key struct {
		kind               Kind
		severity, category string
	}
	first := map[key]int{}
	for i, r := range p.Rules {
		f := func(name string) string { return fmt.Sprintf("rules[%d].%s", i, name) }
		if !r.Kind.Valid() {
			bad(f("kind"), "unknown deadline kind %q", r.Kind)
		}
		switch r.Clock {
		case ClockCalendar, ClockBusinessHours:
			name := clockName(r.Clock)
			if r.Duration <= 0 {
				bad(f("duration"), "must be > 0 for the %s clock", name)
			}
			if r.WorkingDays != 0 {
				bad(f("working_days"), "must be 0 for the %s clock (use duration)", name)
			}
		case ClockWorkingDays:
			if r.WorkingDays <= 0 {
				bad(f("working_days"), "must be > 0 for the working-days clock")
			} else if r.WorkingDays > MaxWorkingDays {
				bad(f("working_days"), "must be <= %d, got %d", MaxWorkingDays, r.WorkingDays)
			}
			if r.Duration != 0 {
				bad(f("duration"), "must be 0 for the working-days clock (use working_days)")
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
		k := key{r.Kind, r.Severity, r.Category}
		if j, dup := first[k]; dup {
			bad(fmt.Sprintf("rules[%d]", i), "same kind, severity and category as rules[%d]", j)
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
	return errors.Join(errs...)
}

func clockName(c Clock) string {
	switch c {
	case ClockCalendar:
		return "calendar"
	case ClockBusinessHours:
		return "business-hours"
	case ClockWorkingDays:
		return "working-days"
	}
	return string(c)
}
