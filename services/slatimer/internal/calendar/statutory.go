package calendar

import (
	"slices"
	"sync"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"
)

// StatutoryRule gives the exception days a year is assumed to have when the
// calendar has no complete (official) data for it. It must be a pure function
// of the year, because its answers are cached per year; days it returns that
// are not in the year asked for are ignored, and Day.Working is honoured.
type StatutoryRule func(year int) []Day

// WeekendsOnly is the StatutoryRule of a calendar with no statutory holidays
// of its own to fall back on (a branch outside mainland China): a year
// without data knows only weekends. Provisional still reports such spans.
func WeekendsOnly(int) []Day { return nil }

// MinYear and MaxYear bound the years the package reasons about: the years
// ValidateYear accepts and StatutoryHolidays answers for (outside them it
// returns nothing, so only weekends are known). The lower bound is far before
// any data the product holds; the upper one keeps the lunar arithmetic well
// inside the range lunar-go is built for.
const (
	MinYear = 1900
	MaxYear = 2200
)

// ChinaProvisionalRule says in words how a year without official data is
// counted by the default rule (StatutoryHolidays, from 2025 on), for showing
// next to provisional results.
const ChinaProvisionalRule = "No State Council notice loaded for the year: weekends off plus only the holidays fixed by " +
	"全国年节及纪念日放假办法 (2024 amendment): 元旦 Jan 1; 春节 lunar New Year's Eve and lunar 1/1-1/3; " +
	"清明节 on the solar term 清明; 劳动节 May 1-2; 端午节 lunar 5/5; 中秋节 lunar 8/15; 国庆节 Oct 1-3. " +
	"No bridge days, make-up working days or substitute days, which only the notice sets; bank closures still apply."

// StatutoryHolidays returns the days off that mainland China's 全国年节及纪念日
// 放假办法 itself fixes for the year, one Day per date (ascending, Working
// false, named as in the State Council notices; a date that is two holidays
// at once, such as 2028-10-03, carries both names). It is what a year without
// a published notice falls back to: no bridge days and no make-up working
// days (调休) — those only exist once the State Council's notice for the year
// is out — and no substitute days for a holiday on a weekend, which the notice
// also places.
//
// The rule in force for the year is used, because a year without data in the
// past must not be counted with today's rule:
//
//   - from 2025 (2024 amendment, in force 2025-01-01): 元旦 Jan 1; 春节 4 days,
//     lunar New Year's Eve (the day before lunar 1/1, whether the 12th lunar
//     month has 29 or 30 days) and lunar 1/1–1/3; 清明节 on the solar term
//     清明; 劳动节 May 1–2; 端午节 lunar 5/5; 中秋节 lunar 8/15; 国庆节
//     Oct 1–3;
//   - 2014–2024 (2013 amendment): the same, but 春节 lunar 1/1–1/3 and
//     劳动节 May 1 only;
//   - 2008–2013 (2007 amendment): 春节 is lunar New Year's Eve, 1/1 and 1/2;
//   - before 2008 (1999 amendment; also used for any earlier year): 元旦,
//     春节 lunar 1/1–1/3, 劳动节 May 1–3, 国庆节 Oct 1–3 and nothing else.
//
// Lunar and solar-term dates come from github.com/6tail/lunar-go (Beijing
// time), not from tables of our own. The answer is cached per year.
func StatutoryHolidays(year int) []Day {
	return slices.Clone(chinaStatutory.year(year).list)
}

func chinaStatutoryDays(year int) []Day {
	if year < MinYear || year > MaxYear {
		return nil
	}
	days := map[Date]string{}
	add := func(name string, d Date, n int) {
		for i := range n {
			day, full := d.AddDays(i), name
			if prev, ok := days[day]; ok && prev != name {
				full = prev + "、" + name
			}
			days[day] = full
		}
	}
	fixed := func(m time.Month, d int) Date { return Date{Year: year, Month: m, Day: d} }
	newYear := lunarDate(year, 1, 1)
	eve := newYear.AddDays(-1)

	add("元旦", fixed(time.January, 1), 1)
	add("国庆节", fixed(time.October, 1), 3)
	switch {
	case year >= 2025:
		add("春节", eve, 4)
		add("劳动节", fixed(time.May, 1), 2)
	case year >= 2014:
		add("春节", newYear, 3)
		add("劳动节", fixed(time.May, 1), 1)
	case year >= 2008:
		add("春节", eve, 3)
		add("劳动节", fixed(time.May, 1), 1)
	default:
		add("春节", newYear, 3)
		add("劳动节", fixed(time.May, 1), 3)
	}
	if year >= 2008 {
		add("清明节", qingming(year), 1)
		add("端午节", lunarDate(year, 5, 5), 1)
		add("中秋节", lunarDate(year, 8, 15), 1)
	}

	out := make([]Day, 0, len(days))
	for d, name := range days {
		out = append(out, Day{Date: d, Name: name})
	}
	slices.SortFunc(out, func(a, b Day) int { return a.Date.Sub(b.Date) })
	return out
}

// lunarDate converts a day of a (non-leap) lunar month of the lunar year that
// starts in the solar year to the solar date.
func lunarDate(year, month, day int) Date {
	s := lunar.NewLunarFromYmd(year, month, day).GetSolar()
	return Date{Year: s.GetYear(), Month: time.Month(s.GetMonth()), Day: s.GetDay()}
}

// qingming returns the date (Beijing time) of the solar term 清明 in the year.
// Mid-April is always in the lunar-go year whose solar-term table holds that
// year's 清明.
func qingming(year int) Date {
	s := lunar.NewSolarFromYmd(year, 4, 15).GetLunar().GetJieQiTable()["清明"]
	return Date{Year: s.GetYear(), Month: time.Month(s.GetMonth()), Day: s.GetDay()}
}

// statutoryCache remembers a StatutoryRule's answers per year, because the
// rule is asked for every day a computation steps over and the lunar
// arithmetic is not free. It is safe for concurrent use and shared by every
// calendar using the same rule.
type statutoryCache struct {
	rule  StatutoryRule
	mu    sync.RWMutex
	years map[int]*statutoryYear
}

type statutoryYear struct {
	list []Day
	days map[Date]Day
}

var chinaStatutory = newStatutoryCache(chinaStatutoryDays)

func newStatutoryCache(rule StatutoryRule) *statutoryCache {
	return &statutoryCache{rule: rule, years: map[int]*statutoryYear{}}
}

func (s *statutoryCache) year(y int) *statutoryYear {
	s.mu.RLock()
	sy, ok := s.years[y]
	s.mu.RUnlock()
	if ok {
		return sy
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sy, ok := s.years[y]; ok {
		return sy
	}
	list := s.rule(y)
	sy = &statutoryYear{list: slices.Clone(list), days: make(map[Date]Day, len(list))}
	for _, d := range list {
		sy.days[d.Date] = d
	}
	s.years[y] = sy
	return sy
}

func (s *statutoryCache) lookup(d Date) (Day, bool) {
	day, ok := s.year(d.Year).days[d]
	return day, ok
}
