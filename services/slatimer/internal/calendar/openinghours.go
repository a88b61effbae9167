package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Period is a branch's opening period on some weekdays, as offsets from
// local midnight (Opens 9h = 09:00). A lunch break is two periods on the
// same days.
type Period struct {
	Weekdays      []time.Weekday
	Opens, Closes time.Duration
}

// span is one opening interval of a day.
type span struct{ from, to time.Duration }

// openingHours are a branch's periods by weekday, sorted.
type openingHours map[time.Weekday][]span

// ParsePeriod reads ISO weekdays (1 Monday … 7 Sunday) and "HH:MM" times as
// routing's organisation data carries them.
func ParsePeriod(isoWeekdays []int, opens, closes string) (Period, error) {
	o, err := parseClock(opens)
	if err != nil {
		return Period{}, fmt.Errorf("opens: %w", err)
	}
	c, err := parseClock(closes)
	if err != nil {
		return Period{}, fmt.Errorf("closes: %w", err)
	}
	p := Period{Opens: o, Closes: c}
	for _, d := range isoWeekdays {
		if d < 1 || d > 7 {
			return Period{}, fmt.Errorf("weekday %d: want 1 (Monday) to 7 (Sunday)", d)
		}
		p.Weekdays = append(p.Weekdays, time.Weekday(d%7))
	}
	return p, nil
}

func buildOpeningHours(ps []Period) (openingHours, error) {
	h := openingHours{}
	var errs []error
	for i, p := range ps {
		if p.Opens < 0 || p.Closes >= 24*time.Hour || p.Opens >= p.Closes || p.Opens%time.Second != 0 || p.Closes%time.Second != 0 {
			errs = append(errs, fmt.Errorf("period %d: want 00:00 <= opens < closes <= 23:59:59, got %s-%s", i, FormatClock(p.Opens), FormatClock(p.Closes)))
			continue
		}
		if len(p.Weekdays) == 0 {
			errs = append(errs, fmt.Errorf("period %d: no weekdays", i))
		}
		for _, d := range p.Weekdays {
			for _, s := range h[d] {
				if p.Opens < s.to && s.from < p.Closes {
					errs = append(errs, fmt.Errorf("period %d overlaps another on %s", i, d))
				}
			}
			h[d] = append(h[d], span{p.Opens, p.Closes})
		}
	}
	for d := range h {
		slices.SortFunc(h[d], func(a, b span) int { return int(a.from - b.from) })
	}
	return h, errors.Join(errs...)
}

// WithOpeningHours returns a view of the same day data counting business
// time in a branch's opening periods (lunch breaks excluded) instead of one
// daily interval, on the days the branch is open: an ordinary day (no
// holiday, closure or make-up entry) when its weekday has periods — so a
// branch open on Saturday mornings counts them, and one closed on
// Wednesdays does not count Wednesdays; never on a holiday or closure; on a
// make-up working day (调休) with that weekday's periods, else Monday's.
// The working-days clock still counts the calendar's working days (it ends
// at the last closing of the day). No periods: the view is c.
func (c *Calendar) WithOpeningHours(ps []Period) (*Calendar, error) {
	if len(ps) == 0 {
		return c, nil
	}
	h, err := buildOpeningHours(ps)
	if err != nil {
		return nil, fmt.Errorf("calendar %q opening hours: %w", c.id, err)
	}
	if len(h[time.Monday]) == 0 {
		// A make-up working day needs hours; a branch closed on Mondays
		// borrows the first weekday it opens.
		for _, d := range []time.Weekday{time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
			if len(h[d]) > 0 {
				h[time.Monday] = h[d]
				break
			}
		}
	}
	v := newView(c.id, c.loc, c.hours, c.nat, c.own, c.stat)
	v.open = h
	return v, nil
}

// spans returns the opening intervals of a working date.
func (c *Calendar) spans(d Date) []span {
	if c.open == nil {
		return []span{{c.hours.Start, c.hours.End}}
	}
	wd := d.At(12*time.Hour, time.UTC).Weekday()
	if s := c.open[wd]; len(s) > 0 {
		return s
	}
	return c.open[time.Monday]
}

// openOn reports whether the branch opens on d (see WithOpeningHours).
func (c *Calendar) openOn(d Date) bool {
	if c.open == nil {
		return c.IsWorkingDate(d)
	}
	if day, ok := c.Lookup(d); ok {
		return day.Working
	}
	return len(c.open[d.At(12*time.Hour, time.UTC).Weekday()]) > 0
}

// nextOpen returns t when the branch is open at t, else the next opening,
// and the end of the interval it falls in. It gives up after ten years of
// closed days (a calendar closed for good), returning the far future.
func (c *Calendar) nextOpen(t time.Time) (time.Time, time.Time) {
	loc := t.Location()
	first := DateOf(t)
	for d := first; ; d = d.AddDays(1) {
		if d.Sub(first) > 3660 {
			far := d.At(0, loc)
			return far, far
		}
		if !c.openOn(d) {
			continue
		}
		for _, s := range c.spans(d) {
			opening, closing := d.At(s.from, loc), d.At(s.to, loc)
			if t.Before(closing) {
				if t.Before(opening) {
					return opening, closing
				}
				return t, closing
			}
		}
	}
}

func (c *Calendar) addOpenTime(t time.Time, d time.Duration) time.Time {
	for {
		at, closing := c.nextOpen(t)
		if !closing.After(at) {
			return at // never open again
		}
		if left := closing.Sub(at); d <= left {
			return at.Add(d)
		} else {
			d -= left
		}
		t = closing
	}
}

func (c *Calendar) openTimeBetween(a, b time.Time) time.Duration {
	var total time.Duration
	for t := a; t.Before(b); {
		at, closing := c.nextOpen(t)
		if !at.Before(b) {
			break
		}
		if closing.After(b) {
			closing = b
		}
		total += closing.Sub(at)
		t = closing
	}
	return total
}
