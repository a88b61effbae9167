package eventbus_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
)

// BenchmarkConsume measures how fast one consumer drains a backlog of b.N
// events spread over a topic's partitions: with one transaction per message
// (batch=1) or the default batches (batch=20), and a handler that does
// nothing (nop: what is measured is the consumer's own cost: fetch, the
// processed_events insert, the transaction, the offset commits) or one that
// also updates one of 8 rows every partition shares (hot: where batches
// contend for locks). Run with
//
//	go test ./eventbus -run '^$' -bench Consume -benchtime 3000x
//
// The test Postgres runs with fsync off and the test broker in memory, so
// "fast" is the consumer's ceiling. With EVENTBUS_BENCH_DURABLE=1 the
// "durable" runs add a Postgres of their own with fsync on and a broker
// syncing every write to disk, as the dev stack's are: that is where
// per-message commits cost what they cost in the dev stack.
func BenchmarkConsume(b *testing.B) {
	setups := []string{"fast"}
	var durablePG *localinfra.Postgres
	if os.Getenv("EVENTBUS_BENCH_DURABLE") == "1" {
		setups = append(setups, "durable")
		port, err := localinfra.FreePort()
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		// Running as root, initdb runs as the postgres user, who must reach the dir.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			b.Fatal(err)
		}
		durablePG, err = localinfra.StartPostgresWithOptions(context.Background(), filepath.Join(dir, "pg"), port, localinfra.PostgresOptions{})
		if err != nil {
			b.Fatalf("start a durable Postgres: %v", err)
		}
		b.Cleanup(func() { _ = durablePG.Stop(context.Background()) })
	}
	type run struct {
		partitions, batch int
		handler           string // "nop", or "hot": every event also updates one of 8 shared rows
	}
	var runs []run
	for _, p := range []int{1, 4, 8} {
		runs = append(runs, run{p, 1, "nop"}, run{p, 20, "nop"})
	}
	runs = append(runs, run{8, 1, "hot"}, run{8, 20, "hot"})
	for _, setup := range setups {
		for _, r := range runs {
			b.Run(fmt.Sprintf("%s/partitions=%d/batch=%d/handler=%s", setup, r.partitions, r.batch, r.handler), func(b *testing.B) {
				o := busOptions{partitions: r.partitions, poolConns: 16}
				if setup == "durable" {
					o.database = durableDatabase(b, durablePG)
					broker, err := localinfra.StartBroker(b.TempDir(), 0, r.partitions)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(broker.Close)
					o.broker = broker.Addr()
				}
				benchConsume(b, newBusWith(b, o), r.batch, r.handler == "hot")
			})
		}
	}
}

var benchDBs atomic.Int64

// durableDatabase creates an empty database on pg for b.
func durableDatabase(b *testing.B, pg *localinfra.Postgres) string {
	b.Helper()
	conn, err := pgx.Connect(context.Background(), pg.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("bench_%d", benchDBs.Add(1))
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	return pg.URL(name)
}

func benchConsume(b *testing.B, bus *bus, batch int, hot bool) {
	h := func(context.Context, pgx.Tx, *eventsv1.Envelope) error { return nil }
	if hot {
		// Like a per-branch counter or a staff member's last assignment:
		// rows that events of many cases, on any partition, update. In a
		// batch they are locked in no particular order.
		if _, err := bus.pool.Exec(bus.ctx, `CREATE TABLE hot (k int PRIMARY KEY, n bigint NOT NULL);
			INSERT INTO hot SELECT k, 0 FROM generate_series(0, 7) k`); err != nil {
			b.Fatal(err)
		}
		h = func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
			_, err := tx.Exec(ctx, `UPDATE hot SET n = n + 1 WHERE k = $1`, int(env.GetCaseId()[0])%8)
			return err
		}
	}
	ctx, cancel := context.WithCancel(bus.ctx)
	c := &eventbus.Consumer{Group: bus.group, Topics: []string{bus.topic}, Brokers: []string{bus.broker}, Pool: bus.pool,
		Handle: h, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBatch: batch}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
	}()
	w := &kafka.Writer{Addr: kafka.TCP(bus.broker), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond, BatchSize: 1000, Transport: &kafka.Transport{}}
	defer w.Close()
	publish := func(n int) {
		msgs := make([]kafka.Message, 0, n)
		for range n {
			env := envelope(uuid.NewString())
			msgs = append(msgs, kafka.Message{Topic: bus.topic, Key: []byte(env.GetCaseId()), Value: encode(b, env)})
		}
		if err := w.WriteMessages(bus.ctx, msgs...); err != nil {
			b.Fatalf("publish: %v", err)
		}
	}
	count := func() int {
		var n int
		if err := bus.pool.QueryRow(bus.ctx, `SELECT count(*) FROM processed_events`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	wait := func(n int) {
		deadline := time.Now().Add(5 * time.Minute)
		for count() < n {
			if time.Now().After(deadline) {
				b.Fatalf("timed out: %d of %d events handled", count(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Warm up: the group is joined and every partition is being fetched.
	const warm = 64
	publish(warm)
	wait(warm)

	b.ResetTimer()
	start := time.Now()
	publish(b.N)
	b.ReportMetric(time.Since(start).Seconds()*1000, "publish-ms")
	wait(warm + b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
