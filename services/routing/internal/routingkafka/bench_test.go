package routingkafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// BenchmarkRoutingDecisions handles CaseCreated events as the consumer
// does (one transaction each: rules, staff loads, assignment, hand-over,
// outbox event, then the Redis queue write), from two goroutines, with
// 10,000 open cases already at the branch. Target: 1,000 decisions/s.
//
//	cd services/routing && go test ./internal/routingkafka -run '^$' -bench RoutingDecisions -benchtime 5000x
func BenchmarkRoutingDecisions(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `INSERT INTO assignments (case_id, tenant_id, branch_id, region_id, owner_id, first_responder_id,
		level, severity, enqueued_at, updated_at) SELECT gen_random_uuid(), 'bank-a', 'br-1', 'rg-1',
		(ARRAY['teller-1','cm-1'])[1 + g % 2], 'teller-1', 'first_receiver', 'SEVERITY_NORMAL', $1::timestamptz, $1::timestamptz
		FROM generate_series(1, 10000) g`, t0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			reporter := ""
			if uuid.New()[0]%2 == 0 {
				reporter = "teller-1"
			}
			env := caseCreated(uuid.NewString(), "br-1", reporter, t0)
			if err := pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error { return f.handler.Handle(ctx, tx, env) }); err != nil {
				b.Error(err)
				return
			}
			if err := f.handler.AfterCommit(ctx, env); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}
