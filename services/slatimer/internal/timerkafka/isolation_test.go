// Protects the wall between banks in slatimer's database: connected as its
// app role, a query that forgets its bank filter sees only the caller's
// bank's SLA policy, deadlines and branch closures, the store's own lookups
// of another bank's rows find nothing, and the role cannot run DDL.
package timerkafka

import (
	"context"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestSlatimerDatabaseKeepsBanksApart(t *testing.T) {
	// Friday 2026-11-20 10:00 in Shanghai; the closure is of the Monday after.
	created := time.Date(2026, 11, 20, 10, 0, 0, 0, calendar.DefaultLocation())
	cases := map[string]string{} // tenant → its case's id
	pool := testinfra.CheckTenantIsolation(t, migrations.FS, func(ctx context.Context, pool *pgxpool.Pool, tenant string) {
		store := timerpg.New(pool)
		h := &Handler{Store: store, Calendars: &calendars.Registry{Store: store, Base: calendars.ChinaBase}}

		// The bank's own policy: two warnings only.
		p := sla.DefaultPolicy()
		p.WarningFractions = []float64{0.5, 0.8}
		if _, err := store.PutPolicy(ctx, tenant, "ho", p, created.Add(-time.Hour)); err != nil {
			t.Fatalf("policy of %s: %v", tenant, err)
		}

		// A closure of its branch br-1.
		err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, _, err := h.Calendars.CloseBranch(ctx, tx, calendars.Closure{Tenant: tenant, Branch: "br-1",
				From: calendar.MustParseDate("2026-11-23"), To: calendar.MustParseDate("2026-11-23"),
				Reason: "refurbishment", CreatedBy: "ho", CreatedAt: created.Add(-time.Hour)})
			return err
		})
		if err != nil {
			t.Fatalf("closure of %s: %v", tenant, err)
		}

		// A case created in that branch, armed as the consumer arms it.
		c := newCase{id: uuid.NewString(), tenant: tenant, branch: "br-1", region: "rg-1",
			category: casesv1.Category_CATEGORY_SYSTEM_FAILURE, severity: casesv1.Severity_SEVERITY_NORMAL,
			createdAt: created, timeZone: "Asia/Shanghai", calendarID: calendar.ChinaID}
		err = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return h.Handle(ctx, tx, c.envelope()) })
		if err != nil {
			t.Fatalf("arm the case of %s: %v", tenant, err)
		}
		ds, err := store.Deadlines(ctx, tenant, c.id)
		if err != nil || len(ds) == 0 {
			t.Fatalf("the case of %s has %d deadlines (%v), want some", tenant, len(ds), err)
		}
		cases[tenant] = c.id

		// An extension on record (regulatory_extensions), stored as
		// ExtendDeadline stores one (the store does not mind the kind).
		err = pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			d, ok, err := store.LockForExtension(ctx, tx, tenant, c.id, sla.KindResolution)
			if err != nil || !ok {
				t.Fatalf("lock the resolution limit of %s: %v %v", tenant, ok, err)
			}
			nd, err := sla.Recount(sla.Kind(d.Kind), d.Basis, chinaCalendar(t), d.StartedAt)
			if err != nil {
				return err
			}
			return store.Extend(ctx, tx, d.OpenDeadline, nd, 0, timerpg.Extension{Seq: 1, Days: 15, ApprovedBy: "ho",
				ApproverRole: "head_office", Reason: "seed", ExtendedAt: created})
		})
		if err != nil {
			t.Fatalf("extension of %s: %v", tenant, err)
		}
	})

	// The store's own queries, asked by bank-a for bank-b's rows, find nothing.
	store := timerpg.New(pool)
	a := pgdb.WithTenant(context.Background(), "bank-a")
	if ds, err := store.Deadlines(a, "bank-b", cases["bank-b"]); err != nil || len(ds) != 0 {
		t.Errorf("bank-a's connection read %d deadlines of bank-b's case (err %v), want none", len(ds), err)
	}
	if ds, err := store.Deadlines(a, "bank-a", cases["bank-b"]); err != nil || len(ds) != 0 {
		t.Errorf("bank-a's connection read %d deadlines of bank-b's case as its own (err %v), want none", len(ds), err)
	}
	if _, isDefault, err := store.Policy(a, nil, "bank-b"); err != nil || !isDefault {
		t.Errorf("bank-a's connection read bank-b's policy (default %v, err %v), want the default", isDefault, err)
	}
	if cs, err := store.Closures(a, nil, "bank-b", "br-1"); err != nil || len(cs) != 0 {
		t.Errorf("bank-a's connection read %d closures of bank-b's branch (err %v), want none", len(cs), err)
	}
	if vs, err := store.CaseDeadlineViews(a, "bank-b", cases["bank-b"]); err != nil || len(vs) != 0 {
		t.Errorf("bank-a's connection read %d deadline views of bank-b's case (err %v), want none", len(vs), err)
	}
	if vs, err := store.DueDeadlines(a, timerpg.DueQuery{Tenant: "bank-b", After: created.Add(-time.Hour),
		Until: created.AddDate(1, 0, 0), Limit: 10}); err != nil || len(vs) != 0 {
		t.Errorf("bank-a's connection listed %d due deadlines of bank-b (err %v), want none", len(vs), err)
	}
	// Bank-a still reads its own.
	if ds, err := store.Deadlines(a, "bank-a", cases["bank-a"]); err != nil || len(ds) == 0 {
		t.Errorf("bank-a reads %d deadlines of its own case (err %v), want some", len(ds), err)
	}
}
