// Protects the wall between banks in reporting's database: connected as its
// app role, a query that forgets its bank filter sees only the caller's
// bank's cases, a summary for a bank counts that bank's cases only, the
// store's own lookups of another bank's case find nothing, and the role
// cannot run DDL.
package reportpg_test

import (
	"context"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg/rectifypgtest"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestReportingDatabaseKeepsBanksApart(t *testing.T) {
	// Bank-a has two cases, bank-b three, all in a branch both banks call b1.
	perBank := map[string]int{"bank-a": 2, "bank-b": 3}
	cases := map[string][]string{} // tenant → its case ids
	pool := testinfra.CheckTenantIsolation(t, migrations.FS, func(ctx context.Context, pool *pgxpool.Pool, tenant string) {
		// The bank's rectification notices, their cases, history and reminders.
		defer rectifypgtest.Seed(ctx, t, pool, tenant)
		h, err := reportkafka.NewHandler(&reportpg.Store{Pool: pool}, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		for i := range perBank[tenant] {
			id := uuid.NewString()
			env := envelope(tenant, id, created("b1", "r1", casesv1.Category_CATEGORY_FEE_DISPUTE, t0.Add(time.Duration(i)*time.Minute)))
			if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return h.Handle(ctx, tx, env) }); err != nil {
				t.Fatalf("CaseCreated of %s: %v", tenant, err)
			}
			cases[tenant] = append(cases[tenant], id)
		}
		if _, err := (&reportpg.Store{Pool: pool}).RefreshRollups(ctx, 100); err != nil {
			t.Fatalf("rollups of %s: %v", tenant, err)
		}
		// One more event, so the rollups' queue holds a row of each bank too.
		env := envelope(tenant, cases[tenant][0], assigned("t-2", t0.Add(time.Hour)))
		if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return h.Handle(ctx, tx, env) }); err != nil {
			t.Fatalf("assignment of %s: %v", tenant, err)
		}
	})

	store := &reportpg.Store{Pool: pool}
	reports := &report.Reports{Store: store, Now: func() time.Time { return now }}
	// Bank-a's head office, as its request reaches the store: the principal
	// in the context picks the bank the connection sees.
	ho := auth.Principal{Tenant: "bank-a", Subject: "ho", Role: auth.RoleHeadOffice}
	a := auth.WithPrincipal(context.Background(), ho)
	s, err := reports.Summary(a, ho, report.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 2 || s.ByBranch["b1"] != 2 || s.ByCategory["CATEGORY_FEE_DISPUTE"] != 2 {
		t.Errorf("bank-a's summary = %+v, want its 2 cases only (bank-b has 3 in a branch of the same name)", s)
	}
	// Bank-b's own summary still counts its three.
	hoB := auth.Principal{Tenant: "bank-b", Subject: "ho", Role: auth.RoleHeadOffice}
	if s, err := reports.Summary(auth.WithPrincipal(context.Background(), hoB), hoB, report.Filter{}); err != nil || s.Total != 3 {
		t.Errorf("bank-b's summary counts %d cases (err %v), want 3", s.Total, err)
	}

	// The store's own queries, asked on bank-a's connection for bank-b's
	// rows, find nothing.
	if s, err := store.Summarize(a, report.Query{Scope: report.Scope{Tenant: "bank-b"}}); err != nil || s.Total != 0 {
		t.Errorf("bank-a's connection counted %d cases of bank-b (err %v), want none", s.Total, err)
	}
	if _, ok, err := store.Case(a, "bank-b", cases["bank-b"][0]); err != nil || ok {
		t.Errorf("bank-a's connection read bank-b's case (found %v, err %v)", ok, err)
	}
	if _, known, err := store.BranchRegion(a, "bank-b", "b1"); err != nil || known {
		t.Errorf("bank-a's connection read the region of bank-b's branch (known %v, err %v)", known, err)
	}
	if _, ok, err := store.Case(a, "bank-a", cases["bank-a"][0]); err != nil || !ok {
		t.Errorf("bank-a cannot read its own case (found %v, err %v)", ok, err)
	}
}
