// Command reportgen loads a bank's history of cases straight into the
// reporting store (COPY, then the rollups recomputed as the service does)
// and measures the reporting API over it: p95 of every dashboard call and
// the time of the dashboard's overview page.
//
//	go run ./reportgen -db postgres://...reporting -cases 10000000 -branches 300 -regions 12 -years 3 -bench 200
//
// Run it against the reporting database as its owner (it only writes
// case_facts and the rollups); -truncate empties the bank's read model
// first.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/counterdesk/counterdesk/services/reporting/reportgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "reportgen:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	db := flag.String("db", os.Getenv("DATABASE_URL"), "reporting database URL (owner)")
	cfg := reportgen.Config{}
	flag.StringVar(&cfg.Tenant, "tenant", "bank-gen", "bank id")
	flag.IntVar(&cfg.Cases, "cases", 200000, "cases to load (0: none, benchmark what is there)")
	flag.IntVar(&cfg.Branches, "branches", 300, "branches")
	flag.IntVar(&cfg.Regions, "regions", 12, "regions")
	flag.IntVar(&cfg.Years, "years", 3, "years of history")
	end := flag.String("end", "2026-12-01", "end of the history (exclusive), a date in the zone")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.IntVar(&cfg.Batch, "batch", 20000, "cases per COPY")
	zone := flag.String("zone", "Asia/Shanghai", "reporting zone (REPORTING_TIME_ZONE)")
	truncate := flag.Bool("truncate", false, "delete the bank's read model first")
	rounds := flag.Int("bench", 120, "benchmark rounds after loading (0: none)")
	flag.Parse()
	cfg.Seed = *seed
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		return err
	}
	if cfg.End, err = time.ParseInLocation(time.DateOnly, *end, loc); err != nil {
		return fmt.Errorf("-end: %w", err)
	}
	if *db == "" {
		return fmt.Errorf("-db or DATABASE_URL is required")
	}
	pool, err := pgdb.Open(ctx, *db, migrations.FS, nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := reportgen.NewStore(pool, loc)
	clock := time.Now //nolint:forbidigo // a load tool and benchmark measures wall time
	if *truncate {
		for _, t := range []string{"case_facts", "case_history", "rollup_month", "rollup_keyed"} {
			if _, err := pool.Exec(ctx, "DELETE FROM "+t+" WHERE tenant_id = $1", cfg.Tenant); err != nil {
				return fmt.Errorf("truncate %s: %w", t, err)
			}
		}
	}
	if cfg.Cases > 0 {
		start := clock()
		err := reportgen.Load(ctx, store, cfg, func(done int) {
			if done%(cfg.Batch*25) == 0 || done == cfg.Cases {
				el := clock().Sub(start)
				fmt.Printf("loaded %d cases in %s (%.0f/s)\n", done, el.Round(time.Second), float64(done)/el.Seconds())
			}
		})
		if err != nil {
			return err
		}
		fmt.Printf("loaded %d cases and their rollups in %s\n", cfg.Cases, clock().Sub(start).Round(time.Second))
	}
	if *rounds == 0 {
		return nil
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	res, err := reportgen.Bench(ctx, store, cfg, *rounds, cfg.End.Add(-time.Hour), clock)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(res.Calls))
	for n := range res.Calls {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Printf("%-38s %6s %9s %9s %9s\n", "call", "n", "p50", "p95", "max")
	for _, n := range names {
		d := res.Calls[n]
		fmt.Printf("%-38s %6d %9s %9s %9s\n", n, len(d), ms(reportgen.Quantile(d, 0.5)), ms(reportgen.Quantile(d, 0.95)), ms(reportgen.Quantile(d, 1)))
	}
	all := res.All()
	fmt.Printf("%-38s %6d %9s %9s %9s\n", "every call", len(all), ms(reportgen.Quantile(all, 0.5)), ms(reportgen.Quantile(all, 0.95)), ms(reportgen.Quantile(all, 1)))
	fmt.Printf("%-38s %6d %9s %9s %9s\n", "overview page (8 calls in sequence)", len(res.Overview), ms(reportgen.Quantile(res.Overview, 0.5)),
		ms(reportgen.Quantile(res.Overview, 0.95)), ms(reportgen.Quantile(res.Overview, 1)))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
