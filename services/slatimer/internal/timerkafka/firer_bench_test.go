// A benchmark, not a timed test: the firing loop alone (one replica, its
// outbox relay publishing to the broker) on a million pending timers while a
// stream falls due at 1,000 a second, reporting the lag (fired_at - fire_at)
// percentiles. The whole-system figures come from tools/timerload against
// the running stack; this one isolates the loop.
//
//	go test ./internal/timerkafka -run '^$' -bench FirerLag -benchtime 1x
//
// TIMER_BENCH_PENDING, TIMER_BENCH_RATE and TIMER_BENCH_SECONDS change the
// load (default 1000000, 1000, 20); TIMER_BENCH_PAUSED adds that many paused
// deadlines whose four fires all fell due while they were paused (default
// 0), which every claim has to pass over.
package timerkafka

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	return def
}

func BenchmarkFirerLagAtAThousandDuePerSecond(b *testing.B) {
	pending, rate, seconds := envInt(b, "TIMER_BENCH_PENDING", 1_000_000), envInt(b, "TIMER_BENCH_RATE", 1000), envInt(b, "TIMER_BENCH_SECONDS", 20)
	paused := envInt(b, "TIMER_BENCH_PAUSED", 0)
	for range b.N {
		benchFirerLag(b, pending, rate, seconds, paused)
	}
}

func benchFirerLag(b *testing.B, pending, rate, seconds, paused int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Seeded as the schema's owner; fired as the service's app role, under
	// row-level security, as in production.
	db := testinfra.NewAppRoleDatabase(b, migrations.FS)
	pool, err := pgdb.Open(ctx, db.OwnerURL, migrations.FS, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := pgdb.Connect(ctx, db.AppURL, migrations.FS, time.Minute, log)
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()

	stream := rate * seconds
	bgDeadlines := (pending - stream) / 4
	now := time.Now()
	began := time.Now()
	benchCopy(ctx, b, pool, "DEADLINE_KIND_RESOLUTION", bgDeadlines, []string{"yellow", "orange", "red", "breached"}, func(i, l int) time.Time {
		start := now.Add(time.Hour + time.Duration(i)*(30*24*time.Hour/time.Duration(bgDeadlines)))
		return start.Add(time.Duration(l+1) * 6 * time.Hour)
	})
	if paused > 0 {
		benchCopy(ctx, b, pool, "DEADLINE_KIND_ACKNOWLEDGE", paused, []string{"yellow", "orange", "red", "breached"}, func(i, l int) time.Time {
			return now.Add(-time.Duration(paused-i) * time.Second).Add(time.Duration(l) * time.Millisecond)
		})
		if _, err := pool.Exec(ctx, `UPDATE deadlines SET paused_at = started_at WHERE kind = 'DEADLINE_KIND_ACKNOWLEDGE'`); err != nil {
			b.Fatal(err)
		}
	}
	startAt := time.Now().Add(3 * time.Second)
	interval := time.Second / time.Duration(rate)
	benchCopy(ctx, b, pool, "DEADLINE_KIND_FIRST_ANSWER", stream, []string{"breached"}, func(i, _ int) time.Time {
		return startAt.Add(time.Duration(i) * interval)
	})
	for _, t := range []string{"deadlines", "timer_fires"} {
		if _, err := pool.Exec(ctx, "ANALYZE "+t); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d pending timers in %v; the stream of %d starts in %v", bgDeadlines*4+stream, time.Since(began).Round(time.Millisecond), stream, time.Until(startAt).Round(time.Millisecond))

	w := eventbus.NewWriter([]string{testinfra.Brokers(b)})
	defer w.Close()
	rctx, stop := context.WithCancel(pgdb.WithTenant(ctx, pgdb.AllTenants))
	done := make(chan struct{}, 2)
	go func() {
		_ = (&outbox.Relay{Pool: app, Writer: w, Log: log, Service: "slatimer", Poll: time.Second}).Run(rctx)
		done <- struct{}{}
	}()
	go func() { _ = (&Firer{Store: timerpg.New(app), Log: log, Now: time.Now}).Run(rctx); done <- struct{}{} }()
	b.ResetTimer()
	end := startAt.Add(time.Duration(seconds)*time.Second + 2*time.Second)
	for {
		var unfired int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM timer_fires WHERE kind = 'DEADLINE_KIND_FIRST_ANSWER' AND fired_at IS NULL`).Scan(&unfired); err != nil {
			b.Fatal(err)
		}
		if time.Now().After(end) && unfired == 0 {
			break
		}
		if time.Now().After(end.Add(time.Minute)) {
			b.Fatalf("%d of the stream's timers unfired a minute after its end", unfired)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.StopTimer()
	stop()
	<-done
	<-done

	var p50, p99, maxLag float64
	var early int
	if err := pool.QueryRow(ctx, `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - fire_at)),
			percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM fired_at - fire_at)),
			max(extract(epoch FROM fired_at - fire_at))::float8, count(*) FILTER (WHERE fired_at < fire_at)
		FROM timer_fires WHERE kind = 'DEADLINE_KIND_FIRST_ANSWER'`).Scan(&p50, &p99, &maxLag, &early); err != nil {
		b.Fatal(err)
	}
	if early > 0 {
		b.Errorf("%d timers fired early", early)
	}
	b.ReportMetric(p50*1000, "p50-lag-ms")
	b.ReportMetric(p99*1000, "p99-lag-ms")
	b.ReportMetric(maxLag*1000, "max-lag-ms")
	b.Logf("%d pending (%d paused deadlines overdue), %d due/s for %ds: lag p50 %.1f ms, p99 %.1f ms, max %.1f ms", pending, paused, rate, seconds, p50*1000, p99*1000, maxLag*1000)
}

// benchCopy writes n deadlines of kind, each of a new case with the given
// levels, with COPY.
func benchCopy(ctx context.Context, b *testing.B, pool *pgxpool.Pool, kind string, n int, levels []string, fireAt func(i, level int) time.Time) {
	b.Helper()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	i := 0
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"deadlines"}, []string{"case_id", "kind", "tenant_id", "branch_id", "region_id", "clock", "started_at", "due_at"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return []any{ids[i-1], kind, "bench", "br-1", "rg-1", "CLOCK_CALENDAR", fireAt(i-1, 0).Add(-time.Hour), fireAt(i-1, len(levels)-1)}, nil
		})); err != nil {
		b.Fatal(err)
	}
	i, l := 0, 0
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"timer_fires"}, []string{"case_id", "kind", "level", "fire_at"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if l == len(levels) {
				i, l = i+1, 0
			}
			if i == n {
				return nil, nil
			}
			l++
			return []any{ids[i], kind, levels[l-1], fireAt(i, l-1)}, nil
		})); err != nil {
		b.Fatal(err)
	}
}
