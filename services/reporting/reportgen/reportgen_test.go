package reportgen_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/counterdesk/counterdesk/services/reporting/reportgen"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

// A loaded history counts the same from the rollups as from the case facts,
// and the benchmark runs every call over it without an error.
func TestALoadedHistoryCountsTheSameFromRollupsAndFacts(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	store := reportgen.NewStore(pool, loc)
	cfg := reportgen.Config{Tenant: "bank-gen", Cases: 3000, Regions: 3, Branches: 12, End: time.Date(2026, 12, 1, 0, 0, 0, 0, loc),
		Years: 1, Seed: 1, Batch: 700}
	if err := reportgen.Load(ctx, store, cfg, nil); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
	to := time.Date(2026, 9, 1, 0, 0, 0, 0, loc)
	for _, g := range []report.Group{report.GroupNone, report.GroupBranch, report.GroupCategory, report.GroupMonth} {
		rolled, rh, err := store.Measures(ctx, report.Query{Scope: report.Scope{Tenant: "bank-gen"}, From: from, To: to}, g)
		if err != nil {
			t.Fatal(err)
		}
		// One nanosecond off a month boundary: counted from the facts.
		facts, fh, err := store.Measures(ctx, report.Query{Scope: report.Scope{Tenant: "bank-gen"}, From: from.Add(-time.Nanosecond), To: to}, g)
		if err != nil {
			t.Fatal(err)
		}
		if len(rolled) == 0 || len(rolled) != len(facts) {
			t.Fatalf("by %q: %d groups from the rollups, %d from the facts", g, len(rolled), len(facts))
		}
		for k, m := range rolled {
			f := facts[k]
			if m.HandlingSumSeconds-f.HandlingSumSeconds > 1e-3 || f.HandlingSumSeconds-m.HandlingSumSeconds > 1e-3 {
				t.Errorf("by %q, %s: handling %v vs %v", g, k, m.HandlingSumSeconds, f.HandlingSumSeconds)
			}
			m.HandlingSumSeconds, f.HandlingSumSeconds = 0, 0
			if m != f {
				t.Errorf("by %q, %s:\nrollups %+v\nfacts   %+v", g, k, m, f)
			}
			if rh[k].Percentile(0.9) != fh[k].Percentile(0.9) {
				t.Errorf("by %q, %s: p90 %v vs %v", g, k, rh[k].Percentile(0.9), fh[k].Percentile(0.9))
			}
		}
	}
	clock := func() time.Time { return time.Time{} }
	res, err := reportgen.Bench(ctx, store, cfg, 6, cfg.End.Add(-time.Hour), clock)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Overview) != 6 || len(res.Calls["GetOverview"]) != 6 {
		t.Errorf("benchmark ran %d overview pages, %d overviews; want 6", len(res.Overview), len(res.Calls["GetOverview"]))
	}
}
