package calendar

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestValidateYearNamesTheField(t *testing.T) {
	d := MustParseDate
	sf := Holiday{Name: "春节", From: d("2028-01-25"), To: d("2028-01-31")}
	tests := []struct {
		name     string
		year     int
		holidays []Holiday
		workdays []Date
		field    string
		problem  string
	}{
		{"a year before the supported range", 1800, nil, nil, "year", "1800 is not between 1900 and 2200"},
		{"a year after the supported range", 2201, nil, nil, "year", "2201 is not between"},
		{"a holiday starting in another year", 2028, []Holiday{{Name: "元旦", From: d("2027-12-31"), To: d("2028-01-01")}}, nil, "holidays[0].from", "2027-12-31 is not in 2028"},
		{"a holiday ending in another year", 2028, []Holiday{{Name: "元旦", From: d("2028-12-31"), To: d("2029-01-01")}}, nil, "holidays[0].to", "2029-01-01 is not in 2028"},
		{"a holiday without a start date (missing in the JSON)", 2028, []Holiday{{Name: "x", To: d("2028-10-01")}}, nil, "holidays[0].from", "0000-00-00 is not a valid date"},
		{"an impossible date", 2028, []Holiday{{Name: "x", From: d("2028-02-01"), To: Date{2028, 2, 30}}}, nil, "holidays[0].to", "2028-02-30 is not a valid date"},
		{"a range ending before it starts", 2028, []Holiday{{Name: "x", From: d("2028-10-07"), To: d("2028-10-01")}}, nil, "holidays[0].to", "2028-10-01 is before from 2028-10-07"},
		{"a range longer than 31 days", 2028, []Holiday{{Name: "x", From: d("2028-07-01"), To: d("2028-08-01")}}, nil, "holidays[0].to", "32 days, longer than 31"},
		{"an empty name", 2028, []Holiday{{Name: "", From: d("2028-10-01"), To: d("2028-10-03")}}, nil, "holidays[0].name", "must not be empty"},
		{"a blank name", 2028, []Holiday{{Name: "  ", From: d("2028-10-01"), To: d("2028-10-03")}}, nil, "holidays[0].name", "must not be empty"},
		{"overlapping ranges are reported on the later one", 2028, []Holiday{sf, {Name: "国庆节", From: d("2028-10-01"), To: d("2028-10-07")}, {Name: "x", From: d("2028-01-31"), To: d("2028-02-02")}}, nil, "holidays[2].from", "overlaps holidays[0] 2028-01-25..2028-01-31"},
		{"a range inside another overlaps it", 2028, []Holiday{sf, {Name: "x", From: d("2028-01-26"), To: d("2028-01-26")}}, nil, "holidays[1].from", "overlaps holidays[0]"},
		{"a make-up working day on a weekday", 2028, []Holiday{sf}, []Date{d("2028-02-05"), d("2028-02-07")}, "workdays[1]", "2028-02-07 is a Monday"},
		{"a make-up working day listed twice", 2028, []Holiday{sf}, []Date{d("2028-02-05"), d("2028-02-05")}, "workdays[1]", "already listed as workdays[0]"},
		{"a make-up working day inside a holiday", 2028, []Holiday{sf}, []Date{d("2028-01-29")}, "workdays[0]", "already listed as a day off (春节, holidays[0])"},
		{"a make-up working day in another year", 2028, nil, []Date{d("2027-12-25")}, "workdays[0]", "2027-12-25 is not in 2028"},
		{"an impossible make-up working day", 2028, nil, []Date{{2028, 13, 1}}, "workdays[0]", "is not a valid date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateYear(tt.year, tt.holidays, tt.workdays)
			fes := FieldErrors(err)
			if len(fes) != 1 || fes[0].Field != tt.field || !strings.Contains(fes[0].Problem, tt.problem) {
				t.Fatalf("ValidateYear = %v (field errors %v), want exactly one on %s containing %q", err, fes, tt.field, tt.problem)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Error() != fe.Field+": "+fe.Problem {
				t.Errorf("errors.As(*FieldError) = %v; Error() = %q", fe, fe.Error())
			}
		})
	}

	t.Run("valid data passes, with a range of exactly 31 days", func(t *testing.T) {
		hs := []Holiday{sf, {Name: "long", From: d("2028-07-01"), To: d("2028-07-31")}}
		if err := ValidateYear(2028, hs, []Date{d("2028-02-05"), d("2028-02-06")}); err != nil {
			t.Errorf("ValidateYear = %v, want nil", err)
		}
	})
	t.Run("every problem is reported, in field order", func(t *testing.T) {
		err := ValidateYear(2028, []Holiday{{Name: "", From: d("2028-10-07"), To: d("2028-10-01")}}, []Date{d("2028-02-07")})
		var fields []string
		for _, fe := range FieldErrors(err) {
			fields = append(fields, fe.Field)
		}
		if want := []string{"holidays[0].name", "holidays[0].to", "workdays[0]"}; !slices.Equal(fields, want) {
			t.Errorf("fields = %v, want %v (%v)", fields, want, err)
		}
	})
}

func TestParseFileReadsTheShippedLayoutYearByYear(t *testing.T) {
	files := ChinaDataFiles()
	ys, err := ParseFile(files["cn-2027.json"])
	if err != nil {
		t.Fatal(err)
	}
	if len(ys) != 1 || ys[0].Year != 2027 || len(ys[0].Holidays) != 7 || len(ys[0].Workdays) != 5 {
		t.Fatalf("ParseFile(cn-2027.json) = %+v", ys)
	}
	src := ys[0].Source
	if !src.Unconfirmed || src.Notice.DocumentNo != nil || src.Notice.Issued != nil || src.Notice.URL != nil ||
		src.Notice.Note == nil || !strings.Contains(*src.Notice.Note, "not read here") ||
		src.Notice.Title != "国务院办公厅关于2027年部分节假日安排的通知" || !strings.HasPrefix(src.Source, "6tail/lunar-go v1.4.7") {
		t.Errorf("2027 source = %+v", src)
	}
	if h := ys[0].Holidays[1]; h != (Holiday{Name: "春节", From: MustParseDate("2027-02-05"), To: MustParseDate("2027-02-13")}) {
		t.Errorf("2027 holidays[1] = %+v", h)
	}

	ys, err = ParseFile(files["cn-2024-2026.json"])
	if err != nil {
		t.Fatal(err)
	}
	var years []int
	for _, y := range ys {
		years = append(years, y.Year)
		if y.Source.Unconfirmed || y.Source.Notice.DocumentNo == nil || !strings.HasPrefix(y.Source.Source, "NateScarlet/holiday-cn") {
			t.Errorf("%d source = %+v", y.Year, y.Source)
		}
	}
	if !slices.Equal(years, []int{2024, 2025, 2026}) {
		t.Errorf("years = %v", years)
	}
	if n := ys[2].Source.Notice; n.DocumentNoNote == nil || n.AltURL != nil || *n.DocumentNo != "国办发明电〔2025〕7号" {
		t.Errorf("2026 notice = %+v", n)
	}

	t.Run("loading every year of the files into an empty calendar gives China()", func(t *testing.T) {
		c, err := New("loaded", Config{})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"cn-2024-2026.json", "cn-2027.json"} {
			ys, err := ParseFile(files[name])
			if err != nil {
				t.Fatal(err)
			}
			for _, y := range ys {
				if err := c.LoadYear(y.Year, y.Holidays, y.Workdays, y.Source); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := china(t)
		for d := MustParseDate("2023-01-01"); d.Year <= 2029; d = d.AddDays(1) {
			if c.IsWorkingDate(d) != want.IsWorkingDate(d) {
				t.Errorf("%s: loaded %v, China() %v", d, c.IsWorkingDate(d), want.IsWorkingDate(d))
			}
		}
		if got, want := c.Sources(), want.Sources(); !sourcesEqual(got, want) {
			t.Errorf("Sources() = %+v, want %+v", got, want)
		}
	})
}

func sourcesEqual(a, b []YearSource) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestParseFileNamesTheFileField(t *testing.T) {
	tests := []struct {
		name, json, field, problem string
	}{
		{"a malformed date", `{"years":{"2026":{"holidays":[{"name":"x","from":"2026-10-1","to":"2026-10-03"}]}}}`, `years["2026"].holidays[0].from`, "want YYYY-MM-DD"},
		{"a range across the year end", `{"years":{"2026":{"holidays":[{"name":"x","from":"2026-12-31","to":"2027-01-01"}]}}}`, `years["2026"].holidays[0].to`, "is not in 2026"},
		{"overlapping ranges", `{"years":{"2026":{"holidays":[{"name":"x","from":"2026-10-01","to":"2026-10-07"},{"name":"y","from":"2026-10-07","to":"2026-10-08"}]}}}`, `years["2026"].holidays[1].from`, "overlaps holidays[0]"},
		{"a holiday without a name", `{"years":{"2026":{"holidays":[{"from":"2026-10-01","to":"2026-10-07"}]}}}`, `years["2026"].holidays[0].name`, "must not be empty"},
		{"a make-up day listed twice", `{"years":{"2026":{"workdays":["2026-10-10","2026-10-10"]}}}`, `years["2026"].workdays[1]`, "already listed as workdays[0]"},
		{"a key that is not a year", `{"years":{"twenty":{}}}`, `years["twenty"]`, "not a year"},
		{"a year out of range", `{"years":{"1800":{}}}`, `years["1800"]`, "not between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tt.json))
			fes := FieldErrors(err)
			if len(fes) != 1 || fes[0].Field != tt.field || !strings.Contains(fes[0].Problem, tt.problem) {
				t.Errorf("ParseFile error = %v, want one on %s containing %q", err, tt.field, tt.problem)
			}
		})
	}
}

func TestChinaSources(t *testing.T) {
	srcs, err := ChinaSources()
	if err != nil {
		t.Fatal(err)
	}
	var years []int
	for _, s := range srcs {
		years = append(years, s.Year)
		if wantUnconfirmed := s.Year == 2027; s.Unconfirmed != wantUnconfirmed {
			t.Errorf("%d: Unconfirmed = %v, want %v", s.Year, s.Unconfirmed, wantUnconfirmed)
		}
		if s.Source == "" || s.Notice.Title == "" {
			t.Errorf("%d: source or notice title missing: %+v", s.Year, s)
		}
	}
	if !slices.Equal(years, []int{2024, 2025, 2026, 2027}) {
		t.Errorf("years = %v", years)
	}
	if got := china(t).Sources(); !sourcesEqual(got, srcs) {
		t.Errorf("China().Sources() = %+v, want %+v", got, srcs)
	}
	*srcs[0].Notice.DocumentNo = "changed"
	if again, _ := ChinaSources(); *again[0].Notice.DocumentNo == "changed" {
		t.Error("ChinaSources shares its notice strings with callers")
	}
	j, err := json.Marshal(srcs[3])
	if err != nil || !strings.Contains(string(j), `"document_no":null`) || !strings.Contains(string(j), `"unconfirmed":true`) {
		t.Errorf("2027 source as JSON = %s, %v; want null document_no and unconfirmed", j, err)
	}
}

func TestLoadYear(t *testing.T) {
	d := MustParseDate
	sf2028 := []Holiday{{Name: "春节", From: d("2028-01-24"), To: d("2028-01-31")}}
	src := YearSource{Source: "notice read by the operator", Notice: Notice{Title: "国务院办公厅关于2028年部分节假日安排的通知"}}

	t.Run("a loaded year replaces the statutory fallback and is official", func(t *testing.T) {
		c := china(t)
		start := at(t, "2028-01-21 10:00")
		if got, want := c.AddWorkingDaysSameTime(start, 1), at(t, "2028-01-24 10:00"); !got.Equal(want) || !c.Provisional(start, got) {
			t.Fatalf("before loading: %s (provisional %v), want %s provisional", got, c.Provisional(start, got), want)
		}
		if err := c.LoadYear(2028, sf2028, []Date{d("2028-02-05")}, src); err != nil {
			t.Fatal(err)
		}
		got := c.AddWorkingDaysSameTime(start, 1)
		if want := at(t, "2028-02-01 10:00"); !got.Equal(want) || c.Provisional(start, got) {
			t.Errorf("after loading: %s (provisional %v), want %s not provisional", got, c.Provisional(start, got), want)
		}
		if got, want := c.AddWorkingDaysSameTime(at(t, "2028-02-04 10:00"), 1), at(t, "2028-02-05 10:00"); !got.Equal(want) {
			t.Errorf("the loaded make-up Saturday: %s, want %s", got, want)
		}
		if !c.IsWorkingDate(d("2028-04-04")) {
			t.Error("2028-04-04 (statutory Qingming) must follow the loaded data, which does not list it")
		}
		if !c.CoversYear(2028) || !slices.Contains(c.Years(), 2028) {
			t.Errorf("2028 not official after LoadYear: %v", c.Years())
		}
		srcs := c.Sources()
		if last := srcs[len(srcs)-1]; last.Year != 2028 || last.Source != src.Source || last.Notice.Title != src.Notice.Title {
			t.Errorf("Sources()[last] = %+v", last)
		}
	})

	t.Run("reloading a year removes its embedded days", func(t *testing.T) {
		c := china(t)
		if err := c.LoadYear(2027, []Holiday{{Name: "元旦", From: d("2027-01-01"), To: d("2027-01-01")}}, nil, YearSource{Source: "test"}); err != nil {
			t.Fatal(err)
		}
		if !c.IsWorkingDate(d("2027-02-08")) || c.IsWorkingDate(d("2027-01-31")) || c.IsWorkingDate(d("2027-01-01")) {
			t.Error("2027 still has embedded Spring Festival or make-up days after a reload")
		}
		if _, ok := c.Lookup(d("2027-10-09")); ok {
			t.Error("2027-10-09 (an embedded make-up day) is still listed")
		}
		if !c.IsWorkingDate(d("2026-02-28")) {
			t.Error("reloading 2027 changed 2026")
		}
		srcs := c.Sources()
		if s := srcs[len(srcs)-1]; s.Year != 2027 || s.Source != "test" || s.Unconfirmed {
			t.Errorf("2027 source after reload = %+v", s)
		}
	})

	t.Run("closures survive a reload and still win", func(t *testing.T) {
		c := china(t)
		if err := c.AddClosure(d("2028-02-01"), "typhoon"); err != nil {
			t.Fatal(err)
		}
		if err := c.AddClosure(d("2028-02-05"), "branch closed"); err != nil {
			t.Fatal(err)
		}
		if err := c.LoadYear(2028, sf2028, []Date{d("2028-02-05")}, src); err != nil {
			t.Fatal(err)
		}
		if got, want := c.AddWorkingDaysSameTime(at(t, "2028-01-21 10:00"), 1), at(t, "2028-02-02 10:00"); !got.Equal(want) {
			t.Errorf("got %s, want %s", got, want)
		}
		if c.IsWorkingDate(d("2028-02-05")) {
			t.Error("the closure on the loaded make-up Saturday lost")
		}
		if err := c.LoadYear(2028, sf2028, nil, src); err != nil {
			t.Fatal(err)
		}
		if day, ok := c.Lookup(d("2028-02-01")); !ok || day.Name != "typhoon" {
			t.Errorf("after a second reload Lookup(2028-02-01) = %+v, %v", day, ok)
		}
	})

	t.Run("invalid data is rejected and changes nothing", func(t *testing.T) {
		c := china(t)
		err := c.LoadYear(2027, []Holiday{{Name: "春节", From: d("2027-02-13"), To: d("2027-02-05")}}, nil, src)
		if fes := FieldErrors(err); len(fes) != 1 || fes[0].Field != "holidays[0].to" {
			t.Fatalf("LoadYear = %v", err)
		}
		if c.IsWorkingDate(d("2027-02-08")) || !c.Sources()[3].Unconfirmed {
			t.Error("a rejected load changed the calendar")
		}
	})

	t.Run("Derive'd calendars see a load, Clones and other China() calendars do not", func(t *testing.T) {
		nat := china(t)
		branch := nat.Derive("branch-1")
		view, err := branch.WithWorkHours(WorkHours{Start: 8 * time.Hour, End: 16 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		clone := nat.Clone("bank-a")
		other := china(t)
		if err := branch.AddClosure(d("2028-02-02"), "branch only"); err != nil {
			t.Fatal(err)
		}
		if err := nat.LoadYear(2028, sf2028, nil, src); err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]*Calendar{"derived": branch, "its work-hours view": view} {
			if !c.CoversYear(2028) || c.IsWorkingDate(d("2028-01-31")) {
				t.Errorf("%s does not see the loaded year", name)
			}
			if c.IsWorkingDate(d("2028-02-02")) {
				t.Errorf("%s lost the branch closure", name)
			}
		}
		if !nat.IsWorkingDate(d("2028-02-02")) {
			t.Error("the branch closure leaked into the national calendar")
		}
		for name, c := range map[string]*Calendar{"clone": clone, "another China()": other} {
			if c.CoversYear(2028) || !c.IsWorkingDate(d("2028-01-31")) {
				t.Errorf("%s sees a year loaded into another calendar", name)
			}
		}
	})
}

func TestYearReturnsTheDataAsLoaded(t *testing.T) {
	c := china(t)
	y, ok := c.Year(2027)
	if !ok || y.Year != 2027 || len(y.Holidays) != 7 || !slices.Equal(y.Workdays, []Date{
		MustParseDate("2027-01-31"), MustParseDate("2027-02-14"), MustParseDate("2027-05-08"), MustParseDate("2027-09-26"), MustParseDate("2027-10-09"),
	}) || !y.Source.Unconfirmed {
		t.Fatalf("Year(2027) = %+v, %v", y, ok)
	}
	if h := y.Holidays[6]; h != (Holiday{Name: "国庆节", From: MustParseDate("2027-10-01"), To: MustParseDate("2027-10-07")}) {
		t.Errorf("Year(2027).Holidays[6] = %+v", h)
	}
	y.Holidays[0].Name = "changed"
	if again, _ := c.Year(2027); again.Holidays[0].Name != "元旦" {
		t.Error("Year shares its slices with callers")
	}
	if _, ok := c.Year(2028); ok {
		t.Error("Year(2028) is not official and must not be returned")
	}
	hs := []Holiday{{Name: "春节", From: MustParseDate("2028-01-24"), To: MustParseDate("2028-01-31")}}
	if err := c.LoadYear(2028, hs, nil, YearSource{Source: "operator"}); err != nil {
		t.Fatal(err)
	}
	hs[0].Name = "changed after loading"
	if y, ok := c.Year(2028); !ok || y.Holidays[0].Name != "春节" || y.Source.Source != "operator" || y.Source.Year != 2028 {
		t.Errorf("Year(2028) after LoadYear = %+v, %v", y, ok)
	}
}

func TestDataHorizon(t *testing.T) {
	c := china(t)
	tests := []struct {
		name string
		now  time.Time
		last string
		days int
	}{
		{"from late 2026 the data reaches the end of 2027", at(t, "2026-11-20 10:00"), "2027-12-31", 406},
		{"on the last day it is zero", at(t, "2027-12-31 23:59"), "2027-12-31", 0},
		{"past the data it is negative", at(t, "2028-01-02 10:00"), "2027-12-31", -2},
		{"in a year before the data the run is empty", at(t, "2023-06-01 10:00"), "2022-12-31", -152},
		{"now is read in its own location: UTC", time.Date(2027, 12, 31, 17, 0, 0, 0, time.UTC), "2027-12-31", 0},
		{"now is read in its own location: Shanghai", time.Date(2027, 12, 31, 17, 0, 0, 0, time.UTC).In(shanghai), "2027-12-31", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last, days := c.DataHorizon(tt.now)
			if last.String() != tt.last || days != tt.days {
				t.Errorf("DataHorizon(%s) = %s, %d; want %s, %d", tt.now, last, days, tt.last, tt.days)
			}
		})
	}
	if err := c.LoadYear(2028, nil, nil, YearSource{}); err != nil {
		t.Fatal(err)
	}
	if last, days := c.DataHorizon(at(t, "2026-11-20 10:00")); last.String() != "2028-12-31" || days != 772 {
		t.Errorf("after loading 2028: %s, %d; want 2028-12-31, 772", last, days)
	}
}

// Queries running while a year is loaded and closures are added must see
// either the old or the new data (run with -race to check the locking).
func TestLoadYearAndClosuresAlongsideQueries(t *testing.T) {
	c := china(t)
	branch := c.Derive("branch")
	start := at(t, "2028-01-21 10:00")
	old, loaded := at(t, "2028-01-24 10:00"), at(t, "2028-02-01 10:00")
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if got := branch.AddWorkingDaysSameTime(start, 1); !got.Equal(old) && !got.Equal(loaded) {
					errs <- got.String()
				}
				branch.BusinessTimeBetween(start, branch.AddBusinessTime(start, 20*time.Hour))
				branch.Sources()
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			if err := c.LoadYear(2028, []Holiday{{Name: "春节", From: MustParseDate("2028-01-24"), To: MustParseDate("2028-01-31")}}, nil, YearSource{}); err != nil {
				errs <- err.Error()
			}
			if err := branch.AddClosure(MustParseDate("2028-03-01").AddDays(i), "x"); err != nil {
				errs <- err.Error()
			}
		}
	})
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
