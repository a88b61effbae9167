package orgfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
)

// csvColumns are the CSV columns, as the package doc lists them, and the
// kinds that use each.
var csvColumns = []struct {
	name  string
	kinds []string
}{
	{"kind", nil},
	{"id", []string{"region", "branch", "staff"}},
	{"name", []string{"region", "branch", "staff"}},
	{"regionId", []string{"branch", "staff"}},
	{"branchId", []string{"staff", "hours"}},
	{"timeZone", []string{"branch"}},
	{"calendarId", []string{"branch"}},
	{"role", []string{"staff"}},
	{"authorityLevel", []string{"staff"}},
	{"skills", []string{"staff"}},
	{"onDuty", []string{"staff"}},
	{"email", []string{"staff"}},
	{"weekdays", []string{"hours"}},
	{"opens", []string{"hours"}},
	{"closes", []string{"hours"}},
}

// hoursRow is an hours row, kept until every branch is read.
type hoursRow struct {
	index    int // among the hours rows
	branchID value
	p        period
}

// ParseCSV parses an org file in CSV (see the package doc); name is what
// errors call the file. Problems are an Errors; the request is returned only
// when there are none.
func ParseCSV(name string, data []byte) (*routingv1.ImportOrgRequest, error) {
	c := &collector{file: name}
	o, ok := readCSV(c, bytes.TrimPrefix(data, []byte("\uFEFF")))
	if !ok {
		return nil, c.result()
	}
	req := check(c, o)
	if err := c.result(); err != nil {
		return nil, err
	}
	return req, nil
}

// readCSV reads the rows; ok is false when the file cannot be read on.
func readCSV(c *collector, data []byte) (o org, ok bool) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	readErr := func(err error) {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			c.add(pe.Line, "", "not CSV: %v", pe.Err)
		} else {
			c.add(1, "", "not CSV: %v", err)
		}
	}
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		c.add(1, "", "no header row (kind,id,name,…)")
		return o, false
	}
	if err != nil {
		readErr(err)
		return o, false
	}
	headerLine, _ := r.FieldPos(0)
	col := map[string]int{} // column name as the package spells it → index
	names := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		canon := ""
		for _, k := range csvColumns {
			if strings.EqualFold(k.name, h) {
				canon = k.name
			}
		}
		switch _, dup := col[canon]; {
		case canon == "":
			c.add(headerLine, "", "column %q is not one of %s", h, columnList())
		case dup:
			c.add(headerLine, "", "column %q is given twice", h)
		default:
			col[canon] = i
			names[i] = canon
		}
	}
	if _, has := col["kind"]; !has {
		c.add(headerLine, "", "no kind column (region|branch|staff|hours)")
		return o, false
	}
	var hours []hoursRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr(err)
			return o, false
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			c.add(line, "", "has %d fields; the header has %d", len(rec), len(header))
			continue
		}
		get := func(name string) value {
			i, has := col[name]
			if !has {
				return value{line: line}
			}
			l, _ := r.FieldPos(i)
			t := strings.TrimSpace(rec[i])
			return value{text: t, line: l, set: t != ""}
		}
		kind := get("kind")
		kind.text = strings.ToLower(kind.text)
		var index int
		switch kind.text {
		case "region":
			index = len(o.regions)
			o.regions = append(o.regions, region{line: line, id: get("id"), name: get("name")})
		case "branch":
			index = len(o.branches)
			o.branches = append(o.branches, branch{line: line, id: get("id"), regionID: get("regionId"), name: get("name"),
				timeZone: get("timeZone"), calendarID: get("calendarId")})
		case "staff":
			index = len(o.staff)
			o.staff = append(o.staff, staff{line: line, id: get("id"), displayName: get("name"), role: get("role"),
				branchID: get("branchId"), regionID: get("regionId"), authority: get("authorityLevel"),
				skills: splitList(get("skills")), onDuty: get("onDuty"), email: get("email")})
		case "hours":
			index = len(hours)
			wd := get("weekdays")
			hours = append(hours, hoursRow{index: index, branchID: get("branchId"),
				p: period{line: line, weekdays: splitList(wd), weekdaysSet: wd.set, opens: get("opens"), closes: get("closes")}})
		default:
			c.add(kind.line, "kind", "%q is not region, branch, staff or hours", kind.text)
			continue
		}
		// A column the row's kind does not use must be empty.
		for i, v := range rec {
			if n := names[i]; n != "" && n != "kind" && strings.TrimSpace(v) != "" && !usedBy(n, kind.text) {
				l, _ := r.FieldPos(i)
				c.add(l, fmt.Sprintf("%s[%d].%s", kindPlural(kind.text), index, n), "is not used by %s rows; leave it empty", kind.text)
			}
		}
	}
	// Each hours row is a period of the branch it names, in file order.
	byID := map[string]int{}
	for i, b := range o.branches {
		if _, dup := byID[b.id.text]; !dup && b.id.set {
			byID[b.id.text] = i
		}
	}
	for _, h := range hours {
		f := fmt.Sprintf("hours[%d].branchId", h.index)
		i, known := byID[h.branchID.text]
		switch {
		case !h.branchID.set:
			c.add(h.p.line, f, "is required (the branch the hours are of)")
		case !known:
			c.add(h.branchID.line, f, "no branch %q in the file", h.branchID.text)
		default:
			o.branches[i].hours = append(o.branches[i].hours, h.p)
		}
	}
	return o, true
}

func usedBy(column, kind string) bool {
	for _, k := range csvColumns {
		if k.name == column {
			for _, kk := range k.kinds {
				if kk == kind {
					return true
				}
			}
		}
	}
	return false
}

func kindPlural(kind string) string {
	switch kind {
	case "region":
		return "regions"
	case "branch":
		return "branches"
	}
	return kind // staff, hours
}

func columnList() string {
	names := make([]string, len(csvColumns))
	for i, k := range csvColumns {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

// splitList splits a cell of ;-separated values.
func splitList(v value) []value {
	var out []value
	for _, s := range strings.Split(v.text, ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, value{text: s, line: v.line, set: true})
		}
	}
	return out
}
