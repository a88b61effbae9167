package calendar

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
	lunar "github.com/6tail/lunar-go/calendar"
)

// holidayUtilYears returns the years HolidayUtil has a State Council notice
// for, found by scanning: a year counts when some entry's target (the
// holiday it belongs to) is in it, so that 2023-12-30/31, filed under New
// Year 2024, do not make 2023's neighbours look covered.
func holidayUtilYears() []int {
	var ys []int
	for y := 1990; y <= 2100; y++ {
		l := HolidayUtil.GetHolidaysByYear(y)
		for e := l.Front(); e != nil; e = e.Next() {
			if strings.HasPrefix(e.Value.(*HolidayUtil.Holiday).GetTarget(), fmt.Sprintf("%04d-", y)) {
				ys = append(ys, y)
				break
			}
		}
	}
	return ys
}

// The shipped data and lunar-go's HolidayUtil (an independently maintained
// transcription of the same notices) must agree on every day of every year
// both hold. lunar-go lists 2024-06-08/09 as 端午 days while our file leaves
// them ordinary weekend days; both are days off, so they agree.
func TestShippedDataAgreesWithLunarGoHolidayUtilDayByDay(t *testing.T) {
	c := china(t)
	lunarYears := holidayUtilYears()
	var both []int
	for _, y := range c.Years() {
		if slices.Contains(lunarYears, y) {
			both = append(both, y)
		}
	}
	for _, y := range []int{2024, 2025, 2026, 2027} {
		if !slices.Contains(both, y) {
			t.Fatalf("year %d should be in both the shipped data (%v) and HolidayUtil (%v)", y, c.Years(), lunarYears)
		}
	}
	compared := 0
	for _, y := range both {
		for d := (Date{y, time.January, 1}); d.Year == y; d = d.AddDays(1) {
			h := HolidayUtil.GetHolidayByYmd(d.Year, int(d.Month), d.Day)
			lunarWorking := (h != nil && h.IsWork()) || (h == nil && !isWeekend(d))
			if got := c.IsWorkingDate(d); got != lunarWorking {
				t.Errorf("%s (%s): shipped data says working=%v, lunar-go HolidayUtil says working=%v (%v)", d, d.Weekday(), got, lunarWorking, h)
			}
			compared++
		}
	}
	if compared < 1461 {
		t.Errorf("compared %d days, want at least 2024-2027 (1461)", compared)
	}
}

func TestStatutoryHolidays2028(t *testing.T) {
	want := []Day{
		{Date: MustParseDate("2028-01-01"), Name: "元旦"},
		{Date: MustParseDate("2028-01-25"), Name: "春节"},
		{Date: MustParseDate("2028-01-26"), Name: "春节"},
		{Date: MustParseDate("2028-01-27"), Name: "春节"},
		{Date: MustParseDate("2028-01-28"), Name: "春节"},
		{Date: MustParseDate("2028-04-04"), Name: "清明节"},
		{Date: MustParseDate("2028-05-01"), Name: "劳动节"},
		{Date: MustParseDate("2028-05-02"), Name: "劳动节"},
		{Date: MustParseDate("2028-05-28"), Name: "端午节"},
		{Date: MustParseDate("2028-10-01"), Name: "国庆节"},
		{Date: MustParseDate("2028-10-02"), Name: "国庆节"},
		{Date: MustParseDate("2028-10-03"), Name: "国庆节、中秋节"},
	}
	if got := StatutoryHolidays(2028); !slices.Equal(got, want) {
		t.Errorf("StatutoryHolidays(2028) =\n%v\nwant\n%v", got, want)
	}
}

func TestStatutoryHolidaysFollowTheRuleInForceThatYear(t *testing.T) {
	tests := []struct {
		name          string
		year          int
		springFest    []string
		labour        int
		hasQingming   bool
		totalDaysOff  int
		qingmingOnDay string
	}{
		{"2025 onwards: Spring Festival from the eve, Labour Day two days", 2025, []string{"2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31"}, 2, true, 13, "2025-04-04"},
		{"2014-2024: Spring Festival lunar 1/1-1/3, Labour Day one day", 2024, []string{"2024-02-10", "2024-02-11", "2024-02-12"}, 1, true, 11, "2024-04-04"},
		{"2008-2013: Spring Festival from the eve, three days", 2010, []string{"2010-02-13", "2010-02-14", "2010-02-15"}, 1, true, 11, "2010-04-05"},
		{"before 2008: no Qingming, Dragon Boat or Mid-Autumn, Labour Day three days", 2005, []string{"2005-02-09", "2005-02-10", "2005-02-11"}, 3, false, 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			days := StatutoryHolidays(tt.year)
			var sf []string
			labour, qingming := 0, ""
			for _, d := range days {
				if d.Working || d.Date.Year != tt.year {
					t.Errorf("unexpected day %+v", d)
				}
				switch d.Name {
				case "春节":
					sf = append(sf, d.Date.String())
				case "劳动节":
					labour++
				case "清明节":
					qingming = d.Date.String()
				}
			}
			if !slices.Equal(sf, tt.springFest) || labour != tt.labour || qingming != tt.qingmingOnDay || len(days) != tt.totalDaysOff {
				t.Errorf("StatutoryHolidays(%d): Spring Festival %v, Labour Day %d days, Qingming %q, %d days in all; want %v, %d, %q, %d",
					tt.year, sf, labour, qingming, len(days), tt.springFest, tt.labour, tt.qingmingOnDay, tt.totalDaysOff)
			}
		})
	}
	if got := StatutoryHolidays(MaxYear + 1); got != nil {
		t.Errorf("StatutoryHolidays(%d) = %v, want nothing outside the supported years", MaxYear+1, got)
	}
}

// Lunar New Year's Eve is the day before lunar 1/1, whether the 12th lunar
// month has 29 days (2025-2029 have no 腊月三十) or 30 (2030).
func TestSpringFestivalStartsOnTheEveWhateverTheLengthOfThe12thMonth(t *testing.T) {
	tests := []struct {
		year       int
		eve        string
		lunarDayOf int // day of the 12th lunar month the eve is
	}{
		{2025, "2025-01-28", 29},
		{2026, "2026-02-16", 29},
		{2027, "2027-02-05", 29},
		{2028, "2028-01-25", 29},
		{2029, "2029-02-12", 29},
		{2030, "2030-02-02", 30},
	}
	for _, tt := range tests {
		t.Run(tt.eve, func(t *testing.T) {
			days := StatutoryHolidays(tt.year)
			i := slices.IndexFunc(days, func(d Day) bool { return d.Name == "春节" })
			if i < 0 || days[i].Date.String() != tt.eve {
				t.Fatalf("first Spring Festival day of %d = %v, want %s", tt.year, days[i:], tt.eve)
			}
			d := days[i].Date
			l := lunar.NewSolarFromYmd(d.Year, int(d.Month), d.Day).GetLunar()
			if l.GetMonth() != 12 || l.GetDay() != tt.lunarDayOf {
				t.Errorf("%s is lunar %d/%d, want 12/%d", tt.eve, l.GetMonth(), l.GetDay(), tt.lunarDayOf)
			}
		})
	}
}

// Every day the law itself gives off must be a day off in every notice; this
// checks the rule (and its version per year) against the official data.
func TestStatutoryHolidaysAreDaysOffInEveryOfficialYear(t *testing.T) {
	c := china(t)
	for _, y := range c.Years() {
		for _, d := range StatutoryHolidays(y) {
			if c.IsWorkingDate(d.Date) {
				t.Errorf("%s (%s) is a statutory holiday but a working day in the %d data", d.Date, d.Name, y)
			}
		}
	}
}

func TestStatutoryHolidaysReturnsACopy(t *testing.T) {
	a := StatutoryHolidays(2028)
	a[0].Name = "changed"
	if b := StatutoryHolidays(2028); b[0].Name != "元旦" {
		t.Errorf("the cached answer was changed through a returned slice: %v", b[0])
	}
}
