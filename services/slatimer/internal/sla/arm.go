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
// a case. Category, Severity and Channel are proto enum names.
type CaseFacts struct {
	Category string
	Severity string
	// Channel is carried for future rules; no Rule field matches on it yet
	// (the regulatory limit applies to complaints from every channel).
	Channel string
	// StartedAt is when the clock starts: creation for creation deadlines,
	// the hand-over for pickup, closure for the return visit.
	StartedAt time.Time
	// Location is the branch's zone, in which working days and hours are
	// read; nil means the calendar's location (Asia/Shanghai by default).
	Location *time.Location
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
	// Approximate is set when the due time was counted across a year the
	// calendar has no holiday data for, so only weekends were known (see
	// calendar.Calendar.Covers). Always false for the calendar clock.
	Approximate bool
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
//
// Warnings fall when the policy's fractions of the deadline's own measure
// have elapsed: wall time for the calendar clock, business time for the
// other two. For working days that measure is the business time from
// StartedAt (or the next opening) to DueAt, so a case received late on a
// Friday warns on Monday rather than over the weekend. Warning times are
// rounded to the second.
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
	p     Policy
	cal   *calendar.Calendar // with the policy's work hours
	facts CaseFacts
	start time.Time // StartedAt in the facts' location
}

func newArmer(p Policy, cal *calendar.Calendar, f CaseFacts) (*armer, error) {
	if cal == nil {
		return nil, errors.New("sla: nil calendar")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("invalid policy: %w", err)
	}
	if f.StartedAt.IsZero() {
		return nil, &FieldError{Field: "started_at", Problem: "must be set"}
	}
	c, err := cal.WithWorkHours(p.WorkHours)
	if err != nil {
		return nil, err
	}
	loc := f.Location
	if loc == nil {
		loc = c.Location()
	}
	return &armer{p: p, cal: c, facts: f, start: f.StartedAt.In(loc)}, nil
}

func (a *armer) arm(kind Kind) (Deadline, bool) {
	best, found := Deadline{}, false
	bestSpec := -1
	for _, r := range a.p.Rules {
		if r.Kind != kind || !r.matches(a.facts.Category, a.facts.Severity) {
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
	d := Deadline{Kind: r.Kind, Clock: r.Clock, StartedAt: a.start}
	var measure time.Duration // what the warning fractions are fractions of
	switch r.Clock {
	case ClockCalendar:
		d.DueAt = a.start.Add(r.Duration)
	case ClockBusinessHours:
		d.DueAt = a.cal.AddBusinessTime(a.start, r.Duration)
		measure = r.Duration
	case ClockWorkingDays:
		d.DueAt = a.cal.AddWorkingDays(a.start, r.WorkingDays)
		measure = a.cal.BusinessTimeBetween(a.start, d.DueAt)
	}
	if r.Clock != ClockCalendar {
		d.Approximate = !a.cal.CoversRange(a.start, d.DueAt)
	}
	for i, fr := range a.p.Fractions() {
		var at time.Time
		if r.Clock == ClockCalendar {
			at = a.start.Add(fraction(r.Duration, fr))
		} else {
			at = a.cal.AddBusinessTime(a.start, fraction(measure, fr))
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
