package calendar

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve in minimal containers without /usr/share/zoneinfo.

	"github.com/rickar/cal/v2"
)

// Day is one exception to the weekend rule: a day off that would be a weekday
// (holiday, bank closure) or a working day that would be a weekend (调休上班,
// extra opening).
type Day struct {
	Date    Date
	Working bool
	Name    string
}

// Config describes a calendar for New.
type Config struct {
	// Location is the zone the calendar is meant for, used by callers that
	// have no zone of their own; nil means Asia/Shanghai. The calendar's
	// methods always read instants in the instant's own location.
	Location *time.Location
	// WorkHours are the opening hours; zero means DefaultWorkHours.
	WorkHours WorkHours
	// Days are the exceptions to "Monday-Friday working, weekends off".
	Days []Day
	// Years lists the years for which Days is complete, i.e. every holiday
	// and make-up working day of that year is listed. Covers reports on them.
	Years []int
}

// Calendar knows the working days of one calendar id (e.g. "cn" or a bank's
// own) and the bank's opening hours. It is safe for concurrent use;
// AddClosure and AddWorkingDay may run alongside queries.
type Calendar struct {
	id    string
	loc   *time.Location
	hours WorkHours
	tbl   *table // shared with calendars derived by WithWorkHours
	bc    *cal.BusinessCalendar
}

// table holds the day data behind a lock so that a bank's closure added at
// run time is seen by every view (WithWorkHours) of the same calendar.
type table struct {
	mu    sync.RWMutex
	days  map[Date]Day
	years map[int]bool
}

var defaultLocation = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// Unreachable with time/tzdata linked in; a fixed +08:00 is the same
		// zone for every date since 1991.
		return time.FixedZone("CST", 8*3600)
	}
	return loc
})

// DefaultLocation returns Asia/Shanghai, the default zone of branches.
func DefaultLocation() *time.Location { return defaultLocation() }

// New builds a calendar from a bank's own day list. Conflicting entries for
// the same date (one working, one not) are an error, as are invalid dates and
// invalid work hours.
func New(id string, cfg Config) (*Calendar, error) {
	if id == "" {
		return nil, errors.New("calendar id: must not be empty")
	}
	hours := cfg.WorkHours.OrDefault()
	if err := hours.Validate(); err != nil {
		return nil, fmt.Errorf("calendar %q work hours: %w", id, err)
	}
	loc := cfg.Location
	if loc == nil {
		loc = DefaultLocation()
	}
	tbl := &table{days: make(map[Date]Day, len(cfg.Days)), years: make(map[int]bool, len(cfg.Years))}
	for i, d := range cfg.Days {
		if !d.Date.Valid() {
			return nil, fmt.Errorf("calendar %q days[%d].date: %s is not a valid date", id, i, d.Date)
		}
		if prev, ok := tbl.days[d.Date]; ok {
			if prev.Working != d.Working {
				return nil, fmt.Errorf("calendar %q days[%d]: %s is listed both as working and as a day off", id, i, d.Date)
			}
			switch {
			case d.Name == "" || d.Name == prev.Name:
				d.Name = prev.Name
			case prev.Name != "":
				d.Name = prev.Name + "; " + d.Name
			}
		}
		tbl.days[d.Date] = d
	}
	for _, y := range cfg.Years {
		tbl.years[y] = true
	}
	return newView(id, loc, hours, tbl), nil
}

func newView(id string, loc *time.Location, hours WorkHours, tbl *table) *Calendar {
	c := &Calendar{id: id, loc: loc, hours: hours, tbl: tbl}
	bc := cal.NewBusinessCalendar()
	bc.Name = id
	bc.WorkdayFunc = func(t time.Time) bool { return c.IsWorkingDate(DateOf(t)) }
	bc.WorkdayStartFunc = func(t time.Time) time.Time { return DateOf(t).At(c.hours.Start, t.Location()) }
	bc.WorkdayEndFunc = func(t time.Time) time.Time { return DateOf(t).At(c.hours.End, t.Location()) }
	c.bc = bc
	return c
}

// ID returns the calendar id.
func (c *Calendar) ID() string { return c.id }

// Location returns the zone the calendar is meant for (default Asia/Shanghai).
func (c *Calendar) Location() *time.Location { return c.loc }

// WorkHours returns the opening hours used by the business-time methods.
func (c *Calendar) WorkHours() WorkHours { return c.hours }

// WithWorkHours returns a view of the same day data with other opening hours;
// zero hours mean the default. Closures added to either view are seen by both,
// because opening hours are a per-bank policy setting while the days belong to
// the calendar.
func (c *Calendar) WithWorkHours(w WorkHours) (*Calendar, error) {
	w = w.OrDefault()
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("calendar %q work hours: %w", c.id, err)
	}
	if w == c.hours {
		return c, nil
	}
	return newView(c.id, c.loc, w, c.tbl), nil
}

// Clone returns an independent copy under a new id, so that a bank can start
// from the national calendar and add its own closures without changing it.
func (c *Calendar) Clone(id string) *Calendar {
	c.tbl.mu.RLock()
	defer c.tbl.mu.RUnlock()
	tbl := &table{days: make(map[Date]Day, len(c.tbl.days)), years: make(map[int]bool, len(c.tbl.years))}
	for k, v := range c.tbl.days {
		tbl.days[k] = v
	}
	for k, v := range c.tbl.years {
		tbl.years[k] = v
	}
	return newView(id, c.loc, c.hours, tbl)
}

// AddClosure marks a date as a day off (e.g. a branch closed for a local
// event), overriding whatever the data said.
func (c *Calendar) AddClosure(d Date, name string) error {
	return c.set(Day{Date: d, Working: false, Name: name})
}

// AddWorkingDay marks a date as a working day, overriding whatever the data
// said (e.g. a bank opening on a Saturday).
func (c *Calendar) AddWorkingDay(d Date, name string) error {
	return c.set(Day{Date: d, Working: true, Name: name})
}

func (c *Calendar) set(d Day) error {
	if !d.Date.Valid() {
		return fmt.Errorf("calendar %q: %s is not a valid date", c.id, d.Date)
	}
	c.tbl.mu.Lock()
	defer c.tbl.mu.Unlock()
	c.tbl.days[d.Date] = d
	return nil
}

// Lookup returns the listed exception for a date, if any; ok is false for an
// ordinary weekday or weekend.
func (c *Calendar) Lookup(d Date) (day Day, ok bool) {
	c.tbl.mu.RLock()
	defer c.tbl.mu.RUnlock()
	day, ok = c.tbl.days[d]
	return day, ok
}

// Years returns the years whose data is complete, ascending.
func (c *Calendar) Years() []int {
	c.tbl.mu.RLock()
	defer c.tbl.mu.RUnlock()
	ys := make([]int, 0, len(c.tbl.years))
	for y := range c.tbl.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Covers reports whether the holiday data covers the year of t (in t's
// location). When it does not, IsWorkingDay and everything built on it only
// know weekends (plus any closures added by hand): a public holiday in that
// year is treated as a working day.
func (c *Calendar) Covers(t time.Time) bool {
	return c.CoversYear(t.Year())
}

// CoversYear is Covers for a year number.
func (c *Calendar) CoversYear(year int) bool {
	c.tbl.mu.RLock()
	defer c.tbl.mu.RUnlock()
	return c.tbl.years[year]
}

// CoversRange reports whether every year from a to b (each in its own
// location) is covered, i.e. whether a span computed between them depends
// only on known data.
func (c *Calendar) CoversRange(a, b time.Time) bool {
	ya, yb := a.Year(), b.Year()
	if yb < ya {
		ya, yb = yb, ya
	}
	for y := ya; y <= yb; y++ {
		if !c.CoversYear(y) {
			return false
		}
	}
	return true
}

// IsWorkingDate reports whether the civil date is a working day.
func (c *Calendar) IsWorkingDate(d Date) bool {
	if day, ok := c.Lookup(d); ok {
		return day.Working
	}
	return !isWeekend(d)
}

// IsWorkingDay reports whether t falls on a working day, reading the date in
// t's location.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	return c.bc.IsWorkday(t)
}

// NextOpening returns t itself when t is within business hours on a working
// day, else the next opening time. Hours are half-open: at closing time
// exactly the bank is already closed.
func (c *Calendar) NextOpening(t time.Time) time.Time {
	loc := t.Location()
	for d := DateOf(t); ; d = d.AddDays(1) {
		if !c.IsWorkingDate(d) {
			continue
		}
		opening, closing := d.At(c.hours.Start, loc), d.At(c.hours.End, loc)
		if t.Before(closing) {
			if t.Before(opening) {
				return opening
			}
			return t
		}
	}
}

// AddWorkingDays returns the close of business (WorkHours.End, in t's
// location) of the n-th working day after the civil date of t. The day t
// falls on never counts, working or not, because a case received at 16:59
// must not lose a whole day of its limit. n <= 0 returns t unchanged.
//
// Example: t Friday 2026-11-20 10:00 +08:00, n 1 → Monday 2026-11-23 17:00.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	// Noon keeps rickar/cal's day stepping (AddDate) well clear of midnight.
	noon := DateOf(t).At(12*time.Hour, t.Location())
	return c.bc.WorkdayEnd(c.bc.WorkdaysFrom(noon, n))
}

// AddBusinessTime returns the instant at which d of business time (time
// inside WorkHours on working days) has passed after t. Counting starts at
// NextOpening(t). A limit that runs out exactly at closing time ends then,
// not at the next opening. d <= 0 returns t unchanged.
func (c *Calendar) AddBusinessTime(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	return c.bc.AddWorkHours(c.NextOpening(t), d)
}

// BusinessTimeBetween returns the business time inside [a, b), read in a's
// location; negative when b is before a.
func (c *Calendar) BusinessTimeBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.BusinessTimeBetween(b, a)
	}
	start := c.NextOpening(a)
	if !start.Before(b) {
		return 0
	}
	return c.bc.WorkHoursInRange(start, b.In(a.Location()))
}
