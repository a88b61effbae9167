// Protects schema start-up and transactions: migrations run once however often and however many replicas start, and InTx never commits half a change.
package pgdb_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

// serviceMigrations stands in for a service's own migrations directory.
var serviceMigrations = fstest.MapFS{
	"00001_cases.sql": {Data: []byte(`-- +goose Up
CREATE TABLE cases (id uuid PRIMARY KEY, branch_id text NOT NULL);
-- +goose Down
DROP TABLE cases;
`)},
	"00002_case_notes.sql": {Data: []byte(`-- +goose Up
CREATE TABLE case_notes (case_id uuid NOT NULL REFERENCES cases (id), note text NOT NULL);
-- +goose Down
DROP TABLE case_notes;
`)},
}

func open(t *testing.T, ctx context.Context, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(ctx, dsn, serviceMigrations, nil)
	if err != nil {
		t.Fatalf("pgdb.Open: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// applied counts each version recorded as applied in table.
func applied(t *testing.T, ctx context.Context, pool *pgxpool.Pool, table string) map[int64]int {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT version_id FROM `+pgx.Identifier{table}.Sanitize()+` WHERE is_applied AND version_id > 0`)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	out := map[int64]int{}
	for _, v := range got {
		out[v]++
	}
	return out
}

func checkSchema(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	for table, want := range map[string]map[int64]int{
		"platform_schema_version": {1: 1},
		"service_schema_version":  {1: 1, 2: 1},
	} {
		got := applied(t, ctx, pool, table)
		if len(got) != len(want) {
			t.Errorf("%s records versions %v, want %v", table, got, want)
		}
		for v, n := range want {
			if got[v] != n {
				t.Errorf("%s records version %d %d times, want %d", table, v, got[v], n)
			}
		}
	}
	for _, table := range []string{"outbox", "processed_events", "cases", "case_notes"} {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			t.Errorf("table %s is missing", table)
		}
	}
}

func TestOpeningAMigratedDatabaseAgainChangesNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := testinfra.NewDatabase(t)

	first := open(t, ctx, dsn)
	checkSchema(t, ctx, first)
	if _, err := first.Exec(ctx, `INSERT INTO cases (id, branch_id) VALUES ('0190d6f0-0000-7000-8000-000000000001', 'b1')`); err != nil {
		t.Fatal(err)
	}
	first.Close()

	tests := []struct {
		name string
		run  func(t *testing.T) *pgxpool.Pool
	}{
		{name: "a second Open applies nothing and keeps the data", run: func(t *testing.T) *pgxpool.Pool { return open(t, ctx, dsn) }},
		{name: "Migrate on its own applies nothing and keeps the data", run: func(t *testing.T) *pgxpool.Pool {
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			if err := pgdb.Migrate(ctx, pool, serviceMigrations, "service_schema_version", nil); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			return pool
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := tt.run(t)
			checkSchema(t, ctx, pool)
			var n int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("cases holds %d rows after reopening, want the 1 written before", n)
			}
		})
	}
}

func TestReplicasStartingTogetherAllMigrateOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas int
	}{
		{name: "two replicas opening a fresh database at once both succeed", replicas: 2},
		{name: "five replicas opening a fresh database at once all succeed", replicas: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dsn := testinfra.NewDatabase(t)
			pools := make([]*pgxpool.Pool, tt.replicas)
			errs := make([]error, tt.replicas)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range tt.replicas {
				wg.Go(func() {
					<-start
					pools[i], errs[i] = pgdb.Open(ctx, dsn, serviceMigrations, nil)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: Open: %v", i, err)
					continue
				}
				t.Cleanup(pools[i].Close)
			}
			if t.Failed() {
				return
			}
			checkSchema(t, ctx, pools[0])
		})
	}
}

func TestMigrateReportsABrokenMigration(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := testinfra.NewDatabase(t)
	broken := fstest.MapFS{
		"00001_ok.sql":     {Data: []byte("-- +goose Up\nCREATE TABLE ok (id int);\n")},
		"00002_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE broken (id int REFERENCES nowhere (id));\n")},
	}
	pool, err := pgdb.Open(ctx, dsn, broken, nil)
	if err == nil {
		pool.Close()
		t.Fatal("Open succeeded with a migration that cannot apply: the service would run against an older schema than its code")
	}
}

func TestInTxCommitsOnlyWhenFnSucceeds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := open(t, ctx, testinfra.NewDatabase(t))
	errRefused := errors.New("domain rule refused the change")

	tests := []struct {
		name      string
		fn        func(tx pgx.Tx) error
		wantErr   func(error) bool
		wantNotes int
	}{
		{
			name: "a function that returns nil commits every write",
			fn: func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO case_notes (case_id, note) VALUES ($1, 'a'), ($1, 'b')`, caseID)
				return err
			},
			wantErr:   func(err error) bool { return err == nil },
			wantNotes: 2,
		},
		{
			name: "a function that returns an error rolls back its writes and the error comes back unchanged",
			fn: func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO case_notes (case_id, note) VALUES ($1, 'a')`, caseID); err != nil {
					return err
				}
				return errRefused
			},
			wantErr:   func(err error) bool { return errors.Is(err, errRefused) },
			wantNotes: 0,
		},
		{
			name: "a failing statement after a good one rolls back both",
			fn: func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO case_notes (case_id, note) VALUES ($1, 'a')`, caseID); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO cases (id, branch_id) VALUES ($1, 'b1')`, caseID) // duplicate key
				return err
			},
			wantErr:   pgdb.IsUniqueViolation,
			wantNotes: 0,
		},
		{
			name: "a write that fails only at commit is reported and rolled back",
			fn: func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET CONSTRAINTS ALL DEFERRED`); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO deferred_notes (case_id) VALUES ('0190d6f0-0000-7000-8000-00000000ffff')`)
				return err
			},
			wantErr:   func(err error) bool { return err != nil },
			wantNotes: 0,
		},
	}
	if _, err := pool.Exec(ctx, `INSERT INTO cases (id, branch_id) VALUES ($1, 'b1')`, caseID); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE deferred_notes (case_id uuid REFERENCES cases (id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pool.Exec(ctx, `DELETE FROM case_notes; DELETE FROM deferred_notes`); err != nil {
				t.Fatal(err)
			}
			err := pgdb.InTx(ctx, pool, tt.fn)
			if !tt.wantErr(err) {
				t.Fatalf("InTx error = %v", err)
			}
			var notes, deferred int
			if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM case_notes), (SELECT count(*) FROM deferred_notes)`).Scan(&notes, &deferred); err != nil {
				t.Fatal(err)
			}
			if notes != tt.wantNotes || deferred != 0 {
				t.Errorf("after InTx: %d notes and %d deferred notes, want %d and 0", notes, deferred, tt.wantNotes)
			}
			if n := pool.Stat().AcquiredConns(); n != 0 {
				t.Errorf("%d connections still held after InTx returned", n)
			}
		})
	}
}

// A panic inside fn that a caller recovers (gRPC's recover interceptor
// does) must not leave the transaction open: it would hold its row locks
// and its pooled connection until the process dies.
func TestInTxRollsBackWhenFnPanics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), serviceMigrations, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Close waits for every held connection: with a leaked one it
		// would hang the binary instead of failing this test.
		if pool.Stat().AcquiredConns() == 0 {
			pool.Close()
		}
	})
	if _, err := pool.Exec(ctx, `INSERT INTO cases (id, branch_id) VALUES ($1, 'b1')`, caseID); err != nil {
		t.Fatal(err)
	}

	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		_ = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE cases SET branch_id = 'b2' WHERE id = $1`, caseID); err != nil {
				return err
			}
			panic("handler bug")
		})
	}()

	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d connections still held after the panic: the transaction was left open", n)
	}
	// The row lock must be free: a short lock_timeout turns a leaked
	// transaction into an error instead of a hang.
	lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
	defer lcancel()
	err = pgdb.InTx(lctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(lctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		_, err := tx.Exec(lctx, `UPDATE cases SET branch_id = 'b3' WHERE id = $1`, caseID)
		return err
	})
	if err != nil {
		t.Fatalf("updating the case after the panic: %v (the panicking transaction still holds its lock)", err)
	}
	var branch string
	if err := pool.QueryRow(ctx, `SELECT branch_id FROM cases WHERE id = $1`, caseID).Scan(&branch); err != nil {
		t.Fatal(err)
	}
	if branch != "b3" {
		t.Errorf("branch_id = %q, want b3", branch)
	}
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := open(t, ctx, testinfra.NewDatabase(t))
	if _, err := pool.Exec(ctx, `INSERT INTO cases (id, branch_id) VALUES ($1, 'b1')`, caseID); err != nil {
		t.Fatal(err)
	}
	_, dupErr := pool.Exec(ctx, `INSERT INTO cases (id, branch_id) VALUES ($1, 'b1')`, caseID)
	_, fkErr := pool.Exec(ctx, `INSERT INTO case_notes (case_id, note) VALUES ('0190d6f0-0000-7000-8000-00000000ffff', 'x')`)
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "a duplicate primary key is a unique violation", err: dupErr, want: true},
		{name: "a wrapped duplicate key is still a unique violation", err: errors.Join(errors.New("create case"), dupErr), want: true},
		{name: "a foreign-key violation is not", err: fkErr, want: false},
		{name: "a plain error is not", err: errors.New("23505"), want: false},
		{name: "nil is not", err: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pgdb.IsUniqueViolation(tt.err); got != tt.want {
				t.Errorf("IsUniqueViolation(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

const caseID = "0190d6f0-0000-7000-8000-000000000001"
