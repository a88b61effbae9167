// Package orgfile reads a bank's organisation — regions, branches with their
// opening hours, staff with their role, authority and skills — from a YAML or
// a CSV file into the routing service's ImportOrgRequest (the body of
// POST /v1/org:import), and checks every reference and value first, so that a
// file with mistakes is refused as a whole with every mistake named by
// file:line and field, instead of one 400 at a time.
//
// # YAML
//
// The keys are those of the API's JSON body (ImportOrgRequest):
//
//	regions:
//	  - id: rg-east
//	    name: 华东分行 East Region
//	branches:
//	  - id: br-sh-pudong
//	    regionId: rg-east
//	    name: 上海浦东支行 Shanghai Pudong
//	    timeZone: Asia/Shanghai        # IANA name; empty: Asia/Shanghai
//	    calendarId: cn                 # empty: cn
//	    openingHours:                  # empty: the bank's default hours
//	      - {weekdays: [1, 2, 3, 4, 5], opens: "09:00", closes: "12:00"}
//	      - {weekdays: [1, 2, 3, 4, 5], opens: "13:00", closes: "17:00"}
//	staff:
//	  - id: st-pudong-teller-1
//	    displayName: 王芳 Wang Fang
//	    role: teller                   # or ROLE_TELLER
//	    branchId: br-sh-pudong
//	    regionId: rg-east              # empty: the branch's region
//	    authorityLevel: 1              # 0-4: 1 counter, 2 branch, 3 region, 4 head office
//	    skills: [foreign_exchange, foreign_languages]
//	    onDuty: true                   # empty: on duty
//	    email: st-pudong-teller-1@demo-bank.example  # work e-mail for staff alerts; empty: none
//
// # CSV
//
// One file, a header row naming the columns (in any order; column names are
// not case-sensitive), one row per record, and lines starting with # are
// comments. The kind column says what a row is; a row leaves the columns its
// kind does not use empty:
//
//	kind    columns used
//	region  id, name
//	branch  id, name, regionId, timeZone, calendarId
//	staff   id, name (the display name), role, branchId, regionId,
//	        authorityLevel, skills (separated by ;), onDuty (true|false),
//	        email
//	hours   branchId, weekdays (1-7, separated by ;), opens, closes
//
// An hours row is one opening period of the branch it names; a lunch break
// is two rows for the same days. Rows may come in any order.
//
// # Checks
//
// Ids are unique per kind and look like API ids; every regionId and branchId
// names a region or branch of the file; a staff member's region is their
// branch's; roles and skills are the API's; branch roles (teller, lobby
// manager, complaint manager, branch head) have a branch, a regional
// supervisor a region and no branch, head office neither; authority levels
// are 0-4; a work e-mail is one plain address (name@domain, at most 254
// characters); time zones load; opening periods are HH:MM to a later HH:MM on
// weekdays 1 (Monday) to 7 (Sunday), and no two overlap on one day.
//
// Field names in errors are the API's, with the record's position in the
// request (staff[3].branchId), so that they also match what routing would
// answer for the same request.
package orgfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
)

// Error is one problem of a file: where, which field, and why.
type Error struct {
	File    string
	Line    int
	Field   string // e.g. "staff[3].branchId"; empty for the file as a whole
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Problem)
}

// Errors are all the problems of one file, sorted by line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// ParseFile reads and parses the file at path: YAML for .yaml and .yml,
// CSV for .csv. Problems of the content are an Errors.
func ParseFile(path string) (*routingv1.ImportOrgRequest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses data in the format its name's extension says (.yaml, .yml or
// .csv); name is what errors call the file.
func Parse(name string, data []byte) (*routingv1.ImportOrgRequest, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return ParseYAML(name, data)
	case ".csv":
		return ParseCSV(name, data)
	}
	return nil, fmt.Errorf("%s: unknown format: want a .yaml, .yml or .csv file", name)
}

// value is one field as the file gives it: its text and its line. A field
// that is absent, or empty, is not set.
type value struct {
	text string
	line int
	set  bool
}

type region struct {
	line     int
	id, name value
}

type period struct {
	line          int
	weekdays      []value
	weekdaysSet   bool // given, even if empty
	weekdaysBad   bool // given but not a list (already reported)
	opens, closes value
}

type branch struct {
	line                                     int
	id, regionID, name, timeZone, calendarID value
	hours                                    []period
}

type staff struct {
	line                                  int
	id, displayName, role                 value
	branchID, regionID, authority, onDuty value
	email                                 value
	skills                                []value
}

// org is a file's content before it is checked.
type org struct {
	regions  []region
	branches []branch
	staff    []staff
}

// collector gathers a file's problems.
type collector struct {
	file string
	errs Errors
}

func (c *collector) add(line int, field, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Field: field, Problem: fmt.Sprintf(format, args...)})
}

// result returns the problems sorted by line (in the order found within a
// line), or nil.
func (c *collector) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *Error) int { return a.Line - b.Line })
	return c.errs
}
