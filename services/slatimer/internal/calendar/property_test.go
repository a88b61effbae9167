package calendar

import (
	"math/rand/v2"
	"testing"
	"time"
)

// propertyRuns is how many random cases each property is checked on. The
// generator is seeded, so a failure reproduces; nothing depends on today.
const propertyRuns = 3000

// propertyCalendar is China with closures in official and provisional years
// and an extra working Saturday, so the properties also cover overrides.
func propertyCalendar(t *testing.T) *Calendar {
	t.Helper()
	c := china(t)
	for _, s := range []string{"2025-07-15", "2026-11-24", "2027-10-08", "2028-01-31", "2029-06-04", "2030-03-12"} {
		if err := c.AddClosure(MustParseDate(s), "closure"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddWorkingDay(MustParseDate("2029-12-22"), "open Saturday"); err != nil {
		t.Fatal(err)
	}
	return c
}

// randomInstant returns an instant between 2024-01-01 and 2030-12-31 in loc,
// with any clock time down to the nanosecond, and sometimes exactly on the
// opening or closing time, where the edge cases are.
func randomInstant(r *rand.Rand, loc *time.Location) time.Time {
	d := MustParseDate("2024-01-01").AddDays(r.IntN(7 * 365))
	switch r.IntN(6) {
	case 0:
		return d.At(9*time.Hour, loc)
	case 1:
		return d.At(17*time.Hour, loc)
	default:
		return d.At(time.Duration(r.Int64N(int64(24*time.Hour))), loc)
	}
}

func TestPropertyWorkingDaysBetweenInvertsAddWorkingDaysSameTime(t *testing.T) {
	c := propertyCalendar(t)
	r := rand.New(rand.NewPCG(1, 2))
	for range propertyRuns {
		a := randomInstant(r, shanghai)
		n := r.IntN(40)
		b := c.AddWorkingDaysSameTime(a, n)
		if got := c.WorkingDaysBetween(a, b); got != n {
			t.Fatalf("WorkingDaysBetween(%s, AddWorkingDaysSameTime(a, %d) = %s) = %d", a, n, b, got)
		}
		// And it is the largest such n for an arbitrary b.
		b = a.Add(time.Duration(r.Int64N(int64(60 * 24 * time.Hour))))
		k := c.WorkingDaysBetween(a, b)
		if c.AddWorkingDaysSameTime(a, k).After(b) || !c.AddWorkingDaysSameTime(a, k+1).After(b) {
			t.Fatalf("WorkingDaysBetween(%s, %s) = %d is not the largest n with AddWorkingDaysSameTime(a, n) <= b", a, b, k)
		}
	}
}

func TestPropertyBusinessTimeBetweenInvertsAddBusinessTime(t *testing.T) {
	for _, hours := range []WorkHours{{}, {Start: 8*time.Hour + 30*time.Minute, End: 17*time.Hour + 30*time.Minute}} {
		c, err := propertyCalendar(t).WithWorkHours(hours)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, 4))
		for range propertyRuns {
			a := randomInstant(r, shanghai)
			d := time.Duration(r.Int64N(int64(80 * time.Hour)))
			if r.IntN(4) == 0 {
				d = d.Truncate(15 * time.Minute) // whole quarters end exactly on closing time
			}
			b := c.AddBusinessTime(a, d)
			if got := c.BusinessTimeBetween(a, b); got != d {
				t.Fatalf("%s: BusinessTimeBetween(%s, AddBusinessTime(a, %v) = %s) = %v", hours, a, d, b, got)
			}
		}
	}
}

func TestPropertyResultsLandOnWorkingDays(t *testing.T) {
	c := propertyCalendar(t)
	r := rand.New(rand.NewPCG(5, 6))
	for range propertyRuns {
		a := randomInstant(r, shanghai)
		n := 1 + r.IntN(30)
		for name, got := range map[string]time.Time{
			"AddWorkingDays":         c.AddWorkingDays(a, n),
			"AddWorkingDaysSameTime": c.AddWorkingDaysSameTime(a, n),
			"AddCalendarDays":        c.AddCalendarDays(a, n),
		} {
			if !c.IsWorkingDay(got) {
				t.Fatalf("%s(%s, %d) = %s, a %s that is not a working day", name, a, n, got, got.Weekday())
			}
			if !DateOf(a).Before(DateOf(got)) {
				t.Fatalf("%s(%s, %d) = %s is not after the day of the start", name, a, n, got)
			}
		}
		// Close of business and same clock time name the same day.
		if x, y := c.AddWorkingDays(a, n), c.AddWorkingDaysSameTime(a, n); DateOf(x) != DateOf(y) {
			t.Fatalf("AddWorkingDays(%s, %d) = %s but AddWorkingDaysSameTime gives %s", a, n, x, y)
		}
		d := time.Duration(1 + r.Int64N(int64(40*time.Hour)))
		got := c.AddBusinessTime(a, d)
		day := DateOf(got)
		if !c.IsWorkingDay(got) || !got.After(day.At(9*time.Hour, shanghai)) || got.After(day.At(17*time.Hour, shanghai)) {
			t.Fatalf("AddBusinessTime(%s, %v) = %s is not inside business hours of a working day", a, d, got)
		}
	}
}

func TestPropertyMoreTimeNeverGivesAnEarlierResult(t *testing.T) {
	c := propertyCalendar(t)
	r := rand.New(rand.NewPCG(7, 8))
	for range propertyRuns {
		a := randomInstant(r, shanghai)
		n := r.IntN(30)
		d := time.Duration(r.Int64N(int64(40 * time.Hour)))

		// More working days, calendar days or business time.
		if x, y := c.AddWorkingDays(a, n), c.AddWorkingDays(a, n+1); !y.After(x) {
			t.Fatalf("AddWorkingDays(%s, %d) = %s, but n+1 gives %s", a, n, x, y)
		}
		if x, y := c.AddWorkingDaysSameTime(a, n), c.AddWorkingDaysSameTime(a, n+1); !y.After(x) {
			t.Fatalf("AddWorkingDaysSameTime(%s, %d) = %s, but n+1 gives %s", a, n, x, y)
		}
		if x, y := c.AddCalendarDays(a, n), c.AddCalendarDays(a, n+1); y.Before(x) {
			t.Fatalf("AddCalendarDays(%s, %d) = %s, but n+1 gives %s", a, n, x, y)
		}
		if x, y := c.AddBusinessTime(a, d), c.AddBusinessTime(a, d+time.Minute); !y.After(x) {
			t.Fatalf("AddBusinessTime(%s, %v) = %s, but a minute more gives %s", a, d, x, y)
		}

		// A later start: within the same day, or up to two weeks later.
		b := a.Add(time.Duration(r.Int64N(int64(14 * 24 * time.Hour))))
		if r.IntN(3) == 0 {
			b = DateOf(a).At(time.Duration(r.Int64N(int64(24*time.Hour))), shanghai)
			if b.Before(a) {
				a, b = b, a
			}
		}
		if x, y := c.AddWorkingDays(a, n), c.AddWorkingDays(b, n); y.Before(x) {
			t.Fatalf("AddWorkingDays(%s, %d) = %s, but the later start %s gives %s", a, n, x, b, y)
		}
		if x, y := c.AddBusinessTime(a, d), c.AddBusinessTime(b, d); y.Before(x) {
			t.Fatalf("AddBusinessTime(%s, %v) = %s, but the later start %s gives %s", a, d, x, b, y)
		}
		// The same-clock-time functions keep the start's clock time, so
		// their result date never moves earlier; the instant never does
		// when the later start is on the same day, or (for working days)
		// on a working day. See AddWorkingDaysSameTime.
		sameDay := DateOf(a) == DateOf(b)
		x, y := c.AddWorkingDaysSameTime(a, n), c.AddWorkingDaysSameTime(b, n)
		if DateOf(y).Before(DateOf(x)) || ((sameDay || c.IsWorkingDay(b)) && y.Before(x)) {
			t.Fatalf("AddWorkingDaysSameTime(%s, %d) = %s, but the later start %s gives %s", a, n, x, b, y)
		}
		x, y = c.AddCalendarDays(a, n), c.AddCalendarDays(b, n)
		if DateOf(y).Before(DateOf(x)) || (sameDay && y.Before(x)) {
			t.Fatalf("AddCalendarDays(%s, %d) = %s, but the later start %s gives %s", a, n, x, b, y)
		}
	}
}

// Both inverses must hold where a day is not 24 hours long.
func TestPropertyInversesHoldAcrossDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New("de-test", Config{Location: berlin, Statutory: WeekendsOnly})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range propertyRuns {
		a := randomInstant(r, berlin)
		n := r.IntN(40)
		b := c.AddWorkingDaysSameTime(a, n)
		if got := c.WorkingDaysBetween(a, b); got != n {
			t.Fatalf("WorkingDaysBetween(%s, AddWorkingDaysSameTime(a, %d) = %s) = %d", a, n, b, got)
		}
		d := time.Duration(r.Int64N(int64(80 * time.Hour)))
		if e := c.AddBusinessTime(a, d); c.BusinessTimeBetween(a, e) != d {
			t.Fatalf("BusinessTimeBetween(%s, AddBusinessTime(a, %v) = %s) = %v", a, d, e, c.BusinessTimeBetween(a, e))
		}
	}
}
