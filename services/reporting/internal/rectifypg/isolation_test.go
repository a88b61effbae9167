// Protects the wall between banks in the rectification tables: connected as
// reporting's app role, a query without a bank filter sees only the
// caller's bank's notices, cases, history and reminders, a context without
// a bank sees none, and the store finds no other bank's notice.
package rectifypg_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg/rectifypgtest"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
)

func TestRectificationTablesKeepBanksApart(t *testing.T) {
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	ctx := context.Background()
	pool, err := pgdb.Connect(ctx, db.AppURL, migrations.FS, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := &rectifypg.Store{Pool: pool}
	a := pgdb.WithTenant(ctx, "bank-a")
	idA := rectifypgtest.Seed(a, t, pool, "bank-a")
	idB := rectifypgtest.Seed(pgdb.WithTenant(ctx, "bank-b"), t, pool, "bank-b")

	for _, tb := range []string{"rectification_notices", "rectification_notice_cases", "rectification_notice_history", "rectification_reminders"} {
		var mine, others, none int
		if err := pool.QueryRow(a, "SELECT count(*) FILTER (WHERE tenant_id = 'bank-a'), count(*) FILTER (WHERE tenant_id <> 'bank-a') FROM "+tb).Scan(&mine, &others); err != nil {
			t.Fatal(err)
		}
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tb).Scan(&none); err != nil {
			t.Fatal(err)
		}
		if mine != 1 || others != 0 || none != 0 {
			t.Errorf("%s: bank-a sees %d of its rows and %d of others; no bank sees %d; want 1, 0, 0", tb, mine, others, none)
		}
		// Refused by the policy's check, or by the grants on append-only tables.
		if _, err := pool.Exec(a, "UPDATE "+tb+" SET tenant_id = 'bank-b' WHERE tenant_id = 'bank-a'"); err == nil {
			t.Errorf("%s: bank-a moved its rows to bank-b", tb)
		}
	}
	// The store, asked with bank-a's principal for bank-b's notice, finds nothing.
	ho := auth.WithPrincipal(ctx, auth.Principal{Tenant: "bank-a", Subject: "ho", Role: auth.RoleHeadOffice})
	if _, err := st.Get(ho, "bank-b", idB); !errors.Is(err, rectify.ErrNotFound) {
		t.Errorf("bank-a's request reading bank-b's notice: %v, want not found", err)
	}
	if _, err := st.Get(ho, "bank-a", idA); err != nil {
		t.Errorf("bank-a reading its own: %v", err)
	}
}
