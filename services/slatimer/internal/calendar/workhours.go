package calendar

import (
	"errors"
	"fmt"
	"time"
)

// WorkHours are a bank's opening hours on a working day, as wall-clock offsets
// from midnight (Start 9h = 09:00 local). They are a per-bank setting; the zero
// value means DefaultWorkHours.
type WorkHours struct {
	Start time.Duration
	End   time.Duration
}

// DefaultWorkHours is 09:00–17:00, the default of domain.md.
func DefaultWorkHours() WorkHours {
	return WorkHours{Start: 9 * time.Hour, End: 17 * time.Hour}
}

// IsZero reports whether w is unset (and so means the default).
func (w WorkHours) IsZero() bool { return w == WorkHours{} }

// OrDefault returns w, or DefaultWorkHours when w is unset.
func (w WorkHours) OrDefault() WorkHours {
	if w.IsZero() {
		return DefaultWorkHours()
	}
	return w
}

// Validate checks 0 <= Start < End < 24h on whole seconds. End must stay
// before midnight because a day's closing time has to fall on that same day
// (rickar/cal compares clock readings, and 24:00 reads as 00:00), and whole
// seconds because rickar/cal ignores sub-second clock parts.
func (w WorkHours) Validate() error {
	var errs []error
	check := func(name string, v time.Duration) {
		switch {
		case v < 0 || v >= 24*time.Hour:
			errs = append(errs, fmt.Errorf("%s: must be between 00:00 and 23:59:59, got %v", name, v))
		case v%time.Second != 0:
			errs = append(errs, fmt.Errorf("%s: must be a whole number of seconds, got %v", name, v))
		}
	}
	check("start", w.Start)
	check("end", w.End)
	if len(errs) == 0 && w.End <= w.Start {
		errs = append(errs, fmt.Errorf("end: must be after start (%s), got %s", FormatClock(w.Start), FormatClock(w.End)))
	}
	return errors.Join(errs...)
}

// ParseWorkHours parses "HH:MM" opening and closing times as the API carries
// them; empty strings for both give DefaultWorkHours.
func ParseWorkHours(start, end string) (WorkHours, error) {
	if start == "" && end == "" {
		return DefaultWorkHours(), nil
	}
	s, err := parseClock(start)
	if err != nil {
		return WorkHours{}, fmt.Errorf("start: %w", err)
	}
	e, err := parseClock(end)
	if err != nil {
		return WorkHours{}, fmt.Errorf("end: %w", err)
	}
	w := WorkHours{Start: s, End: e}
	return w, w.Validate()
}

// String formats the hours as "09:00-17:00".
func (w WorkHours) String() string {
	return FormatClock(w.Start) + "-" + FormatClock(w.End)
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// FormatClock formats a time of day given as time since midnight: "17:00"
// (or "17:00:30" when it has seconds).
func FormatClock(d time.Duration) string {
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}
