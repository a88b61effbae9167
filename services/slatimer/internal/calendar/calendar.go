package calendar

import (
	"errors"
	"fmt"
	"maps"
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
	// Days are the national exceptions to "Monday-Friday working, weekends
	// off" (holidays and make-up working days).
	Days []Day
	// Years lists the years for which Days is complete, i.e. every holiday
	// and make-up working day of that year is listed: the official years
	// that Covers and Provisional report on.
	Years []int
	// Sources optionally gives the provenance of years in Years.
	Sources []YearSource
	// Statutory gives the days off of a year not in Years; nil means
	// StatutoryHolidays (mainland China). Use WeekendsOnly for a calendar
	// outside China.
	Statutory StatutoryRule
}

// Calendar knows the working days of one calendar id (e.g. "cn" or a bank's
// own) and the bank's opening hours. It is safe for concurrent use;
// AddClosure, AddWorkingDay and LoadYear may run alongside queries.
//
// It holds two sets of days, because they have different owners: the
// national data (the State Council's holidays and make-up working days per
// year, replaced as a whole by LoadYear) and the bank's own overrides
// (AddClosure, AddWorkingDay), which win over the national data and survive
// a reload of the year.
type Calendar struct {
	id    string
	loc   *time.Location
	hours WorkHours
	nat   *national  // shared with views (WithWorkHours) and Derive'd calendars
	own   *overrides // shared with views (WithWorkHours)
	stat  *statutoryCache
	bc    *cal.BusinessCalendar
	// open: a branch's opening periods (WithOpeningHours); nil: hours.
	open openingHours
}

// national is the national data behind a lock, so that a year loaded at run
// time is seen by every calendar sharing it.
type national struct {
	mu      sync.RWMutex
	days    map[Date]Day
	years   map[int]bool // official years: Days complete for them
	sources map[int]YearSource
	loaded  map[int]YearData // years set by LoadYear, as given (read-only)
}

// overrides are a bank's own closures and extra working days behind a lock,
// so that a closure added at run time is seen by every view of the calendar.
type overrides struct {
	mu   sync.RWMutex
	days map[Date]Day
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
// the same date (one working, one not) are an error, as are invalid dates,
// invalid work hours and sources for years not in Years.
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
	nat := &national{
		days:    make(map[Date]Day, len(cfg.Days)),
		years:   make(map[int]bool, len(cfg.Years)),
		sources: make(map[int]YearSource, len(cfg.Sources)),
		loaded:  map[int]YearData{},
	}
	for i, d := range cfg.Days {
		if !d.Date.Valid() {
			return nil, fmt.Errorf("calendar %q days[%d].date: %s is not a valid date", id, i, d.Date)
		}
		if prev, ok := nat.days[d.Date]; ok {
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
		nat.days[d.Date] = d
	}
	for _, y := range cfg.Years {
		nat.years[y] = true
	}
	for i, src := range cfg.Sources {
		switch {
		case !nat.years[src.Year]:
			return nil, fmt.Errorf("calendar %q sources[%d]: year %d is not in years", id, i, src.Year)
		case hasSource(nat.sources, src.Year):
			return nil, fmt.Errorf("calendar %q sources[%d]: year %d is listed twice", id, i, src.Year)
		}
		nat.sources[src.Year] = src.clone()
	}
	stat := chinaStatutory
	if cfg.Statutory != nil {
		stat = newStatutoryCache(cfg.Statutory)
	}
	return newView(id, loc, hours, nat, &overrides{days: map[Date]Day{}}, stat), nil
}

func hasSource(m map[int]YearSource, y int) bool {
	_, ok := m[y]
	return ok
}

func newView(id string, loc *time.Location, hours WorkHours, nat *national, own *overrides, stat *statutoryCache) *Calendar {
	c := &Calendar{id: id, loc: loc, hours: hours, nat: nat, own: own, stat: stat}
	bc := cal.NewBusinessCalendar()
	bc.Name = id
	bc.WorkdayFunc = func(t time.Time) bool { return c.IsWorkingDate(DateOf(t)) }
	bc.WorkdayStartFunc = func(t time.Time) time.Time { d := DateOf(t); return d.At(c.spans(d)[0].from, t.Location()) }
	bc.WorkdayEndFunc = func(t time.Time) time.Time {
		d := DateOf(t)
		s := c.spans(d)
		return d.At(s[len(s)-1].to, t.Location())
	}
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
	return newView(c.id, c.loc, w, c.nat, c.own, c.stat), nil
}

// Clone returns an independent copy under a new id, so that a bank can start
// from the national calendar and add its own closures without changing it.
// Nothing done to the copy or the original later (closures, LoadYear) is seen
// by the other; see Derive for a copy that follows national reloads.
func (c *Calendar) Clone(id string) *Calendar {
	c.nat.mu.RLock()
	nat := &national{
		days:    maps.Clone(c.nat.days),
		years:   maps.Clone(c.nat.years),
		sources: make(map[int]YearSource, len(c.nat.sources)),
		loaded:  maps.Clone(c.nat.loaded), // values are never changed in place
	}
	for y, src := range c.nat.sources {
		nat.sources[y] = src.clone()
	}
	c.nat.mu.RUnlock()
	return newView(id, c.loc, c.hours, nat, c.cloneOverrides(), c.stat)
}

// Derive returns a calendar under a new id that shares c's national data, so
// that a year loaded into either (LoadYear) is seen by both, and starts with
// a copy of c's closures that is its own from then on. It is the per-branch
// view: the national calendar plus that branch's closures.
func (c *Calendar) Derive(id string) *Calendar {
	return newView(id, c.loc, c.hours, c.nat, c.cloneOverrides(), c.stat)
}

func (c *Calendar) cloneOverrides() *overrides {
	c.own.mu.RLock()
	defer c.own.mu.RUnlock()
	return &overrides{days: maps.Clone(c.own.days)}
}

// AddClosure marks a date as a day off (e.g. a branch closed for a local
// event), overriding whatever the national data said, now or after a later
// LoadYear.
func (c *Calendar) AddClosure(d Date, name string) error {
	return c.set(Day{Date: d, Working: false, Name: name})
}

// AddWorkingDay marks a date as a working day, overriding whatever the
// national data said (e.g. a bank opening on a Saturday).
func (c *Calendar) AddWorkingDay(d Date, name string) error {
	return c.set(Day{Date: d, Working: true, Name: name})
}

func (c *Calendar) set(d Day) error {
	if !d.Date.Valid() {
		return fmt.Errorf("calendar %q: %s is not a valid date", c.id, d.Date)
	}
	c.own.mu.Lock()
	defer c.own.mu.Unlock()
	c.own.days[d.Date] = d
	return nil
}

// LoadYear replaces the national data of one year, e.g. with the State
// Council's notice for next year once it is out. The data is checked with
// ValidateYear first (its *FieldErrors are returned as they are); then, in
// one step that concurrent queries see either entirely or not at all, every
// national day of that year is removed (embedded data included), the new
// ones are put in and the year becomes official (Covers, not Provisional)
// with src as its source (src.Year is set to year). Closures and extra
// working days added by hand are kept and still win. The change is seen by
// every view and Derive'd calendar sharing c's national data, not by Clones.
// Each day is read consistently, but a computation already running when the
// load happens may have read some days before it; results that depend on
// the year are recomputed after LoadYear returns.
func (c *Calendar) LoadYear(year int, holidays []Holiday, workdays []Date, src YearSource) error {
	if err := ValidateYear(year, holidays, workdays); err != nil {
		return err
	}
	src = src.clone()
	src.Year = year
	yd := YearData{Year: year, Holidays: slices.Clone(holidays), Workdays: slices.Clone(workdays), Source: src}
	days := yd.days()
	c.nat.mu.Lock()
	defer c.nat.mu.Unlock()
	for d := range c.nat.days {
		if d.Year == year {
			delete(c.nat.days, d)
		}
	}
	for _, d := range days {
		c.nat.days[d.Date] = d
	}
	c.nat.years[year] = true
	c.nat.sources[year] = src
	c.nat.loaded[year] = yd
	return nil
}

// Year returns an official year's national data as it was loaded (LoadYear,
// or the embedded files for China()): the holiday ranges, make-up working
// days and source, for showing the calendar as the notice has it. ok is
// false for a year that is not official or was only given as Config.Days.
func (c *Calendar) Year(year int) (data YearData, ok bool) {
	c.nat.mu.RLock()
	defer c.nat.mu.RUnlock()
	yd, ok := c.nat.loaded[year]
	if !ok || !c.nat.years[year] {
		return YearData{}, false
	}
	return YearData{Year: yd.Year, Holidays: slices.Clone(yd.Holidays), Workdays: slices.Clone(yd.Workdays), Source: yd.Source.clone()}, true
}

// Lookup returns the exception in effect for a date, if any: a closure or
// extra working day added by hand, else the national data, else (in a year
// without official data) the statutory holiday of the calendar's
// StatutoryRule. ok is false for an ordinary weekday or weekend.
func (c *Calendar) Lookup(d Date) (day Day, ok bool) {
	c.own.mu.RLock()
	day, ok = c.own.days[d]
	c.own.mu.RUnlock()
	if ok {
		return day, true
	}
	c.nat.mu.RLock()
	day, ok = c.nat.days[d]
	official := c.nat.years[d.Year]
	c.nat.mu.RUnlock()
	if ok || official {
		return day, ok
	}
	return c.stat.lookup(d)
}

// Years returns the official years (those whose national data is complete),
// ascending.
func (c *Calendar) Years() []int {
	c.nat.mu.RLock()
	defer c.nat.mu.RUnlock()
	ys := make([]int, 0, len(c.nat.years))
	for y := range c.nat.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Sources returns the provenance of every official year, ascending; a year
// given without a source has only Year set.
func (c *Calendar) Sources() []YearSource {
	c.nat.mu.RLock()
	defer c.nat.mu.RUnlock()
	out := make([]YearSource, 0, len(c.nat.years))
	for y := range c.nat.years {
		src, ok := c.nat.sources[y]
		if !ok {
			src = YearSource{Year: y}
		}
		out = append(out, src.clone())
	}
	slices.SortFunc(out, func(a, b YearSource) int { return a.Year - b.Year })
	return out
}

// Covers reports whether the national data covers the year of t (in t's
// location). When it does not, IsWorkingDay and everything built on it use
// the calendar's StatutoryRule (for China: weekends plus the holidays the
// law fixes, without the notice's bridge and make-up days) plus any closures
// added by hand, so results in that year are provisional.
func (c *Calendar) Covers(t time.Time) bool {
	return c.CoversYear(t.Year())
}

// CoversYear is Covers for a year number.
func (c *Calendar) CoversYear(year int) bool {
	c.nat.mu.RLock()
	defer c.nat.mu.RUnlock()
	return c.nat.years[year]
}

// CoversRange reports whether every year from a to b (each in its own
// location) is covered, i.e. whether a span computed between them depends
// only on official data. It is !Provisional(a, b).
func (c *Calendar) CoversRange(a, b time.Time) bool {
	ya, yb := a.Year(), b.Year()
	if yb < ya {
		ya, yb = yb, ya
	}
	c.nat.mu.RLock()
	defer c.nat.mu.RUnlock()
	for y := ya; y <= yb; y++ {
		if !c.nat.years[y] {
			return false
		}
	}
	return true
}

// Provisional reports whether some year from a to b (each read in its own
// location) has no official data, so that a result computed between them
// rests on the statutory fallback and may move once the year's notice is
// loaded. Callers pass the start and the result: Provisional(from, due).
func (c *Calendar) Provisional(a, b time.Time) bool {
	return !c.CoversRange(a, b)
}

// DataHorizon returns the last date of the run of consecutive official years
// starting with now's year (read in now's location), e.g. 2027-12-31 with
// data for 2024-2027, and the whole days from now's date to it: how long the
// product can count exactly before someone has to load a new year. days is 0
// on the last day and negative once now is past it; when now's own year is
// not official, last is the 31 December before it.
func (c *Calendar) DataHorizon(now time.Time) (last Date, days int) {
	y := now.Year()
	c.nat.mu.RLock()
	for c.nat.years[y] {
		y++
	}
	c.nat.mu.RUnlock()
	last = Date{Year: y - 1, Month: time.December, Day: 31}
	return last, last.Sub(DateOf(now))
}

// IsWorkingDate reports whether the civil date is a working day: the
// exception of Lookup if there is one, else Monday to Friday.
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
	if c.open != nil {
		at, _ := c.nextOpen(t)
		return at
	}
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
	if c.open != nil {
		return c.addOpenTime(t, d)
	}
	return c.bc.AddWorkHours(c.NextOpening(t), d)
}

// BusinessTimeBetween returns the business time inside [a, b), read in a's
// location; negative when b is before a.
func (c *Calendar) BusinessTimeBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.BusinessTimeBetween(b, a)
	}
	if c.open != nil {
		return c.openTimeBetween(a, b.In(a.Location()))
	}
	start := c.NextOpening(a)
	if !start.Before(b) {
		return 0
	}
	return c.bc.WorkHoursInRange(start, b.In(a.Location()))
}
