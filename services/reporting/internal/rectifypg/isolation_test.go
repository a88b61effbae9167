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
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/google/uuid"
)

// seedNotice writes one notice of tenant through the store, with its case,
// its issue in the history and an overdue reminder, as the reporting
// database isolation test seeds every tenant-scoped table.
func seedNotice(ctx context.Context, t *testing.T, st *rectifypg.Store, tenant string) string {
	t.Helper()
	id := uuid.NewString()
	n := rectify.Notice{TenantID: tenant, ID: id, BranchID: "b1", RegionID: "r1", Fault: "整改", CaseIDs: []string{"c-1"},
		DueDate: "2026-03-11", DueAt: time.Date(2026, 3, 11, 16, 0, 0, 0, time.UTC), Status: rectify.StatusIssued,
		IssuedBy: "ho", IssuerRole: auth.RoleHeadOffice, IssuedAt: t0,
		History: []rectify.HistoryEntry{{Action: rectify.ActionIssue, ActorID: "ho", ActorRole: auth.RoleHeadOffice, At: t0, To: rectify.StatusIssued}}}
	if err := st.Create(ctx, n); err != nil {
		t.Fatalf("create %s's notice: %v", tenant, err)
	}
	if _, err := st.SendReminders(ctx, t0.Add(72*time.Hour), 0, 10, func(rectify.Notice) (rectify.Reminder, bool) {
		return rectify.ReminderOverdue, true
	}); err != nil {
		t.Fatalf("remind %s: %v", tenant, err)
	}
	return id
}

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
	idA := seedNotice(a, t, st, "bank-a")
	idB := seedNotice(pgdb.WithTenant(ctx, "bank-b"), t, st, "bank-b")

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
