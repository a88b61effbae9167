package routinggrpc_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
)

// seedOpen puts n open cases of br-1 in Postgres (owned by the 50
// complaint managers in turn, or waiting in their role queue) and rebuilds
// the live queues from them.
func (l *ladder) seedOpen(n int, roleQueue bool) {
	l.t.Helper()
	ctx := context.Background()
	owner, role := `'cm-' || lpad((g % 50)::text, 2, '0')`, `''`
	if roleQueue {
		owner, role = `''`, `'complaint_manager'`
	}
	if _, err := l.pool.Exec(ctx, `INSERT INTO assignments (case_id, tenant_id, branch_id, region_id, owner_id, owner_role,
		first_responder_id, level, severity, category, pickup_pending, enqueued_at, updated_at, answer_due_at)
		SELECT gen_random_uuid(), 'bank-a', 'br-1', 'rg-1', `+owner+`, `+role+`, 'teller-1', 'complaint_manager',
		       (ARRAY['SEVERITY_NORMAL','SEVERITY_COMPLEX','SEVERITY_MAJOR'])[1 + g % 3], 'CATEGORY_PROCESSING_DELAY', $2,
		       $1::timestamptz + g * interval '1 second', $1::timestamptz, $1::timestamptz + (g % 977) * interval '1 minute'
		FROM generate_series(1, $3::int) g`, t0, roleQueue, n); err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.queues.RebuildTenant(ctx, "bank-a", func(fn func(routing.Queued) error) error {
		return l.srv.Store.OpenAssignments(ctx, "bank-a", fn)
	}); err != nil {
		l.t.Fatal(err)
	}
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkQueuePage reads pages of 100 of a branch queue of 10,000 open
// cases, walking it with the cursor, through the server (auth, Postgres
// branch check, Redis page and counts). Target: p99 under 20 ms.
//
//	cd services/routing && go test ./internal/routinggrpc -run '^$' -bench QueuePage -benchtime 2000x
func BenchmarkQueuePage(b *testing.B) {
	l := newLadder(b)
	l.seedOpen(10000, false)
	ctx := as(headOffice)
	lat := make([]time.Duration, 0, b.N)
	token := ""
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp, err := l.srv.GetQueue(ctx, &routingv1.GetQueueRequest{BranchId: "br-1", PageSize: 100, PageToken: token})
		lat = append(lat, time.Since(start))
		if err != nil || resp.GetTotal() != 10000 || len(resp.GetEntries()) == 0 {
			b.Fatalf("page: %v %v", err, resp.GetTotal())
		}
		token = resp.GetNextPageToken()
	}
	b.StopTimer()
	report(b, lat)
}

// BenchmarkClaim claims cases from a complaint-manager role queue of
// 10,000 open cases at one branch, one after the other by the 50 complaint
// managers in turn. Target: p99 under 20 ms.
//
//	cd services/routing && go test ./internal/routinggrpc -run '^$' -bench Claim -benchtime 2000x
func BenchmarkClaim(b *testing.B) {
	l := newLadder(b)
	l.seedOpen(10000+b.N, true)
	ids := make([]string, 0, b.N)
	rows, err := l.pool.Query(context.Background(), `SELECT case_id FROM assignments ORDER BY case_id LIMIT $1`, b.N)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		who := as(staffP(fmt.Sprintf("cm-%02d", i%claimers), "complaint_manager", "br-1", "rg-1"))
		start := time.Now()
		_, err := l.srv.ClaimCase(who, &routingv1.ClaimCaseRequest{CaseId: ids[i]})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	report(b, lat)
}
