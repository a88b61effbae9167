package testinfra

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMain(m *testing.M) {
	os.Exit(Run(m, Postgres|Redis|Kafka))
}

// TestAllThree is the shape of a service's integration test: a database,
// a Redis DB and a topic, all real.
func TestAllThree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	start := time.Now()
	dsn := NewDatabase(t)
	t.Logf("NewDatabase (first call starts Postgres): %v", time.Since(start))
	start = time.Now()
	redisURL := NewRedis(t)
	t.Logf("NewRedis (first call starts Redis): %v", time.Since(start))
	start = time.Now()
	brokers := Brokers(t)
	t.Logf("Brokers (first call starts the broker): %v", time.Since(start))
	topic := NewTopicName(t, "case-events")

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE cases (id text PRIMARY KEY); INSERT INTO cases VALUES ('c1')"); err != nil {
		t.Fatal(err)
	}

	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	if err := rc.Set(ctx, "case:c1", "open", 0).Err(); err != nil {
		t.Fatal(err)
	}

	w := &kafka.Writer{Addr: kafka.TCP(brokers), Topic: topic, RequiredAcks: kafka.RequireAll,
		AllowAutoTopicCreation: true, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("c1"), Value: []byte("opened")}); err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{brokers}, GroupID: "routing", Topic: topic,
		StartOffset: kafka.FirstOffset, SessionTimeout: 6 * time.Second, MaxWait: 500 * time.Millisecond})
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "opened" {
		t.Errorf("consumed %q", m.Value)
	}
	if err := r.CommitMessages(ctx, m); err != nil {
		t.Fatal(err)
	}
}

// TestDatabasesAreIsolatedAndDropped checks that each call gets its own
// empty database and that cleanup drops it even with a connection left
// open.
func TestDatabasesAreIsolatedAndDropped(t *testing.T) {
	ctx := context.Background()
	var names []string
	t.Run("inner", func(t *testing.T) {
		a, b := NewDatabase(t), NewDatabase(t)
		if a == b {
			t.Fatal("two NewDatabase calls returned the same database")
		}
		for _, dsn := range []string{a, b} {
			cfg, err := pgx.ParseConfig(dsn)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, cfg.Database)
		}
		leaked, err := pgx.Connect(ctx, a) // deliberately never closed
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := leaked.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("new database has %d tables (%v), want 0", n, err)
		}
	})
	p := postgresEnv(t, "test")
	for _, name := range names {
		var exists bool
		if err := p.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func TestDatabaseFromTemplate(t *testing.T) {
	ctx := context.Background()
	var setups atomic.Int32
	setup := func(ctx context.Context, dsn string) error {
		setups.Add(1)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE cases (id text PRIMARY KEY, title text); INSERT INTO cases VALUES ('seed', 'seeded')")
		return err
	}
	for i := 0; i < 3; i++ {
		start := time.Now()
		dsn := NewDatabaseFromTemplate(t, "cases-schema", setup)
		t.Logf("NewDatabaseFromTemplate #%d: %v", i+1, time.Since(start))
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var title string
		if err := conn.QueryRow(ctx, "SELECT title FROM cases WHERE id = 'seed'").Scan(&title); err != nil || title != "seeded" {
			t.Errorf("clone %d: %q, %v", i, title, err)
		}
		// Writes to one clone must not show in the next.
		if _, err := conn.Exec(ctx, "INSERT INTO cases VALUES ('x"+strconv.Itoa(i)+"', 'mine')"); err != nil {
			t.Fatal(err)
		}
		var n int
		_ = conn.QueryRow(ctx, "SELECT count(*) FROM cases").Scan(&n)
		if n != 2 {
			t.Errorf("clone %d has %d rows, want 2", i, n)
		}
		conn.Close(ctx)
	}
	if setups.Load() != 1 {
		t.Errorf("setup ran %d times, want 1", setups.Load())
	}

	failing := func(context.Context, string) error { return errors.New("migration 3 failed") }
	t.Run("setup error", func(t *testing.T) {
		ft := &fatalRecorder{TB: t}
		func() {
			defer func() { _ = recover() }() // fatalRecorder stops the "test" with a panic
			NewDatabaseFromTemplate(ft, "broken", failing)
		}()
		if !strings.Contains(ft.msg, "migration 3 failed") {
			t.Errorf("fatal message %q does not carry the setup error", ft.msg)
		}
	})
}

func TestDatabaseTimings(t *testing.T) {
	NewDatabase(t) // make sure the server runs
	const n = 10
	start := time.Now()
	for i := 0; i < n; i++ {
		NewDatabase(t)
	}
	t.Logf("NewDatabase on a running server: %v each", time.Since(start)/n)
}

func TestRedisIsolation(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("inner", func(t *testing.T) {
		a, b := NewRedis(t), NewRedis(t)
		if a == b {
			t.Fatal("two NewRedis calls returned the same database")
		}
		first = a
		for _, u := range []string{a, b} {
			opts, _ := redis.ParseURL(u)
			c := redis.NewClient(opts)
			if err := c.Set(ctx, "k", u, 0).Err(); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		opts, _ := redis.ParseURL(a)
		c := redis.NewClient(opts)
		defer c.Close()
		if v, _ := c.Get(ctx, "k").Result(); v != a {
			t.Errorf("database %s sees %q", a, v)
		}
	})
	// After the test, its database is empty again.
	opts, _ := redis.ParseURL(first)
	c := redis.NewClient(opts)
	defer c.Close()
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("%s holds %d keys (%v) after cleanup", first, n, err)
	}
}

func TestTopicNames(t *testing.T) {
	a, b := NewTopicName(t, "case events!"), NewTopicName(t, "case events!")
	if a == b {
		t.Fatal("same topic name twice")
	}
	for _, n := range []string{a, b} {
		for _, r := range n {
			if r != '.' && r != '_' && r != '-' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
				t.Errorf("topic %q has invalid character %q", n, r)
			}
		}
		if !strings.HasPrefix(n, "case_events_-testtopicnames-") {
			t.Errorf("topic %q does not name its base and test", n)
		}
	}
}

// TestFaultInjection fails one produce request through the cluster and
// checks that the client's retry delivers the message anyway.
func TestFaultInjection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := NewTopicName(t, "faults")
	var injected atomic.Int32
	Cluster(t).ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		injected.Add(1)
		return nil, errors.New("injected: drop the connection"), true // handled once, then dropped
	})
	w := &kafka.Writer{Addr: kafka.TCP(Brokers(t)), Topic: topic, RequiredAcks: kafka.RequireAll,
		AllowAutoTopicCreation: true, BatchTimeout: 5 * time.Millisecond, MaxAttempts: 5,
		WriteBackoffMin: 10 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("survives")}); err != nil {
		t.Fatalf("write with one injected failure: %v", err)
	}
	if injected.Load() != 1 {
		t.Errorf("control function ran %d times, want 1", injected.Load())
	}
}

// TestWatchdogCleansUpAfterCrash runs this test binary again as a
// "crashing" test that starts Postgres and Redis and SIGKILLs itself, then
// checks that the watchdog stopped both servers and removed their files.
func TestWatchdogCleansUpAfterCrash(t *testing.T) {
	if os.Getenv("TESTINFRA_CRASH_HELPER") != "" {
		t.Skip("helper mode")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTINFRA_CRASH_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dir string
	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "CRASH-HELPER "); ok {
			f := strings.Fields(v)
			dir = f[0]
			for _, p := range f[1:] {
				n, _ := strconv.Atoi(p)
				pids = append(pids, n)
			}
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper did not die by SIGKILL: %v", err)
	}
	if dir == "" || len(pids) != 2 {
		t.Fatalf("helper reported dir %q pids %v", dir, pids)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, statErr := os.Stat(dir)
		alive := 0
		for _, p := range pids {
			if syscall.Kill(p, 0) == nil {
				alive++
			}
		}
		if os.IsNotExist(statErr) && alive == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the crash: dir exists=%v, %d of %v still alive", statErr == nil, alive, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashHelper is the crashing half of TestWatchdogCleansUpAfterCrash.
func TestCrashHelper(t *testing.T) {
	if os.Getenv("TESTINFRA_CRASH_HELPER") == "" {
		t.Skip("only run by TestWatchdogCleansUpAfterCrash")
	}
	NewDatabase(t)
	NewRedis(t)
	pg, rd := env.pg.v.server.PID(), env.redis.v.server.PID()
	fmt.Printf("CRASH-HELPER %s %d %d\n", env.dir, pg, rd)
	os.Stdout.Sync()
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
}

// fatalRecorder captures Fatalf instead of failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}

func (f *fatalRecorder) Helper() {}
