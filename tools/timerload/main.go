// Command timerload measures slatimer's firing loop at scale, on the
// database of a running slatimer (the stack `make up` started): it seeds a
// million pending timers of which a stream falls due at a steady rate,
// watches the real service fire them, and reports throughput, lag (fired_at
// − fire_at, from the rows the service wrote), the service's memory and how
// long it takes to restart with everything pending.
//
//	go run ./tools/timerload seed --pending 1000000 --due-rate 1000 --duration 60s
//	go run ./tools/timerload run       # waits for the stream, samples RSS; one JSON line
//	go run ./tools/timerload report    # the lag and throughput figures again, from the database
//	go run ./tools/timerload restart   # restarts slatimer with everything pending; one JSON line
//	go run ./tools/timerload clean     # deletes what seed wrote
//
// The database is --database-url, else slatimer's database on the server of
// POSTGRES_URL (from the environment, else from .devstack/endpoints.env).
// The seeded timers belong to the bank "timerload" (--tenant), which no
// other service knows: the events they fire are real sla-events, which the
// consumers see and skip or dead-letter as they would an unknown case's.
// seed keeps what it did in .devstack/timerload.json (--state) for run,
// report and restart. run and restart find slatimer's process through the
// devstack's PID file (.devstack/pids/slatimer.pid); restart stops it with
// SIGTERM and starts the same binary again with the same arguments,
// environment, directory and log file, and updates the PID file, so `make
// down` still stops it.
//
// Every figure is printed as one JSON line on stdout; progress goes to
// stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/counterdesk/counterdesk/tools/internal/devenv"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"path"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// wall is the real clock: a load tool measures real time.
var wall = time.Now //nolint:forbidigo // measuring the running service in real time is this tool's job

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "timerload:", err)
		os.Exit(1)
	}
}

// options are every subcommand's flags.
type options struct {
	databaseURL, endpoints, state, tenant, pidFile string
	pending, dueRate, overdue                      int
	duration, startIn, settle, timeout             time.Duration
}

func run(ctx context.Context, args []string, out, progress io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: timerload seed|run|report|restart|clean [flags] (see go doc ./tools/timerload)")
	}
	var o options
	fs := flag.NewFlagSet("timerload "+args[0], flag.ContinueOnError)
	fs.SetOutput(progress)
	fs.StringVar(&o.databaseURL, "database-url", "", "slatimer's database (default: database slatimer on the server of POSTGRES_URL, from the environment or --endpoints)")
	fs.StringVar(&o.endpoints, "endpoints", ".devstack/endpoints.env", "endpoints file written by make up")
	fs.StringVar(&o.state, "state", ".devstack/timerload.json", "where seed records the stream for run, report and restart")
	fs.StringVar(&o.tenant, "tenant", "timerload", "bank the seeded timers belong to")
	fs.StringVar(&o.pidFile, "pid-file", ".devstack/pids/slatimer.pid", "slatimer's PID file (run: RSS; restart)")
	fs.IntVar(&o.pending, "pending", 1_000_000, "seed: pending timers (timer_fires rows), the stream included")
	fs.IntVar(&o.dueRate, "due-rate", 1000, "seed: timers falling due per second during the stream")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "seed: how long the stream lasts")
	fs.DurationVar(&o.startIn, "start-in", 15*time.Second, "seed: how long after seeding the stream starts")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "run: how long after the stream's last due time to wait for it to fire")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "restart: the most to wait for ready and for the overdue timers; run: for the stream to fire after settle")
	fs.IntVar(&o.overdue, "overdue", 1000, "restart: timers made due while slatimer is down, fired at its start")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	env, _ := devenv.Read(o.endpoints) // optional: --database-url or the environment may give it
	dsn, err := databaseURL(o.databaseURL, env)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(dsn), err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w (is the stack up? make up)", redact(dsn), err)
	}
	var result any
	switch args[0] {
	case "seed":
		result, err = seed(ctx, pool, o, progress)
	case "run":
		result, err = watch(ctx, pool, o, progress)
	case "report":
		var st state
		if st, err = loadState(o.state); err == nil {
			result, err = measure(ctx, pool, st)
		}
	case "restart":
		if o.overdue < 1 {
			return errors.New("--overdue must be at least 1: the first fire after the start is what is timed")
		}
		result, err = restart(ctx, pool, o, progress)
	case "clean":
		var n int64
		if n, err = clean(ctx, pool, o.tenant); err == nil {
			result = map[string]any{"deleted_timers": n, "tenant": o.tenant}
		}
	default:
		return fmt.Errorf("unknown command %q: want seed, run, report, restart or clean", args[0])
	}
	if err != nil {
		return err
	}
	line, err := json.Marshal(result)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(line))
	return err
}

// databaseURL is the flag's, else database slatimer on POSTGRES_URL's server.
func databaseURL(flagURL string, env map[string]string) (string, error) {
	if flagURL != "" {
		return flagURL, nil
	}
	base := os.Getenv("POSTGRES_URL")
	if base == "" {
		base = env["POSTGRES_URL"]
	}
	if base == "" {
		return "", errors.New("no database: pass --database-url, set POSTGRES_URL, or run `make up` first")
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("POSTGRES_URL: %w", err)
	}
	u.Path = "/slatimer"
	return u.String(), nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the database"
	}
	return u.Redacted()
}

// state is what seed did, for the other subcommands.
type state struct {
	Tenant      string    `json:"tenant"`
	Pending     int       `json:"pending"`
	DueRate     int       `json:"due_rate"`
	StreamFires int       `json:"stream_fires"`
	StreamStart time.Time `json:"stream_start"`
	StreamEnd   time.Time `json:"stream_end"` // the last stream timer's fire_at
	SeededAt    time.Time `json:"seeded_at"`
}

func loadState(p string) (state, error) {
	var st state
	raw, err := os.ReadFile(p)
	if err != nil {
		return st, fmt.Errorf("%w (run timerload seed first)", err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("%s: %w", p, err)
	}
	return st, nil
}

func saveState(p string, st state) error {
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if dir := path.Dir(p); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(p, append(raw, '\n'), 0o644)
}

// Kinds and levels as slatimer stores them.
const (
	kindBackground = "DEADLINE_KIND_RESOLUTION"
	kindStream     = "DEADLINE_KIND_FIRST_ANSWER"
	clockCalendar  = "CLOCK_CALENDAR"
)

var levels = []string{"yellow", "orange", "red", "breached"}

// seed deletes the tenant's earlier timers and writes, with COPY, the
// background (pending - stream timers: deadlines with a yellow, orange, red
// and breach between one hour and thirty days ahead, so they stay pending)
// and then the stream (due-rate x duration deadlines, each with a breach
// only, falling due evenly from start-in after seeding).
func seed(ctx context.Context, pool *pgxpool.Pool, o options, progress io.Writer) (any, error) {
	if o.dueRate <= 0 || o.duration <= 0 {
		return nil, errors.New("--due-rate and --duration must be positive")
	}
	streamN := int(math.Round(float64(o.dueRate) * o.duration.Seconds()))
	if streamN > o.pending {
		return nil, fmt.Errorf("the stream (%d timers) is larger than --pending %d", streamN, o.pending)
	}
	began := wall()
	deleted, err := clean(ctx, pool, o.tenant)
	if err != nil {
		return nil, err
	}
	if deleted > 0 {
		fmt.Fprintf(progress, "deleted %d earlier %s timers in %.1fs\n", deleted, o.tenant, wall().Sub(began).Seconds())
	}

	t0 := wall()
	bgFires := o.pending - streamN
	bgDeadlines := (bgFires + len(levels) - 1) / len(levels)
	now := wall()
	span := 30*24*time.Hour - time.Hour
	// Deadline i starts one hour ahead plus its share of 30 days, its
	// levels at 50/75/90/100% of a one-day limit, so it stays pending.
	bg := func(i int) (start time.Time) {
		return now.Add(time.Hour + time.Duration(float64(span)*float64(i)/float64(max(bgDeadlines, 1))))
	}
	bgFireAt := func(start time.Time, l int) time.Time {
		return start.Add(time.Duration([]float64{0.5, 0.75, 0.9, 1}[l] * float64(24*time.Hour)))
	}
	if err := copyTimers(ctx, pool, o.tenant, kindBackground, bgDeadlines, func(i int) (time.Time, time.Time) {
		s := bg(i)
		return s, s.Add(24 * time.Hour)
	}, func(i int) []string {
		n := len(levels)
		if i == bgDeadlines-1 && bgFires%len(levels) != 0 {
			n = bgFires % len(levels)
		}
		return levels[:n]
	}, func(i, l int) time.Time { return bgFireAt(bg(i), l) }); err != nil {
		return nil, fmt.Errorf("seed background: %w", err)
	}
	fmt.Fprintf(progress, "seeded %d background timers (%d deadlines) in %.1fs\n", bgFires, bgDeadlines, wall().Sub(t0).Seconds())

	// The stream starts start-in after its rows are written.
	t1 := wall()
	start := wall().Add(o.startIn).Truncate(time.Millisecond)
	interval := time.Second / time.Duration(o.dueRate)
	due := func(i int) time.Time { return start.Add(time.Duration(i) * interval) }
	if err := copyTimers(ctx, pool, o.tenant, kindStream, streamN, func(i int) (time.Time, time.Time) {
		return due(i).Add(-time.Hour), due(i)
	}, func(int) []string { return levels[3:] }, func(i, _ int) time.Time { return due(i) }); err != nil {
		return nil, fmt.Errorf("seed stream: %w", err)
	}
	for _, table := range []string{"deadlines", "timer_fires"} {
		if _, err := pool.Exec(ctx, "ANALYZE "+table); err != nil {
			return nil, fmt.Errorf("analyze %s: %w", table, err)
		}
	}
	st := state{Tenant: o.tenant, Pending: o.pending, DueRate: o.dueRate, StreamFires: streamN,
		StreamStart: start, StreamEnd: due(max(streamN-1, 0)), SeededAt: wall()}
	if wall().After(start) {
		return nil, fmt.Errorf("seeding the stream took longer than --start-in %v: its first timers were due before they were written", o.startIn)
	}
	if err := saveState(o.state, st); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "seeded the stream (%d timers, %d/s) in %.1fs; it runs from %s to %s\n", streamN, o.dueRate,
		wall().Sub(t1).Seconds(), start.Format(time.RFC3339Nano), st.StreamEnd.Format(time.RFC3339Nano))
	return map[string]any{"command": "seed", "tenant": o.tenant, "pending": o.pending, "stream_fires": streamN,
		"due_rate": o.dueRate, "stream_start": start, "stream_end": st.StreamEnd,
		"seed_s": round(wall().Sub(began).Seconds(), 1)}, nil
}

// copyTimers writes n deadlines of kind (each a new case) and their fires
// with COPY, in one transaction.
func copyTimers(ctx context.Context, pool *pgxpool.Pool, tenant, kind string, n int,
	times func(i int) (start, due time.Time), lvls func(i int) []string, fireAt func(i, level int) time.Time) error {
	if n == 0 {
		return nil
	}
	ids := make([][16]byte, n)
	for i := range ids {
		ids[i] = newUUID()
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		i := 0
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"deadlines"},
			[]string{"case_id", "kind", "tenant_id", "branch_id", "region_id", "clock", "started_at", "due_at"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				start, due := times(i)
				row := []any{ids[i], kind, tenant, "br-load-" + fmt.Sprint(i%50), "rg-load", clockCalendar, start, due}
				i++
				return row, nil
			}))
		if err != nil {
			return fmt.Errorf("copy deadlines: %w", err)
		}
		i, l := 0, 0
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"timer_fires"}, []string{"case_id", "kind", "level", "fire_at"},
			pgx.CopyFromFunc(func() ([]any, error) {
				for i < n && l >= len(lvls(i)) {
					i, l = i+1, 0
				}
				if i == n {
					return nil, nil
				}
				row := []any{ids[i], kind, lvls(i)[l], fireAt(i, l)}
				l++
				return row, nil
			}))
		if err != nil {
			return fmt.Errorf("copy timer_fires: %w", err)
		}
		return nil
	})
}

// clean deletes the tenant's timers and deadlines and returns how many
// timers went.
func clean(ctx context.Context, pool *pgxpool.Pool, tenant string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM timer_fires f USING deadlines d
			WHERE d.case_id = f.case_id AND d.kind = f.kind AND d.tenant_id = $1`, tenant)
		if err != nil {
			return fmt.Errorf("delete timers of %s: %w", tenant, err)
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM deadlines WHERE tenant_id = $1`, tenant); err != nil {
			return fmt.Errorf("delete deadlines of %s: %w", tenant, err)
		}
		return nil
	})
	return n, err
}

// report is what run and report print.
type report struct {
	Command        string  `json:"command"`
	Tenant         string  `json:"tenant"`
	PendingSeeded  int     `json:"pending_seeded"`
	PendingNow     int64   `json:"pending_now"`
	DueRate        int     `json:"due_rate"`
	StreamFires    int     `json:"stream_fires"`
	Fired          int64   `json:"fired"`
	Unfired        int64   `json:"unfired"`
	Early          int64   `json:"early"`
	StreamSeconds  float64 `json:"stream_s"`
	FiredPerSecond float64 `json:"fired_per_s"`
	// The slowest and fastest whole second of the stream, by fired_at.
	FiredPerSecondMin int64   `json:"fired_per_s_min"`
	FiredPerSecondMax int64   `json:"fired_per_s_max"`
	LagP50ms          float64 `json:"lag_p50_ms"`
	LagP99ms          float64 `json:"lag_p99_ms"`
	LagP999ms         float64 `json:"lag_p999_ms"`
	LagMaxms          float64 `json:"lag_max_ms"`
	// run only: slatimer's resident memory during the stream.
	RSSMaxMiB   float64 `json:"rss_max_mib,omitempty"`
	RSSEndMiB   float64 `json:"rss_end_mib,omitempty"`
	RSSSamples  int     `json:"rss_samples,omitempty"`
	SlatimerPID int     `json:"slatimer_pid,omitempty"`
}

// measure reads the stream's figures from the rows slatimer wrote.
func measure(ctx context.Context, pool *pgxpool.Pool, st state) (*report, error) {
	r := &report{Command: "report", Tenant: st.Tenant, PendingSeeded: st.Pending, DueRate: st.DueRate, StreamFires: st.StreamFires}
	var p50, p99, p999, maxLag *float64
	err := pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE f.fired_at IS NOT NULL),
		       count(*) FILTER (WHERE f.fired_at IS NULL),
		       count(*) FILTER (WHERE f.fired_at < f.fire_at),
		       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.fired_at - f.fire_at)),
		       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM f.fired_at - f.fire_at)),
		       percentile_cont(0.999) WITHIN GROUP (ORDER BY extract(epoch FROM f.fired_at - f.fire_at)),
		       max(extract(epoch FROM f.fired_at - f.fire_at))::float8
		FROM timer_fires f JOIN deadlines d ON d.case_id = f.case_id AND d.kind = f.kind
		WHERE d.tenant_id = $1 AND d.kind = $2`, st.Tenant, kindStream).
		Scan(&r.Fired, &r.Unfired, &r.Early, &p50, &p99, &p999, &maxLag)
	if err != nil {
		return nil, fmt.Errorf("read the stream's fires: %w", err)
	}
	ms := func(v *float64) float64 {
		if v == nil {
			return 0
		}
		return round(*v*1000, 1)
	}
	r.LagP50ms, r.LagP99ms, r.LagP999ms, r.LagMaxms = ms(p50), ms(p99), ms(p999), ms(maxLag)
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM timer_fires f JOIN deadlines d ON d.case_id = f.case_id AND d.kind = f.kind
		WHERE d.tenant_id = $1 AND f.fired_at IS NULL AND NOT f.cancelled`, st.Tenant).Scan(&r.PendingNow); err != nil {
		return nil, fmt.Errorf("count pending timers: %w", err)
	}
	// Throughput over the stream's whole seconds (the first and last are
	// partial), by when the fires fired.
	var lo, hi *int64
	if err := pool.QueryRow(ctx, `
		SELECT min(n), max(n) FROM (
			SELECT date_trunc('second', f.fired_at) AS s, count(*) AS n
			FROM timer_fires f JOIN deadlines d ON d.case_id = f.case_id AND d.kind = f.kind
			WHERE d.tenant_id = $1 AND d.kind = $2 AND f.fired_at IS NOT NULL
			GROUP BY 1) per_second
		WHERE s > date_trunc('second', $3::timestamptz) AND s < date_trunc('second', $4::timestamptz)`,
		st.Tenant, kindStream, st.StreamStart, st.StreamEnd).Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("fires per second: %w", err)
	}
	if lo != nil {
		r.FiredPerSecondMin, r.FiredPerSecondMax = *lo, *hi
	}
	r.StreamSeconds = round(st.StreamEnd.Sub(st.StreamStart).Seconds()+1/float64(max(st.DueRate, 1)), 3)
	if r.StreamSeconds > 0 {
		r.FiredPerSecond = round(float64(r.Fired)/r.StreamSeconds, 1)
	}
	return r, nil
}

// watch waits for the stream to come due and fire, sampling slatimer's
// RSS, then reports.
func watch(ctx context.Context, pool *pgxpool.Pool, o options, progress io.Writer) (any, error) {
	st, err := loadState(o.state)
	if err != nil {
		return nil, err
	}
	pid, err := slatimerPID(o.pidFile)
	if err != nil {
		return nil, err
	}
	if late := wall().Sub(st.StreamStart); late > 0 {
		fmt.Fprintf(progress, "the stream started %.1fs ago: RSS is sampled from now on only\n", late.Seconds())
	}
	var rssMax, rssEnd float64
	samples := 0
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastProgress := wall()
	end := st.StreamEnd.Add(o.settle)
	for {
		if mib, err := rssMiB(pid); err == nil {
			if !wall().Before(st.StreamStart) {
				rssMax, rssEnd = math.Max(rssMax, mib), mib
				samples++
			}
		} else {
			return nil, fmt.Errorf("slatimer (pid %d) is gone: %w", pid, err)
		}
		if now := wall(); now.After(end) {
			var unfired int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM timer_fires f JOIN deadlines d ON d.case_id = f.case_id AND d.kind = f.kind
				WHERE d.tenant_id = $1 AND d.kind = $2 AND f.fired_at IS NULL`, st.Tenant, kindStream).Scan(&unfired); err != nil {
				return nil, err
			}
			if unfired == 0 || now.After(end.Add(o.timeout)) {
				break
			}
		}
		if wall().Sub(lastProgress) >= 5*time.Second {
			lastProgress = wall()
			var fired int64
			_ = pool.QueryRow(ctx, `SELECT count(*) FROM timer_fires f JOIN deadlines d ON d.case_id = f.case_id AND d.kind = f.kind
				WHERE d.tenant_id = $1 AND d.kind = $2 AND f.fired_at IS NOT NULL`, st.Tenant, kindStream).Scan(&fired)
			fmt.Fprintf(progress, "%s: %d of %d stream timers fired, slatimer RSS %.0f MiB\n",
				wall().Format(time.TimeOnly), fired, st.StreamFires, rssEnd)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	r, err := measure(ctx, pool, st)
	if err != nil {
		return nil, err
	}
	r.Command, r.SlatimerPID = "run", pid
	r.RSSMaxMiB, r.RSSEndMiB, r.RSSSamples = round(rssMax, 1), round(rssEnd, 1), samples
	return r, nil
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
