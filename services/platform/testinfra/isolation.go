package testinfra

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckTenantIsolation proves the database walls of a service: after its
// migrations and the platform's security step, connected as the app role,
//   - every table with a tenant_id column has row-level security on and the
//     policy, and the role owns nothing and has no DDL;
//   - with rows of two banks in every tenant-scoped table (seed writes them
//     through the service's own store, once per bank, on a pool of the app
//     role), a query without any bank filter sees only the caller's bank,
//     a context without a bank sees nothing, and moving a row to another
//     bank is refused;
//   - append-only tables refuse UPDATE and DELETE, and their triggers cannot
//     be disabled.
//
// It returns the app role's pool for further checks.
func CheckTenantIsolation(t *testing.T, migrations fs.FS, seed func(ctx context.Context, pool *pgxpool.Pool, tenant string)) *pgxpool.Pool {
	t.Helper()
	db := NewAppRoleDatabase(t, migrations)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	pool, err := pgdb.Connect(ctx, db.AppURL, migrations, 10*time.Second, nil)
	if err != nil {
		t.Fatalf("connect as the app role: %v", err)
	}
	t.Cleanup(pool.Close)
	owner, err := pgxpool.New(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)

	tables := strings.Fields(queryString(t, owner, `SELECT coalesce(string_agg(c.relname, ' ' ORDER BY c.relname), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r'
		  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`))
	if len(tables) == 0 {
		t.Fatal("no tenant-scoped table found")
	}
	for _, tb := range tables {
		var rls bool
		var policies int
		if err := owner.QueryRow(ctx, `SELECT c.relrowsecurity, (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'counterdesk_tenant')
			FROM pg_class c WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace`, tb).Scan(&rls, &policies); err != nil {
			t.Fatal(err)
		}
		if !rls || policies != 1 {
			t.Errorf("table %s: row-level security %v with %d policies, want on with counterdesk_tenant", tb, rls, policies)
		}
	}
	if n := queryString(t, owner, fmt.Sprintf(`SELECT count(*)::text FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = '%s')`, db.Role)); n != "0" {
		t.Errorf("the app role owns %s relations, want none", n)
	}

	for _, tenant := range []string{"bank-a", "bank-b"} {
		seed(pgdb.WithTenant(ctx, tenant), pool, tenant)
	}
	for _, tb := range tables {
		id := pgx.Identifier{tb}.Sanitize()
		var mine, others int
		a := pgdb.WithTenant(ctx, "bank-a")
		if err := pool.QueryRow(a, "SELECT count(*) FILTER (WHERE tenant_id = 'bank-a'), count(*) FILTER (WHERE tenant_id <> 'bank-a') FROM "+id).Scan(&mine, &others); err != nil {
			t.Fatalf("%s as bank-a: %v", tb, err)
		}
		var total int
		if err := owner.QueryRow(ctx, "SELECT count(*) FROM "+id+" WHERE tenant_id = 'bank-b'").Scan(&total); err != nil {
			t.Fatal(err)
		}
		if total == 0 {
			t.Errorf("%s: seed wrote no row of bank-b, so the wall is not tried", tb)
		}
		if mine == 0 || others != 0 {
			t.Errorf("%s: a query without a bank filter as bank-a sees %d rows of bank-a and %d of other banks; want some and none", tb, mine, others)
		}
		var none int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+id).Scan(&none); err != nil {
			t.Fatal(err)
		}
		if none != 0 {
			t.Errorf("%s: a context without a bank sees %d rows, want none", tb, none)
		}
		if _, err := pool.Exec(a, "UPDATE "+id+" SET tenant_id = 'bank-b' WHERE tenant_id = 'bank-a'"); err == nil && !appendOnly(t, owner, tb) {
			t.Errorf("%s: bank-a moved its rows to bank-b", tb)
		}
	}
	for _, tb := range strings.Fields(queryString(t, owner, `SELECT coalesce(string_agg(c.relname, ' '), '') FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') LIKE 'append-only%'`)) {
		id := pgx.Identifier{tb}.Sanitize()
		all := pgdb.WithTenant(ctx, pgdb.AllTenants)
		for _, stmt := range []string{"UPDATE " + id + " SET tenant_id = tenant_id", "DELETE FROM " + id,
			"ALTER TABLE " + id + " DISABLE TRIGGER USER", "TRUNCATE " + id, "DROP TABLE " + id} {
			if _, err := pool.Exec(all, stmt); err == nil {
				t.Errorf("the app role could %s", stmt)
			}
		}
	}
	return pool
}

func appendOnly(t *testing.T, owner *pgxpool.Pool, table string) bool {
	return strings.HasPrefix(queryString(t, owner, fmt.Sprintf(`SELECT coalesce(obj_description('%s'::regclass, 'pg_class'), '')`, pgx.Identifier{table}.Sanitize())), "append-only")
}

func queryString(t *testing.T, pool *pgxpool.Pool, sql string) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}
