package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

// slatimerDatabase is a database with slatimer's schema, from its migration
// files.
func slatimerDatabase(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	src := filepath.Join("..", "..", "services", "slatimer", "migrations")
	files, err := filepath.Glob(filepath.Join(src, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("slatimer migrations in %s: %v", src, err)
	}
	dir := t.TempDir()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dsn := testinfra.NewDatabase(t)
	pool, err := pgdb.Open(context.Background(), dsn, os.DirFS(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return dsn, pool
}

func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatalf("timerload %s: %v", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("timerload %s printed %d lines, want one JSON line: %q", args[0], len(lines), out.String())
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &v); err != nil {
		t.Fatalf("timerload %s printed %q: %v", args[0], lines[0], err)
	}
	return v
}

func count(t *testing.T, pool *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestSeedWritesThePendingTimersAndAStreamThatReportMeasures(t *testing.T) {
	dsn, pool := slatimerDatabase(t)
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "timerload.json")
	seedArgs := []string{"seed", "--database-url", dsn, "--state", statePath, "--endpoints", os.DevNull,
		"--pending", "2001", "--due-rate", "100", "--duration", "3s", "--start-in", "5s"}
	before := time.Now()
	runJSON(t, seedArgs...)
	// Seeding again replaces what the first seed wrote.
	got := runJSON(t, seedArgs...)
	if got["stream_fires"] != float64(300) || got["pending"] != float64(2001) {
		t.Fatalf("seed printed %v", got)
	}

	pendingQ := `SELECT count(*) FROM timer_fires f JOIN deadlines d USING (case_id, kind) WHERE d.tenant_id = 'timerload' AND f.fired_at IS NULL`
	if n := count(t, pool, pendingQ); n != 2001 {
		t.Fatalf("%d pending timers, want 2001", n)
	}
	st, err := loadState(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if !st.StreamStart.After(before.Add(4*time.Second)) || st.StreamEnd.Sub(st.StreamStart) != 2990*time.Millisecond {
		t.Fatalf("stream %v .. %v, want 5s after seeding, 300 timers 10ms apart", st.StreamStart, st.StreamEnd)
	}
	// The stream: breaches 10 ms apart; the rest at least an hour ahead.
	if n := count(t, pool, `SELECT count(DISTINCT fire_at) FROM timer_fires WHERE kind = $1 AND level = 'breached' AND fire_at BETWEEN $2 AND $3`,
		kindStream, st.StreamStart, st.StreamEnd); n != 300 {
		t.Errorf("%d distinct stream due times, want 300", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM timer_fires WHERE kind = $1 AND fire_at < $2`, kindBackground, before.Add(time.Hour)); n != 0 {
		t.Errorf("%d background timers due within the hour", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM deadlines WHERE kind = $1`, kindBackground); n != 426 {
		t.Errorf("%d background deadlines, want 426 (1701 timers, four levels each, the last with one)", n)
	}

	// As slatimer would: every stream timer fired 20 ms late, the first 2 s
	// late.
	if _, err := pool.Exec(ctx, `UPDATE timer_fires SET fired_at = fire_at + interval '20 milliseconds' WHERE kind = $1`, kindStream); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE timer_fires SET fired_at = fire_at + interval '2 seconds' WHERE kind = $1 AND fire_at = $2`, kindStream, st.StreamStart); err != nil {
		t.Fatal(err)
	}
	r := runJSON(t, "report", "--database-url", dsn, "--state", statePath, "--endpoints", os.DevNull)
	want := map[string]float64{"fired": 300, "unfired": 0, "early": 0, "lag_p50_ms": 20, "lag_max_ms": 2000,
		"pending_now": 1701, "stream_fires": 300, "stream_s": 3, "fired_per_s": 100}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("report %s = %v, want %v (report %v)", k, r[k], v, r)
		}
	}
	if p99, p999 := r["lag_p99_ms"].(float64), r["lag_p999_ms"].(float64); p99 != 20 || p999 <= 20 || p999 >= 2000 {
		t.Errorf("lag p99 %v ms, p99.9 %v ms; want 20 ms (one in 300 is late) and between 20 ms and 2 s", p99, p999)
	}
	if lo, hi := r["fired_per_s_min"].(float64), r["fired_per_s_max"].(float64); lo < 99 || hi > 101 {
		t.Errorf("fired per whole second %v..%v, want 100", lo, hi)
	}

	c := runJSON(t, "clean", "--database-url", dsn, "--endpoints", os.DevNull)
	if c["deleted_timers"] != float64(2001) {
		t.Errorf("clean printed %v, want 2001 timers deleted", c)
	}
	if n := count(t, pool, `SELECT count(*) FROM deadlines`); n != 0 {
		t.Errorf("%d deadlines left after clean", n)
	}
}

func TestTheDatabaseIsSlatimersOnTheStacksServer(t *testing.T) {
	t.Setenv("POSTGRES_URL", "")
	got, err := databaseURL("", map[string]string{"POSTGRES_URL": "postgres://postgres@127.0.0.1:18081/postgres?sslmode=disable"})
	if err != nil || got != "postgres://postgres@127.0.0.1:18081/slatimer?sslmode=disable" {
		t.Fatalf("databaseURL = %q, %v", got, err)
	}
	if got, _ := databaseURL("postgres://x/y", nil); got != "postgres://x/y" {
		t.Fatalf("--database-url not taken as is: %q", got)
	}
	if _, err := databaseURL("", map[string]string{}); err == nil {
		t.Fatal("no database and no error")
	}
}

func TestRSSIsReadFromProcStatus(t *testing.T) {
	mib, err := parseVmRSS(strings.NewReader("Name:\tslatimer\nVmPeak:\t  999 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n"))
	if err != nil || mib != 50 {
		t.Fatalf("parseVmRSS = %v, %v; want 50 MiB", mib, err)
	}
	if own, err := rssMiB(os.Getpid()); err != nil || own <= 0 {
		t.Fatalf("rssMiB(self) = %v, %v", own, err)
	}
}

func TestOnlyASlatimerProcessIsRestarted(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "slatimer.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := slatimerPID(pidFile); err == nil || !strings.Contains(err.Error(), "not slatimer") {
		t.Fatalf("slatimerPID of the test binary: %v, want refused", err)
	}
	if _, err := slatimerPID(filepath.Join(t.TempDir(), "none.pid")); err == nil {
		t.Fatal("a missing PID file gave no error")
	}
}
