package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// ErrNotFound is a case that does not exist or lies outside the caller's
// scope (the two are not told apart).
var ErrNotFound = errors.New("not found")

// Group is what figures are grouped by; GroupNone gives one group, keyed "".
type Group string

// Groups. Period groups key by the period's first day ("2026-03-01") in the
// reporting zone.
const (
	GroupNone     Group = ""
	GroupRegion   Group = "region"
	GroupBranch   Group = "branch"
	GroupCategory Group = "category"
	GroupChannel  Group = "channel"
	GroupSeverity Group = "severity"
	GroupTier     Group = "customer_tier"
	GroupDay      Group = "day"
	GroupWeek     Group = "week"
	GroupMonth    Group = "month"
)

// Keyed metrics: counts of cases by one key.
const (
	MetricCause = "cause" // key: root cause of answered cases
	MetricComp  = "comp"  // key: tier|kind, amount: fen
	MetricHeat  = "heat"  // key: weekday|hour (ISO weekday, local hour)
)

// KeyedCount is a count (and amount) under one key.
type KeyedCount struct {
	N, Amount int64
}

// DeadlineCount is the compliance of one deadline kind.
type DeadlineCount struct {
	Kind                 string
	Armed, Met, Breached int64
	WarningsByLevel      map[string]int64
}

// CaseFilter narrows a case list beyond the report filter.
type CaseFilter struct {
	Status       string
	OpenOnly     bool
	RepeatOnly   bool
	BreachedOnly bool
}

// Page is a page request: Size rows after the position in Token.
type Page struct {
	Size  int
	Token string
}

// ErrBadPageToken is a page token this filter did not issue.
var ErrBadPageToken = &FieldError{Field: "page_token", Description: "not a token of this list and filter"}

// Item is one event's fact about a case, with its line of the case's
// history (History.EventID empty: none), for a batch of them.
type Item struct {
	Tenant, CaseID string
	Fact           Fact
	History        HistoryEntry
}

// HistoryEntry is one event recorded about a case, without personal data.
type HistoryEntry struct {
	EventID  string
	At       time.Time
	Type     string
	Producer string
	ActorID  string
	Summary  string
}

// FigureStore is the storage the figures need. Implementations answer from
// rollups where the query allows and from case facts otherwise; either way
// the numbers are the same.
type FigureStore interface {
	// Measures sums the measures of q's cases by group, with each group's
	// handling-time histogram.
	Measures(ctx context.Context, q Query, g Group) (map[string]Measures, map[string]Histogram, error)
	// Keyed counts q's cases by one of the keyed metrics.
	Keyed(ctx context.Context, q Query, metric string) (map[string]KeyedCount, error)
	// Deadlines counts q's deadlines by kind.
	Deadlines(ctx context.Context, q Query) ([]DeadlineCount, error)
	// Cases lists q's cases newest received first.
	Cases(ctx context.Context, q Query, f CaseFilter, p Page) (rows []CaseRecord, next string, total int64, err error)
	// AtRisk lists q's open cases whose next deadline is before until,
	// earliest first.
	AtRisk(ctx context.Context, q Query, until time.Time, p Page) (rows []CaseRecord, next string, total int64, err error)
	// Case returns one case with its history; ok is false when unknown.
	CaseWithHistory(ctx context.Context, tenant, caseID string) (CaseRecord, []HistoryEntry, bool, error)
}

// NearWindow is how far ahead a deadline counts as near by default.
const NearWindow = 4 * time.Hour

// query resolves caller and f into the query to run.
func (r *Reports) query(ctx context.Context, caller auth.Principal, f Filter) (Query, error) {
	scope, err := ScopeFor(caller)
	if err != nil {
		return Query{}, err
	}
	if err := f.Validate(); err != nil {
		return Query{}, err
	}
	var region string
	var known bool
	if f.Branch != "" && scope.Region != "" {
		if region, known, err = r.Store.BranchRegion(ctx, scope.Tenant, f.Branch); err != nil {
			return Query{}, fmt.Errorf("look up region of branch %s: %w", f.Branch, err)
		}
	}
	return scope.Narrow(f, region, known)
}

// Overview is the headline figures with the open cases at risk now.
type Overview struct {
	Figures
	OverdueOpen, NearOpen int64
	AsOf                  time.Time
}

// Overview returns the figures of the cases caller may see matching f.
func (r *Reports) Overview(ctx context.Context, caller auth.Principal, f Filter) (Overview, error) {
	q, err := r.query(ctx, caller, f)
	if err != nil {
		return Overview{}, err
	}
	now := r.Now()
	ms, hs, err := r.Figures.Measures(ctx, q, GroupNone)
	if err != nil {
		return Overview{}, fmt.Errorf("sum figures: %w", err)
	}
	_, _, overdue, err := r.Figures.AtRisk(ctx, q, now, Page{Size: 1})
	if err != nil {
		return Overview{}, fmt.Errorf("count overdue cases: %w", err)
	}
	_, _, near, err := r.Figures.AtRisk(ctx, q, now.Add(NearWindow), Page{Size: 1})
	if err != nil {
		return Overview{}, fmt.Errorf("count cases near their deadline: %w", err)
	}
	return Overview{Figures: FiguresOf(ms[""], hs[""]), OverdueOpen: overdue, NearOpen: near - overdue, AsOf: now}, nil
}

// Row is one group of a breakdown or trend.
type Row struct {
	Key string
	Figures
}

// Breakdown returns the figures of every value of g, largest first.
func (r *Reports) Breakdown(ctx context.Context, caller auth.Principal, f Filter, g Group) ([]Row, error) {
	q, err := r.query(ctx, caller, f)
	if err != nil {
		return nil, err
	}
	ms, hs, err := r.Figures.Measures(ctx, q, g)
	if err != nil {
		return nil, fmt.Errorf("sum figures by %s: %w", g, err)
	}
	rows := make([]Row, 0, len(ms))
	for k, m := range ms {
		rows = append(rows, Row{Key: k, Figures: FiguresOf(m, hs[k])})
	}
	sortRows(rows, func(a, b Row) bool {
		if a.Received != b.Received {
			return a.Received > b.Received
		}
		return a.Key < b.Key
	})
	return rows, nil
}

// Trend is one period's figures with the change of received cases against
// the period before.
type Trend struct {
	Start time.Time
	Figures
	ReceivedChange float64
}

// Trends returns the figures period by period, oldest first.
func (r *Reports) Trends(ctx context.Context, caller auth.Principal, f Filter, p Period, loc *time.Location) ([]Trend, error) {
	q, err := r.query(ctx, caller, f)
	if err != nil {
		return nil, err
	}
	g := map[Period]Group{PeriodDay: GroupDay, PeriodWeek: GroupWeek, PeriodMonth: GroupMonth, PeriodQuarter: GroupMonth}[p]
	ms, hs, err := r.Figures.Measures(ctx, q, g)
	if err != nil {
		return nil, fmt.Errorf("sum figures by period: %w", err)
	}
	type acc struct {
		m Measures
		h Histogram
	}
	byStart := map[time.Time]*acc{}
	for k, m := range ms {
		day, err := time.ParseInLocation(time.DateOnly, k, loc)
		if err != nil {
			return nil, fmt.Errorf("period key %q: %w", k, err)
		}
		start := PeriodStart(day, p, loc)
		a := byStart[start]
		if a == nil {
			a = &acc{h: Histogram{}}
			byStart[start] = a
		}
		a.m.Add(m)
		for b, n := range hs[k] {
			a.h[b] += n
		}
	}
	out := make([]Trend, 0, len(byStart))
	for s, a := range byStart {
		out = append(out, Trend{Start: s, Figures: FiguresOf(a.m, a.h)})
	}
	sortRows(out, func(a, b Trend) bool { return a.Start.Before(b.Start) })
	for i := 1; i < len(out); i++ {
		out[i].ReceivedChange = Change(out[i].Received, out[i-1].Received)
	}
	return out, nil
}

// Keyed counts the cases caller may see matching f by metric.
func (r *Reports) Keyed(ctx context.Context, caller auth.Principal, f Filter, metric string) (map[string]KeyedCount, error) {
	q, err := r.query(ctx, caller, f)
	if err != nil {
		return nil, err
	}
	k, err := r.Figures.Keyed(ctx, q, metric)
	if err != nil {
		return nil, fmt.Errorf("count by %s: %w", metric, err)
	}
	return k, nil
}

// Compliance is deadline compliance by kind with the totals.
type Compliance struct {
	Deadlines                       []DeadlineCount
	Warnings, Breaches, Escalations int64
}

// Compliance returns the deadline compliance of the cases caller may see.
func (r *Reports) Compliance(ctx context.Context, caller auth.Principal, f Filter) (Compliance, error) {
	q, err := r.query(ctx, caller, f)
	if err != nil {
		return Compliance{}, err
	}
	d, err := r.Figures.Deadlines(ctx, q)
	if err != nil {
		return Compliance{}, fmt.Errorf("count deadlines: %w", err)
	}
	ms, _, err := r.Figures.Measures(ctx, q, GroupNone)
	if err != nil {
		return Compliance{}, fmt.Errorf("sum figures: %w", err)
	}
	m := ms[""]
	return Compliance{Deadlines: d, Warnings: m.Warnings, Breaches: m.Breaches, Escalations: m.Escalations}, nil
}

// Cases lists the cases caller may see (masked customer data only).
func (r *Reports) Cases(ctx context.Context, caller auth.Principal, f Filter, cf CaseFilter, p Page) ([]CaseRecord, string, int64, error) {
	q, err := r.query(ctx, caller, f)
	if err != nil {
		return nil, "", 0, err
	}
	return r.Figures.Cases(ctx, q, cf, p)
}

// AtRisk lists the open cases caller may see whose next deadline is past or
// within window of now.
func (r *Reports) AtRisk(ctx context.Context, caller auth.Principal, f Filter, window time.Duration, p Page) ([]CaseRecord, string, int64, time.Time, error) {
	q, err := r.query(ctx, caller, f)
	if err != nil {
		return nil, "", 0, time.Time{}, err
	}
	now := r.Now()
	rows, next, total, err := r.Figures.AtRisk(ctx, q, now.Add(window), p)
	return rows, next, total, now, err
}

// CaseHistory returns one case the caller may see and its history.
func (r *Reports) CaseHistory(ctx context.Context, caller auth.Principal, caseID string) (CaseRecord, []HistoryEntry, error) {
	scope, err := ScopeFor(caller)
	if err != nil {
		return CaseRecord{}, nil, err
	}
	c, h, ok, err := r.Figures.CaseWithHistory(ctx, scope.Tenant, caseID)
	if err != nil {
		return CaseRecord{}, nil, fmt.Errorf("read case %s: %w", caseID, err)
	}
	if !ok || !c.Created() || !scope.Allows(c.BranchID, c.RegionID) {
		return CaseRecord{}, nil, fmt.Errorf("case %s: %w", caseID, ErrNotFound)
	}
	return c, h, nil
}

func sortRows[T any](rows []T, less func(a, b T) bool) {
	slices.SortStableFunc(rows, func(a, b T) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}
