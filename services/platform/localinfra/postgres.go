package localinfra

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresInstallCommand installs the Postgres server binaries on the
// Debian machines this project runs on.
const PostgresInstallCommand = "apt-get install -y postgresql"

// PostgresOptions tunes StartPostgresWithOptions. The zero value is the
// safe default that StartPostgres uses.
type PostgresOptions struct {
	// BinDir holds initdb, pg_ctl and postgres. Empty means the newest
	// /usr/lib/postgresql/*/bin (Debian's layout), else pg_ctl on PATH.
	BinDir string

	// UnsafeFastWrites sets fsync=off, synchronous_commit=off and
	// full_page_writes=off. A crash of the machine can then corrupt the
	// cluster, which is fine for a throwaway test cluster and makes
	// CREATE DATABASE and commits several times faster. Never use it for
	// the dev stack's data you care about, nor for benchmarks (it hides
	// the real cost of commits).
	UnsafeFastWrites bool

	// Settings are extra server settings, passed as -c name=value.
	Settings map[string]string
}

// Postgres is a private PostgreSQL server on 127.0.0.1 whose data lives in
// one directory. Authentication is "trust": any local client may connect
// as the superuser postgres without a password.
type Postgres struct {
	dir    string
	port   int
	binDir string
	cred   *syscall.Credential // nil when we are not root
}

// StartPostgres starts (creating it first if needed) a Postgres cluster in
// dir listening on 127.0.0.1:port, with default (durable) settings.
// See StartPostgresWithOptions.
func StartPostgres(ctx context.Context, dir string, port int) (*Postgres, error) {
	return StartPostgresWithOptions(ctx, dir, port, PostgresOptions{})
}

// StartPostgresWithOptions starts a Postgres cluster in dir on
// 127.0.0.1:port and waits until it accepts connections.
//
//   - If dir holds no cluster, one is created (superuser postgres, trust
//     auth, UTF8, locale C.UTF-8) by copying a template cluster that is
//     initdb'ed once per Postgres version under os.TempDir(): a copy takes
//     ~0.07 s where initdb takes ~0.7 s.
//   - If dir holds a stopped cluster, it is started again with its data.
//   - If a server is already running on dir, it is returned as is (on the
//     port it was started with, see Port), so "start" is idempotent.
//
// Postgres refuses to run as root; when the caller is root the server runs
// as the OS user postgres, and dir (and the template) are owned by it.
func StartPostgresWithOptions(ctx context.Context, dir string, port int, opts PostgresOptions) (*Postgres, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localinfra: postgres dir %q: %w", dir, err)
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = FindPostgresBinDir(); err != nil {
			return nil, err
		}
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: abs, port: port, binDir: binDir, cred: cred}

	if _, err := os.Stat(filepath.Join(abs, "PG_VERSION")); err == nil {
		// An existing cluster: maybe it is already running (make up twice).
		if info, ok := runningPostmaster(abs); ok {
			p.port = info.port
			if err := p.waitReady(ctx); err != nil {
				return nil, err
			}
			return p, nil
		}
	} else if err := p.create(ctx); err != nil {
		return nil, err
	}

	if err := p.start(ctx, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// FindPostgresBinDir locates the directory of the Postgres server binaries
// (initdb, pg_ctl, postgres): the newest /usr/lib/postgresql/N/bin, else
// the directory of pg_ctl on PATH. Its error says how to install them.
func FindPostgresBinDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	best, bestVer := "", -1.0
	for _, m := range matches {
		bin := filepath.Dir(m)
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(bin)), 64)
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
			continue
		}
		if v > bestVer {
			best, bestVer = bin, v
		}
	}
	if best != "" {
		return best, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		bin := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(bin, "initdb")); err == nil {
			return bin, nil
		}
	}
	return "", fmt.Errorf("localinfra: Postgres server binaries not found (looked for /usr/lib/postgresql/*/bin and pg_ctl on PATH); install them with: %s", PostgresInstallCommand)
}

// postgresCredential returns the identity to run Postgres programs under:
// nil (ourselves) unless we are root, which Postgres refuses.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("localinfra: running as root, and Postgres refuses root, but there is no OS user postgres to run it as (%w); %s creates it", err, PostgresInstallCommand)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}

// Port is the TCP port the server listens on. It differs from the
// requested port only when StartPostgres found the server already running.
func (p *Postgres) Port() int { return p.port }

// Dir is the cluster's data directory.
func (p *Postgres) Dir() string { return p.dir }

// URL returns a connection URL for database db as the superuser postgres.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// PID returns the postmaster's process id, or 0 if the server is not
// running.
func (p *Postgres) PID() int {
	info, ok := runningPostmaster(p.dir)
	if !ok {
		return 0
	}
	return info.pid
}

// CreateDatabase creates database name unless it exists already.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("localinfra: create database %q: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("localinfra: create database %q: check existence: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		return nil // created concurrently by someone else: still idempotent
	}
	if err != nil {
		return fmt.Errorf("localinfra: create database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name if it exists, disconnecting any
// sessions still using it (tests often leak a pool).
func (p *Postgres) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("localinfra: drop database %q: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("localinfra: drop database %q: %w", name, err)
	}
	return nil
}

// Stop shuts the server down with "fast" mode (active sessions are
// disconnected, data is flushed) and waits for it to exit. Stopping a
// server that is not running is not an error.
func (p *Postgres) Stop(ctx context.Context) error {
	if _, ok := runningPostmaster(p.dir); !ok {
		return nil
	}
	out, err := p.command(ctx, "pg_ctl", "-D", p.dir, "-w", "-t", "60", "-m", "fast", "stop").CombinedOutput()
	if err != nil {
		if _, ok := runningPostmaster(p.dir); !ok {
			return nil // it went away by itself meanwhile
		}
		return fmt.Errorf("localinfra: pg_ctl stop %s: %w: %s", p.dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// command builds an exec.Cmd for a Postgres program, run as the postgres
// user when we are root.
func (p *Postgres) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, prog), args...)
	// The caller's working directory may be unreadable for the postgres
	// user (e.g. under /root), and initdb fails if it cannot getcwd.
	cmd.Dir = "/"
	cmd.Env = postgresEnv()
	// Own process group: a Ctrl-C meant for the caller's terminal must not
	// reach the postmaster, whose shutdown the caller controls via Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	return cmd
}

// postgresEnv is our environment without PG* variables: a stray PGDATA or
// PGPORT from the developer's shell must not redirect the private server.
func postgresEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// create fills the empty (or missing) p.dir with a fresh cluster copied
// from the cached template.
func (p *Postgres) create(ctx context.Context) error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("localinfra: create postgres dir: %w", err)
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return fmt.Errorf("localinfra: read postgres dir: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("localinfra: %s holds no Postgres cluster (no PG_VERSION) but is not empty; refusing to initialise over it", p.dir)
	}
	if err := p.chown(p.dir); err != nil {
		return err
	}
	// Postgres insists on 0700 (or 0750) for the data directory.
	if err := os.Chmod(p.dir, 0o700); err != nil {
		return fmt.Errorf("localinfra: chmod postgres dir: %w", err)
	}
	if err := p.checkReachable(p.dir); err != nil {
		return err
	}
	tmpl, err := p.template(ctx)
	if err != nil {
		return err
	}
	if err := copyTree(tmpl, p.dir, p.cred); err != nil {
		// Leave an empty dir behind, not a half cluster that would be
		// mistaken for a real one next time.
		clearDir(p.dir)
		return fmt.Errorf("localinfra: copy template cluster %s to %s: %w", tmpl, p.dir, err)
	}
	return nil
}

// chown hands path to the postgres user when we are root.
func (p *Postgres) chown(path string) error {
	if p.cred == nil {
		return nil
	}
	if err := os.Lchown(path, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
		return fmt.Errorf("localinfra: chown %s to postgres: %w", path, err)
	}
	return nil
}

// checkReachable fails early, with an actionable message, when the
// postgres user cannot traverse one of dir's parents: otherwise initdb or
// the postmaster fails later with a bare "Permission denied". The typical
// case is a root-owned 0700 directory from os.MkdirTemp or t.TempDir.
func (p *Postgres) checkReachable(dir string) error {
	if p.cred == nil {
		return nil
	}
	groups := map[uint32]bool{p.cred.Gid: true}
	for _, g := range p.cred.Groups {
		groups[g] = true
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("localinfra: stat %s: %w", d, err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		mode := st.Mode().Perm()
		var ok bool
		switch {
		case sys.Uid == p.cred.Uid:
			ok = mode&0o100 != 0
		case groups[sys.Gid]:
			ok = mode&0o010 != 0
		default:
			ok = mode&0o001 != 0
		}
		if !ok {
			return fmt.Errorf("localinfra: the postgres user (uid %d) cannot reach %s: its parent %s has mode %v and uid %d; use a directory whose parents are traversable (e.g. chmod o+x %s)", p.cred.Uid, dir, d, mode, sys.Uid, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

var versionRE = regexp.MustCompile(`\d+(\.\d+)*`)

// template returns a pristine cluster directory made by initdb once per
// Postgres version and owner under os.TempDir(), creating it if needed.
// Concurrent callers (parallel test binaries) may both run initdb; the
// loser of the final rename discards its copy.
func (p *Postgres) template(ctx context.Context) (string, error) {
	out, err := p.command(ctx, "postgres", "-V").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("localinfra: postgres -V: %w: %s", err, strings.TrimSpace(string(out)))
	}
	version := versionRE.FindString(string(out))
	if version == "" {
		return "", fmt.Errorf("localinfra: cannot read a version from postgres -V output %q", strings.TrimSpace(string(out)))
	}
	// v1 names the initdb settings below; bump it when they change.
	final := filepath.Join(os.TempDir(), fmt.Sprintf("localinfra-pgtemplate-%s-u%d-v1", version, os.Geteuid()))
	if p.cred != nil {
		final = filepath.Join(os.TempDir(), fmt.Sprintf("localinfra-pgtemplate-%s-u%d-v1", version, p.cred.Uid))
	}
	if templateComplete(final) {
		return final, nil
	}
	// A broken template (e.g. partly removed by a tmp cleaner) would
	// produce broken clusters forever: rebuild it.
	if _, err := os.Stat(final); err == nil {
		if err := os.RemoveAll(final); err != nil {
			return "", fmt.Errorf("localinfra: remove broken template %s: %w", final, err)
		}
	}
	build, err := os.MkdirTemp(os.TempDir(), "localinfra-pgtemplate-build-")
	if err != nil {
		return "", fmt.Errorf("localinfra: template build dir: %w", err)
	}
	defer os.RemoveAll(build) // no-op after a successful rename
	if err := p.chown(build); err != nil {
		return "", err
	}
	if err := p.checkReachable(build); err != nil {
		return "", err
	}
	out, err = p.command(ctx, "initdb", "-D", build, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("localinfra: initdb %s: %w: %s", build, err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(build, final); err != nil {
		if templateComplete(final) {
			return final, nil // another process won the race
		}
		return "", fmt.Errorf("localinfra: install template %s: %w", final, err)
	}
	return final, nil
}

func templateComplete(dir string) bool {
	for _, f := range []string{"PG_VERSION", "global/pg_control", "base/1", "pg_wal"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// copyTree copies the contents of src into the existing directory dst,
// keeping modes and giving everything to cred's user (when set).
func copyTree(src, dst string, cred *syscall.Credential) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected file type %v at %s", d.Type(), path)
		}
		if cred != nil {
			return os.Lchown(target, int(cred.Uid), int(cred.Gid))
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// maxSocketPath is sun_path's size on Linux (108) minus the NUL.
const maxSocketPath = 107

func (p *Postgres) start(ctx context.Context, opts PostgresOptions) error {
	if portInUse(p.port) {
		return fmt.Errorf("localinfra: start postgres on 127.0.0.1:%d: port already in use", p.port)
	}
	settings := map[string]string{}
	if opts.UnsafeFastWrites {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	o := []string{"-c listen_addresses=127.0.0.1", "-p " + strconv.Itoa(p.port)}
	// The unix socket goes into the data dir (never /var/run/postgresql,
	// which may belong to the system cluster), unless the path would be too
	// long for a socket address; then TCP alone is used.
	if len(p.dir)+len("/.s.PGSQL.")+len(strconv.Itoa(p.port))+len(".lock") <= maxSocketPath {
		o = append(o, "-k "+shellQuote(p.dir))
	} else {
		o = append(o, "-c unix_socket_directories=''")
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o = append(o, "-c "+shellQuote(k+"="+settings[k]))
	}
	logFile := filepath.Join(p.dir, "postgres.log")
	out, err := p.command(ctx, "pg_ctl", "-D", p.dir, "-w", "-t", "60", "-l", logFile,
		"-o", strings.Join(o, " "), "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("localinfra: pg_ctl start %s on port %d: %w: %s\n--- %s (tail) ---\n%s",
			p.dir, p.port, err, strings.TrimSpace(string(out)), logFile, tailFile(logFile, 2000))
	}
	return p.waitReady(ctx)
}

// waitReady waits until the server accepts a connection. pg_ctl -w already
// waits, but a server found running may still be starting up.
func (p *Postgres) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var lastErr error
	for {
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("localinfra: postgres on port %d not ready: %w", p.port, lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type postmasterInfo struct {
	pid  int
	port int
}

// runningPostmaster reads dir/postmaster.pid and reports whether the
// postmaster it names is alive (a pid file left by a crash is stale).
func runningPostmaster(dir string) (postmasterInfo, bool) {
	f, err := os.Open(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return postmasterInfo{}, false
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 4 {
		return postmasterInfo{}, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err2 := strconv.Atoi(strings.TrimSpace(lines[3]))
	// The postmaster's command line is ".../bin/postgres -D ...".
	if err1 != nil || err2 != nil || !processIs(pid, "postgres") {
		return postmasterInfo{}, false
	}
	return postmasterInfo{pid: pid, port: port}, true
}

// ServiceDatabase is a service's database with its two roles: the owner,
// which runs the migrations, and the app role the service connects as,
// which owns nothing.
type ServiceDatabase struct {
	OwnerURL, AppURL, AppRole string
}

// CreateServiceDatabase creates (idempotently) database name owned by the
// role <name>_owner and the login role <name>_app, which may connect and is
// granted its DML by the migrate step. A database created before, owned by
// the superuser, is handed to the owner role with everything in it.
func (p *Postgres) CreateServiceDatabase(ctx context.Context, name string) (ServiceDatabase, error) {
	owner, app := name+"_owner", name+"_app"
	if err := p.CreateDatabase(ctx, name); err != nil {
		return ServiceDatabase{}, err
	}
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return ServiceDatabase{}, fmt.Errorf("localinfra: roles of %q: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	db, ow, ap := pgx.Identifier{name}.Sanitize(), pgx.Identifier{owner}.Sanitize(), pgx.Identifier{app}.Sanitize()
	for _, r := range []string{owner, app} {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", r).Scan(&exists); err != nil {
			return ServiceDatabase{}, err
		}
		if !exists {
			if _, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{r}.Sanitize()+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"); err != nil {
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) || pgErr.Code != "42710" { // created concurrently
					return ServiceDatabase{}, fmt.Errorf("localinfra: create role %s: %w", r, err)
				}
			}
		}
	}
	for _, s := range []string{
		"ALTER DATABASE " + db + " OWNER TO " + ow,
		"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC",
		"GRANT CONNECT ON DATABASE " + db + " TO " + ap,
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			return ServiceDatabase{}, fmt.Errorf("localinfra: %s: %w", s, err)
		}
	}
	dbc, err := pgx.Connect(ctx, p.URL(name))
	if err != nil {
		return ServiceDatabase{}, err
	}
	defer dbc.Close(context.WithoutCancel(ctx))
	if _, err := dbc.Exec(ctx, `ALTER SCHEMA public OWNER TO `+ow); err != nil {
		return ServiceDatabase{}, fmt.Errorf("localinfra: schema owner of %q: %w", name, err)
	}
	// Hand over what an earlier stack created as the superuser.
	rows, err := dbc.Query(ctx, `SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r','p','S') AND pg_get_userbyid(c.relowner) <> $1
		  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a','i')))`, owner)
	if err != nil {
		return ServiceDatabase{}, err
	}
	type obj struct{ kind, name string }
	var objs []obj
	for rows.Next() {
		var o obj
		if err := rows.Scan(&o.kind, &o.name); err != nil {
			rows.Close()
			return ServiceDatabase{}, err
		}
		objs = append(objs, o)
	}
	rows.Close()
	for _, o := range objs {
		if _, err := dbc.Exec(ctx, "ALTER "+o.kind+" "+pgx.Identifier{o.name}.Sanitize()+" OWNER TO "+ow); err != nil {
			return ServiceDatabase{}, fmt.Errorf("localinfra: hand %s to %s: %w", o.name, owner, err)
		}
	}
	if _, err := dbc.Exec(ctx, `DO $$ DECLARE f record; BEGIN
		FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		         WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '`+owner+`' LOOP
			EXECUTE format('ALTER FUNCTION %s OWNER TO %I', f.sig, '`+owner+`');
		END LOOP; END $$`); err != nil {
		return ServiceDatabase{}, fmt.Errorf("localinfra: hand functions of %q to %s: %w", name, owner, err)
	}
	return ServiceDatabase{OwnerURL: p.urlAs(owner, name), AppURL: p.urlAs(app, name), AppRole: app}, nil
}

func (p *Postgres) urlAs(user, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, p.port, db)
}
