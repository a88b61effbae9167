package calendar

import (
	"testing"
	"time"
)

func TestEndOfCalendarDaysIsMidnightAfterTheLastDay(t *testing.T) {
	tests := []struct {
		name  string
		start string
		n     int
		last  string
		end   string
	}{
		{"fifteen days ending inside National Day 2026 end with 10-08", "2026-09-20 10:00", 15, "2026-10-08", "2026-10-09 00:00"},
		{"a period whose last day is a make-up working Saturday ends with it", "2026-02-13 10:00", 1, "2026-02-14", "2026-02-15 00:00"},
		{"a period received one minute before midnight still skips the day of receipt", "2026-11-19 23:59", 1, "2026-11-20", "2026-11-21 00:00"},
		{"a last day of 31 December ends at the first instant of the next year", "2027-12-16 10:00", 15, "2027-12-31", "2028-01-01 00:00"},
		{"zero days: the start's own date and the start itself", "2026-11-21 10:00", 0, "2026-11-21", "2026-11-21 10:00"},
	}
	c := china(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, tt.start)
			if got := c.CalendarDaysLastDay(start, tt.n); got != MustParseDate(tt.last) {
				t.Errorf("CalendarDaysLastDay(%s, %d) = %s, want %s", tt.start, tt.n, got, tt.last)
			}
			if got, want := c.EndOfCalendarDays(start, tt.n), at(t, tt.end); !got.Equal(want) {
				t.Errorf("EndOfCalendarDays(%s, %d) = %s, want %s", tt.start, tt.n, got, want)
			}
			if got := c.AddCalendarDays(start, tt.n); DateOf(got) != MustParseDate(tt.last) {
				t.Errorf("AddCalendarDays(%s, %d) = %s, not on the last day %s", tt.start, tt.n, got, tt.last)
			}
		})
	}

	t.Run("the end is read in the start's zone", func(t *testing.T) {
		start := time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC) // Saturday 04:00 in Shanghai
		if got, want := c.EndOfCalendarDays(start, 1), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("UTC: got %s, want %s", got, want)
		}
		if got, want := c.EndOfCalendarDays(start.In(shanghai), 1), at(t, "2026-11-24 00:00"); !got.Equal(want) {
			t.Errorf("Shanghai: got %s, want %s", got, want)
		}
	})
}
