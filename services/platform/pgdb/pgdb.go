// Package pgdb opens a service's Postgres pool (traced with otelpgx) and
// brings its schema up to date from numbered migrations embedded in the
// binary, so a service never runs against a schema older than its code.
// It also runs the platform's own tables (outbox, processed events) under a
// separate version table, so services keep their own numbering.
package pgdb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var platformMigrations embed.FS

// Open connects to url, waits until Postgres answers (it may still be
// starting), applies the platform migrations and then the service's own
// migrations found at the root of migrations, and puts row-level security
// on every tenant-scoped table. It is for the owner of the schema (the
// migrate command, tests); a service connects as its app role with Connect.
func Open(ctx context.Context, url string, migrations fs.FS, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := newPool(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	pm, err := fs.Sub(platformMigrations, "migrations")
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := Migrate(ctx, pool, pm, "platform_schema_version", log); err != nil {
		pool.Close()
		return nil, err
	}
	if migrations != nil {
		if err := Migrate(ctx, pool, migrations, "service_schema_version", log); err != nil {
			pool.Close()
			return nil, err
		}
	}
	if err := Secure(ctx, pool, ""); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func waitReady(ctx context.Context, pool *pgxpool.Pool) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := pool.Ping(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not reachable after 30s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Migrate applies every migration in fsys not yet recorded in versionTable.
// A Postgres advisory lock serialises replicas starting at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, versionTable string, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(versionTable)))
	if err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName(versionTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("load migrations for %s: %w", versionTable, err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations (%s): %w", versionTable, err)
	}
	for _, r := range res {
		if log != nil {
			log.InfoContext(ctx, "migration applied", "table", versionTable, "version", r.Source.Version, "path", r.Source.Path)
		}
	}
	return nil
}

func lockID(s string) int64 {
	var h int64 = 5381
	for _, c := range s {
		h = h*33 + int64(c)
	}
	return h
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) (err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// Unconditional, so a panic in fn (which gRPC's recover interceptor
	// turns into an answer) does not leave the transaction open, holding
	// its locks and its pooled connection; after Commit it is a no-op.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a Postgres unique-key violation.
func IsUniqueViolation(err error) bool {
	var pe interface{ SQLState() string }
	return errors.As(err, &pe) && pe.SQLState() == "23505"
}
