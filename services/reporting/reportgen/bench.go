package reportgen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Result is what a benchmark measured.
type Result struct {
	// Calls: every API call's latency by RPC.
	Calls map[string][]time.Duration
	// Overview: the time of each overview page (the calls the dashboard's
	// first page makes, one after the other).
	Overview []time.Duration
}

// Quantile is the nearest-rank q-quantile of d.
func Quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// All is every call's latency.
func (r Result) All() []time.Duration {
	var out []time.Duration
	for _, d := range r.Calls {
		out = append(out, d...)
	}
	return out
}

// Bench calls the API as the dashboard does, rounds times, as head office,
// regional supervisors and branch heads of cfg's bank, over whole months
// (the last 1, 3, 12 and 36), and times every call. now is the report clock
// (the end of the history); clock is the wall clock the calls are timed by.
func Bench(ctx context.Context, store *reportpg.Store, cfg Config, rounds int, now time.Time, clock func() time.Time) (Result, error) {
	loc := store.Zone
	if loc == nil {
		loc = time.UTC
	}
	srv := &reportgrpc.Server{
		Reports: &report.Reports{Store: store, Figures: store, Now: func() time.Time { return now }},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Zone:    loc,
	}
	res := Result{Calls: map[string][]time.Duration{}}
	r := rand.New(rand.NewPCG(cfg.Seed, 99))
	end := now.In(loc)
	monthEnd := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, 1, 0)
	for i := range rounds {
		months := []int{1, 3, 12, 36}[i%4]
		flt := &reportingv1.ReportFilter{From: timestamppb.New(monthEnd.AddDate(0, -months, 0)), To: timestamppb.New(monthEnd)}
		branch := r.IntN(cfg.Branches)
		var who auth.Principal
		switch i % 3 {
		case 0:
			who = auth.Principal{Tenant: cfg.Tenant, Subject: "ho", Role: auth.RoleHeadOffice}
		case 1:
			who = auth.Principal{Tenant: cfg.Tenant, Subject: "rs", Role: auth.RoleRegionalSupervisor, Region: fmt.Sprintf("rg-%02d", branch%cfg.Regions)}
		default:
			who = auth.Principal{Tenant: cfg.Tenant, Subject: "bh", Role: auth.RoleBranchHead, Branch: fmt.Sprintf("br-%03d", branch),
				Region: fmt.Sprintf("rg-%02d", branch%cfg.Regions)}
		}
		c := auth.WithPrincipal(ctx, who)
		timed := func(name string, call func() error) (time.Duration, error) {
			t0 := clock()
			err := call()
			d := clock().Sub(t0)
			res.Calls[name] = append(res.Calls[name], d)
			if err != nil {
				return d, fmt.Errorf("%s as %s: %w", name, who.Role, err)
			}
			return d, nil
		}
		var page time.Duration
		var firstCase string
		for _, step := range []struct {
			name     string
			overview bool
			call     func() error
		}{
			{"GetOverview", true, func() error { _, err := srv.GetOverview(c, &reportingv1.GetOverviewRequest{Filter: flt}); return err }},
			{"GetBreakdown(region)", true, func() error {
				_, err := srv.GetBreakdown(c, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_REGION, Filter: flt})
				return err
			}},
			{"GetBreakdown(branch)", false, func() error {
				_, err := srv.GetBreakdown(c, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_BRANCH, Filter: flt})
				return err
			}},
			{"GetBreakdown(category)", true, func() error {
				_, err := srv.GetBreakdown(c, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_CATEGORY, Filter: flt})
				return err
			}},
			{"GetBreakdown(channel, one category)", false, func() error {
				f := &reportingv1.ReportFilter{From: flt.GetFrom(), To: flt.GetTo(), Category: casesv1.Category_CATEGORY_FEE_DISPUTE}
				_, err := srv.GetBreakdown(c, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_CHANNEL, Filter: f})
				return err
			}},
			{"GetBreakdown(branch, one category)", false, func() error {
				f := &reportingv1.ReportFilter{From: flt.GetFrom(), To: flt.GetTo(), Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE}
				_, err := srv.GetBreakdown(c, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_BRANCH, Filter: f})
				return err
			}},
			{"GetBreakdown(category, one tier)", false, func() error {
				f := &reportingv1.ReportFilter{From: flt.GetFrom(), To: flt.GetTo(), CustomerTier: casesv1.CustomerTier_CUSTOMER_TIER_PRIVATE}
				_, err := srv.GetBreakdown(c, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension_DIMENSION_CATEGORY, Filter: f})
				return err
			}},
			{"GetOverview(category and channel)", false, func() error {
				f := &reportingv1.ReportFilter{From: flt.GetFrom(), To: flt.GetTo(), Category: casesv1.Category_CATEGORY_FEE_DISPUTE,
					Channel: casesv1.Channel_CHANNEL_ON_SITE}
				_, err := srv.GetOverview(c, &reportingv1.GetOverviewRequest{Filter: f})
				return err
			}},
			{"GetCompliance", true, func() error {
				_, err := srv.GetCompliance(c, &reportingv1.GetComplianceRequest{Filter: flt})
				return err
			}},
			{"GetTrends", true, func() error { _, err := srv.GetTrends(c, &reportingv1.GetTrendsRequest{Filter: flt}); return err }},
			{"GetHeatmap", true, func() error { _, err := srv.GetHeatmap(c, &reportingv1.GetHeatmapRequest{Filter: flt}); return err }},
			{"GetRootCauses", true, func() error {
				_, err := srv.GetRootCauses(c, &reportingv1.GetRootCausesRequest{Filter: flt})
				return err
			}},
			{"GetCompensation", false, func() error {
				_, err := srv.GetCompensation(c, &reportingv1.GetCompensationRequest{Filter: flt})
				return err
			}},
			{"ListAtRisk", true, func() error {
				_, err := srv.ListAtRisk(c, &reportingv1.ListAtRiskRequest{Filter: flt, PageSize: 50})
				return err
			}},
			{"ListCases", false, func() error {
				l, err := srv.ListCases(c, &reportingv1.ListCasesRequest{Filter: flt, PageSize: 50})
				if len(l.GetCases()) > 0 {
					firstCase = l.GetCases()[0].GetCaseId()
				}
				return err
			}},
			{"GetCaseHistory", false, func() error {
				if firstCase == "" {
					return nil
				}
				_, err := srv.GetCaseHistory(c, &reportingv1.GetCaseHistoryRequest{CaseId: firstCase})
				return err
			}},
		} {
			d, err := timed(step.name, step.call)
			if err != nil {
				return res, err
			}
			if step.overview {
				page += d
			}
		}
		res.Overview = append(res.Overview, page)
	}
	return res, nil
}
