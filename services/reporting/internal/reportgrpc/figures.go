package reportgrpc

import (
	"context"
	"strconv"
	"strings"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// filter turns the API's filter into the domain's. Enum values were checked
// by protovalidate; unset ones mean no restriction.
func filter(f *reportingv1.ReportFilter) (report.Filter, error) {
	var out report.Filter
	var err error
	if out.From, err = optionalTime("filter.from", f.GetFrom()); err != nil {
		return out, err
	}
	if out.To, err = optionalTime("filter.to", f.GetTo()); err != nil {
		return out, err
	}
	out.Region, out.Branch = f.GetRegionId(), f.GetBranchId()
	if f.GetCategory() != casesv1.Category_CATEGORY_UNSPECIFIED {
		out.Category = f.GetCategory().String()
	}
	if f.GetChannel() != casesv1.Channel_CHANNEL_UNSPECIFIED {
		out.Channel = f.GetChannel().String()
	}
	if f.GetSeverity() != casesv1.Severity_SEVERITY_UNSPECIFIED {
		out.Severity = f.GetSeverity().String()
	}
	if f.GetCustomerTier() != casesv1.CustomerTier_CUSTOMER_TIER_UNSPECIFIED {
		out.Tier = f.GetCustomerTier().String()
	}
	return out, nil
}

// caller reads the principal and the filter of a report request.
func (s *Server) caller(ctx context.Context, f *reportingv1.ReportFilter) (auth.Principal, report.Filter, error) {
	p, err := auth.RequireTenant(ctx)
	if err != nil {
		return auth.Principal{}, report.Filter{}, err
	}
	rf, err := filter(f)
	return p, rf, err
}

func figures(f report.Figures) *reportingv1.Figures {
	dist := map[string]int64{}
	for i, n := range f.Sat {
		if n > 0 {
			dist[strconv.Itoa(i+1)] = n
		}
	}
	return &reportingv1.Figures{
		Received: f.Received, Answered: f.Answered, Closed: f.Closed, Open: f.Open, Withdrawn: f.Withdrawn,
		AcknowledgedInTimeRate: f.AckRate, AcknowledgeSettled: f.AckSettled,
		AnsweredInTimeRate: f.AnswerRate, AnswerSettled: f.AnswerSettled,
		ResolvedInTimeRate: f.ResolveRate, ResolveSettled: f.ResolveSettled,
		Warnings: f.Warnings, Breaches: f.Breaches, Escalations: f.Escalations,
		HandlingSecondsMean: f.HandlingMean, HandlingSecondsP50: f.HandlingP50, HandlingSecondsP90: f.HandlingP90,
		HandoversPerCase: f.HandoversPerCase, SettledAtBranchRate: f.SettledAtBranchRate, SettledAtBranch: f.SettledAtBranch,
		Repeats: f.Repeats, SatisfactionMean: f.SatisfactionMean, SatisfactionCount: f.SatN, SatisfactionDistribution: dist,
		Compensated: f.Compensated, CompensationFen: f.CompensationFen,
	}
}

// GetOverview returns the headline figures.
func (s *Server) GetOverview(ctx context.Context, req *reportingv1.GetOverviewRequest) (*reportingv1.GetOverviewResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	o, err := s.Reports.Overview(ctx, p, f)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &reportingv1.GetOverviewResponse{Figures: figures(o.Figures), OverdueOpen: o.OverdueOpen, NearDeadlineOpen: o.NearOpen,
		AsOf: timestamppb.New(o.AsOf)}, nil
}

var dimensionGroups = map[reportingv1.Dimension]report.Group{
	reportingv1.Dimension_DIMENSION_REGION:        report.GroupRegion,
	reportingv1.Dimension_DIMENSION_BRANCH:        report.GroupBranch,
	reportingv1.Dimension_DIMENSION_CATEGORY:      report.GroupCategory,
	reportingv1.Dimension_DIMENSION_CHANNEL:       report.GroupChannel,
	reportingv1.Dimension_DIMENSION_SEVERITY:      report.GroupSeverity,
	reportingv1.Dimension_DIMENSION_CUSTOMER_TIER: report.GroupTier,
}

// GetBreakdown returns the figures of every value of one dimension.
func (s *Server) GetBreakdown(ctx context.Context, req *reportingv1.GetBreakdownRequest) (*reportingv1.GetBreakdownResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	g, ok := dimensionGroups[req.GetDimension()]
	if !ok {
		return nil, s.status(ctx, &report.FieldError{Field: "dimension", Description: "must name a dimension"})
	}
	rows, err := s.Reports.Breakdown(ctx, p, f, g)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.GetBreakdownResponse{Dimension: req.GetDimension(), AsOf: timestamppb.New(s.Reports.Now())}
	for _, r := range rows {
		out.Rows = append(out.Rows, &reportingv1.BreakdownRow{Key: r.Key, Figures: figures(r.Figures)})
	}
	return out, nil
}

// GetCompliance returns deadline compliance by kind.
func (s *Server) GetCompliance(ctx context.Context, req *reportingv1.GetComplianceRequest) (*reportingv1.GetComplianceResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	c, err := s.Reports.Compliance(ctx, p, f)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.GetComplianceResponse{Warnings: c.Warnings, Breaches: c.Breaches, Escalations: c.Escalations,
		AsOf: timestamppb.New(s.Reports.Now())}
	for _, d := range c.Deadlines {
		rate := 0.0
		if d.Met+d.Breached > 0 {
			rate = float64(d.Met) / float64(d.Met+d.Breached)
		}
		out.Deadlines = append(out.Deadlines, &reportingv1.DeadlineCompliance{Kind: d.Kind, Armed: d.Armed, Met: d.Met,
			Breached: d.Breached, Open: d.Armed - d.Met - d.Breached, MetRate: rate, Warnings: d.WarningsByLevel})
	}
	return out, nil
}

// GetRootCauses returns the root-cause Pareto.
func (s *Server) GetRootCauses(ctx context.Context, req *reportingv1.GetRootCausesRequest) (*reportingv1.GetRootCausesResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	k, err := s.Reports.Keyed(ctx, p, f, report.MetricCause)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	counts := make(map[string]int64, len(k))
	for key, c := range k {
		counts[key] = c.N
	}
	shares, total := report.Pareto(counts)
	out := &reportingv1.GetRootCausesResponse{Total: total, AsOf: timestamppb.New(s.Reports.Now())}
	for _, sh := range shares {
		out.Causes = append(out.Causes, &reportingv1.RootCauseShare{RootCause: casesv1.RootCause(casesv1.RootCause_value[sh.Key]),
			Cases: sh.N, Share: sh.Share, CumulativeShare: sh.Cumulated})
	}
	return out, nil
}

// GetHeatmap counts received cases by weekday and hour.
func (s *Server) GetHeatmap(ctx context.Context, req *reportingv1.GetHeatmapRequest) (*reportingv1.GetHeatmapResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	k, err := s.Reports.Keyed(ctx, p, f, report.MetricHeat)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.GetHeatmapResponse{TimeZone: s.Zone.String(), AsOf: timestamppb.New(s.Reports.Now())}
	for key, c := range k {
		wd, hr, _ := strings.Cut(key, "|")
		w, _ := strconv.Atoi(wd)
		h, _ := strconv.Atoi(hr)
		out.Cells = append(out.Cells, &reportingv1.HeatmapCell{Weekday: int32(w), Hour: int32(h), Cases: c.N})
	}
	sortCells(out.Cells)
	return out, nil
}

func sortCells(c []*reportingv1.HeatmapCell) {
	less := func(a, b *reportingv1.HeatmapCell) bool {
		return a.GetWeekday() < b.GetWeekday() || (a.GetWeekday() == b.GetWeekday() && a.GetHour() < b.GetHour())
	}
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && less(c[j], c[j-1]); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

var periods = map[reportingv1.Period]report.Period{
	reportingv1.Period_PERIOD_UNSPECIFIED: report.PeriodMonth,
	reportingv1.Period_PERIOD_MONTH:       report.PeriodMonth,
	reportingv1.Period_PERIOD_DAY:         report.PeriodDay,
	reportingv1.Period_PERIOD_WEEK:        report.PeriodWeek,
	reportingv1.Period_PERIOD_QUARTER:     report.PeriodQuarter,
}

// GetTrends returns the figures period by period.
func (s *Server) GetTrends(ctx context.Context, req *reportingv1.GetTrendsRequest) (*reportingv1.GetTrendsResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	period := req.GetPeriod()
	if period == reportingv1.Period_PERIOD_UNSPECIFIED {
		period = reportingv1.Period_PERIOD_MONTH
	}
	ts, err := s.Reports.Trends(ctx, p, f, periods[period], s.Zone)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.GetTrendsResponse{Period: period, AsOf: timestamppb.New(s.Reports.Now())}
	for _, t := range ts {
		out.Points = append(out.Points, &reportingv1.TrendPoint{PeriodStart: timestamppb.New(t.Start), Figures: figures(t.Figures),
			ReceivedChange: t.ReceivedChange})
	}
	return out, nil
}

// GetCompensation returns compensation by tier and kind.
func (s *Server) GetCompensation(ctx context.Context, req *reportingv1.GetCompensationRequest) (*reportingv1.GetCompensationResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	k, err := s.Reports.Keyed(ctx, p, f, report.MetricComp)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.GetCompensationResponse{AsOf: timestamppb.New(s.Reports.Now())}
	for key, c := range k {
		tier, kind, _ := strings.Cut(key, "|")
		out.Rows = append(out.Rows, &reportingv1.CompensationRow{CustomerTier: tierOf(tier),
			Kind: casesv1.CompensationKind(casesv1.CompensationKind_value[kind]), Cases: c.N, AmountFen: c.Amount})
		out.Cases += c.N
		out.AmountFen += c.Amount
	}
	rows := out.Rows
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && (rows[j].GetCustomerTier() < rows[j-1].GetCustomerTier() ||
			(rows[j].GetCustomerTier() == rows[j-1].GetCustomerTier() && rows[j].GetKind() < rows[j-1].GetKind())); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	return out, nil
}

// tierOf reads the tier compensation was granted under: intake's lower-case
// name ("gold") or the enum name.
func tierOf(t string) casesv1.CustomerTier {
	if v, ok := casesv1.CustomerTier_value[t]; ok {
		return casesv1.CustomerTier(v)
	}
	return casesv1.CustomerTier(casesv1.CustomerTier_value["CUSTOMER_TIER_"+strings.ToUpper(t)])
}

func caseRow(c report.CaseRecord) *reportingv1.CaseRow {
	r := &reportingv1.CaseRow{CaseId: c.CaseID, CaseNumber: c.CaseNumber, RegionId: c.RegionID, BranchId: c.BranchID,
		Channel:            casesv1.Channel(casesv1.Channel_value[c.Channel]),
		Category:           casesv1.Category(casesv1.Category_value[c.Category]),
		Severity:           casesv1.Severity(casesv1.Severity_value[c.Severity]),
		CustomerTier:       casesv1.CustomerTier(casesv1.CustomerTier_value[c.CustomerTier]),
		Status:             casesv1.CaseStatus(casesv1.CaseStatus_value[c.Status]),
		CustomerNameMasked: c.CustomerNameMasked, CustomerPhoneMasked: c.CustomerPhoneMasked, OwnerId: c.OwnerID,
		ReceivedAt: ts(c.ReceivedAt), AcknowledgedAt: ts(c.AcknowledgedAt), AnsweredAt: ts(c.FirstAnsweredAt),
		ClosedAt: ts(c.ClosedAt), Warnings: int32(c.Warnings), Breaches: int32(c.Breaches),
		Escalations: int32(c.Escalations), Handovers: int32(c.Handovers), Repeat: c.Repeat,
		SettledAtBranch: c.SettledAtBranch() || (!c.LeftBranch && c.FirstAnsweredAt.IsZero() && c.Status == report.StatusClosed),
		RootCause:       casesv1.RootCause(casesv1.RootCause_value[c.RootCause]),
		Satisfaction:    int32(c.Satisfaction), Extended: c.Extended,
	}
	if d, ok := c.NextDeadline(); ok {
		r.NextDeadlineKind, r.NextDeadlineAt = d.Kind, ts(d.DueAt)
	}
	return r
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// ListCases lists cases with masked customer data.
func (s *Server) ListCases(ctx context.Context, req *reportingv1.ListCasesRequest) (*reportingv1.ListCasesResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	cf := report.CaseFilter{OpenOnly: req.GetOpenOnly(), RepeatOnly: req.GetRepeatOnly(), BreachedOnly: req.GetBreachedOnly()}
	if req.GetStatus() != casesv1.CaseStatus_CASE_STATUS_UNSPECIFIED {
		cf.Status = req.GetStatus().String()
	}
	rows, next, total, err := s.Reports.Cases(ctx, p, f, cf, report.Page{Size: int(req.GetPageSize()), Token: req.GetPageToken()})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.ListCasesResponse{NextPageToken: next, Total: total}
	for _, r := range rows {
		out.Cases = append(out.Cases, caseRow(r))
	}
	return out, nil
}

// GetCaseHistory returns one case and its recorded events.
func (s *Server) GetCaseHistory(ctx context.Context, req *reportingv1.GetCaseHistoryRequest) (*reportingv1.GetCaseHistoryResponse, error) {
	p, err := auth.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, h, err := s.Reports.CaseHistory(ctx, p, req.GetCaseId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.GetCaseHistoryResponse{Case: caseRow(c)}
	for _, e := range h {
		out.Events = append(out.Events, &reportingv1.HistoryEvent{At: timestamppb.New(e.At), Type: e.Type, Producer: e.Producer,
			Summary: e.Summary, ActorId: e.ActorID})
	}
	return out, nil
}

// ListAtRisk lists open cases near or past a deadline.
func (s *Server) ListAtRisk(ctx context.Context, req *reportingv1.ListAtRiskRequest) (*reportingv1.ListAtRiskResponse, error) {
	p, f, err := s.caller(ctx, req.GetFilter())
	if err != nil {
		return nil, err
	}
	window := report.NearWindow
	if req.GetWithinMinutes() > 0 {
		window = time.Duration(req.GetWithinMinutes()) * time.Minute
	}
	rows, next, total, now, err := s.Reports.AtRisk(ctx, p, f, window, report.Page{Size: int(req.GetPageSize()), Token: req.GetPageToken()})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &reportingv1.ListAtRiskResponse{NextPageToken: next, Total: total, AsOf: timestamppb.New(now)}
	for _, r := range rows {
		row := caseRow(r)
		a := &reportingv1.AtRiskCase{Case: row, DeadlineKind: row.GetNextDeadlineKind(), DueAt: row.GetNextDeadlineAt()}
		if d, ok := r.NextDeadline(); ok {
			a.Overdue, a.WarningLevel = !d.DueAt.After(now), d.WarnLevel
		}
		out.Cases = append(out.Cases, a)
	}
	return out, nil
}
