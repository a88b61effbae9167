package calendar

import "time"

// MaxSpanDays bounds how far WorkingDaysBetween steps (20 years of days). It
// counts day by day, so an unbounded span (year 1 to 9999 from an API caller)
// would cost millions of steps; no time limit of the domain is anywhere near.
const MaxSpanDays = 20 * 366

// clock returns the wall-clock time of day of t (in t's location) as an
// offset from midnight, in the form Date.At takes.
func clock(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

// AddWorkingDaysSameTime returns the same local clock time (in t's location)
// on the n-th working day after the civil date of t; the day t falls on never
// counts, as in AddWorkingDays. n <= 0 returns t unchanged. Unlike
// AddWorkingDays, which gives the close of business that deadlines use, it
// answers "which day and time is n working days from now" the way a public
// calendar asks it.
//
// Example: t Friday 2026-02-13 10:00 +08:00, n 1 → the make-up working
// Saturday 2026-02-14 10:00; n 2 → 2026-02-24 10:00, after Spring Festival.
//
// Because the clock time is kept, a later start on a non-working day with an
// earlier clock time (Saturday 10:00 against Friday 16:00) gives an earlier
// result (Monday 10:00 against Monday 16:00); results never move to an
// earlier date, and from a working day a later start never gives an earlier
// instant. The caller bounds n: the stepping is linear in it.
func (c *Calendar) AddWorkingDaysSameTime(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	d := DateOf(t)
	for n > 0 {
		d = d.AddDays(1)
		if c.IsWorkingDate(d) {
			n--
		}
	}
	return d.At(clock(t), t.Location())
}

// AddCalendarDays counts n calendar days the way the Civil Code (民法典 第二百
// 零一条、第二百零三条) counts a period given in days: the day of t (the day
// of receipt) is not counted, so the period ends on the civil date n days
// after t's; if that day is not a working day, it ends on the next working
// day. The result keeps t's local clock time. n <= 0 returns t unchanged.
//
// Example: t 2026-09-20 10:00 +08:00, n 15 → 2026-10-05 is inside National
// Day, so 2026-10-08 10:00.
//
// As with AddWorkingDaysSameTime, the kept clock time means two starts on
// different days can end on the same date in the opposite order of their
// clock times; the result date never moves earlier for a later start.
func (c *Calendar) AddCalendarDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	return c.CalendarDaysLastDay(t, n).At(clock(t), t.Location())
}

// CalendarDaysLastDay returns the last day of a period of n calendar days
// started at t, counted as AddCalendarDays counts them: the civil date n days
// after t's (read in t's location), moved on to the next working day when it
// is not one. n <= 0 returns t's own date. The stepping over non-working
// days is bounded by the longest run of them (a holiday week, a closure).
func (c *Calendar) CalendarDaysLastDay(t time.Time, n int) Date {
	d := DateOf(t)
	if n <= 0 {
		return d
	}
	d = d.AddDays(n)
	for !c.IsWorkingDate(d) {
		d = d.AddDays(1)
	}
	return d
}

// EndOfCalendarDays returns the instant at which a period of n calendar days
// started at t ends: 24:00 (that is 00:00 of the next day) in t's location
// of CalendarDaysLastDay(t, n). The Civil Code (第二百零三条) ends a period
// at 24:00 of its last day; its exception for business hours concerns acts
// that must be done where business is transacted, which deciding on a
// complaint and telling the customer is not. n <= 0 returns t unchanged.
//
// Example: t 2026-09-20 10:00 +08:00, n 15 → 2026-10-05 is inside National
// Day, the last day is 2026-10-08, and the period ends 2026-10-09 00:00.
func (c *Calendar) EndOfCalendarDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	return c.CalendarDaysLastDay(t, n).AddDays(1).At(0, t.Location())
}

// WorkingDaysBetween returns how many working days lie between a and b as
// AddWorkingDaysSameTime counts them: the largest n with
// AddWorkingDaysSameTime(a, n) not after b, so that
// WorkingDaysBetween(a, AddWorkingDaysSameTime(a, n)) == n. Dates are read
// in a's location (b is the same instant on that clock); 0 when b is not
// after a. At most MaxSpanDays days after a's date are looked at: a later b
// counts as the same clock time on that last day.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	if !b.After(a) {
		return 0
	}
	loc, at := a.Location(), clock(a)
	n := 0
	d := DateOf(a)
	for i := 0; i < MaxSpanDays; i++ {
		d = d.AddDays(1)
		if d.At(at, loc).After(b) {
			break
		}
		if c.IsWorkingDate(d) {
			n++
		}
	}
	return n
}
