package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// scratchDB is the database the commit-rate probe creates and drops.
const scratchDB = "loadgen"

// pgRate is the raw commit rate of the stack's Postgres server.
type pgRate struct {
	PerSecond         float64
	Commits           int64
	Elapsed           time.Duration
	SynchronousCommit string // the server's setting, left as it is
	Fsync             string
}

// measureCommitRate creates the scratch database on the server of
// serverURL (the superuser's), a plain logged table in it, and has
// concurrency clients each insert one row per transaction (an autocommit
// INSERT: one round trip, committed durably as the server's
// synchronous_commit says) for d; then drops the database. It is what a
// case registration would cost if it were a single row and nothing else.
func measureCommitRate(ctx context.Context, serverURL string, concurrency int, d time.Duration) (pgRate, error) {
	var r pgRate
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return r, fmt.Errorf("connect to the Postgres server: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+scratchDB+" WITH (FORCE)"); err != nil {
		return r, fmt.Errorf("drop an old scratch database: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+scratchDB); err != nil {
		return r, fmt.Errorf("create the scratch database: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = admin.Exec(dctx, "DROP DATABASE IF EXISTS "+scratchDB+" WITH (FORCE)")
	}()
	u, err := databaseURL(serverURL, scratchDB)
	if err != nil {
		return r, err
	}
	setup, err := pgx.Connect(ctx, u)
	if err != nil {
		return r, err
	}
	defer setup.Close(context.WithoutCancel(ctx))
	if _, err := setup.Exec(ctx, `CREATE TABLE commits (
		id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		client  integer     NOT NULL,
		at      timestamptz NOT NULL DEFAULT now(),
		payload text        NOT NULL)`); err != nil {
		return r, fmt.Errorf("create the probe table: %w", err)
	}
	if err := setup.QueryRow(ctx, "SHOW synchronous_commit").Scan(&r.SynchronousCommit); err != nil {
		return r, err
	}
	if err := setup.QueryRow(ctx, "SHOW fsync").Scan(&r.Fsync); err != nil {
		return r, err
	}
	conns := make([]*pgx.Conn, concurrency)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	for i := range conns {
		if conns[i], err = pgx.Connect(ctx, u); err != nil {
			return r, err
		}
	}
	const insert = "INSERT INTO commits (client, payload) VALUES ($1, $2)"
	var commits atomic.Int64
	var firstErr error
	var once sync.Once
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			for runCtx.Err() == nil {
				if _, err := c.Exec(runCtx, insert, i, "a case-sized row of text, roughly"); err != nil {
					if runCtx.Err() == nil {
						once.Do(func() { firstErr = err })
					}
					return
				}
				commits.Add(1)
			}
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	if firstErr != nil && !errors.Is(firstErr, context.DeadlineExceeded) {
		return r, fmt.Errorf("probe insert: %w", firstErr)
	}
	r.Commits = commits.Load()
	r.PerSecond = perSecond(int(r.Commits), r.Elapsed)
	return r, nil
}
