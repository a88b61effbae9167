// Package testinfra gives counterdesk's integration tests real, private
// infrastructure: a Postgres server, a Redis server and a Kafka-compatible
// broker per test binary, started on free loopback ports in a temp dir and
// torn down when the binary ends. Every service module's tests use it:
//
//	func TestMain(m *testing.M) {
//		os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Redis|testinfra.Kafka))
//	}
//
//	func TestX(t *testing.T) {
//		dsn := testinfra.NewDatabase(t)                 // fresh database, dropped at cleanup
//		redisURL := testinfra.NewRedis(t)               // private logical DB, flushed at cleanup
//		brokers := testinfra.Brokers(t)                 // "127.0.0.1:port"
//		topic := testinfra.NewTopicName(t, "case-events")
//	}
//
// Integration tests always run: there is no -short escape hatch. If the
// Postgres or Redis binaries are missing, Run fails the binary with the
// apt-get command that installs them, rather than skipping silently.
//
// Servers start lazily, on the first test that asks for them, so running
// a single unit test with -run costs nothing. Each test gets its own
// database, Redis DB and topic names, so tests may use t.Parallel.
//
// A watchdog process (the test binary re-executed) removes the servers and
// their files if the test binary dies without cleaning up (a panic, a
// -timeout, SIGKILL), so crashed runs do not leak daemons on a shared box.
package testinfra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Service selects what Run provides; combine with |.
type Service uint

const (
	// Postgres: NewDatabase, NewDatabaseFromTemplate.
	Postgres Service = 1 << iota
	// Redis: NewRedis.
	Redis
	// Kafka: Brokers, Cluster, NewTopicName.
	Kafka
)

// KafkaPartitions is the partition count of auto-created topics. More than
// one, so that tests notice code that assumes a global order; tests that
// need another count create the topic themselves (Cluster(t).CreateTopic).
const KafkaPartitions = 3

// redisDatabases is the number of Redis logical databases; DB 0 is never
// handed out, so a test cannot clobber state someone inspects by hand.
const redisDatabases = 256

// InstallCommand installs every binary testinfra needs on Debian.
const InstallCommand = "apt-get update && apt-get install -y postgresql redis-server"

const watchdogEnv = "COUNTERDESK_TESTINFRA_WATCHDOG_DIR"

// env is the state of one test binary.
var env struct {
	services Service
	started  atomic.Bool // Run is active

	mu       sync.Mutex // guards dir and watchdog
	dir      string
	watchdog *watchdogProc

	pg      lazy[*pgEnv]
	redis   lazy[*redisEnv]
	broker  lazy[*localinfra.Broker]
	seq     atomic.Int64
	tmplMu  sync.Mutex
	tmpls   map[string]*lazy[string]
	cleanup []func() error // run by Run after m.Run, last first
}

// lazy is a value started once, on first use, remembering its error so
// later tests fail fast with the same message.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(start func() (T, error)) (T, error) {
	l.once.Do(func() { l.v, l.err = start() })
	return l.v, l.err
}

type pgEnv struct {
	server *localinfra.Postgres
	admin  *pgxpool.Pool
}

type redisEnv struct {
	server *localinfra.Redis
	free   chan int // logical databases not in use
}

// Run runs the tests of a binary with the given services and returns the
// exit code for os.Exit. It checks up front that the needed binaries are
// installed (failing with the install command if not), runs m.Run, and
// then stops every server it started and removes their files, whatever
// the outcome of the tests.
//
// The crash watchdog is this test binary run again, with an environment
// variable that makes Run act as the watchdog instead of running tests:
// keep TestMain to the one line above, since code before Run runs in the
// watchdog too.
func Run(m *testing.M, services Service) int {
	if dir := os.Getenv(watchdogEnv); dir != "" {
		return runWatchdog(dir)
	}
	if err := checkInstalled(services); err != nil {
		fmt.Fprintf(os.Stderr, "testinfra: FAIL: %v\n", err)
		return 1
	}
	env.services = services
	env.started.Store(true)
	code := m.Run()
	env.started.Store(false)
	if err := shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "testinfra: cleanup: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func checkInstalled(services Service) error {
	var missing []string
	if services&Postgres != 0 {
		if _, err := localinfra.FindPostgresBinDir(); err != nil {
			missing = append(missing, err.Error())
		} else if os.Geteuid() == 0 {
			// Postgres refuses root; localinfra runs it as this user.
			if _, err := user.Lookup("postgres"); err != nil {
				missing = append(missing, "running as root, Postgres must run as the OS user postgres, which does not exist ("+err.Error()+")")
			}
		}
	}
	if services&Redis != 0 {
		if _, err := localinfra.FindRedisServer(); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("integration tests need real servers, and some are not installed:\n  %s\nInstall them with:\n  %s",
		strings.Join(missing, "\n  "), InstallCommand)
}

// workDir creates (once) the temp dir for this binary's servers, and the
// watchdog that removes it if we die. The dir is traversable (0711) so the
// postgres OS user can reach its data dir inside when we run as root.
func workDir() (string, error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.dir != "" {
		return env.dir, nil
	}
	dir, err := os.MkdirTemp("", "testinfra-"+strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")+"-")
	if err != nil {
		return "", fmt.Errorf("testinfra: create work dir: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("testinfra: chmod work dir: %w", err)
	}
	wd, err := startWatchdog(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	env.dir, env.watchdog = dir, wd
	return dir, nil
}

func requireRun(t testing.TB, s Service, fn, name string) {
	t.Helper()
	if !env.started.Load() {
		t.Fatalf("testinfra.%s: this test binary's TestMain must call os.Exit(testinfra.Run(m, testinfra.%s|...))", fn, name)
	}
	if env.services&s == 0 {
		t.Fatalf("testinfra.%s: add testinfra.%s to the services passed to testinfra.Run in TestMain", fn, name)
	}
}

// startWithRetry retries a server start on a new free port when another
// process grabbed the port between FreePort and the bind.
func startWithRetry[T any](start func(port int) (T, error)) (T, error) {
	var zero T
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := localinfra.FreePort()
		if err != nil {
			return zero, err
		}
		v, err := start(port)
		if err == nil {
			return v, nil
		}
		lastErr = err
	}
	return zero, lastErr
}

func postgresEnv(t testing.TB, fn string) *pgEnv {
	t.Helper()
	requireRun(t, Postgres, fn, "Postgres")
	p, err := env.pg.get(func() (*pgEnv, error) {
		dir, err := workDir()
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		server, err := startWithRetry(func(port int) (*localinfra.Postgres, error) {
			return localinfra.StartPostgresWithOptions(ctx, filepath.Join(dir, "pg"), port, localinfra.PostgresOptions{
				UnsafeFastWrites: true, // throwaway cluster: durability buys nothing here
				// Parallel tests each with a pool can exceed the default 100.
				Settings: map[string]string{"max_connections": "300"},
			})
		})
		if err != nil {
			return nil, err
		}
		addCleanup(func() error { return server.Stop(context.Background()) })
		cfg, err := pgxpool.ParseConfig(server.URL("postgres"))
		if err != nil {
			return nil, fmt.Errorf("testinfra: admin pool config: %w", err)
		}
		cfg.MaxConns = 4
		admin, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("testinfra: admin pool: %w", err)
		}
		addCleanup(func() error { admin.Close(); return nil })
		return &pgEnv{server: server, admin: admin}, nil
	})
	if err != nil {
		t.Fatalf("testinfra: start Postgres: %v", err)
	}
	return p
}

// NewDatabase creates an empty database on the binary's Postgres and
// returns its URL (postgres://postgres@127.0.0.1:port/name?sslmode=disable).
// The database is dropped at the end of the test, closing any
// connections the test left open.
func NewDatabase(t testing.TB) string {
	t.Helper()
	p := postgresEnv(t, "NewDatabase")
	return p.clone(t, "")
}

// NewDatabaseFromTemplate is NewDatabase for tests that need a schema: the
// first call with a given key creates a template database and runs setup
// on it (typically the service's migrations), later calls copy the
// template with CREATE DATABASE ... TEMPLATE, which is much faster than
// migrating every test's database. setup must close its connections
// before returning.
func NewDatabaseFromTemplate(t testing.TB, key string, setup func(ctx context.Context, dsn string) error) string {
	t.Helper()
	p := postgresEnv(t, "NewDatabaseFromTemplate")
	env.tmplMu.Lock()
	if env.tmpls == nil {
		env.tmpls = map[string]*lazy[string]{}
	}
	l, ok := env.tmpls[key]
	if !ok {
		l = &lazy[string]{}
		env.tmpls[key] = l
	}
	env.tmplMu.Unlock()
	tmpl, err := l.get(func() (string, error) { return p.makeTemplate(key, setup) })
	if err != nil {
		t.Fatalf("testinfra: template database %q: %v", key, err)
	}
	return p.clone(t, tmpl)
}

func (p *pgEnv) makeTemplate(key string, setup func(context.Context, string) error) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := "tmpl_" + sanitize(key, 40) + "_" + strconv.FormatInt(env.seq.Add(1), 10)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := p.admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	if err := setup(ctx, p.server.URL(name)); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	// Cloning fails while anyone is connected to the template, and a
	// leaked connection from setup would make every clone fail: forbid
	// new connections, then end the ones left over.
	if _, err := p.admin.Exec(ctx, "ALTER DATABASE "+ident+" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"); err != nil {
		return "", fmt.Errorf("mark as template: %w", err)
	}
	if _, err := p.admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
		return "", fmt.Errorf("disconnect setup sessions: %w", err)
	}
	return name, nil
}

// clone creates a database for t (from template tmpl, if set) and
// registers its removal.
func (p *pgEnv) clone(t testing.TB, tmpl string) string {
	t.Helper()
	name := "t_" + sanitize(t.Name(), 45) + "_" + strconv.FormatInt(env.seq.Add(1), 10)
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if tmpl != "" {
		sql += " TEMPLATE " + pgx.Identifier{tmpl}.Sanitize()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		_, err = p.admin.Exec(ctx, sql)
		// A session ending on the template (pg_terminate_backend is
		// asynchronous) makes CREATE fail with 55006 for a moment.
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("testinfra: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := p.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testinfra: drop database %s: %v", name, err)
		}
	})
	return p.server.URL(name)
}

func redisEnvFor(t testing.TB) *redisEnv {
	t.Helper()
	requireRun(t, Redis, "NewRedis", "Redis")
	r, err := env.redis.get(func() (*redisEnv, error) {
		dir, err := workDir()
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		server, err := startWithRetry(func(port int) (*localinfra.Redis, error) {
			return localinfra.StartRedisWithOptions(ctx, filepath.Join(dir, "redis"), port, localinfra.RedisOptions{Databases: redisDatabases})
		})
		if err != nil {
			return nil, err
		}
		addCleanup(server.Stop)
		free := make(chan int, redisDatabases-1)
		for db := 1; db < redisDatabases; db++ {
			free <- db
		}
		return &redisEnv{server: server, free: free}, nil
	})
	if err != nil {
		t.Fatalf("testinfra: start Redis: %v", err)
	}
	return r
}

// NewRedis returns the URL (redis://127.0.0.1:port/N) of an empty Redis
// logical database that belongs to t alone; it is flushed and recycled at
// the end of the test. Tests must use the URL's database: SELECT-ing
// another one breaks isolation.
func NewRedis(t testing.TB) string {
	t.Helper()
	r := redisEnvFor(t)
	var db int
	select {
	case db = <-r.free:
	default:
		t.Fatalf("testinfra.NewRedis: all %d Redis databases are in use by running tests; run fewer tests in parallel", redisDatabases-1)
	}
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: r.server.Addr(), DB: db})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.FlushDB(ctx).Err(); err != nil {
			// Do not recycle a database that may still hold keys.
			t.Errorf("testinfra: flush Redis DB %d: %v", db, err)
			return
		}
		r.free <- db
	})
	return fmt.Sprintf("redis://%s/%d", r.server.Addr(), db)
}

func brokerFor(t testing.TB, fn string) *localinfra.Broker {
	t.Helper()
	requireRun(t, Kafka, fn, "Kafka")
	b, err := env.broker.get(func() (*localinfra.Broker, error) {
		// In memory and on port 0 (the kernel picks, so no race): the
		// broker lives inside this process and dies with it.
		b, err := localinfra.StartBroker("", 0, KafkaPartitions)
		if err != nil {
			return nil, err
		}
		addCleanup(func() error { b.Close(); return nil })
		return b, nil
	})
	if err != nil {
		t.Fatalf("testinfra: start Kafka broker: %v", err)
	}
	return b
}

// Brokers returns the bootstrap address ("127.0.0.1:port") of the binary's
// broker. It auto-creates topics with KafkaPartitions partitions. Use
// NewTopicName so that tests do not see each other's messages.
func Brokers(t testing.TB) string {
	t.Helper()
	return brokerFor(t, "Brokers").Addr()
}

// Cluster returns the binary's kfake cluster, for fault injection, e.g.
//
//	testinfra.Cluster(t).ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) { ... })
//
// The broker is shared by the binary's tests: a test that injects faults
// must not run in parallel with others that use Kafka, and must not leave
// control functions behind: one that handles a request is dropped after
// it, one that only observes (returns false) stays until it calls
// DropControl.
func Cluster(t testing.TB) *kfake.Cluster {
	t.Helper()
	return brokerFor(t, "Cluster").Cluster()
}

// NewTopicName returns a topic name unique to this test and call, made of
// base and the test's name (so a leftover topic says who made it).
func NewTopicName(t testing.TB, base string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range base {
		if r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 100 {
		name = name[:100]
	}
	return name + "-" + strings.ReplaceAll(sanitize(t.Name(), 100), "_", "-") + "-" + strconv.FormatInt(env.seq.Add(1), 10)
}

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// sanitize lowercases s and squeezes everything but [a-z0-9] into '_', to
// at most max bytes: safe as a Postgres identifier part and a topic part.
func sanitize(s string, max int) string {
	s = strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(s), "_"), "_")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "_")
	}
	if s == "" {
		s = "x"
	}
	return s
}

func addCleanup(fn func() error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.cleanup = append(env.cleanup, fn)
}

// shutdown stops everything Run's tests started, in reverse order, then
// removes the work dir and lets the watchdog go.
func shutdown() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	var errs []error
	for i := len(env.cleanup) - 1; i >= 0; i-- {
		if err := env.cleanup[i](); err != nil {
			errs = append(errs, err)
		}
	}
	env.cleanup = nil
	if env.dir != "" {
		if err := os.RemoveAll(env.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", env.dir, err))
		}
	}
	if env.watchdog != nil {
		if err := env.watchdog.release(); err != nil {
			errs = append(errs, err)
		}
	}
	env.dir, env.watchdog = "", nil
	return errors.Join(errs...)
}

// watchdogProc is the child that cleans up after us if we die.
type watchdogProc struct {
	cmd  *exec.Cmd
	pipe *os.File // its stdin; our exit closes it
}

// startWatchdog re-executes the test binary as a watchdog for dir. The
// child blocks reading its stdin, a pipe whose only writer is this
// process: when we exit for any reason, including SIGKILL, the kernel
// closes our end, the child's read returns EOF, and it stops the servers
// recorded in dir and removes it. After a normal shutdown there is nothing
// left for it to do.
func startWatchdog(dir string) (*watchdogProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("testinfra: find test binary for the watchdog: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("testinfra: watchdog pipe: %w", err)
	}
	// -test.run=^$: should the TestMain not reach Run first, no test runs.
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), watchdogEnv+"="+dir)
	cmd.Stdin = r
	// Stdout/stderr stay nil (/dev/null): go test waits for EOF on the test
	// binary's output, which a lingering child holding it would delay.
	// Own process group: a Ctrl-C aimed at the test run must not kill the
	// watchdog before it has cleaned up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("testinfra: start watchdog: %w", err)
	}
	r.Close()
	return &watchdogProc{cmd: cmd, pipe: w}, nil
}

func (w *watchdogProc) release() error {
	w.pipe.Close()
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("testinfra: watchdog: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		return errors.New("testinfra: watchdog did not exit")
	}
}

// runWatchdog is the watchdog child's whole life: wait for the parent to
// go away, then kill what it left behind in dir.
func runWatchdog(dir string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM)
	_, _ = io.Copy(io.Discard, os.Stdin)
	if _, err := os.Stat(dir); err != nil {
		return 0 // the parent cleaned up
	}
	// Postgres: SIGQUIT is its "immediate shutdown"; its children exit too.
	killFromPIDFile(filepath.Join(dir, "pg", "postmaster.pid"), "postgres", syscall.SIGQUIT)
	killFromPIDFile(filepath.Join(dir, "redis", "redis.pid"), "redis-server", syscall.SIGKILL)
	os.RemoveAll(dir)
	return 0
}

// killFromPIDFile signals the process named in pidFile if its command line
// contains want (a recycled pid must not get someone else killed), and
// waits up to 10 s for it to exit, then SIGKILLs it.
func killFromPIDFile(pidFile, want string, sig syscall.Signal) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), want) {
		return
	}
	_ = syscall.Kill(pid, sig)
	for i := 0; i < 1000; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(st), ") Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// AppRole is a database migrated and secured the way a service's is in
// production: the schema owned by the test's superuser, and a login role
// holding only the grants `<service> migrate` gives it, subject to
// row-level security. Tests of the walls between banks connect as it.
type AppRole struct {
	OwnerURL, AppURL, Role string
}

// NewAppRoleDatabase creates a database, applies migrations and the
// platform's security step for a fresh login role, and returns both URLs.
func NewAppRoleDatabase(t testing.TB, migrations fs.FS) AppRole {
	t.Helper()
	p := postgresEnv(t, "NewAppRoleDatabase")
	owner := p.clone(t, "")
	role := "app_" + strconv.FormatInt(env.seq.Add(1), 10) + "_" + strconv.Itoa(os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := p.admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN NOSUPERUSER NOBYPASSRLS"); err != nil {
		t.Fatalf("testinfra: create role %s: %v", role, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The role holds grants in the database, which must go first (its
		// own cleanup, registered earlier, runs later and finds it gone).
		if u, err := url.Parse(owner); err == nil {
			_, _ = p.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+" WITH (FORCE)")
		}
		if _, err := p.admin.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("testinfra: drop role %s: %v", role, err)
		}
	})
	if err := pgdb.MigrateAndSecure(ctx, owner, migrations, role, nil); err != nil {
		t.Fatalf("testinfra: migrate and secure: %v", err)
	}
	u, err := url.Parse(owner)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return AppRole{OwnerURL: owner, AppURL: u.String(), Role: role}
}
