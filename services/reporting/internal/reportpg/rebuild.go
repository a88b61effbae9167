package reportpg

import (
	"context"
	"fmt"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RebuildSchema is where a rebuild builds fresh read-model tables;
// OldSchema is where the replaced ones go at the swap (dropped after).
const (
	RebuildSchema = "reporting_rebuild"
	OldSchema     = "reporting_old"
)

// ReadModelTables are the tables built only from events, which a rebuild
// replaces. processed_events goes with them: the rebuilt tables' event ids
// are the ones they hold (other consumers' rows are carried over).
var ReadModelTables = []string{"case_facts", "case_history", "case_rolled", "rollup_queue", "rollup_month", "rollup_keyed", "rollup_src", "rollup_keyed_delta", "processed_events"}

// PrepareRebuild creates RebuildSchema afresh with empty copies of the
// read-model tables (columns, defaults, checks and indexes). Run as the
// schema's owner.
func PrepareRebuild(ctx context.Context, owner *pgxpool.Pool) error {
	return pgdb.InTx(ctx, owner, func(tx pgx.Tx) error {
		stmts := []string{
			"DROP SCHEMA IF EXISTS " + RebuildSchema + " CASCADE",
			"CREATE SCHEMA " + RebuildSchema,
		}
		for _, t := range ReadModelTables {
			stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s.%s (LIKE public.%s INCLUDING ALL)", RebuildSchema, t, t))
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("prepare rebuild (%s): %w", s, err)
			}
		}
		return nil
	})
}

// RebuildPool opens a pool on url whose unqualified table names are the
// rebuild's (search_path RebuildSchema, public), so the store, the rollups
// and the consumer's processed_events work on the fresh tables unchanged.
func RebuildPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = RebuildSchema + ", public"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open rebuild pool: %w", err)
	}
	return pool, nil
}

// SwapRebuild replaces the live read-model tables with the rebuilt ones in
// one transaction on a connection of the rebuild pool. It first locks the
// live tables against writes (the live consumer waits), runs catchUp in the
// same transaction to apply what arrived since the replay's end to the
// rebuilt tables, carries other consumers' processed ids over, then moves
// the live tables to OldSchema and the rebuilt ones to public. The caller
// secures the new tables (pgdb.Secure) and may DropOld.
func SwapRebuild(ctx context.Context, rebuild *pgxpool.Pool, consumer string, catchUp func(pgx.Tx) error) error {
	return pgdb.InTx(ctx, rebuild, func(tx pgx.Tx) error {
		lock := "LOCK TABLE "
		for i, t := range ReadModelTables {
			if i > 0 {
				lock += ", "
			}
			lock += "public." + t
		}
		if _, err := tx.Exec(ctx, lock+" IN EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock the live read model: %w", err)
		}
		if err := catchUp(tx); err != nil {
			return fmt.Errorf("catch up: %w", err)
		}
		stmts := []string{
			fmt.Sprintf("INSERT INTO %s.processed_events SELECT * FROM public.processed_events WHERE consumer <> '%s' ON CONFLICT DO NOTHING",
				RebuildSchema, consumer),
			"DROP SCHEMA IF EXISTS " + OldSchema + " CASCADE",
			"CREATE SCHEMA " + OldSchema,
		}
		for _, t := range ReadModelTables {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE public.%s SET SCHEMA %s", t, OldSchema))
		}
		for _, t := range ReadModelTables {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s.%s SET SCHEMA public", RebuildSchema, t))
		}
		stmts = append(stmts, "DROP SCHEMA "+RebuildSchema)
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("swap (%s): %w", s, err)
			}
		}
		return nil
	})
}

// DropOld drops the replaced tables.
func DropOld(ctx context.Context, owner *pgxpool.Pool) error {
	if _, err := owner.Exec(ctx, "DROP SCHEMA IF EXISTS "+OldSchema+" CASCADE"); err != nil {
		return fmt.Errorf("drop the replaced read model: %w", err)
	}
	return nil
}
