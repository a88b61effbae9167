package reportpg

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg/reportdb"
	"github.com/jackc/pgx/v5"
)

// plan is how a query is answered from the rollups; ok false: from case_facts.
type plan struct {
	ok               bool
	level            string
	scope, region    *string
	dim              string  // the one dimension filtered on, or ""
	val              *string // its value
	fromMonth, toMon time.Time
}

var (
	firstMonth = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	lastMonth  = time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)
)

type dimVal struct{ dim, val string }

// filters lists the dimensions q filters on, with their values.
func filters(q report.Query) []dimVal {
	var out []dimVal
	for _, d := range []dimVal{{"category", q.Category}, {"channel", q.Channel}, {"severity", q.Severity}, {"customer_tier", q.Tier}} {
		if d.val != "" {
			out = append(out, d)
		}
	}
	return out
}

// window turns q's period into rollup months: whole months in the
// reporting zone (or no bound); ok false when a bound falls inside a month.
func (s *Store) window(q report.Query) (from, to time.Time, ok bool) {
	loc := s.zone()
	from, to = firstMonth, lastMonth
	for _, b := range []struct {
		t   time.Time
		set *time.Time
	}{{q.From, &from}, {q.To, &to}} {
		if b.t.IsZero() {
			continue
		}
		m := report.LocalMonth(b.t, loc)
		if !time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, loc).Equal(b.t) {
			return time.Time{}, time.Time{}, false
		}
		*b.set = m
	}
	return from, to, true
}

// levelFor picks the rollup rows of q's scope: a branch (B), a region (R)
// or the whole bank (T).
func levelFor(q report.Query) (level string, scope, region *string) {
	switch {
	case q.Branch != "":
		return "B", &q.Branch, null(q.Region)
	case q.Region != "":
		return "R", &q.Region, nil
	default:
		return "T", new(""), nil
	}
}

// planFor decides whether q can be answered from the rollups of all its
// cases or of one dimension's value: a window of whole months in the
// reporting zone (or none) and at most one dimension.
func (s *Store) planFor(q report.Query) plan {
	from, to, ok := s.window(q)
	fs := filters(q)
	if !ok || len(fs) > 1 {
		return plan{}
	}
	p := plan{ok: true, fromMonth: from, toMon: to}
	p.level, p.scope, p.region = levelFor(q)
	if len(fs) == 1 {
		p.dim, p.val = fs[0].dim, &fs[0].val
	}
	return p
}

func (s *Store) factFilter(q report.Query) reportdb.FactMeasuresParams {
	return reportdb.FactMeasuresParams{Zone: s.zone().String(), TenantID: q.Tenant, RegionID: null(q.Region), BranchID: null(q.Branch),
		Category: null(q.Category), Channel: null(q.Channel), Severity: null(q.Severity), CustomerTier: null(q.Tier),
		FromAt: nullTime(q.From), ToAt: nullTime(q.To)}
}

// Measures sums q's measures by g, from the rollups when rollupGroup allows.
func (s *Store) Measures(ctx context.Context, q report.Query, g report.Group) (map[string]report.Measures, map[string]report.Histogram, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	db := reportdb.New(tx)
	ms, hs := map[string]report.Measures{}, map[string]report.Histogram{}
	if p, ok := s.rollupGroup(q, g); ok {
		rows, err := db.RollupMeasures(ctx, reportdb.RollupMeasuresParams{Grp: p.grp, TenantID: q.Tenant, Level: p.level, ScopeID: p.scope,
			RegionID: p.region, Dim: p.dim, Val: p.val, ValFirst: p.valFirst, ValSecond: p.valSecond, FromMonth: p.fromMonth, ToMonth: p.toMon})
		if err != nil {
			return nil, nil, fmt.Errorf("sum rollups: %w", err)
		}
		for _, r := range rows {
			ms[p.key(r.Key)] = measures(reportdb.FactMeasuresRow(r))
		}
		hr, err := db.RollupHists(ctx, reportdb.RollupHistsParams{Grp: p.grp, TenantID: q.Tenant, Level: p.level, ScopeID: p.scope,
			RegionID: p.region, Dim: p.dim, Val: p.val, ValFirst: p.valFirst, ValSecond: p.valSecond, FromMonth: p.fromMonth, ToMonth: p.toMon})
		if err != nil {
			return nil, nil, fmt.Errorf("read histogram rollups: %w", err)
		}
		for _, r := range hr {
			key := p.key(r.Key)
			for b, n := range r.Hist {
				if n != 0 {
					addHist(hs, key, b, int64(n))
				}
			}
		}
		for k, h := range hs {
			for b, n := range h {
				if n == 0 {
					delete(h, b)
				}
			}
			if len(h) == 0 {
				delete(hs, k)
			}
		}
		return ms, hs, nil
	}
	f := s.factFilter(q)
	f.Grp = string(g)
	if g == report.GroupWeek {
		f.Grp = string(report.GroupDay)
	}
	rows, err := db.FactMeasures(ctx, f)
	if err != nil {
		return nil, nil, fmt.Errorf("sum case facts: %w", err)
	}
	for _, r := range rows {
		ms[r.Key] = measures(r)
	}
	hr, err := db.FactHistogram(ctx, reportdb.FactHistogramParams(f))
	if err != nil {
		return nil, nil, fmt.Errorf("histogram of case facts: %w", err)
	}
	for _, r := range hr {
		addHist(hs, r.Key, int(r.Bucket), r.N)
	}
	return ms, hs, nil
}

func addHist(hs map[string]report.Histogram, key string, b int, n int64) {
	h := hs[key]
	if h == nil {
		h = report.Histogram{}
		hs[key] = h
	}
	h[b] += n
}

type groupPlan struct {
	plan
	grp                 string  // scope, val, region (a branch's), month or ""
	valFirst, valSecond *string // a pair's category, its other value
	part                int     // grouped by a pair's first (1) or second (2) value
}

// key is a result row's key as the caller groups: a pair's value split
// when grouping by one of its two dimensions.
func (p groupPlan) key(k string) string {
	if p.part == 0 {
		return k
	}
	first, second, _ := strings.Cut(k, "|")
	if p.part == 1 {
		return first
	}
	return second
}

// rollupGroup decides whether q grouped by g is read from the rollups: a
// window of whole months (or none) and the rows of its scope (the R and B
// rows when grouping by region or branch, the month when by month) by at
// most one dimension — or, at region and bank level, by category together
// with one other dimension. Otherwise case_facts answer.
func (s *Store) rollupGroup(q report.Query, g report.Group) (groupPlan, bool) {
	from, to, ok := s.window(q)
	if !ok {
		return groupPlan{}, false
	}
	gp := groupPlan{plan: plan{ok: true, fromMonth: from, toMon: to}}
	gp.level, gp.scope, gp.region = levelFor(q)
	groupDim := ""
	switch g {
	case report.GroupNone:
	case report.GroupMonth:
		gp.grp = "month"
	case report.GroupRegion:
		if q.Branch != "" {
			// One branch is in one region: its own rows, keyed by it.
			gp.grp = "region"
			break
		}
		gp.level, gp.grp = "R", "scope"
		gp.scope, gp.region = null(q.Region), nil
	case report.GroupBranch:
		gp.level, gp.grp = "B", "scope"
		gp.scope, gp.region = null(q.Branch), null(q.Region)
	case report.GroupCategory, report.GroupChannel, report.GroupSeverity, report.GroupTier:
		groupDim, gp.grp = string(g), "val"
	default:
		return groupPlan{}, false
	}
	vals := map[string]string{}
	dims := []string{}
	for _, f := range filters(q) {
		vals[f.dim] = f.val
		dims = append(dims, f.dim)
	}
	if groupDim != "" && !slices.Contains(dims, groupDim) {
		dims = append(dims, groupDim)
	}
	switch len(dims) {
	case 0:
	case 1:
		gp.dim = dims[0]
		if v, ok := vals[gp.dim]; ok {
			gp.val = &v
		}
	case 2:
		if gp.level == "B" || !slices.Contains(dims, "category") {
			return groupPlan{}, false
		}
		other := dims[0]
		if other == "category" {
			other = dims[1]
		}
		gp.dim = "category|" + other
		cat, hasCat := vals["category"]
		ov, hasOther := vals[other]
		switch {
		case hasCat && hasOther:
			v := cat + "|" + ov
			gp.val = &v
		case hasCat:
			gp.valFirst = &cat
		case hasOther:
			gp.valSecond = &ov
		}
		switch groupDim {
		case "category":
			gp.part = 1
		case other:
			gp.part = 2
		}
	default:
		return groupPlan{}, false
	}
	return gp, true
}

func measures(r reportdb.FactMeasuresRow) report.Measures {
	return report.Measures{Received: r.Received, Answered: r.Answered, Closed: r.Closed, Open: r.Open, Withdrawn: r.Withdrawn,
		AckMet: r.AckMet, AckSettled: r.AckSettled, AnswerMet: r.AnswerMet, AnswerSettled: r.AnswerSettled,
		ResolveMet: r.ResolveMet, ResolveSettled: r.ResolveSettled, Warnings: r.Warnings, Breaches: r.Breaches,
		Escalations: r.Escalations, Handovers: r.Handovers, HandlingN: r.HandlingN, HandlingSumSeconds: r.HandlingSumS,
		Settled: r.Settled, SettledAtBranch: r.SettledAtBranch, Repeats: r.Repeats, SatN: r.SatN, SatSum: r.SatSum,
		Sat: [5]int64{r.Sat1, r.Sat2, r.Sat3, r.Sat4, r.Sat5}, Compensated: r.Compensated, CompensationFen: r.CompensationFen}
}

// Keyed counts q's cases by metric (report.MetricCause, MetricComp, MetricHeat).
func (s *Store) Keyed(ctx context.Context, q report.Query, metric string) (map[string]report.KeyedCount, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	db := reportdb.New(tx)
	out := map[string]report.KeyedCount{}
	if p := s.planFor(q); p.ok && p.dim == "" {
		rows, err := db.RollupKeyed(ctx, reportdb.RollupKeyedParams{TenantID: q.Tenant, Level: p.level, ScopeID: p.scope,
			RegionID: p.region, Metric: metric, FromMonth: p.fromMonth, ToMonth: p.toMon})
		if err != nil {
			return nil, fmt.Errorf("sum %s rollups: %w", metric, err)
		}
		for _, r := range rows {
			out[r.Key] = report.KeyedCount{N: r.N, Amount: r.Amount}
		}
		return out, nil
	}
	f := s.factFilter(q)
	rows, err := db.FactKeyed(ctx, reportdb.FactKeyedParams{Metric: metric, TenantID: f.TenantID, RegionID: f.RegionID, BranchID: f.BranchID,
		Category: f.Category, Channel: f.Channel, Severity: f.Severity, CustomerTier: f.CustomerTier, FromAt: f.FromAt, ToAt: f.ToAt})
	if err != nil {
		return nil, fmt.Errorf("count case facts by %s: %w", metric, err)
	}
	for _, r := range rows {
		out[r.Key] = report.KeyedCount{N: r.N, Amount: r.Amount}
	}
	return out, nil
}

// Deadlines counts q's deadlines by kind with their warnings by level.
func (s *Store) Deadlines(ctx context.Context, q report.Query) ([]report.DeadlineCount, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	db := reportdb.New(tx)
	byKind := map[string]*report.DeadlineCount{}
	get := func(kind string) *report.DeadlineCount {
		d := byKind[kind]
		if d == nil {
			d = &report.DeadlineCount{Kind: kind, WarningsByLevel: map[string]int64{}}
			byKind[kind] = d
		}
		return d
	}
	if p := s.planFor(q); p.ok && p.dim == "" {
		for _, metric := range []string{"deadline", "warn"} {
			rows, err := db.RollupKeyed(ctx, reportdb.RollupKeyedParams{TenantID: q.Tenant, Level: p.level, ScopeID: p.scope,
				RegionID: p.region, Metric: metric, FromMonth: p.fromMonth, ToMonth: p.toMon})
			if err != nil {
				return nil, fmt.Errorf("sum %s rollups: %w", metric, err)
			}
			for _, r := range rows {
				kind, sub, _ := strings.Cut(r.Key, "|")
				d := get(kind)
				switch {
				case metric == "warn":
					d.WarningsByLevel[sub] += r.N
				case sub == "armed":
					d.Armed += r.N
				case sub == "met":
					d.Met += r.N
				case sub == "breached":
					d.Breached += r.N
				}
			}
		}
	} else {
		f := s.factFilter(q)
		rows, err := db.FactDeadlines(ctx, reportdb.FactDeadlinesParams{TenantID: f.TenantID, RegionID: f.RegionID, BranchID: f.BranchID,
			Category: f.Category, Channel: f.Channel, Severity: f.Severity, CustomerTier: f.CustomerTier, FromAt: f.FromAt, ToAt: f.ToAt})
		if err != nil {
			return nil, fmt.Errorf("count deadlines: %w", err)
		}
		for _, r := range rows {
			d := get(r.Kind)
			d.Armed, d.Met, d.Breached = r.Armed, r.Met, r.Breached
		}
		wr, err := db.FactWarnings(ctx, reportdb.FactWarningsParams{TenantID: f.TenantID, RegionID: f.RegionID, BranchID: f.BranchID,
			Category: f.Category, Channel: f.Channel, Severity: f.Severity, CustomerTier: f.CustomerTier, FromAt: f.FromAt, ToAt: f.ToAt})
		if err != nil {
			return nil, fmt.Errorf("count warnings: %w", err)
		}
		for _, r := range wr {
			kind, level, _ := strings.Cut(r.Key, "|")
			get(kind).WarningsByLevel[level] += r.N
		}
	}
	out := make([]report.DeadlineCount, 0, len(byKind))
	for _, d := range byKind {
		out = append(out, *d)
	}
	sortBy(out, func(d report.DeadlineCount) string { return d.Kind })
	return out, nil
}

// Cases lists q's cases newest received first.
func (s *Store) Cases(ctx context.Context, q report.Query, cf report.CaseFilter, pg report.Page) ([]report.CaseRecord, string, int64, error) {
	after, afterID, err := decodeToken(pg.Token)
	if err != nil {
		return nil, "", 0, err
	}
	f := s.factFilter(q)
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, "", 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	db := reportdb.New(tx)
	size := pageSize(pg.Size)
	rows, err := db.ListCases(ctx, reportdb.ListCasesParams{TenantID: f.TenantID, RegionID: f.RegionID, BranchID: f.BranchID,
		Category: f.Category, Channel: f.Channel, Severity: f.Severity, CustomerTier: f.CustomerTier, FromAt: f.FromAt, ToAt: f.ToAt,
		Status: null(cf.Status), OpenOnly: cf.OpenOnly, RepeatOnly: cf.RepeatOnly, BreachedOnly: cf.BreachedOnly,
		AfterAt: after, AfterID: afterID, Lim: int32(size + 1)})
	if err != nil {
		return nil, "", 0, fmt.Errorf("list cases: %w", err)
	}
	out, next := s.page(rows, size, func(r reportdb.ListCasesRow) time.Time { return tm(r.ReceivedAt) })
	var total int64
	// Totals the rollups already hold are read from them.
	if cf.Status == "" && !cf.BreachedOnly && (!cf.OpenOnly || !cf.RepeatOnly) && s.rollupable(q) {
		ms, _, err := s.Measures(ctx, q, report.GroupNone)
		if err != nil {
			return nil, "", 0, err
		}
		m := ms[""]
		total = m.Received
		switch {
		case cf.OpenOnly:
			total = m.Open
		case cf.RepeatOnly:
			total = m.Repeats
		}
	} else {
		total, err = db.CountCases(ctx, reportdb.CountCasesParams{TenantID: f.TenantID, RegionID: f.RegionID, BranchID: f.BranchID,
			Category: f.Category, Channel: f.Channel, Severity: f.Severity, CustomerTier: f.CustomerTier, FromAt: f.FromAt, ToAt: f.ToAt,
			Status: null(cf.Status), OpenOnly: cf.OpenOnly, RepeatOnly: cf.RepeatOnly, BreachedOnly: cf.BreachedOnly})
		if err != nil {
			return nil, "", 0, fmt.Errorf("count cases: %w", err)
		}
	}
	return out, next, total, nil
}

// AtRisk lists q's open cases whose next deadline is before until, earliest first.
func (s *Store) AtRisk(ctx context.Context, q report.Query, until time.Time, pg report.Page) ([]report.CaseRecord, string, int64, error) {
	after, afterID, err := decodeToken(pg.Token)
	if err != nil {
		return nil, "", 0, err
	}
	f := s.factFilter(q)
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, "", 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	db := reportdb.New(tx)
	size := pageSize(pg.Size)
	rows, err := db.ListAtRisk(ctx, reportdb.ListAtRiskParams{TenantID: f.TenantID, RegionID: f.RegionID, BranchID: f.BranchID,
		Category: f.Category, Channel: f.Channel, Severity: f.Severity, CustomerTier: f.CustomerTier, FromAt: f.FromAt, ToAt: f.ToAt,
		Until: &until, AfterAt: after, AfterID: afterID, Lim: int32(size + 1)})
	if err != nil {
		return nil, "", 0, fmt.Errorf("list cases at risk: %w", err)
	}
	conv := make([]reportdb.ListCasesRow, len(rows))
	for i, r := range rows {
		conv[i] = reportdb.ListCasesRow(r)
	}
	out, next := s.page(conv, size, func(r reportdb.ListCasesRow) time.Time { return tm(r.NextDueAt) })
	total, err := db.CountAtRisk(ctx, reportdb.CountAtRiskParams{TenantID: f.TenantID, RegionID: f.RegionID, BranchID: f.BranchID,
		Category: f.Category, Channel: f.Channel, Severity: f.Severity, CustomerTier: f.CustomerTier, FromAt: f.FromAt, ToAt: f.ToAt, Until: &until})
	if err != nil {
		return nil, "", 0, fmt.Errorf("count cases at risk: %w", err)
	}
	return out, next, total, nil
}

func pageSize(n int) int {
	if n <= 0 {
		return 50
	}
	return min(n, 500)
}

func (s *Store) page(rows []reportdb.ListCasesRow, size int, at func(reportdb.ListCasesRow) time.Time) ([]report.CaseRecord, string) {
	var next string
	if len(rows) > size {
		last := rows[size-1]
		next = encodeToken(at(last), last.CaseID)
		rows = rows[:size]
	}
	out := make([]report.CaseRecord, len(rows))
	for i, r := range rows {
		ds, _ := decodeDeadlines(r.Deadlines)
		out[i] = report.CaseRecord{CaseID: r.CaseID, CaseNumber: str(r.CaseNumber), RegionID: str(r.RegionID), BranchID: str(r.BranchID),
			Channel: str(r.Channel), Category: str(r.Category), Severity: str(r.Severity), CustomerTier: str(r.CustomerTier),
			Status: str(r.Status), CustomerNameMasked: str(r.CustomerNameMasked), CustomerPhoneMasked: str(r.CustomerPhoneMasked),
			OwnerID: str(r.OwnerID), ReceivedAt: tm(r.ReceivedAt), AcknowledgedAt: tm(r.AcknowledgedAt),
			FirstAnsweredAt: tm(r.FirstAnsweredAt), AnsweredAt: tm(r.AnsweredAt), ClosedAt: tm(r.ClosedAt),
			Warnings: int(r.Warnings), Breaches: int(r.Breaches), Escalations: int(r.Escalations), Handovers: int(r.Handovers),
			Repeat: r.Repeat, LeftBranch: !r.SettledAtBranch, RootCause: str(r.RootCause), Extended: r.Extended, Deadlines: ds}
		if r.Satisfaction != nil {
			out[i].Satisfaction = int(*r.Satisfaction)
		}
	}
	return out, next
}

func encodeToken(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + "|" + id))
}

func decodeToken(t string) (*time.Time, string, error) {
	if t == "" {
		return nil, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return nil, "", report.ErrBadPageToken
	}
	ns, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, "", report.ErrBadPageToken
	}
	at := time.Unix(0, n).UTC()
	return &at, id, nil
}

func sortBy[T any](s []T, key func(T) string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && key(s[j]) < key(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

var _ report.FigureStore = (*Store)(nil)

// readTx opens the read-only transaction a report reads in. Its queries
// take optional filters as NULL parameters (one statement for every
// combination), so each is planned for the values it gets: a generic plan
// would scan every rollup row. JIT costs more than these queries take.
func (s *Store) readTx(ctx context.Context) (pgx.Tx, error) {
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off"); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("set the plan mode: %w", err)
	}
	return tx, nil
}

// rollupable reports whether q's totals are read from the rollups.
func (s *Store) rollupable(q report.Query) bool {
	_, ok := s.rollupGroup(q, report.GroupNone)
	return ok
}
