// Package regulatory is the quarterly complaint statistics a bank reports
// upward and to its regulator: which complaints a quarter (Asia/Shanghai)
// brought, how soon each was decided in calendar days as the
// consumer-complaint rules count them, how many were extended, are under
// review or were withdrawn, by business line, channel and root cause. It
// decides who may read which bank's, region's or branch's figures, folds the
// store's grouped counts into the report, and writes it as CSV and XLSX with
// Chinese headings. It knows nothing of SQL or gRPC.
package regulatory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// Zone is the reporting zone: quarters begin at 00:00 here, and a case
// without its own zone counts its days here.
const Zone = "Asia/Shanghai"

// ErrPermissionDenied: the caller may not read these figures; the wrapping
// text says why.
var ErrPermissionDenied = errors.New("permission denied")

// FieldError is a request field that cannot be used as given.
type FieldError struct {
	Field       string
	Description string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Description }

// QuarterBounds returns the quarter's first instant and the next quarter's,
// in Zone.
func QuarterBounds(year, quarter int) (from, to time.Time, err error) {
	if year < 2000 || year > 2100 {
		return time.Time{}, time.Time{}, &FieldError{"year", "must be between 2000 and 2100"}
	}
	if quarter < 1 || quarter > 4 {
		return time.Time{}, time.Time{}, &FieldError{"quarter", "must be 1, 2, 3 or 4"}
	}
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("load zone %s: %w", Zone, err)
	}
	from = time.Date(year, time.Month(3*(quarter-1)+1), 1, 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 3, 0), nil
}

// CalendarDays is how many calendar days a decision at decided took from
// receipt at received, read in loc: the day of receipt is not counted (the
// Civil Code's rule, as slatimer's CLOCK_CALENDAR_DAYS counts the
// regulatory limit), so a decision on the day of receipt took 0 days and
// one on the 15th day after it, 15.
//
// Unlike slatimer's limit, a last day that is not a working day is not
// moved on: reporting keeps no calendar, so a complaint decided on the
// Monday after a limit ending on a Sunday counts in the next bucket.
func CalendarDays(received, decided time.Time, loc *time.Location) int {
	ry, rm, rd := received.In(loc).Date()
	dy, dm, dd := decided.In(loc).Date()
	r := time.Date(ry, rm, rd, 0, 0, 0, 0, time.UTC)
	d := time.Date(dy, dm, dd, 0, 0, 0, 0, time.UTC)
	return max(int(d.Sub(r).Hours()/24), 0)
}

// Figures counts one set of complaints received in the quarter.
type Figures struct {
	Received    int64
	Decided     int64
	Within15    int64 // cumulative: within 30 includes within 15
	Within30    int64
	Within60    int64
	After60     int64
	Pending     int64 // neither decided nor withdrawn
	Extended    int64
	UnderReview int64
	Withdrawn   int64
}

// Group is a number of complaints alike in every dimension and outcome the
// report counts, as a store groups them.
type Group struct {
	Category  string // proto enum names
	Channel   string
	RootCause string // "" when not yet known
	Decided   bool
	// DecidedDays is CalendarDays from receipt to decision (when Decided).
	DecidedDays int
	Extended    bool
	UnderReview bool
	Withdrawn   bool
	Cases       int64
}

func (f *Figures) add(g Group) {
	n := g.Cases
	f.Received += n
	switch {
	case g.Decided:
		f.Decided += n
		d := g.DecidedDays
		if d <= 15 {
			f.Within15 += n
		}
		if d <= 30 {
			f.Within30 += n
		}
		if d <= 60 {
			f.Within60 += n
		} else {
			f.After60 += n
		}
	case !g.Withdrawn:
		f.Pending += n
	}
	if g.Extended {
		f.Extended += n
	}
	if g.UnderReview {
		f.UnderReview += n
	}
	if g.Withdrawn {
		f.Withdrawn += n
	}
}

// Row is one value of a breakdown.
type Row struct {
	Key   string // enum name
	Label string // Chinese name
	Figures
}

// Report is one quarter's figures for a scope.
type Report struct {
	Tenant         string
	Year, Quarter  int
	From, To       time.Time
	Zone           string
	Region, Branch string // the scope counted; empty: no restriction
	Total          Figures
	ByBusinessLine []Row
	ByChannel      []Row
	ByRootCause    []Row
	AsOf           time.Time
}

// Fold builds the figures of a report from a store's groups. Breakdowns list
// only values with complaints, in the order of the API's enums.
func Fold(r Report, groups []Group) Report {
	lines, channels, causes := map[string]*Figures{}, map[string]*Figures{}, map[string]*Figures{}
	at := func(m map[string]*Figures, k string) *Figures {
		if m[k] == nil {
			m[k] = &Figures{}
		}
		return m[k]
	}
	for _, g := range groups {
		r.Total.add(g)
		at(lines, g.Category).add(g)
		at(channels, g.Channel).add(g)
		cause := g.RootCause
		if cause == "" {
			cause = RootCauseUnknown
		}
		at(causes, cause).add(g)
	}
	r.ByBusinessLine = rows(lines, BusinessLines)
	r.ByChannel = rows(channels, Channels)
	r.ByRootCause = rows(causes, RootCauses)
	return r
}

func rows(m map[string]*Figures, order []Label) []Row {
	var out []Row
	for _, l := range order {
		if f, ok := m[l.Key]; ok {
			out = append(out, Row{Key: l.Key, Label: l.Name, Figures: *f})
			delete(m, l.Key)
		}
	}
	// Values this build does not know (a newer producer's enum) still count.
	rest := make([]string, 0, len(m))
	for k := range m {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, Row{Key: k, Label: k, Figures: *m[k]})
	}
	return out
}

// Request is what a caller asks for.
type Request struct {
	Year, Quarter int
	Region        string
	Branch        string
}

// Query is what a store counts: one bank's complaints received in
// [From, To) within Region and Branch (empty: no restriction), with
// decisions and withdrawals up to AsOf.
type Query struct {
	Tenant     string
	Region     string
	Branch     string
	From, To   time.Time
	AsOf       time.Time
	Zone       string
	Categories []string
}

// Store counts complaints for a quarter, grouped.
type Store interface {
	QuarterGroups(ctx context.Context, q Query) ([]Group, error)
}

// readers is the one table of who reads regulatory figures. SREs, bank
// systems and the operator read none: they are case data.
var readers = []auth.Role{auth.RoleHeadOffice, auth.RoleRegionalSupervisor, auth.RoleBranchHead}

// Scope narrows req to what caller may read: head office the whole bank, a
// regional supervisor their region, a branch head their branch. A region or
// branch asked for outside it is refused.
func Scope(caller auth.Principal, req Request) (region, branch string, err error) {
	if caller.Tenant == "" || caller.Tenant == auth.AllTenants {
		return "", "", fmt.Errorf("%w: regulatory figures are read on behalf of one bank", ErrPermissionDenied)
	}
	if !slices.Contains(readers, caller.Role) {
		return "", "", fmt.Errorf("%w: the %s role may not read regulatory figures", ErrPermissionDenied, caller.Role)
	}
	switch caller.Role {
	case auth.RoleRegionalSupervisor:
		if caller.Region == "" {
			return "", "", fmt.Errorf("%w: regional supervisor's token names no region", ErrPermissionDenied)
		}
		region = caller.Region
	case auth.RoleBranchHead:
		if caller.Branch == "" {
			return "", "", fmt.Errorf("%w: branch head's token names no branch", ErrPermissionDenied)
		}
		branch = caller.Branch
	}
	if req.Region != "" {
		if (region != "" && req.Region != region) || branch != "" {
			return "", "", fmt.Errorf("%w: region %s is outside your scope", ErrPermissionDenied, req.Region)
		}
		region = req.Region
	}
	if req.Branch != "" {
		if branch != "" && req.Branch != branch {
			return "", "", fmt.Errorf("%w: branch %s is outside your branch", ErrPermissionDenied, req.Branch)
		}
		// Within a region the region condition stays: another region's
		// branch counts nothing.
		branch = req.Branch
	}
	return region, branch, nil
}

// Reports answers quarterly reports at the clock's time.
type Reports struct {
	Store Store
	Now   func() time.Time
}

// Quarterly counts the quarter for caller.
func (s *Reports) Quarterly(ctx context.Context, caller auth.Principal, req Request) (Report, error) {
	region, branch, err := Scope(caller, req)
	if err != nil {
		return Report{}, err
	}
	from, to, err := QuarterBounds(req.Year, req.Quarter)
	if err != nil {
		return Report{}, err
	}
	now := s.Now()
	q := Query{Tenant: caller.Tenant, Region: region, Branch: branch, From: from, To: to, AsOf: now, Zone: Zone,
		Categories: complaintCategories()}
	groups, err := s.Store.QuarterGroups(ctx, q)
	if err != nil {
		return Report{}, fmt.Errorf("count quarter %d-Q%d: %w", req.Year, req.Quarter, err)
	}
	r := Report{Tenant: caller.Tenant, Year: req.Year, Quarter: req.Quarter, From: from, To: to, Zone: Zone,
		Region: region, Branch: branch, AsOf: now}
	return Fold(r, groups), nil
}
