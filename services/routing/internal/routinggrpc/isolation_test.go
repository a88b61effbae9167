// Protects the wall between banks in routing's database: connected as its
// app role, a query that forgets its bank filter sees only the caller's
// bank's org tree and assignments, and the role cannot run DDL.
package routinggrpc_test

import (
	"context"
	"testing"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routinggrpc"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/migrations"
	"github.com/google/uuid"
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
		if _, err := srv.PutRoutingRules(ho, &routingv1.PutRoutingRulesRequest{Rules: []*routingv1.RoutingRule{
			{Name: "fraud", Categories: []string{"CATEGORY_SUSPECTED_FRAUD"}, OwnerRole: routingv1.Role_ROLE_COMPLIANCE}}}); err != nil {
			t.Fatalf("rules of %s: %v", tenant, err)
		}
		err := store.InTx(ctx, func(tx routing.Tx) error {
			_, err := tx.SaveNew(ctx, routing.Assignment{CaseID: uuid.NewString(), Tenant: tenant, Branch: "br-1",
				Owner: routing.Owner{Staff: "teller-1"}, FirstResponder: "teller-1", Reason: "registered", Kind: routing.KindAssign, At: t0},
				routing.Case{Severity: "SEVERITY_NORMAL"})
			return err
		})
		if err != nil {
			t.Fatalf("assignment of %s: %v", tenant, err)
		}
	})
	// The store's own queries, asked for another bank, find nothing.
	store := routingpg.New(pool)
	if _, err := store.Branch(pgdb.WithTenant(context.Background(), "bank-a"), "bank-b", "br-1"); err == nil {
		t.Error("bank-a's connection read bank-b's branch")
	}
}
