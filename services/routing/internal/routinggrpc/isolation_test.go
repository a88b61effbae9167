// Protects the wall between banks in routing's database: connected as its
// app role, a query that forgets its bank filter sees only the caller's
// bank's org tree and assignments, and the role cannot run DDL.
package routinggrpc_test

import (
	"context"
	"testing"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routinggrpc"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestRoutingDatabaseKeepsBanksApart(t *testing.T) {
	pool := testinfra.CheckTenantIsolation(t, migrations.FS, func(ctx context.Context, pool *pgxpool.Pool, tenant string) {
		store := routingpg.New(pool)
		srv := &routinggrpc.Server{Store: store}
		ho := auth.WithPrincipal(ctx, auth.Principal{Tenant: tenant, Subject: "ho", Role: auth.RoleHeadOffice})
		if _, err := srv.ImportOrg(ho, org()); err != nil {
			t.Fatalf("import org of %s: %v", tenant, err)
		}
		err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, err := store.SaveNew(ctx, tx, routing.Assignment{CaseID: uuid.NewString(), Tenant: tenant, Branch: "br-1", Owner: "teller-1", FirstResponder: "teller-1", Reason: "registered", At: t0})
			return err
		})
		if err != nil {
			t.Fatalf("assignment of %s: %v", tenant, err)
		}
	})
	// The store's own queries, asked for another bank, find nothing.
	store := routingpg.New(pool)
	if _, err := store.Branch(pgdb.WithTenant(context.Background(), "bank-a"), nil, "bank-b", "br-1"); err == nil {
		t.Error("bank-a's connection read bank-b's branch")
	}
}
