package calendar

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Holiday is one holiday range of a State Council notice: every date from
// From to To inclusive is a day off, weekend days inside the range included.
type Holiday struct {
	Name string `json:"name"`
	From Date   `json:"from"`
	To   Date   `json:"to"`
}

// maxHolidayDays is the longest holiday range accepted. The longest block a
// notice has ever declared is 9 days (春节 2026); a month catches a mistyped
// month or year without getting in the way of a real notice.
const maxHolidayDays = 31

// FieldError is one problem with one field of a year's data, named by its
// path in the JSON that carried it ("holidays[2].from", "workdays[1]", or
// `years["2027"].workdays[1]` in a holiday file), so that an API can point
// the operator at the exact entry to fix.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// FieldErrors returns every *FieldError in err, which may be a single one or
// a join of several (as ValidateYear returns); nil when there is none.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *FieldError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// ValidateYear checks a year's national data before it is used, because a
// typo in it silently moves every deadline of the year. It returns nil or
// the join of one *FieldError per problem (see FieldErrors), with field paths
// as a JSON body {"year", "holidays": [{"name", "from", "to"}], "workdays"}
// names them. The rules:
//
//   - year is between MinYear and MaxYear;
//   - every date is a valid date inside that year (a notice's days that fall
//     in the previous December, as 2018-12-29 did for 2019, are filed under
//     the year they fall in);
//   - a holiday has a non-empty name, from <= to, and spans at most 31 days;
//   - holiday ranges do not overlap;
//   - make-up working days (调休上班) are Saturdays or Sundays, listed once,
//     and not inside a holiday range.
func ValidateYear(year int, holidays []Holiday, workdays []Date) error {
	return joinFieldErrors(validateYear("", year, holidays, workdays))
}

func joinFieldErrors(fes []*FieldError) error {
	if len(fes) == 0 {
		return nil
	}
	errs := make([]error, len(fes))
	for i, fe := range fes {
		errs[i] = fe
	}
	return errors.Join(errs...)
}

// validateYear is ValidateYear with every field path prefixed, so that the
// file parser reports `years["2027"].holidays[0].from` with the same rules.
func validateYear(prefix string, year int, holidays []Holiday, workdays []Date) []*FieldError {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: prefix + field, Problem: fmt.Sprintf(format, args...)})
	}
	yearOK := year >= MinYear && year <= MaxYear
	if !yearOK {
		field := "year" // in a file the year is the key: years["1800"]
		if prefix != "" {
			field = strings.TrimSuffix(prefix, ".")
		}
		errs = append(errs, &FieldError{Field: field, Problem: fmt.Sprintf("%d is not between %d and %d", year, MinYear, MaxYear)})
	}
	// date reports whether d is usable and complains under field otherwise.
	date := func(field string, d Date) bool {
		switch {
		case !d.Valid():
			bad(field, "%s is not a valid date", d)
			return false
		case yearOK && d.Year != year:
			bad(field, "%s is not in %d", d, year)
			return false
		}
		return true
	}

	type span struct {
		i        int
		from, to Date
	}
	var spans []span
	for i, h := range holidays {
		where := "holidays[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(h.Name) == "" {
			bad(where+".name", "must not be empty")
		}
		okFrom := date(where+".from", h.From)
		okTo := date(where+".to", h.To)
		if !okFrom || !okTo {
			continue
		}
		switch n := h.To.Sub(h.From) + 1; {
		case n < 1:
			bad(where+".to", "%s is before from %s", h.To, h.From)
		case n > maxHolidayDays:
			bad(where+".to", "%s..%s is %d days, longer than %d", h.From, h.To, n, maxHolidayDays)
		default:
			spans = append(spans, span{i, h.From, h.To})
		}
	}

	// Overlaps: sorted by start, a range overlaps an earlier one iff it
	// starts on or before the latest end seen so far.
	slices.SortStableFunc(spans, func(a, b span) int { return a.from.Sub(b.from) })
	off := map[Date]int{} // date -> index of the holiday it is in
	last := -1            // index into spans of the range ending latest so far
	for k, s := range spans {
		if last >= 0 && !spans[last].to.Before(s.from) {
			p := spans[last]
			bad("holidays["+strconv.Itoa(s.i)+"].from", "%s..%s overlaps holidays[%d] %s..%s", s.from, s.to, p.i, p.from, p.to)
		}
		if last < 0 || spans[last].to.Before(s.to) {
			last = k
		}
		for d := s.from; !s.to.Before(d); d = d.AddDays(1) {
			if _, ok := off[d]; !ok {
				off[d] = s.i
			}
		}
	}

	seen := map[Date]int{}
	for i, d := range workdays {
		where := "workdays[" + strconv.Itoa(i) + "]"
		if !date(where, d) {
			continue
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			bad(where, "%s is a %s; make-up working days are Saturdays or Sundays", d, wd)
		}
		if j, ok := seen[d]; ok {
			bad(where, "%s is already listed as workdays[%d]", d, j)
			continue
		}
		seen[d] = i
		if j, ok := off[d]; ok {
			bad(where, "%s is already listed as a day off (%s, holidays[%d])", d, holidays[j].Name, j)
		}
	}
	return errs
}
