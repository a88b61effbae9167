// Protects auditverify on a real intake database: intact banks exit 0, each
// broken case is named with its first broken entry and the run exits 1,
// other banks are not looked at, and configuration problems exit 2 without
// showing a key or touching the schema.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/intake/audittrail"
	"github.com/counterdesk/counterdesk/services/intake/audittrail/audittrailtest"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func b64(fill byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32)) }

var keysEnv = "k2:" + b64(2) + ",k1:" + b64(1)

// bank is intake's database with cases of bank-a and bank-b, anchored.
type bank struct {
	dsn  string
	pool *pgxpool.Pool
	ids  []string // bank-a's cases
}

func newBank(t *testing.T) *bank {
	t.Helper()
	ctx := context.Background()
	dsn := testinfra.NewDatabase(t)
	pool, err := pgdb.Open(ctx, dsn, migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Some entries under the older key, as after a rotation.
	older, err := audittrail.ParseKeys("k1:" + b64(1))
	if err != nil {
		t.Fatal(err)
	}
	current, err := audittrail.ParseKeys(keysEnv)
	if err != nil {
		t.Fatal(err)
	}
	b := &bank{dsn: dsn, pool: pool}
	for i, k := range []audittrail.Keys{older, current, current} {
		id, err := audittrailtest.Case(ctx, pool, k, "bank-a", 4, now.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		b.ids = append(b.ids, id)
	}
	if _, err := audittrailtest.Case(ctx, pool, current, "bank-b", 2, now); err != nil {
		t.Fatal(err)
	}
	if n, err := audittrailtest.Anchor(ctx, pool, current, now.Add(time.Hour)); err != nil || n != 4 {
		t.Fatalf("anchored %d chains (%v), want 4", n, err)
	}
	return b
}

func (b *bank) exec(t *testing.T, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := b.pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// verify runs the command with env and args.
func verify(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAnIntactBankExitsZero(t *testing.T) {
	b := newBank(t)
	code, out, errOut := verify(map[string]string{"DATABASE_URL": b.dsn, "AUDIT_MAC_KEYS": keysEnv}, "--tenant", "bank-a")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q, want 0 and nothing", code, errOut)
	}
	if want := "tenant bank-a: all 3 cases intact (12 entries, 0 of them legacy; 3 cases anchored)\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	// The flag works as the variable does.
	if code, _, _ := verify(map[string]string{"AUDIT_MAC_KEYS": keysEnv}, "--tenant", "bank-b", "--database-url", b.dsn); code != 0 {
		t.Errorf("bank-b with --database-url: exit %d", code)
	}
}

func TestBrokenCasesAreNamedAndExitOne(t *testing.T) {
	b := newBank(t)
	edited, cut, intact := b.ids[0], b.ids[1], b.ids[2]
	b.exec(t,
		`ALTER TABLE case_audit DISABLE TRIGGER USER`,
		// What the acceptance check does: move one case's times by a second.
		`update case_audit set created_at = created_at + interval '1 second' where case_id = '`+edited+`'`,
		// And cut the newest entry of another, after it was anchored.
		`DELETE FROM case_audit WHERE case_id = '`+cut+`' AND seq = 4`,
		`ALTER TABLE case_audit ENABLE TRIGGER USER`,
	)
	env := map[string]string{"DATABASE_URL": b.dsn, "AUDIT_MAC_KEYS": keysEnv}
	code, out, _ := verify(env, "--tenant", "bank-a")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := map[string]string{
		edited: fmt.Sprintf("case %s: first broken link at seq 1: mac mismatch", edited),
		cut:    fmt.Sprintf("case %s: first broken link at seq 4: chain shorter than its anchor (records deleted)", cut),
	}
	if len(lines) != 3 {
		t.Fatalf("output %q, want two broken cases and a summary", out)
	}
	for _, l := range lines[:2] {
		id := strings.Fields(l)[1]
		id = strings.TrimSuffix(id, ":")
		if want[id] != l {
			t.Errorf("line %q, want %q", l, want[id])
		}
		delete(want, id)
	}
	if len(want) != 0 || strings.Contains(out, "case "+intact) {
		t.Errorf("output %q: want exactly the edited and the cut case", out)
	}
	if wantSum := "tenant bank-a: 2 of 3 cases broken (11 entries, 0 of them legacy; 3 cases anchored)"; lines[2] != wantSum {
		t.Errorf("summary %q, want %q", lines[2], wantSum)
	}
	// Another bank's trails are its own business, and intact.
	if code, out, _ := verify(env, "--tenant", "bank-b"); code != 0 || !strings.Contains(out, "all 1 cases intact") {
		t.Errorf("bank-b: exit %d, %q", code, out)
	}
}

func TestAWrongKeyBreaksTheCasesItSealed(t *testing.T) {
	b := newBank(t)
	code, out, _ := verify(map[string]string{"DATABASE_URL": b.dsn, "AUDIT_MAC_KEYS": "k2:" + b64(9) + ",k1:" + b64(1)}, "--tenant", "bank-a")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	// The case sealed with k1 alone still holds; those sealed with the wrong k2 do not.
	if got := regexp.MustCompile(`(?m)^case .*: mac mismatch$`).FindAllString(out, -1); len(got) != 2 {
		t.Errorf("output %q, want the two cases sealed with k2 broken", out)
	}
}

func TestWhatCannotBeCheckedExitsTwo(t *testing.T) {
	b := newBank(t)
	empty := testinfra.NewDatabase(t)
	secret := b64(7)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no tenant", map[string]string{"DATABASE_URL": b.dsn, "AUDIT_MAC_KEYS": keysEnv}, nil, "--tenant is required"},
		{"a stray argument", map[string]string{"DATABASE_URL": b.dsn, "AUDIT_MAC_KEYS": keysEnv}, []string{"--tenant", "bank-a", "extra"}, "no arguments"},
		{"no database", map[string]string{"AUDIT_MAC_KEYS": keysEnv}, []string{"--tenant", "bank-a"}, "set DATABASE_URL"},
		{"no keys", map[string]string{"DATABASE_URL": b.dsn}, []string{"--tenant", "bank-a"}, "AUDIT_MAC_KEYS: no key given"},
		{"a short key, not shown", map[string]string{"DATABASE_URL": b.dsn, "AUDIT_MAC_KEYS": "k1:" + secret[:20]}, []string{"--tenant", "bank-a"}, `key "k1" must decode to at least 32 bytes`},
		{"a malformed database URL, not shown", map[string]string{"DATABASE_URL": "postgres://u:" + secret + "@[::1", "AUDIT_MAC_KEYS": keysEnv}, []string{"--tenant", "bank-a"}, "not a valid Postgres connection string"},
		{"a database without intake's schema, left as it is", map[string]string{"DATABASE_URL": empty, "AUDIT_MAC_KEYS": keysEnv}, []string{"--tenant", "bank-a"}, "verify the audit trails of bank-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := verify(tt.env, tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.wantErr)
			}
			if strings.Contains(out+errOut, secret[:20]) {
				t.Errorf("the output shows a secret: %s%s", out, errOut)
			}
		})
	}
	// The tool never migrates: the empty database is still empty.
	pool, err := pgxpool.New(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var tables int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("the empty database has %d tables (%v) after a run", tables, err)
	}
}

func TestAnUnknownBankIsNotAnError(t *testing.T) {
	b := newBank(t)
	code, out, errOut := verify(map[string]string{"DATABASE_URL": b.dsn, "AUDIT_MAC_KEYS": keysEnv}, "--tenant", "bank-zz")
	if code != 0 || out != "tenant bank-zz: no cases found\n" || !strings.Contains(errOut, "is the tenant id right?") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Run as a role under intake's row-level security, the tool still sees the
// bank it verifies (and finds what was done behind its back by the owner).
func TestARoleUnderRowLevelSecuritySeesTheBankVerified(t *testing.T) {
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	ctx := context.Background()
	app, err := pgdb.Connect(ctx, db.AppURL, migrations.FS, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	keys, err := audittrail.ParseKeys(keysEnv)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 2 {
		id, err := audittrailtest.Case(pgdb.WithTenant(ctx, "bank-a"), app, keys, "bank-a", 3, now.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := audittrailtest.Case(pgdb.WithTenant(ctx, "bank-b"), app, keys, "bank-b", 3, now); err != nil {
		t.Fatal(err)
	}
	if _, err := audittrailtest.Anchor(pgdb.WithTenant(ctx, pgdb.AllTenants), app, keys, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": db.AppURL, "AUDIT_MAC_KEYS": keysEnv}
	if code, out, _ := verify(env, "--tenant", "bank-a"); code != 0 || !strings.Contains(out, "all 2 cases intact") {
		t.Fatalf("as the app role: exit %d, %q", code, out)
	}
	owner, err := pgxpool.New(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for _, sql := range []string{`ALTER TABLE case_audit DISABLE TRIGGER USER`,
		`DELETE FROM case_audit WHERE case_id = '` + ids[1] + `' AND seq = 3`, `ALTER TABLE case_audit ENABLE TRIGGER USER`} {
		if _, err := owner.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := verify(env, "--tenant", "bank-a")
	if want := "case " + ids[1] + ": first broken link at seq 3: chain shorter than its anchor (records deleted)\n"; code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("after the owner cut a trail: exit %d, %q, want 1 and %q", code, out, want)
	}
}
