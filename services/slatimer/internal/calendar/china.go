package calendar

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// ChinaID is the id of the national calendar of mainland China.
const ChinaID = "cn"

//go:embed data/cn-2024-2026.json
var chinaData []byte

// ChinaData returns the embedded State Council holiday file, so tests and
// tools can check the calendar against the source rather than against
// constants of their own.
func ChinaData() []byte { return slices.Clone(chinaData) }

var chinaDays = sync.OnceValues(func() (dataset, error) {
	days, years, err := ParseDays(chinaData)
	return dataset{Days: days, Years: years}, err
})

// China returns a fresh calendar of mainland China built from the embedded
// data (2024-2026), in Asia/Shanghai with default work hours. Each call
// returns an independent calendar, so a bank's AddClosure never leaks into
// another bank's.
func China() (*Calendar, error) {
	ds, err := chinaDays()
	if err != nil {
		return nil, fmt.Errorf("embedded China calendar: %w", err)
	}
	return New(ChinaID, Config{Days: ds.Days, Years: ds.Years})
}

// dataset is what a holiday file yields.
type dataset struct {
	Days  []Day
	Years []int
}

// fileFormat is the shape of calendars/cn-2024-2026.json: per year the
// holiday ranges (inclusive, weekends inside a range included) and the
// weekend days declared working days (调休上班).
type fileFormat struct {
	Years map[string]struct {
		Holidays []struct {
			Name string `json:"name"`
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"holidays"`
		Workdays []string `json:"workdays"`
	} `json:"years"`
}

// ParseDays reads a holiday file in the format of cn-2024-2026.json and
// returns its exception days and the years it covers. It is strict: make-up
// working days must be weekend days, a date may not be both a holiday and a
// make-up day, and every date must belong to (or, for ranges, touch) the year
// it is filed under, because a typo in this file silently moves deadlines.
func ParseDays(data []byte) (days []Day, years []int, err error) {
	ds, err := parseDays(data)
	return ds.Days, ds.Years, err
}

func parseDays(data []byte) (ds dataset, err error) {
	var f fileFormat
	if err := json.Unmarshal(data, &f); err != nil {
		return dataset{}, fmt.Errorf("parse holiday file: %w", err)
	}
	if len(f.Years) == 0 {
		return dataset{}, errors.New("holiday file: no years")
	}
	keys := make([]string, 0, len(f.Years))
	for k := range f.Years {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := map[Date]Day{}
	add := func(where string, d Day) error {
		if prev, ok := seen[d.Date]; ok {
			return fmt.Errorf("%s: %s already listed as %s", where, d.Date, describe(prev))
		}
		seen[d.Date] = d
		ds.Days = append(ds.Days, d)
		return nil
	}
	for _, key := range keys {
		year, err := strconv.Atoi(key)
		if err != nil {
			return dataset{}, fmt.Errorf("years[%q]: not a year", key)
		}
		ds.Years = append(ds.Years, year)
		y := f.Years[key]
		for i, h := range y.Holidays {
			where := fmt.Sprintf("years[%q].holidays[%d]", key, i)
			from, err := ParseDate(h.From)
			if err != nil {
				return dataset{}, fmt.Errorf("%s.from: %w", where, err)
			}
			to, err := ParseDate(h.To)
			if err != nil {
				return dataset{}, fmt.Errorf("%s.to: %w", where, err)
			}
			switch {
			case to.Before(from):
				return dataset{}, fmt.Errorf("%s: to %s is before from %s", where, to, from)
			case from.Year != year && to.Year != year:
				return dataset{}, fmt.Errorf("%s: %s..%s is not in %d", where, from, to, year)
			case from.AddDays(31).Before(to):
				return dataset{}, fmt.Errorf("%s: %s..%s is longer than a month", where, from, to)
			}
			for d := from; !to.Before(d); d = d.AddDays(1) {
				if err := add(where, Day{Date: d, Working: false, Name: h.Name}); err != nil {
					return dataset{}, err
				}
			}
		}
		for i, s := range y.Workdays {
			where := fmt.Sprintf("years[%q].workdays[%d]", key, i)
			d, err := ParseDate(s)
			if err != nil {
				return dataset{}, fmt.Errorf("%s: %w", where, err)
			}
			if d.Year != year {
				return dataset{}, fmt.Errorf("%s: %s is not in %d", where, d, year)
			}
			if !isWeekend(d) {
				return dataset{}, fmt.Errorf("%s: %s is a %s; make-up working days are weekend days", where, d, d.Weekday())
			}
			if err := add(where, Day{Date: d, Working: true, Name: "调休上班"}); err != nil {
				return dataset{}, err
			}
		}
	}
	return ds, nil
}

func describe(d Day) string {
	if d.Working {
		return "a working day"
	}
	return "a day off (" + d.Name + ")"
}
