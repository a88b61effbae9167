package sla

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
)

// CaseFacts are what rule matching and deadline counting need to know about
// a case. Category, Severity, Channel and Tier are proto enum names.
type CaseFacts struct {
	Category string
	Severity string
	Channel  string
	// Tier is the customer's tier (CUSTOMER_TIER_*); empty or
	// CUSTOMER_TIER_UNSPECIFIED when the case has no customer tier, which
	// only rules without a tier restriction match.
	Tier string
	// StartedAt is when the clock starts: creation for creation deadlines,
	// the hand-over for pickup, closure for the return visit.
	StartedAt time.Time
	// ReceivedAt is when the bank received the case, from which the
	// regulatory decision limit runs (a letter may be registered days after
	// it arrived). Zero, or after StartedAt, means StartedAt.
	ReceivedAt time.Time
	// Location is the branch's zone, in which working days and hours are
	// read; nil means the calendar's location (Asia/Shanghai by default).
	Location *time.Location
	// Hours are the branch's opening periods (lunch breaks, Saturday
	// mornings), in which business time is counted; none: the policy's work
	// hours, the bank's default.
	Hours []calendar.Period
}

// Warning is the moment a deadline reaches a warning level.
type Warning struct {
	Level string // LevelYellow, LevelOrange or LevelRed
	At    time.Time
}

// Deadline is an armed limit. Times are in the facts' location (for
// display); compare them with Equal.
type Deadline struct {
	Kind      Kind
	Clock     Clock
	StartedAt time.Time
	DueAt     time.Time
	Warnings  []Warning
	// Provisional is set when the due time was counted across days of a year
	// the calendar has no official holiday data for, so only weekends and the
	// statutory holidays were known: it may move when the year is loaded.
	// Always false for the calendar clock. For the calendar-days clock it
	// depends on the days looked at: those from the start to the last day.
	Provisional bool
	// Basis is what the deadline was counted from (see Recount).
	Basis Basis
}

// ArmAtCreation returns the deadlines that start when a case is created: for
// every kind armed at creation, the most specific matching rule, sorted by
// DueAt then Kind. Kinds with no matching rule are simply absent.
//
// How each clock ends (decided for the product; banks can only change the
// numbers):
//   - Calendar: StartedAt plus the duration in wall time; holidays and nights
//     count.
//   - Business hours: only time inside the policy's work hours on working
//     days counts; a start outside hours counts from the next opening.
//   - Working days: N working days end at the close of business
//     (WorkHours.End, local) of the N-th working day after the calendar day
//     on which the clock started. The start day never counts, working or not:
//     a case received at 16:55 must not lose a day, and one received on a
//     Saturday is not answered "by Saturday". E.g. received Friday
//     2026-11-20 10:00 Asia/Shanghai, 1 working day: Monday 2026-11-23 17:00.
//   - Calendar days (the Civil Code's way of counting a period in days, for
//     the regulator's limit): the start day is not counted; the last day is
//     the N-th calendar day after it, or, when that is not a working day of
//     the branch's calendar (weekend, holiday, closure; a make-up working
//     Saturday is a working day), the next working day; the limit ends at
//     the end of that day, 24:00 local (00:00 of the day after), not at
//     close of business: the Civil Code ends a period at 24:00, and the
//     bank can decide and tell the customer after its counters close. E.g.
//     received 2026-09-20 10:00 Asia/Shanghai, 15 days: the 15th day
//     2026-10-05 is inside National Day, so the limit ends 2026-10-09 00:00.
//
// A regulatory decision limit starts at CaseFacts.ReceivedAt, every other
// deadline at StartedAt.
//
// Warnings fall when the policy's fractions of the deadline's own measure
// have elapsed: wall time for the calendar and calendar-days clocks (from
// the start to the end of the last day), business time for the other two.
// For working days that measure is the business time from StartedAt (or the
// next opening) to DueAt, so a case received late on a Friday warns on
// Monday rather than over the weekend. Warning times are rounded to the
// second.
//
// When two matching rules of a kind are equally specific, the one due first
// wins: a policy ambiguity should never give the customer a later answer.
func ArmAtCreation(p Policy, cal *calendar.Calendar, f CaseFacts) ([]Deadline, error) {
	a, err := newArmer(p, cal, f)
	if err != nil {
		return nil, err
	}
	var out []Deadline
	for _, k := range Kinds() {
		if !k.ArmedAtCreation() {
			continue
		}
		if d, ok := a.arm(k); ok {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(x, y Deadline) int {
		if c := x.DueAt.Compare(y.DueAt); c != 0 {
			return c
		}
		return strings.Compare(string(x.Kind), string(y.Kind))
	})
	return out, nil
}

// Arm arms one deadline of the given kind, whether or not the kind is armed
// at creation (hand-over pickup on a hand-over, return visit at closure).
// ok is false when no rule of the policy matches the case.
func Arm(p Policy, cal *calendar.Calendar, kind Kind, f CaseFacts) (d Deadline, ok bool, err error) {
	if !kind.Valid() {
		return Deadline{}, false, fmt.Errorf("unknown deadline kind %q", kind)
	}
	a, err := newArmer(p, cal, f)
	if err != nil {
		return Deadline{}, false, err
	}
	d, ok = a.arm(kind)
	return d, ok, nil
}

// armer holds what every deadline of one case shares.
type armer struct {
	p        Policy
	cal      *calendar.Calendar // with the policy's work hours
	facts    CaseFacts
	start    time.Time // StartedAt in the facts' location
	received time.Time // ReceivedAt (or StartedAt) in the facts' location
}

func newArmer(p Policy, cal *calendar.Calendar, f CaseFacts) (*armer, error) {
	if cal == nil {
		return nil, errors.New("sla: nil calendar")
	}
	if err := errors.Join(p.countable()...); err != nil {
		return nil, fmt.Errorf("invalid policy: %w", err)
	}
	if f.StartedAt.IsZero() {
		return nil, &FieldError{Field: "started_at", Problem: "must be set"}
	}
	c, err := cal.WithWorkHours(p.WorkHours)
	if err != nil {
		return nil, err
	}
	if c, err = c.WithOpeningHours(f.Hours); err != nil {
		return nil, err
	}
	loc := f.Location
	if loc == nil {
		loc = c.Location()
	}
	a := &armer{p: p, cal: c, facts: f, start: f.StartedAt.In(loc), received: f.StartedAt.In(loc)}
	if !f.ReceivedAt.IsZero() && f.ReceivedAt.Before(f.StartedAt) {
		a.received = f.ReceivedAt.In(loc)
	}
	return a, nil
}

func (a *armer) arm(kind Kind) (Deadline, bool) {
	best, found := Deadline{}, false
	bestSpec := -1
	for _, r := range a.p.Rules {
		if r.Kind != kind || !r.matches(a.facts) {
			continue
		}
		s := r.specificity()
		if s < bestSpec {
			continue
		}
		d := a.deadline(r)
		if s > bestSpec || d.DueAt.Before(best.DueAt) {
			best, found, bestSpec = d, true, s
		}
	}
	return best, found
}

func (a *armer) deadline(r Rule) Deadline {
	wh := a.cal.WorkHours()
	b := Basis{
		Clock: r.Clock, Duration: r.Duration, WorkingDays: r.WorkingDays, CalendarDays: r.CalendarDays,
		WorkStart: wh.Start, WorkEnd: wh.End, Fractions: a.p.Fractions(),
		CalendarID: a.cal.ID(), TimeZone: a.start.Location().String(), PolicyVersion: a.p.Version,
		Hours: basisHours(a.facts.Hours),
	}
	start := a.start
	if r.Kind == KindRegulatoryDecision {
		start = a.received
	}
	return count(r.Kind, b, a.cal, start)
}

// Basis is everything a deadline was counted from. It is stored with the
// deadline so that the deadline can be counted again when its calendar
// changes (a national year loaded, a branch closed) or its clock resumes or
// restarts, without reading the policy again: a case keeps the policy
// version it was armed with.
type Basis struct {
	Clock        Clock         `json:"clock"`
	Duration     time.Duration `json:"duration,omitempty"`
	WorkingDays  int           `json:"workingDays,omitempty"`
	CalendarDays int           `json:"calendarDays,omitempty"`
	WorkStart    time.Duration `json:"workStart"`
	WorkEnd      time.Duration `json:"workEnd"`
	Fractions    []float64     `json:"fractions"`
	CalendarID   string        `json:"calendarId"`
	TimeZone     string        `json:"timeZone"`
	// PolicyVersion is the version of the bank's policy the rule came from
	// (0: the default policy, or armed before policies were versioned).
	PolicyVersion int64 `json:"policyVersion,omitempty"`
	// Hours are the branch's opening periods the deadline was counted in
	// (none: WorkStart-WorkEnd).
	Hours []BasisPeriod `json:"hours,omitempty"`
}

// BasisPeriod is an opening period as a basis stores it.
type BasisPeriod struct {
	Weekdays []time.Weekday `json:"weekdays"`
	Opens    time.Duration  `json:"opens"`
	Closes   time.Duration  `json:"closes"`
}

func basisHours(ps []calendar.Period) []BasisPeriod {
	var out []BasisPeriod
	for _, p := range ps {
		out = append(out, BasisPeriod{Weekdays: p.Weekdays, Opens: p.Opens, Closes: p.Closes})
	}
	return out
}

// Periods returns the basis' opening periods.
func (b Basis) Periods() []calendar.Period {
	var out []calendar.Period
	for _, p := range b.Hours {
		out = append(out, calendar.Period{Weekdays: p.Weekdays, Opens: p.Opens, Closes: p.Closes})
	}
	return out
}

// Recount counts a deadline of kind again from its basis on cal (the
// calendar as it is now), from the same start. The start is read in the
// basis' zone. The result equals what ArmAtCreation gave when cal has not
// changed in between.
func Recount(kind Kind, b Basis, cal *calendar.Calendar, startedAt time.Time) (Deadline, error) {
	if cal == nil {
		return Deadline{}, errors.New("sla: nil calendar")
	}
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil || b.TimeZone == "" {
		return Deadline{}, fmt.Errorf("sla: deadline basis has an unknown time zone %q", b.TimeZone)
	}
	c, err := cal.WithWorkHours(calendar.WorkHours{Start: b.WorkStart, End: b.WorkEnd})
	if err != nil {
		return Deadline{}, err
	}
	if c, err = c.WithOpeningHours(b.Periods()); err != nil {
		return Deadline{}, err
	}
	return count(kind, b, c, startedAt.In(loc)), nil
}

// count counts one deadline; cal has the basis' work hours and start is in
// the branch's zone.
func count(kind Kind, b Basis, cal *calendar.Calendar, start time.Time) Deadline {
	d := Deadline{Kind: kind, Clock: b.Clock, StartedAt: start, Basis: b}
	var measure time.Duration // what the warning fractions are fractions of
	wall := false             // whether measure is wall time rather than business time
	switch b.Clock {
	case ClockCalendar:
		d.DueAt = start.Add(b.Duration)
		measure, wall = b.Duration, true
	case ClockBusinessHours:
		d.DueAt = cal.AddBusinessTime(start, b.Duration)
		measure = b.Duration
		d.Provisional = cal.Provisional(start, d.DueAt)
	case ClockWorkingDays:
		d.DueAt = cal.AddWorkingDays(start, b.WorkingDays)
		measure = cal.BusinessTimeBetween(start, d.DueAt)
		d.Provisional = cal.Provisional(start, d.DueAt)
	case ClockCalendarDays:
		last := cal.CalendarDaysLastDay(start, b.CalendarDays)
		d.DueAt = cal.EndOfCalendarDays(start, b.CalendarDays)
		measure, wall = d.DueAt.Sub(start), true
		// The days looked at run to the last day; its midnight end may fall
		// in the next year, which was not looked at.
		d.Provisional = cal.Provisional(start, last.At(12*time.Hour, start.Location()))
	}
	for i, fr := range b.Fractions {
		if i >= len(levels) {
			break
		}
		var at time.Time
		if wall {
			at = start.Add(fraction(measure, fr))
		} else {
			at = cal.AddBusinessTime(start, fraction(measure, fr))
		}
		d.Warnings = append(d.Warnings, Warning{Level: levels[i], At: at})
	}
	return d
}

// fraction returns fr of d rounded to the second: float products like
// 0.9×1h come out a nanosecond short, and nobody is warned at sub-second
// precision.
func fraction(d time.Duration, fr float64) time.Duration {
	return time.Duration(math.Round(float64(d)*fr/float64(time.Second))) * time.Second
}
