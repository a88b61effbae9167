package pgdb

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
)

// Row-level security: every table of a service's schema with a tenant_id
// column gets the policy counterdesk_tenant, which shows and accepts only
// rows of the bank named by the session setting counterdesk.tenant ("*":
// every bank, for the service's own background work). The setting is made
// from the caller on every checkout of a pooled connection (see
// prepareConn), so a query that forgets its bank filter returns nothing of
// another bank, and a connection never carries one caller's bank into
// another's request. Policies apply to the service's app role; the owner
// that runs migrations and superusers bypass them.
const (
	tenantSetting = "counterdesk.tenant"
	// AllTenants lets background work (outbox relay, consumers, timers)
	// see every bank.
	AllTenants = "*"
	policyName = "counterdesk_tenant"
	// appendOnlyComment starts the COMMENT of a table the app role may only
	// insert into and read (audit trails, anchors).
	appendOnlyComment = "append-only"
)

type tenantKey struct{}

// WithTenant returns ctx whose database work sees only tenant's rows
// (AllTenants: every bank's).
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantOf is the bank ctx's database work is confined to: an explicit
// WithTenant, else the authenticated caller's bank; counterdesk's services
// calling each other act for every bank; the operator and a context without
// a caller see no bank's rows.
func TenantOf(ctx context.Context) string {
	if t, ok := ctx.Value(tenantKey{}).(string); ok {
		return t
	}
	p, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return ""
	case p.Role == auth.RoleService:
		return AllTenants
	case p.Role == auth.RoleOperator || p.Tenant == auth.AllTenants:
		return ""
	}
	return p.Tenant
}

// prepareConn sets counterdesk.tenant for the caller of the query taking
// the connection, unless the connection already carries that bank.
func prepareConn(ctx context.Context, conn *pgx.Conn) (bool, error) {
	t := TenantOf(ctx)
	cd := conn.PgConn().CustomData()
	if cur, ok := cd[tenantSetting].(string); ok && cur == t {
		return true, nil
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('"+tenantSetting+"', $1, false)", t); err != nil {
		return false, fmt.Errorf("set the caller's bank on the connection: %w", err)
	}
	cd[tenantSetting] = t
	return true, nil
}

// newPool opens a traced pool whose connections carry the caller's bank.
func newPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.Tracer = otelpgx.NewTracer()
	cfg.PrepareConn = prepareConn
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	return pool, nil
}

// Secure puts the policy on every tenant-scoped table and, when appRole is
// not empty, grants appRole exactly the DML the service needs: read and
// write on its tables, insert and read only on append-only ones (tables
// whose comment starts "append-only"), read only on the migration version
// tables, nothing else (no DDL: it owns nothing, so it cannot alter a
// table, drop a trigger or disable row-level security). Run as the owner,
// after migrating; idempotent.
func Secure(ctx context.Context, pool *pgxpool.Pool, appRole string) error {
	return InTx(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
			  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
			ORDER BY 1`)
		if err != nil {
			return fmt.Errorf("list tenant-scoped tables: %w", err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		cond := fmt.Sprintf("tenant_id = current_setting('%[1]s', true) OR current_setting('%[1]s', true) = '%[2]s'", tenantSetting, AllTenants)
		for _, t := range tables {
			id := pgx.Identifier{t}.Sanitize()
			for _, stmt := range []string{
				"ALTER TABLE " + id + " ENABLE ROW LEVEL SECURITY",
				"DROP POLICY IF EXISTS " + policyName + " ON " + id,
				"CREATE POLICY " + policyName + " ON " + id + " USING (" + cond + ") WITH CHECK (" + cond + ")",
			} {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("row-level security on %s: %w", t, err)
				}
			}
		}
		if appRole == "" {
			return nil
		}
		role := pgx.Identifier{appRole}.Sanitize()
		rows, err = tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
			  AND obj_description(c.oid, 'pg_class') LIKE $1 || '%' ORDER BY 1`, appendOnlyComment)
		if err != nil {
			return fmt.Errorf("list append-only tables: %w", err)
		}
		appendOnly, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		stmts := []string{
			"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
			"GRANT USAGE ON SCHEMA public TO " + role,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
			"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + role,
			"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM " + role,
		}
		for _, vt := range []string{"platform_schema_version", "service_schema_version"} {
			stmts = append(stmts, fmt.Sprintf("REVOKE INSERT, UPDATE, DELETE ON TABLE %s FROM %s", pgx.Identifier{vt}.Sanitize(), role))
		}
		for _, t := range appendOnly {
			stmts = append(stmts, "REVOKE UPDATE, DELETE ON TABLE "+pgx.Identifier{t}.Sanitize()+" FROM "+role)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				if strings.Contains(s, "schema_version") && strings.Contains(err.Error(), "does not exist") {
					continue
				}
				return fmt.Errorf("grant to %s: %w", appRole, err)
			}
		}
		return nil
	})
}

// MigrateAndSecure is the `migrate` command of a service: as the owner at
// ownerURL, apply the platform's and the service's migrations, then Secure
// for appRole.
func MigrateAndSecure(ctx context.Context, ownerURL string, migrations fs.FS, appRole string, log *slog.Logger) error {
	pool, err := Open(ctx, ownerURL, migrations, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	return Secure(ctx, pool, appRole)
}

// Connect opens the service's pool as its app role: no migrations (the
// role may not run DDL); it waits until the schema is at least as new as
// the code's migrations (the migrate job of the same release may still be
// running) and gives up after wait.
func Connect(ctx context.Context, url string, migrations fs.FS, wait time.Duration, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := newPool(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	want, err := latestVersion(migrations)
	if err != nil {
		pool.Close()
		return nil, err
	}
	pm, _ := fs.Sub(platformMigrations, "migrations")
	wantPlatform, err := latestVersion(pm)
	if err != nil {
		pool.Close()
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		gotPlatform, err1 := currentVersion(ctx, pool, "platform_schema_version")
		got, err2 := currentVersion(ctx, pool, "service_schema_version")
		if err1 == nil && err2 == nil && gotPlatform >= wantPlatform && got >= want {
			return pool, nil
		}
		if time.Now().After(deadline) {
			pool.Close()
			return nil, fmt.Errorf("database schema is at %d/%d, this build needs %d/%d: run `<service> migrate` as the owner (errors: %v, %v)",
				gotPlatform, got, wantPlatform, want, err1, err2)
		}
		if log != nil {
			log.InfoContext(ctx, "waiting for the schema migrations", "have", got, "want", want)
		}
		select {
		case <-ctx.Done():
			pool.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func latestVersion(fsys fs.FS) (int64, error) {
	if fsys == nil {
		return 0, nil
	}
	var max int64
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if v, err := goose.NumericComponent(e.Name()); err == nil && strings.HasSuffix(e.Name(), ".sql") && v > max {
			max = v
		}
	}
	return max, nil
}

func currentVersion(ctx context.Context, pool *pgxpool.Pool, table string) (int64, error) {
	var v int64
	err := pool.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM "+pgx.Identifier{table}.Sanitize()+" WHERE is_applied").Scan(&v)
	return v, err
}
