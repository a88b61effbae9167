package calendar_test

import (
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
)

// A branch open Monday–Friday 09:00–12:00 and 13:00–17:00 and Saturday
// 09:00–12:00, closed on Wednesdays.
func branchCalendar(t *testing.T) *calendar.Calendar {
	t.Helper()
	c, err := calendar.China()
	if err != nil {
		t.Fatal(err)
	}
	var ps []calendar.Period
	for _, p := range []struct {
		days          []int
		opens, closes string
	}{{[]int{1, 2, 4, 5}, "09:00", "12:00"}, {[]int{1, 2, 4, 5}, "13:00", "17:00"}, {[]int{6}, "09:00", "12:00"}} {
		pp, err := calendar.ParsePeriod(p.days, p.opens, p.closes)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, pp)
	}
	b, err := c.WithOpeningHours(ps)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpeningHoursWithALunchBreak(t *testing.T) {
	b := branchCalendar(t)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, sh) }
	// 2026-11-23 is a Monday; 2026-11-25 a Wednesday; 2026-11-28 a Saturday.
	add := []struct {
		name string
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{"within the morning", at(2026, 11, 23, 10, 0), 15 * time.Minute, at(2026, 11, 23, 10, 15)},
		{"across the lunch break", at(2026, 11, 23, 11, 50), 15 * time.Minute, at(2026, 11, 23, 13, 5)},
		{"ending exactly at the lunch closing", at(2026, 11, 23, 11, 50), 10 * time.Minute, at(2026, 11, 23, 12, 0)},
		{"starting during lunch", at(2026, 11, 23, 12, 30), 15 * time.Minute, at(2026, 11, 23, 13, 15)},
		{"Tuesday evening skips the closed Wednesday", at(2026, 11, 24, 16, 50), 15 * time.Minute, at(2026, 11, 26, 9, 5)},
		{"Friday evening counts Saturday morning", at(2026, 11, 27, 16, 50), 15 * time.Minute, at(2026, 11, 28, 9, 5)},
		{"Saturday noon goes on to Monday", at(2026, 11, 28, 11, 55), 15 * time.Minute, at(2026, 11, 30, 9, 10)},
		// National Day 2026: Oct 1–7 off (Wednesday Sep 30 the branch is closed anyway).
		{"the holiday week counts nothing", at(2026, 9, 29, 16, 55), 15 * time.Minute, at(2026, 10, 8, 9, 10)},
		// Sunday 2026-09-20 is a make-up working day (调休): Monday's hours, lunch break included.
		{"a make-up Sunday opens with Monday's hours", at(2026, 9, 20, 11, 55), 15 * time.Minute, at(2026, 9, 20, 13, 10)},
		{"an ordinary Sunday is closed", at(2026, 11, 29, 10, 0), 15 * time.Minute, at(2026, 11, 30, 9, 15)},
	}
	for _, tt := range add {
		if got := b.AddBusinessTime(tt.from, tt.d); !got.Equal(tt.want) {
			t.Errorf("%s: AddBusinessTime = %s, want %s", tt.name, got, tt.want)
		}
		if got := b.BusinessTimeBetween(tt.from, tt.want); got != tt.d {
			t.Errorf("%s: BusinessTimeBetween = %s, want %s", tt.name, got, tt.d)
		}
	}
	if got := b.BusinessTimeBetween(at(2026, 11, 23, 8, 0), at(2026, 11, 23, 18, 0)); got != 7*time.Hour {
		t.Errorf("a Monday holds %s of business time, want 7h", got)
	}
	if got := b.NextOpening(at(2026, 11, 23, 12, 30)); !got.Equal(at(2026, 11, 23, 13, 0)) {
		t.Errorf("NextOpening in lunch = %s", got)
	}
	// Working days still follow the national calendar and end at the last closing.
	if got := b.AddWorkingDays(at(2026, 11, 27, 10, 0), 1); !got.Equal(at(2026, 11, 30, 17, 0)) {
		t.Errorf("1 working day after Friday = %s, want Monday 17:00", got)
	}
}

func TestOpeningHoursAreChecked(t *testing.T) {
	c, err := calendar.China()
	if err != nil {
		t.Fatal(err)
	}
	for name, ps := range map[string][]calendar.Period{
		"closes before it opens": {{Weekdays: []time.Weekday{time.Monday}, Opens: 17 * time.Hour, Closes: 9 * time.Hour}},
		"overlapping periods":    {{Weekdays: []time.Weekday{time.Monday}, Opens: 9 * time.Hour, Closes: 13 * time.Hour}, {Weekdays: []time.Weekday{time.Monday}, Opens: 12 * time.Hour, Closes: 17 * time.Hour}},
		"no weekdays":            {{Opens: 9 * time.Hour, Closes: 17 * time.Hour}},
	} {
		if _, err := c.WithOpeningHours(ps); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := calendar.ParsePeriod([]int{8}, "09:00", "17:00"); err == nil {
		t.Error("weekday 8 accepted")
	}
}
