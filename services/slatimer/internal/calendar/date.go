package calendar

import (
	"fmt"
	"time"
)

// Date is a civil date with no time zone. Holiday notices name days, not
// instants: 2026-10-01 is a holiday wherever the branch is, and which instant
// that is depends on the branch's zone. Keeping dates zone-free avoids the
// classic bug of a midnight-UTC time.Time landing on the previous day in
// Asia/Shanghai's reading or vice versa.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// MustParseDate is ParseDate for literals in code and tests.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Valid reports whether the date exists (e.g. not February 30).
func (d Date) Valid() bool {
	return d.Month >= time.January && d.Month <= time.December && d.Day >= 1 &&
		DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) == d
}

// At returns the instant at the given wall-clock offset from the start of the
// day in loc. The offset is read as hours, minutes and seconds on the clock
// (09:00 is 09:00 even on a daylight-saving day), not as elapsed time.
func (d Date) At(clock time.Duration, loc *time.Location) time.Time {
	h := int(clock / time.Hour)
	m := int(clock % time.Hour / time.Minute)
	s := int(clock % time.Minute / time.Second)
	ns := int(clock % time.Second)
	return time.Date(d.Year, d.Month, d.Day, h, m, s, ns, loc)
}

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

func isWeekend(d Date) bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// Sub returns the number of days from o to d (negative when d is earlier).
func (d Date) Sub(o Date) int {
	a := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	b := time.Date(o.Year, o.Month, o.Day, 12, 0, 0, 0, time.UTC)
	// Unix seconds rather than a.Sub(b): a Duration saturates at ~292 years.
	return int((a.Unix() - b.Unix()) / (24 * 3600))
}

// MarshalText formats the date as YYYY-MM-DD, so that JSON bodies carry
// "2028-01-24" rather than an object of three numbers.
func (d Date) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText parses YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
