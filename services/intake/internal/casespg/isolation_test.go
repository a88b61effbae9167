// Protects the wall between banks in intake's database: connected as its
// app role, a query that forgets its bank filter sees only the caller's
// bank's cases, keys, case numbers, audit trails and anchors; the role can
// neither rewrite nor delete audit records, nor run DDL.
package casespg_test

import (
	"context"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestIntakeDatabaseKeepsBanksApart(t *testing.T) {
	at := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	var bankB cases.Case
	var store *casespg.Store
	testinfra.CheckTenantIsolation(t, migrations.FS, func(ctx context.Context, pool *pgxpool.Pool, tenant string) {
		store = casespg.New(pool, newSealer(t, 1), casespg.WithMACKeys(macKeys(t, "k1:"+macKey(0x11))))
		noop := func(context.Context, pgx.Tx, cases.Case) error { return nil }
		// Two complaints of one customer: a repeat, linked.
		earlier := prepare(t, tenant, at.Add(-time.Hour))
		earlier.CustomerKey = []byte("customer-key-" + tenant)
		if _, _, err := store.Create(ctx, earlier, "key-0", []byte("h0"), noop); err != nil {
			t.Fatalf("create a case of %s: %v", tenant, err)
		}
		next := prepare(t, tenant, at)
		next.CustomerKey = earlier.CustomerKey
		c, _, err := store.Create(ctx, next, "key-1", []byte("h"), noop)
		if err != nil {
			t.Fatalf("create a case of %s: %v", tenant, err)
		}
		if !c.Repeat {
			t.Fatalf("the second complaint of the customer is not a repeat")
		}
		if tenant == "bank-b" {
			bankB = c
		}
		// Anchoring (background work, here confined to the one bank so it
		// leaves the other's queue alone) leaves an anchor; the pending
		// queue fills again with a read of personal data.
		if _, err := store.AnchorHeads(ctx, at, func(context.Context, pgx.Tx, cases.AnchorBatch) error { return nil }); err != nil {
			t.Fatalf("anchor: %v", err)
		}
		if err := store.PutSettings(ctx, tenant, cases.Policy{CompensationApprovalFen: 1000, OccurredHorizon: 30 * 24 * time.Hour}, "ho", at); err != nil {
			t.Fatalf("settings of %s: %v", tenant, err)
		}
		if err := store.RecordAccess(ctx, c, "notification", "notify customer", at.Add(time.Minute)); err != nil {
			t.Fatalf("record a read: %v", err)
		}
	})
	// The store's own lookups, with bank-a's context, find nothing of bank-b.
	a := pgdb.WithTenant(context.Background(), "bank-a")
	if _, err := store.GetAnyTenant(a, bankB.ID); err == nil {
		t.Error("bank-a's context read bank-b's case by id")
	}
	if p, set, err := store.Settings(a, "bank-b"); err != nil || set || p != cases.DefaultPolicy {
		t.Errorf("bank-a's context read bank-b's settings: %+v %v %v", p, set, err)
	}
	if v, err := store.VerifyAudit(a, bankB.ID); err == nil && v.Entries > 0 {
		t.Errorf("bank-a's context verified bank-b's trail of %d entries", v.Entries)
	}
}
