package calendar

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

var shanghai = DefaultLocation()

// at builds a local time in Asia/Shanghai from "2006-01-02 15:04".
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func china(t *testing.T) *Calendar {
	t.Helper()
	c, err := China()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sourceFile is the JSON read independently of the package's parser, so the
// cross-checks below do not trust the code under test.
type sourceFile struct {
	Years map[string]sourceYear
}

type sourceYear struct {
	Holidays []struct{ Name, From, To string }
	Workdays []string
}

// readSource merges every embedded file; a year in two files is an error.
func readSource(t *testing.T) sourceFile {
	t.Helper()
	all := sourceFile{Years: map[string]sourceYear{}}
	for name, data := range ChinaDataFiles() {
		var f sourceFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(name, err)
		}
		for y, v := range f.Years {
			if _, dup := all.Years[y]; dup {
				t.Fatalf("%s: year %s is in two files", name, y)
			}
			all.Years[y] = v
		}
	}
	return all
}

// holiday returns the from/to dates of the named holiday of a year.
func (f sourceFile) holiday(t *testing.T, year, name string) (from, to time.Time) {
	t.Helper()
	for _, h := range f.Years[year].Holidays {
		if strings.Contains(h.Name, name) {
			a, _ := time.ParseInLocation(time.DateOnly, h.From, shanghai)
			b, _ := time.ParseInLocation(time.DateOnly, h.To, shanghai)
			return a, b
		}
	}
	t.Fatalf("no holiday %q in %s", name, year)
	return
}

func TestEveryDayOfTheDataYearsMatchesTheSourceFile(t *testing.T) {
	f := readSource(t)
	off := map[string]bool{}
	on := map[string]bool{}
	for _, y := range f.Years {
		for _, h := range y.Holidays {
			a, _ := time.Parse(time.DateOnly, h.From)
			b, _ := time.Parse(time.DateOnly, h.To)
			for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
				off[d.Format(time.DateOnly)] = true
			}
		}
		for _, w := range y.Workdays {
			on[w] = true
		}
	}
	c := china(t)
	days, holidays, makeups := 0, 0, 0
	for d := at(t, "2024-01-01 12:00"); d.Year() <= 2027; d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		want := d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
		if off[key] {
			want = false
			holidays++
		}
		if on[key] {
			want = true
			makeups++
		}
		if got := c.IsWorkingDay(d); got != want {
			t.Errorf("IsWorkingDay(%s, %s) = %v, want %v", key, d.Weekday(), got, want)
		}
		days++
	}
	if days != 1461 || makeups != 24 || holidays == 0 {
		t.Errorf("walked %d days, %d holiday days, %d make-up days; want 1461 days and 24 make-up days", days, holidays, makeups)
	}
}

func TestEveryMakeUpWorkingDayInTheDataIsAWeekendDay(t *testing.T) {
	for year, y := range readSource(t).Years {
		for _, w := range y.Workdays {
			d, err := time.Parse(time.DateOnly, w)
			if err != nil {
				t.Fatal(err)
			}
			if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
				t.Errorf("%s: make-up working day %s is a %s", year, w, wd)
			}
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	tests := []struct {
		name  string
		start string
		n     int
		want  string
	}{
		{"a case received on Friday morning is due at close of business on Monday", "2026-11-20 10:00", 1, "2026-11-23 17:00"},
		{"a case received on Friday after closing still does not count Friday", "2026-11-20 18:30", 1, "2026-11-23 17:00"},
		{"a case received on Saturday counts from Monday", "2026-11-21 11:00", 1, "2026-11-23 17:00"},
		{"a case received early on Monday does not count Monday", "2026-11-23 08:00", 1, "2026-11-24 17:00"},
		{"the make-up working Saturday before Spring Festival 2026 counts as a working day", "2026-02-13 10:00", 1, "2026-02-14 17:00"},
		{"a case received on the make-up Saturday waits out the Spring Festival 2026 block", "2026-02-14 10:00", 1, "2026-02-24 17:00"},
		{"five working days from the Friday before Spring Festival 2026 skip the whole block", "2026-02-13 10:00", 5, "2026-02-27 17:00"},
		{"the make-up Saturday after Spring Festival 2026 counts too", "2026-02-24 10:00", 4, "2026-02-28 17:00"},
		{"one working day from the eve of National Day 2026 lands after the holiday", "2026-09-30 10:00", 1, "2026-10-08 17:00"},
		{"five working days across National Day 2026 include the make-up Saturday 10-10", "2026-09-29 10:00", 5, "2026-10-12 17:00"},
		{"a case received during the National Day holiday counts from its end", "2026-10-03 10:00", 1, "2026-10-08 17:00"},
		{"the make-up Sunday after New Year 2026 is the first working day", "2025-12-31 10:00", 1, "2026-01-04 17:00"},
		{"National Day 2025 runs to 10-08 and 10-11 is a make-up Saturday", "2025-09-30 10:00", 3, "2025-10-11 17:00"},
		{"New Year 2027 (from the 2027 data) runs 01-01..01-03", "2026-12-31 10:00", 1, "2027-01-04 17:00"},
		{"the make-up Sunday before Spring Festival 2027 counts", "2027-01-29 10:00", 1, "2027-01-31 17:00"},
		{"a case received on the eve of Spring Festival 2027 waits for the make-up Sunday 02-14", "2027-02-04 10:00", 1, "2027-02-14 17:00"},
		{"two working days from the eve of National Day 2027 end on the make-up Saturday 10-09", "2027-09-30 16:00", 2, "2027-10-09 17:00"},
		{"outside the data (2028) the statutory Qingming day is off, with no bridge days assumed", "2028-04-03 10:00", 1, "2028-04-05 17:00"},
		{"outside the data (2028) Spring Festival is the eve and lunar 1/1-1/3 (01-25..01-28)", "2028-01-24 10:00", 1, "2028-01-31 17:00"},
		{"zero working days leave the start unchanged", "2026-11-20 10:00", 0, "2026-11-20 10:00"},
	}
	c := china(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkingDays(at(t, tt.start), tt.n)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.start, tt.n, got, want)
			}
		})
	}
}

func TestAddWorkingDaysAgreesWithTheSourceFileAroundHolidays(t *testing.T) {
	f := readSource(t)
	c := china(t)
	tests := []struct {
		name, year, holiday string
	}{
		{"the day before National Day 2026 is answered on the day after its last holiday", "2026", "国庆"},
		{"the day before Labour Day 2026 is answered on the day after its last holiday", "2026", "劳动"},
		{"the day before Qingming 2025 is answered on the day after its last holiday", "2025", "清明"},
		{"the day before Spring Festival 2027 is answered on the day after its last holiday", "2027", "春节"},
		{"the day before National Day 2027 is answered on the day after its last holiday", "2027", "国庆"},
		{"the day before Dragon Boat 2027 is answered on the day after it", "2027", "端午"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := f.holiday(t, tt.year, tt.holiday)
			start := from.AddDate(0, 0, -1).Add(10 * time.Hour)
			next := to.AddDate(0, 0, 1)
			for !c.IsWorkingDay(next) { // e.g. a holiday ending on a Friday
				next = next.AddDate(0, 0, 1)
			}
			want := next.Add(17 * time.Hour)
			if got := c.AddWorkingDays(start, 1); !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, 1) = %s, want %s (holiday %s..%s)", start, got, want, from.Format(time.DateOnly), to.Format(time.DateOnly))
			}
		})
	}
}

func TestAddBusinessTime(t *testing.T) {
	tests := []struct {
		name  string
		hours WorkHours
		start string
		d     time.Duration
		want  string
	}{
		{"fifteen minutes from 16:50 on Friday roll over to Monday 09:05", WorkHours{}, "2026-11-20 16:50", 15 * time.Minute, "2026-11-23 09:05"},
		{"fifteen minutes from 16:50 on the eve of National Day roll over to 10-08 09:05", WorkHours{}, "2026-09-30 16:50", 15 * time.Minute, "2026-10-08 09:05"},
		{"counting starts at opening when started before hours", WorkHours{}, "2026-11-23 07:00", 15 * time.Minute, "2026-11-23 09:15"},
		{"counting started on a holiday starts at the next opening", WorkHours{}, "2026-10-01 12:00", time.Hour, "2026-10-08 10:00"},
		{"a limit running out exactly at closing ends at closing", WorkHours{}, "2026-11-23 16:00", time.Hour, "2026-11-23 17:00"},
		{"counting started exactly at closing starts the next working day", WorkHours{}, "2026-11-20 17:00", 15 * time.Minute, "2026-11-23 09:15"},
		{"sixteen business hours from Monday opening end on Tuesday at closing", WorkHours{}, "2026-11-23 09:00", 16 * time.Hour, "2026-11-24 17:00"},
		{"a make-up Saturday has business hours", WorkHours{}, "2026-02-13 16:30", time.Hour, "2026-02-14 09:30"},
		{"a bank's own hours 08:30-17:30 are used", WorkHours{Start: 8*time.Hour + 30*time.Minute, End: 17*time.Hour + 30*time.Minute}, "2026-11-20 17:20", 15 * time.Minute, "2026-11-23 08:35"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := china(t).WithWorkHours(tt.hours)
			if err != nil {
				t.Fatal(err)
			}
			got := c.AddBusinessTime(at(t, tt.start), tt.d)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddBusinessTime(%s, %v) = %s, want %s", tt.start, tt.d, got, want)
			}
		})
	}
}

func TestBusinessTimeBetween(t *testing.T) {
	tests := []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"Friday 10:00 to Monday closing is seven hours plus eight", at(t, "2026-11-20 10:00"), at(t, "2026-11-23 17:00"), 15 * time.Hour},
		{"the National Day holiday contributes nothing", at(t, "2026-09-30 16:00"), at(t, "2026-10-08 10:00"), 2 * time.Hour},
		{"a span inside a weekend is zero", at(t, "2026-11-21 10:00"), at(t, "2026-11-22 16:00"), 0},
		{"reversed arguments give a negative span", at(t, "2026-11-23 17:00"), at(t, "2026-11-20 10:00"), -15 * time.Hour},
		{"half a second after closing is closed, not negative time", at(t, "2026-11-20 17:00").Add(500 * time.Millisecond), at(t, "2026-11-23 10:00"), time.Hour},
		{"an instant in another zone is read on the same timeline", at(t, "2026-11-23 09:00"), time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), time.Hour},
	}
	c := china(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.BusinessTimeBetween(tt.a, tt.b); got != tt.want {
				t.Errorf("BusinessTimeBetween(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	c := china(t)
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"2024 is covered", at(t, "2024-06-01 12:00"), true},
		{"2026 is covered to its last day", at(t, "2026-12-31 23:59"), true},
		{"2023 is not covered", at(t, "2023-12-31 12:00"), false},
		{"2027 is covered from its first instant", at(t, "2027-01-01 00:00"), true},
		{"2027 is covered to its last day", at(t, "2027-12-31 23:59"), true},
		{"2028 is not covered", at(t, "2028-01-01 00:00"), false},
		{"the year is read in the instant's location", time.Date(2027, 12, 31, 17, 0, 0, 0, time.UTC).In(shanghai), false},
		{"the same instant read in UTC is still 2027", time.Date(2027, 12, 31, 17, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Covers(tt.t); got != tt.want {
				t.Errorf("Covers(%s) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
	if got := c.Years(); !slices.Equal(got, []int{2024, 2025, 2026, 2027}) {
		t.Errorf("Years() = %v, want [2024 2025 2026 2027]", got)
	}
}

func TestOutsideTheDataTheStatutoryHolidaysApply(t *testing.T) {
	c := china(t)
	tests := []struct {
		name string
		day  string
		want bool
	}{
		{"lunar New Year's Eve 2028 (a Tuesday) is a day off", "2028-01-25 12:00", false},
		{"lunar 1/3 2028 (a Friday) is a day off", "2028-01-28 12:00", false},
		{"Monday 2028-01-31 after Spring Festival is a working day: no bridge days are assumed", "2028-01-31 12:00", true},
		{"Sunday 2028-01-23 stays a day off: no make-up working days are assumed", "2028-01-23 12:00", false},
		{"Qingming 2028 (solar term on Tuesday 04-04) is a day off", "2028-04-04 12:00", false},
		{"Monday 2028-04-03 before Qingming is a working day", "2028-04-03 12:00", true},
		{"Labour Day 2028 is two days: Tuesday 05-02 is off", "2028-05-02 12:00", false},
		{"Wednesday 2028-05-03 is a working day", "2028-05-03 12:00", true},
		{"National Day 2028 is three days: Tuesday 10-03 (also Mid-Autumn) is off", "2028-10-03 12:00", false},
		{"Wednesday 2028-10-04 is a working day", "2028-10-04 12:00", true},
		{"an ordinary Friday in 2028 is a working day", "2028-11-17 12:00", true},
		{"an ordinary Saturday in 2028 is a day off", "2028-11-18 12:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := at(t, tt.day)
			if c.Covers(d) {
				t.Fatalf("Covers(%s) = true; the data should stop at 2027", tt.day)
			}
			if got := c.IsWorkingDay(d); got != tt.want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.day, got, tt.want)
			}
		})
	}
}

func TestIsWorkingDayReadsTheDateInTheInstantsLocation(t *testing.T) {
	c := china(t)
	// Friday 2026-11-20 20:00 UTC is already Saturday 04:00 in Shanghai.
	u := time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC)
	if !c.IsWorkingDay(u) {
		t.Errorf("IsWorkingDay(%s) = false, want true (a Friday in UTC)", u)
	}
	if c.IsWorkingDay(u.In(shanghai)) {
		t.Errorf("IsWorkingDay(%s) = true, want false (a Saturday in Shanghai)", u.In(shanghai))
	}
}

func TestBankClosuresAndExtraWorkingDays(t *testing.T) {
	friday := at(t, "2026-11-20 10:00")
	tests := []struct {
		name  string
		start string
		setup func(*Calendar) error
		want  string
	}{
		{"a bank closure on Monday pushes a 1-day limit to Tuesday", "2026-11-20 10:00", func(c *Calendar) error {
			return c.AddClosure(MustParseDate("2026-11-23"), "branch relocation")
		}, "2026-11-24 17:00"},
		{"an extra working Saturday pulls a 1-day limit to Saturday", "2026-11-20 10:00", func(c *Calendar) error {
			return c.AddWorkingDay(MustParseDate("2026-11-21"), "year-end campaign")
		}, "2026-11-21 17:00"},
		{"a closure can override a make-up working day of the data", "2026-02-13 10:00", func(c *Calendar) error {
			return c.AddClosure(MustParseDate("2026-02-14"), "branch closed")
		}, "2026-02-24 17:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := china(t)
			if err := tt.setup(c); err != nil {
				t.Fatal(err)
			}
			if got, want := c.AddWorkingDays(at(t, tt.start), 1), at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddWorkingDays = %s, want %s", got, want)
			}
		})
	}

	t.Run("a closure on one bank's calendar does not leak into another China calendar", func(t *testing.T) {
		a, b := china(t), china(t)
		if err := a.AddClosure(MustParseDate("2026-11-23"), "x"); err != nil {
			t.Fatal(err)
		}
		if !b.IsWorkingDate(MustParseDate("2026-11-23")) {
			t.Error("closure leaked into a second China() calendar")
		}
		clone := a.Clone("bank-a")
		if err := clone.AddClosure(MustParseDate("2026-11-24"), "y"); err != nil {
			t.Fatal(err)
		}
		if !a.IsWorkingDate(MustParseDate("2026-11-24")) || clone.IsWorkingDate(MustParseDate("2026-11-23")) {
			t.Error("Clone must copy existing closures and keep new ones to itself")
		}
	})

	t.Run("a closure added to a calendar is seen through its other work-hours views", func(t *testing.T) {
		c := china(t)
		v, err := c.WithWorkHours(WorkHours{Start: 8 * time.Hour, End: 16 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddClosure(MustParseDate("2026-11-23"), "x"); err != nil {
			t.Fatal(err)
		}
		if got, want := v.AddWorkingDays(friday, 1), at(t, "2026-11-24 16:00"); !got.Equal(want) {
			t.Errorf("AddWorkingDays via view = %s, want %s", got, want)
		}
	})

	t.Run("an invalid closure date is rejected", func(t *testing.T) {
		if err := china(t).AddClosure(Date{2026, 2, 30}, "x"); err == nil {
			t.Error("AddClosure(2026-02-30) = nil, want error")
		}
	})
}

func TestLookupNamesTheDay(t *testing.T) {
	c := china(t)
	if d, ok := c.Lookup(MustParseDate("2026-10-03")); !ok || d.Working || d.Name != "国庆节" {
		t.Errorf("Lookup(2026-10-03) = %+v, %v; want the 国庆节 day off", d, ok)
	}
	if d, ok := c.Lookup(MustParseDate("2026-02-28")); !ok || !d.Working {
		t.Errorf("Lookup(2026-02-28) = %+v, %v; want a make-up working day", d, ok)
	}
	if _, ok := c.Lookup(MustParseDate("2026-11-20")); ok {
		t.Error("Lookup(2026-11-20) found an exception on an ordinary Friday")
	}
}

func TestNewBuildsABanksOwnCalendar(t *testing.T) {
	c, err := New("bank-hk", Config{
		Location:  time.UTC,
		WorkHours: WorkHours{Start: 10 * time.Hour, End: 16 * time.Hour},
		Days: []Day{
			{Date: MustParseDate("2026-12-25"), Name: "Christmas"},
			{Date: MustParseDate("2026-12-26"), Working: true, Name: "year-end"},
		},
		Years: []int{2026},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 24, 11, 0, 0, 0, time.UTC)
	if got, want := c.AddWorkingDays(start, 1), time.Date(2026, 12, 26, 16, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("AddWorkingDays = %s, want %s", got, want)
	}
	if c.ID() != "bank-hk" || c.Location() != time.UTC || !c.CoversYear(2026) || c.CoversYear(2025) {
		t.Errorf("unexpected calendar metadata: id %q, loc %v, years %v", c.ID(), c.Location(), c.Years())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	d := MustParseDate("2026-12-25")
	tests := []struct {
		name string
		id   string
		cfg  Config
		want string
	}{
		{"an empty id is rejected", "", Config{}, "calendar id"},
		{"a date listed as both working and off is rejected", "x", Config{Days: []Day{{Date: d}, {Date: d, Working: true}}}, "days[1]: 2026-12-25 is listed both as working and as a day off"},
		{"an impossible date is rejected", "x", Config{Days: []Day{{Date: Date{2026, 2, 30}}}}, "days[0].date"},
		{"closing before opening is rejected", "x", Config{WorkHours: WorkHours{Start: 17 * time.Hour, End: 9 * time.Hour}}, "end: must be after start"},
		{"closing at midnight is rejected", "x", Config{WorkHours: WorkHours{Start: 9 * time.Hour, End: 24 * time.Hour}}, "end: must be between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.id, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseDaysIsStrictAboutTheFile(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"a make-up working day on a weekday is rejected", `{"years":{"2026":{"holidays":[],"workdays":["2026-11-20"]}}}`, "is a Friday"},
		{"a date both holiday and make-up day is rejected", `{"years":{"2026":{"holidays":[{"name":"x","from":"2026-10-01","to":"2026-10-04"}],"workdays":["2026-10-03"]}}}`, "already listed"},
		{"a range ending before it starts is rejected", `{"years":{"2026":{"holidays":[{"name":"x","from":"2026-10-04","to":"2026-10-01"}]}}}`, "is before from"},
		{"a date filed under the wrong year is rejected", `{"years":{"2025":{"workdays":["2026-10-10"]}}}`, "is not in 2025"},
		{"a malformed date is rejected", `{"years":{"2026":{"workdays":["2026-10-1"]}}}`, "want YYYY-MM-DD"},
		{"a file without years is rejected", `{}`, "no years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseDays([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseDays error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseWorkHours(t *testing.T) {
	tests := []struct {
		name       string
		start, end string
		want       WorkHours
		wantErr    string
	}{
		{"empty strings mean 09:00-17:00", "", "", DefaultWorkHours(), ""},
		{"HH:MM values are read as wall-clock times", "08:30", "17:30", WorkHours{Start: 8*time.Hour + 30*time.Minute, End: 17*time.Hour + 30*time.Minute}, ""},
		{"closing before opening is an error", "18:00", "09:00", WorkHours{}, "end: must be after start"},
		{"a malformed time names the field", "9am", "17:00", WorkHours{}, "start:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWorkHours(tt.start, tt.end)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseWorkHours = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestOpeningHoursStayOnTheWallClockAcrossDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New("de-test", Config{Location: berlin, Statutory: WeekendsOnly, Days: []Day{
		{Date: MustParseDate("2026-03-29"), Working: true, Name: "open on the DST Sunday"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"an hour from Friday 16:30 before the spring change ends 09:30 summer time on the open Sunday",
			time.Date(2026, 3, 27, 16, 30, 0, 0, berlin), time.Hour, time.Date(2026, 3, 29, 9, 30, 0, 0, berlin)},
		{"a full business day on the short DST Sunday is still 09:00-17:00 on the wall clock",
			time.Date(2026, 3, 29, 9, 0, 0, 0, berlin), 8 * time.Hour, time.Date(2026, 3, 29, 17, 0, 0, 0, berlin)},
		{"a start late on the Saturday night before the change counts from the short Sunday when the bank opens then",
			time.Date(2026, 3, 28, 23, 30, 0, 0, berlin), 15 * time.Minute, time.Date(2026, 3, 29, 9, 15, 0, 0, berlin)},
		{"an hour from Friday 16:30 before the autumn change ends Monday 09:30 winter time",
			time.Date(2026, 10, 23, 16, 30, 0, 0, berlin), time.Hour, time.Date(2026, 10, 26, 9, 30, 0, 0, berlin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.AddBusinessTime(tt.start, tt.d); !got.Equal(tt.want) {
				t.Errorf("AddBusinessTime(%s, %v) = %s, want %s", tt.start, tt.d, got, tt.want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	d := MustParseDate("2026-02-28")
	if got := d.AddDays(1).String(); got != "2026-03-01" {
		t.Errorf("AddDays(1) = %s, want 2026-03-01", got)
	}
	if d.Weekday() != time.Saturday {
		t.Errorf("Weekday = %s, want Saturday", d.Weekday())
	}
	if !d.Before(MustParseDate("2026-03-01")) || MustParseDate("2026-03-01").Before(d) {
		t.Error("Before is wrong")
	}
	if (Date{2024, 2, 29}).Valid() != true || (Date{2026, 2, 29}).Valid() != false {
		t.Error("Valid is wrong about leap days")
	}
}
