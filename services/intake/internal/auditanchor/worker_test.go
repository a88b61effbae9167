// Protects audit anchoring end to end on a real database: one AuditAnchored
// per bank and round in the outbox (audit-events, no case, no personal data,
// a digest an auditor can recompute), nothing when nothing grew, and a worker
// that survives failed rounds and stops with its context.
package auditanchor_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/auditanchor"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

var customer = cases.Customer{Name: "张三丰", IDNumber: "110101199003071234", Phone: "13812345678"}

func keys(t *testing.T) cases.MACKeys {
	t.Helper()
	k, err := cases.ParseMACKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func open(t *testing.T) (*pgxpool.Pool, *pii.Sealer) {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sealer, err := pii.NewSealer(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{6}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return pool, sealer
}

func create(t *testing.T, store *casespg.Store, tenant, key string) cases.Case {
	t.Helper()
	b := cases.Branch{ID: "br-1", Region: "rg-1", Staff: []string{"cm-1"}, ComplaintManager: "cm-1"}
	c, err := cases.Prepare(cases.New{Branch: "br-1", Channel: "CHANNEL_ON_SITE", Category: "CATEGORY_FEE_DISPUTE",
		Severity: "SEVERITY_NORMAL", Summary: "fee charged twice", OccurredAt: now.Add(-time.Hour), Customer: customer},
		b, auth.Principal{Tenant: tenant, Subject: "core-banking", Role: auth.RoleBankSystem}, now)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := store.Create(context.Background(), c, key, []byte(key), func(context.Context, pgx.Tx, cases.Case) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return got
}

type event struct {
	topic, key string
	env        *eventsv1.Envelope
	raw        []byte
}

func outboxEvents(t *testing.T, pool *pgxpool.Pool) []event {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT topic, msg_key, payload FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (event, error) {
		var e event
		if err := r.Scan(&e.topic, &e.key, &e.raw); err != nil {
			return e, err
		}
		e.env = &eventsv1.Envelope{}
		return e, proto.Unmarshal(e.raw, e.env)
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestOnceAnnouncesEachBanksBatch(t *testing.T) {
	pool, sealer := open(t)
	k := keys(t)
	store := casespg.New(pool, sealer, casespg.WithMACKeys(k))
	create(t, store, "bank-a", "a1")
	create(t, store, "bank-a", "a2")
	create(t, store, "bank-b", "b1")
	at := now.Add(30 * time.Second)
	w := &auditanchor.Worker{Store: store, Now: func() time.Time { return at }}

	n, err := w.Once(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Once = %d, %v; want 3 chains anchored", n, err)
	}
	evs := outboxEvents(t, pool)
	if len(evs) != 2 {
		t.Fatalf("%d events, want one per bank", len(evs))
	}
	counts := map[string]int32{}
	for _, e := range evs {
		a := e.env.GetAuditAnchored()
		if e.topic != eventbus.TopicAuditEvents || e.key != "" || e.env.GetType() != "AuditAnchored" || e.env.GetProducer() != "intake" ||
			e.env.GetCaseId() != "" || a == nil || !a.GetAnchoredAt().AsTime().Equal(at) || !e.env.GetOccurredAt().AsTime().Equal(at) {
			t.Errorf("event on %s key %q: %v", e.topic, e.key, e.env)
			continue
		}
		counts[e.env.GetTenantId()] = a.GetCaseCount()
		for _, secret := range []string{customer.Name, customer.IDNumber, customer.Phone, "core-banking"} {
			if bytes.Contains(e.raw, []byte(secret)) {
				t.Errorf("the event carries %q", secret)
			}
		}
		// What an auditor does: recompute the digest from the batch's anchors.
		rows, err := pool.Query(context.Background(), `SELECT case_id::text, seq, mac FROM audit_anchors
			WHERE tenant_id = $1 AND id BETWEEN $2 AND $3`, e.env.GetTenantId(), a.GetFirstAnchorId(), a.GetLastAnchorId())
		if err != nil {
			t.Fatal(err)
		}
		heads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cases.AnchorHead, error) {
			var h cases.AnchorHead
			return h, r.Scan(&h.CaseID, &h.Seq, &h.Hash)
		})
		if err != nil {
			t.Fatal(err)
		}
		if int32(len(heads)) != a.GetCaseCount() || !k.VerifyAnchorDigest(a.GetMacKeyId(), e.env.GetTenantId(), at, heads, a.GetDigest()) {
			t.Errorf("%s: digest does not match its %d anchors (count %d)", e.env.GetTenantId(), len(heads), a.GetCaseCount())
		}
	}
	if counts["bank-a"] != 2 || counts["bank-b"] != 1 {
		t.Errorf("case counts %v, want bank-a 2 and bank-b 1", counts)
	}

	if n, err := w.Once(context.Background()); err != nil || n != 0 {
		t.Errorf("a round with nothing grown: %d, %v", n, err)
	}
	if evs := outboxEvents(t, pool); len(evs) != 2 {
		t.Errorf("a round with nothing grown announced something: %d events", len(evs))
	}
}

// syncBuffer is a log sink safe for the worker's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunAnchorsEveryIntervalAndStopsWithItsContext(t *testing.T) {
	pool, sealer := open(t)
	store := casespg.New(pool, sealer, casespg.WithMACKeys(keys(t)))
	create(t, store, "bank-a", "a1")
	var logs syncBuffer
	w := &auditanchor.Worker{Store: store, Interval: 10 * time.Millisecond, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	waitFor(t, "the first anchor", func() bool { return count(t, pool, "audit_anchors") == 1 })
	create(t, store, "bank-a", "a2")
	waitFor(t, "the second case's anchor", func() bool { return count(t, pool, "audit_anchors") == 2 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after its context ended, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	if logs.String() != "" {
		t.Errorf("rounds logged: %s", logs.String())
	}
}

func TestAFailedRoundIsLoggedAndRetried(t *testing.T) {
	pool, sealer := open(t)
	unkeyed := casespg.New(pool, sealer) // every round fails: no MAC key
	var logs syncBuffer
	w := &auditanchor.Worker{Store: unkeyed, Interval: 10 * time.Millisecond, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, "two failed rounds logged", func() bool { return strings.Count(logs.String(), "audit anchoring failed") >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil: a failed round must not stop the service", err)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
