package calendar

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
)

// ChinaID is the id of the national calendar of mainland China.
const ChinaID = "cn"

// chinaFiles are the State Council holiday data shipped with the binary, one
// file per batch of notices as they were prepared (see each file's "source").
// A year may be in only one file.
//
//go:embed data/*.json
var chinaFiles embed.FS

// ChinaDataFiles returns the embedded State Council holiday files by file
// name, so tests and tools can check the calendar against the source rather
// than against constants of their own.
func ChinaDataFiles() map[string][]byte {
	out := map[string][]byte{}
	// Reading an embedded directory cannot fail: the files are in the binary.
	entries, _ := chinaFiles.ReadDir("data")
	for _, e := range entries {
		b, _ := chinaFiles.ReadFile("data/" + e.Name())
		out[e.Name()] = b
	}
	return out
}

var chinaYears = sync.OnceValues(func() ([]YearData, error) {
	var all []YearData
	from := map[int]string{}
	files := ChinaDataFiles()
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		ys, err := ParseFile(files[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, y := range ys {
			// A year in two files would mean two sources for one year and,
			// since every date lies inside its year, possibly the same date
			// twice; neither is resolvable here.
			if prev, ok := from[y.Year]; ok {
				return nil, fmt.Errorf("%s: year %d is already in %s", name, y.Year, prev)
			}
			from[y.Year] = name
			all = append(all, y)
		}
	}
	slices.SortFunc(all, func(a, b YearData) int { return a.Year - b.Year })
	return all, nil
})

// China returns a fresh calendar of mainland China built from the embedded
// data (2024-2027, see ChinaSources), in Asia/Shanghai with default work
// hours. Years outside the data fall back to StatutoryHolidays. Each call
// returns an independent calendar, so a bank's AddClosure never leaks into
// another bank's.
func China() (*Calendar, error) {
	ys, err := chinaYears()
	if err != nil {
		return nil, fmt.Errorf("embedded China calendar: %w", err)
	}
	c, err := New(ChinaID, Config{})
	if err != nil {
		return nil, err
	}
	// Through LoadYear, the path an operator's load takes, so that the
	// embedded years are held exactly like loaded ones (Year, Sources).
	for _, y := range ys {
		if err := c.LoadYear(y.Year, y.Holidays, y.Workdays, y.Source); err != nil {
			return nil, fmt.Errorf("embedded China calendar: %d: %w", y.Year, err)
		}
	}
	return c, nil
}

// ChinaSources returns the provenance of each year of the embedded data,
// ascending by year.
func ChinaSources() ([]YearSource, error) {
	ys, err := chinaYears()
	if err != nil {
		return nil, fmt.Errorf("embedded China calendar: %w", err)
	}
	out := make([]YearSource, len(ys))
	for i, y := range ys {
		out[i] = y.Source.clone()
	}
	return out, nil
}

// YearSource says where a year's national data came from, so that a
// deadline can be traced to the notice it was counted with and a year taken
// from a third party can be shown as such until someone confirms it.
type YearSource struct {
	Year int `json:"year"`
	// Source is the free text of the file's (or loader's) "source": how the
	// data was obtained and checked.
	Source string `json:"source"`
	Notice Notice `json:"notice"`
	// Unconfirmed is set when the data was not read from the notice itself
	// (in a file: the notice has no document number), e.g. 2027, taken from
	// lunar-go before the notice could be read.
	Unconfirmed bool `json:"unconfirmed"`
}

// Notice identifies the State Council notice a year's data is from. Nil
// fields are unknown, as the files leave them null.
type Notice struct {
	Title      string  `json:"title"`
	DocumentNo *string `json:"document_no"`
	Issued     *string `json:"issued"` // YYYY-MM-DD as printed on the notice
	URL        *string `json:"url"`
	Note       *string `json:"note"`
	// AltURL and DocumentNoNote are carried when a file has them.
	AltURL         *string `json:"alt_url,omitempty"`
	DocumentNoNote *string `json:"document_no_note,omitempty"`
}

func (s YearSource) clone() YearSource {
	p := func(v *string) *string {
		if v == nil {
			return nil
		}
		c := *v
		return &c
	}
	n := s.Notice
	s.Notice = Notice{Title: n.Title, DocumentNo: p(n.DocumentNo), Issued: p(n.Issued), URL: p(n.URL), Note: p(n.Note), AltURL: p(n.AltURL), DocumentNoNote: p(n.DocumentNoNote)}
	return s
}

// YearData is one year of a holiday file, in the form LoadYear takes.
type YearData struct {
	Year     int
	Holidays []Holiday
	Workdays []Date
	Source   YearSource
}

// days flattens the year into exception days.
func (y YearData) days() []Day {
	var out []Day
	for _, h := range y.Holidays {
		for d := h.From; !h.To.Before(d); d = d.AddDays(1) {
			out = append(out, Day{Date: d, Working: false, Name: h.Name})
		}
	}
	for _, d := range y.Workdays {
		out = append(out, Day{Date: d, Working: true, Name: makeUpName})
	}
	return out
}

// makeUpName names a weekend day declared a working day.
const makeUpName = "调休上班"

// fileFormat is the shape of the files under data/: a free-text "source" and
// per year the notice, the holiday ranges (inclusive, weekends inside a range
// included) and the weekend days declared working days (调休上班).
type fileFormat struct {
	Source string `json:"source"`
	Years  map[string]struct {
		Notice   *Notice `json:"notice"`
		Holidays []struct {
			Name string `json:"name"`
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"holidays"`
		Workdays []string `json:"workdays"`
	} `json:"years"`
}

// ParseFile reads a holiday file in the layout of data/cn-2024-2026.json and
// returns it year by year (ascending), so that a tool can load it with
// LoadYear. Each year is checked with ValidateYear's rules; errors are
// *FieldErrors (joined) naming the file's fields, e.g.
// `years["2026"].holidays[0].from`. A year is unconfirmed when its notice
// has no document number.
func ParseFile(data []byte) ([]YearData, error) {
	var f fileFormat
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse holiday file: %w", err)
	}
	if len(f.Years) == 0 {
		return nil, errors.New("holiday file: no years")
	}
	keys := make([]string, 0, len(f.Years))
	for k := range f.Years {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []YearData
	var errs []*FieldError
	for _, key := range keys {
		prefix := "years[" + strconv.Quote(key) + "]."
		year, err := strconv.Atoi(key)
		if err != nil {
			errs = append(errs, &FieldError{Field: prefix[:len(prefix)-1], Problem: "not a year"})
			continue
		}
		y := f.Years[key]
		yd := YearData{Year: year, Source: YearSource{Year: year, Source: f.Source}}
		if y.Notice != nil {
			yd.Source.Notice = *y.Notice
		}
		yd.Source.Unconfirmed = y.Notice == nil || y.Notice.DocumentNo == nil || *y.Notice.DocumentNo == ""
		parse := func(field, s string) Date {
			d, err := ParseDate(s)
			if err != nil {
				errs = append(errs, &FieldError{Field: prefix + field, Problem: err.Error()})
			}
			return d
		}
		bad := len(errs)
		for i, h := range y.Holidays {
			where := "holidays[" + strconv.Itoa(i) + "]"
			yd.Holidays = append(yd.Holidays, Holiday{Name: h.Name, From: parse(where+".from", h.From), To: parse(where+".to", h.To)})
		}
		for i, s := range y.Workdays {
			yd.Workdays = append(yd.Workdays, parse("workdays["+strconv.Itoa(i)+"]", s))
		}
		if len(errs) > bad {
			continue // unparsable dates would only be reported again as invalid
		}
		errs = append(errs, validateYear(prefix, year, yd.Holidays, yd.Workdays)...)
		out = append(out, yd)
	}
	if err := joinFieldErrors(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseDays reads a holiday file in the layout of data/cn-2024-2026.json and
// returns its exception days and the years it covers. It applies the rules
// of ValidateYear (see ParseFile), because a typo in this file silently
// moves deadlines.
func ParseDays(data []byte) (days []Day, years []int, err error) {
	ys, err := ParseFile(data)
	if err != nil {
		return nil, nil, err
	}
	for _, y := range ys {
		days = append(days, y.days()...)
		years = append(years, y.Year)
	}
	return days, years, nil
}
