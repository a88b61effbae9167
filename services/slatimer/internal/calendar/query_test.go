package calendar

import (
	"testing"
	"time"
)

func TestAddWorkingDaysSameTime(t *testing.T) {
	tests := []struct {
		name        string
		start       string
		n           int
		want        string
		provisional bool
	}{
		{"the make-up Saturday before Spring Festival 2026 is the next working day", "2026-02-13 10:00", 1, "2026-02-14 10:00", false},
		{"two working days from the Friday before Spring Festival 2026 wait out the block", "2026-02-13 10:00", 2, "2026-02-24 10:00", false},
		{"one working day from the eve of National Day 2026 is the day after it", "2026-09-30 16:00", 1, "2026-10-08 16:00", false},
		{"five working days across National Day 2026 include the make-up Saturday 10-10", "2026-09-30 16:00", 5, "2026-10-13 16:00", false},
		{"New Year's Eve 2026 to the first working day of 2027", "2026-12-31 10:00", 1, "2027-01-04 10:00", false},
		{"the make-up Sunday after Spring Festival 2027 is the next working day", "2027-02-04 10:00", 1, "2027-02-14 10:00", false},
		{"the make-up Sunday before Spring Festival 2027 counts", "2027-01-29 10:00", 1, "2027-01-31 10:00", false},
		{"two working days from the eve of National Day 2027 end on the make-up Saturday 10-09", "2027-09-30 16:00", 2, "2027-10-09 16:00", false},
		{"a start during a holiday counts from its end", "2026-10-03 10:00", 1, "2026-10-08 10:00", false},
		{"2028 without data: Spring Festival is the eve and lunar 1/1-1/3, so Monday 01-24 +1 is Monday 01-31", "2028-01-24 10:00", 1, "2028-01-31 10:00", true},
		{"2028 without data: National Day 10-01..03, so Friday 09-29 +1 is 10-04", "2028-09-29 10:00", 1, "2028-10-04 10:00", true},
		{"counting from 2027 into 2028 is provisional", "2027-12-30 10:00", 2, "2028-01-03 10:00", true},
		{"an ordinary Friday to Monday", "2026-11-20 10:00", 1, "2026-11-23 10:00", false},
		{"zero working days leave the start unchanged", "2026-11-20 10:00", 0, "2026-11-20 10:00", false},
		{"negative working days leave the start unchanged", "2026-11-20 10:00", -3, "2026-11-20 10:00", false},
	}
	c := china(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, tt.start)
			got := c.AddWorkingDaysSameTime(start, tt.n)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddWorkingDaysSameTime(%s, %d) = %s, want %s", tt.start, tt.n, got, want)
			}
			if p := c.Provisional(start, got); p != tt.provisional {
				t.Errorf("Provisional(%s, %s) = %v, want %v", tt.start, got, p, tt.provisional)
			}
		})
	}

	t.Run("the clock time to the nanosecond and the start's location are kept", func(t *testing.T) {
		start := time.Date(2026, 11, 20, 10, 30, 15, 123, time.UTC)
		got := c.AddWorkingDaysSameTime(start, 1)
		if want := time.Date(2026, 11, 23, 10, 30, 15, 123, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("the date is read in the start's location", func(t *testing.T) {
		// Friday 20:00 UTC is Saturday 04:00 in Shanghai: +1 is Monday
		// from Friday in UTC, Monday from Saturday in Shanghai, but Monday
		// 20:00 UTC and Monday 04:00 Shanghai are different instants.
		u := time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC)
		if got, want := c.AddWorkingDaysSameTime(u, 1), time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("UTC: got %s, want %s", got, want)
		}
		if got, want := c.AddWorkingDaysSameTime(u.In(shanghai), 1), at(t, "2026-11-23 04:00"); !got.Equal(want) {
			t.Errorf("Shanghai: got %s, want %s", got, want)
		}
	})
}

func TestAddCalendarDays(t *testing.T) {
	tests := []struct {
		name        string
		start       string
		n           int
		want        string
		provisional bool
	}{
		{"a day ending on a weekday ends then", "2026-11-19 10:00", 1, "2026-11-20 10:00", false},
		{"a period ending on a Saturday ends on Monday", "2026-11-20 10:00", 1, "2026-11-23 10:00", false},
		{"a period ending on a make-up working Saturday ends then", "2026-02-13 10:00", 1, "2026-02-14 10:00", false},
		{"fifteen days ending inside National Day 2026 end on 10-08", "2026-09-20 10:00", 15, "2026-10-08 10:00", false},
		{"fifteen days ending inside National Day 2027 end on 10-08", "2027-09-20 10:00", 15, "2027-10-08 10:00", false},
		{"fifteen days ending on New Year's Day 2027 end on the first working day", "2026-12-17 10:00", 15, "2027-01-04 10:00", false},
		{"fifteen days ending on the make-up Sunday 2027-01-31 end then", "2027-01-16 10:00", 15, "2027-01-31 10:00", false},
		{"the day of receipt does not count even when received on a holiday", "2026-10-01 10:00", 15, "2026-10-16 10:00", false},
		{"2028 without data: fifteen days ending on lunar New Year's Eve run past Spring Festival and the weekend", "2028-01-10 10:00", 15, "2028-01-31 10:00", true},
		{"zero days leave the start unchanged", "2026-11-21 10:00", 0, "2026-11-21 10:00", false},
	}
	c := china(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, tt.start)
			got := c.AddCalendarDays(start, tt.n)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddCalendarDays(%s, %d) = %s, want %s", tt.start, tt.n, got, want)
			}
			if p := c.Provisional(start, got); p != tt.provisional {
				t.Errorf("Provisional(%s, %s) = %v, want %v", tt.start, got, p, tt.provisional)
			}
		})
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	tests := []struct {
		name string
		a, b time.Time
		want int
	}{
		{"up to the same clock time on the second working day is two", at(t, "2026-02-13 10:00"), at(t, "2026-02-24 10:00"), 2},
		{"a minute short of it is one", at(t, "2026-02-13 10:00"), at(t, "2026-02-24 09:59"), 1},
		{"the holiday block adds nothing", at(t, "2026-02-13 10:00"), at(t, "2026-02-23 23:59"), 1},
		{"across National Day 2026 with the make-up Saturday", at(t, "2026-09-30 16:00"), at(t, "2026-10-13 16:00"), 5},
		{"across New Year 2027", at(t, "2026-12-31 10:00"), at(t, "2027-01-04 10:00"), 1},
		{"later the same day is zero", at(t, "2026-11-20 10:00"), at(t, "2026-11-20 16:00"), 0},
		{"equal instants are zero", at(t, "2026-11-20 10:00"), at(t, "2026-11-20 10:00"), 0},
		{"b before a is zero", at(t, "2026-11-23 10:00"), at(t, "2026-11-20 10:00"), 0},
		{"b in another zone is the same instant", at(t, "2026-02-13 10:00"), time.Date(2026, 2, 24, 2, 0, 0, 0, time.UTC), 2},
		{"2028 without data counts the statutory Spring Festival as off", at(t, "2028-01-24 10:00"), at(t, "2028-01-31 10:00"), 1},
	}
	c := china(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.WorkingDaysBetween(tt.a, tt.b); got != tt.want {
				t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}

	t.Run("spans beyond MaxSpanDays are counted up to that day", func(t *testing.T) {
		a := at(t, "2026-01-05 10:00")
		capped := DateOf(a).AddDays(MaxSpanDays).At(10*time.Hour, shanghai)
		got := c.WorkingDaysBetween(a, at(t, "2099-01-01 10:00"))
		if want := c.WorkingDaysBetween(a, capped); got != want || got <= 0 || got >= MaxSpanDays {
			t.Errorf("WorkingDaysBetween over 73 years = %d, want the capped count %d", got, want)
		}
	})
}

func TestAClosureInTheMiddleOfALimitMovesIt(t *testing.T) {
	c := china(t)
	if err := c.AddClosure(MustParseDate("2026-11-24"), "typhoon"); err != nil {
		t.Fatal(err)
	}
	start := at(t, "2026-11-20 10:00")
	if got, want := c.AddWorkingDaysSameTime(start, 3), at(t, "2026-11-26 10:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDaysSameTime = %s, want %s", got, want)
	}
	if got, want := c.AddWorkingDays(start, 3), at(t, "2026-11-26 17:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDays = %s, want %s", got, want)
	}
	if got := c.WorkingDaysBetween(start, at(t, "2026-11-26 10:00")); got != 3 {
		t.Errorf("WorkingDaysBetween = %d, want 3", got)
	}
	if got, want := c.AddCalendarDays(start, 4), at(t, "2026-11-25 10:00"); !got.Equal(want) {
		t.Errorf("AddCalendarDays = %s, want %s", got, want)
	}
	if got, want := c.AddBusinessTime(at(t, "2026-11-23 16:00"), 2*time.Hour), at(t, "2026-11-25 10:00"); !got.Equal(want) {
		t.Errorf("AddBusinessTime = %s, want %s", got, want)
	}

	t.Run("a closure in a year without data also overrides the statutory rule", func(t *testing.T) {
		c := china(t)
		if err := c.AddClosure(MustParseDate("2028-01-31"), "typhoon"); err != nil {
			t.Fatal(err)
		}
		if got, want := c.AddWorkingDaysSameTime(at(t, "2028-01-24 10:00"), 1), at(t, "2028-02-01 10:00"); !got.Equal(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("an extra working day added by hand overrides a statutory holiday", func(t *testing.T) {
		c := china(t)
		if err := c.AddWorkingDay(MustParseDate("2028-01-25"), "open on the eve"); err != nil {
			t.Fatal(err)
		}
		if got, want := c.AddWorkingDaysSameTime(at(t, "2028-01-24 10:00"), 1), at(t, "2028-01-25 10:00"); !got.Equal(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func TestProvisional(t *testing.T) {
	c := china(t)
	tests := []struct {
		name string
		a, b time.Time
		want bool
	}{
		{"inside the data", at(t, "2024-01-01 00:00"), at(t, "2027-12-31 23:59"), false},
		{"ending in 2028", at(t, "2027-12-31 10:00"), at(t, "2028-01-03 10:00"), true},
		{"starting before the data", at(t, "2023-12-29 10:00"), at(t, "2024-01-02 10:00"), true},
		{"reversed arguments", at(t, "2028-01-03 10:00"), at(t, "2027-12-31 10:00"), true},
		{"each instant's year is read in its own location", at(t, "2027-12-31 10:00"), time.Date(2027, 12, 31, 17, 0, 0, 0, time.UTC), false},
		{"and in Shanghai that instant is already 2028", at(t, "2027-12-31 10:00"), time.Date(2027, 12, 31, 17, 0, 0, 0, time.UTC).In(shanghai), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Provisional(tt.a, tt.b); got != tt.want {
				t.Errorf("Provisional(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := c.CoversRange(tt.a, tt.b); got == tt.want {
				t.Errorf("CoversRange(%s, %s) = %v, want %v", tt.a, tt.b, got, !tt.want)
			}
		})
	}
}

func TestLookupInAYearWithoutDataGivesTheStatutoryHoliday(t *testing.T) {
	c := china(t)
	if d, ok := c.Lookup(MustParseDate("2028-10-03")); !ok || d.Working || d.Name != "国庆节、中秋节" {
		t.Errorf("Lookup(2028-10-03) = %+v, %v; want the 国庆节、中秋节 day off", d, ok)
	}
	if _, ok := c.Lookup(MustParseDate("2028-10-04")); ok {
		t.Error("Lookup(2028-10-04) found an exception on an ordinary Wednesday")
	}
	// In an official year the statutory rule is not consulted: the 2024
	// notice did not give lunar New Year's Eve 2024-02-09 off.
	if !c.IsWorkingDate(MustParseDate("2024-02-09")) {
		t.Error("2024-02-09 must stay a working day as the 2024 notice has it")
	}
}
