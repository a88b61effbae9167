package reportkafka_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
)

// BenchmarkIngest measures how fast reporting takes in a backlog of b.N
// events of every topic (creations, deadlines, assignments, warnings,
// breaches, acknowledgments, answers, return visits, closures) through the
// platform's consumer with the service's defaults, while the rollup worker
// runs beside it as in the service, and how long the rollups then take to
// catch up. Run with
//
//	go test ./internal/reportkafka -run '^$' -bench Ingest -benchtime 100000x
//
// REPORTING_BENCH_BATCH and REPORTING_BENCH_WORKERS set the consumer's
// MaxBatch and Workers (KAFKA_CONSUMER_BATCH and KAFKA_CONSUMER_WORKERS of
// the service). The test Postgres runs with fsync off; REPORTING_BENCH_DATABASE_URL names
// an empty database of a durable Postgres to measure against instead.
func BenchmarkIngest(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := os.Getenv("REPORTING_BENCH_DATABASE_URL")
	if url == "" {
		url = testinfra.NewDatabase(b)
	}
	pool, err := pgdb.Open(ctx, url, migrations.FS, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	brokers := []string{testinfra.Brokers(b)}
	topic := map[string]string{}
	var topics []string
	for _, base := range reportkafka.Topics {
		topic[base] = testinfra.NewTopicName(b, base)
		topics = append(topics, topic[base])
	}
	if err := eventbus.EnsureTopics(ctx, brokers, 8, topics...); err != nil {
		b.Fatal(err)
	}
	var evs []published
	for cases := b.N/7 + 1; len(evs) < b.N; cases *= 2 {
		evs = history(cases)
	}
	evs = evs[:b.N]
	writer := eventbus.NewWriter(brokers)
	defer func() { _ = writer.Close() }()
	msgs := make([]kafka.Message, 0, 1000)
	for i, e := range evs {
		v, err := proto.Marshal(e.env)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Topic: topic[e.topic], Key: []byte(e.env.GetCaseId()), Value: v})
		if len(msgs) == cap(msgs) || i == len(evs)-1 {
			for attempt := 0; ; attempt++ {
				if err := writer.WriteMessages(ctx, msgs...); err == nil {
					break
				} else if attempt == 50 {
					b.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			msgs = msgs[:0]
		}
	}
	store := &reportpg.Store{Pool: pool}
	h, err := reportkafka.NewHandler(store, func() time.Time { return t0 })
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	consumer := &eventbus.Consumer{Group: testinfra.NewTopicName(b, reportkafka.Group), Topics: topics, Brokers: brokers,
		Pool: pool, Handle: h.Handle, HandleBatch: h.HandleBatch, AfterCommit: h.AfterCommit, Log: log, DeadLetters: writer,
		MaxBatch: envInt(b, "REPORTING_BENCH_BATCH"), Workers: envInt(b, "REPORTING_BENCH_WORKERS")}
	b.ResetTimer()
	start := time.Now()
	go func() { _ = consumer.Run(ctx) }()
	go store.RunRollups(ctx, time.Second, func(err error) { b.Log(err) })
	count := func(sql string, args ...any) int {
		var n int
		if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	// Polled four times a second: counting costs Postgres time the
	// consumer would otherwise have.
	for count(`SELECT count(*) FROM processed_events WHERE consumer = $1`, consumer.Group) < len(evs) {
		time.Sleep(250 * time.Millisecond)
	}
	ingest := time.Since(start)
	for count(`SELECT count(*) FROM rollup_queue`) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	rolled := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(len(evs))/ingest.Seconds(), "events/s")
	b.ReportMetric((rolled - ingest).Seconds(), "rollup-lag-s")
	b.ReportMetric(0, "ns/op")
}

// envInt is the integer in environment variable name, 0 when unset.
func envInt(b *testing.B, name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}
