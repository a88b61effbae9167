package localinfra

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgresLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(reachableTempDir(t), "pg")
	port := freePort(t)

	start := time.Now()
	pg, err := StartPostgresWithOptions(ctx, dir, port, PostgresOptions{UnsafeFastWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fresh cluster start: %v", time.Since(start))
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })

	if want := "postgres://postgres@127.0.0.1:" + itoa(port) + "/app?sslmode=disable"; pg.URL("app") != want {
		t.Errorf("URL = %q, want %q", pg.URL("app"), want)
	}
	pid := pg.PID()
	if pid == 0 {
		t.Fatal("PID() = 0 for a running server")
	}

	// CreateDatabase is idempotent.
	for i := 0; i < 2; i++ {
		if err := pg.CreateDatabase(ctx, "app"); err != nil {
			t.Fatalf("CreateDatabase #%d: %v", i+1, err)
		}
	}
	conn, err := pgx.Connect(ctx, pg.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	var fsync, enc string
	if err := conn.QueryRow(ctx, "SELECT current_setting('fsync'), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'app'").Scan(&fsync, &enc); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" || enc != "UTF8" {
		t.Errorf("fsync=%s encoding=%s, want off and UTF8", fsync, enc)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('案件')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// Starting again while it runs returns the running server ("make up"
	// twice), even when asked for another port.
	again, err := StartPostgres(ctx, dir, freePort(t))
	if err != nil {
		t.Fatalf("second start on a running cluster: %v", err)
	}
	if again.PID() != pid || again.Port() != port {
		t.Errorf("second start: pid %d port %d, want pid %d port %d", again.PID(), again.Port(), pid, port)
	}

	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if pg.PID() != 0 {
		t.Error("PID() != 0 after Stop")
	}
	if err := pg.Stop(ctx); err != nil {
		t.Errorf("Stop on a stopped server: %v", err)
	}

	// Restart the stopped cluster: the data is still there.
	start = time.Now()
	pg2, err := StartPostgres(ctx, dir, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restart of a stopped cluster: %v", time.Since(start))
	defer func() { _ = pg2.Stop(ctx) }()
	conn, err = pgx.Connect(ctx, pg2.URL("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "案件" {
		t.Fatalf("data after restart: %q, %v", v, err)
	}
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
		t.Errorf("default options: fsync=%s (%v), want on", fsync, err)
	}
	conn.Close(ctx)
	if err := pg2.DropDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
}

// TestPostgresColdTemplate measures the first start on a machine (initdb
// into the template cache) against later starts (a copy).
func TestPostgresColdTemplate(t *testing.T) {
	ctx := context.Background()
	base := reachableTempDir(t)
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(tmp, 0o1777) // umask
	t.Setenv("TMPDIR", tmp)

	for i, label := range []string{"cold (initdb template + copy)", "warm (copy of cached template)"} {
		dir := filepath.Join(base, "pg"+itoa(i))
		start := time.Now()
		pg, err := StartPostgresWithOptions(ctx, dir, freePort(t), PostgresOptions{UnsafeFastWrites: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s start: %v", label, time.Since(start))
		if err := pg.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(tmp, "localinfra-pgtemplate-*"))
	if len(matches) != 1 || strings.Contains(matches[0], "build") {
		t.Errorf("template cache: %v, want exactly one template", matches)
	}
}

func TestPostgresUnreachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	dir := filepath.Join(t.TempDir(), "pg") // parent is root-only 0700
	_, err := StartPostgres(context.Background(), dir, freePort(t))
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("err = %v, want a 'cannot reach' error", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
