// Package rectifypgtest helps tests of reporting's database: Seed writes a
// row of one bank into every rectification table through the store, as the
// database isolation tests (testinfra.CheckTenantIsolation) need for every
// tenant-scoped table. Only tests import it.
package rectifypgtest

import (
	"context"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Seed writes one notice of tenant (to branch b1 of region r1, linking case
// c-1) with its history entry and an overdue reminder, through the store on
// pool, and returns its id. ctx must confine the pool to tenant (e.g.
// pgdb.WithTenant), as the isolation test's seed context does.
func Seed(ctx context.Context, t testing.TB, pool *pgxpool.Pool, tenant string) string {
	t.Helper()
	st := &rectifypg.Store{Pool: pool}
	issued := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	n := rectify.Notice{TenantID: tenant, ID: uuid.NewString(), BranchID: "b1", RegionID: "r1", Fault: "整改",
		CaseIDs: []string{"c-1"}, DueDate: "2026-03-11", DueAt: time.Date(2026, 3, 11, 16, 0, 0, 0, time.UTC),
		Status: rectify.StatusIssued, IssuedBy: "ho", IssuerRole: auth.RoleHeadOffice, IssuedAt: issued,
		History: []rectify.HistoryEntry{{Action: rectify.ActionIssue, ActorID: "ho", ActorRole: auth.RoleHeadOffice,
			At: issued, To: rectify.StatusIssued}}}
	if _, err := st.Create(ctx, n); err != nil {
		t.Fatalf("rectifypgtest: create %s's notice: %v", tenant, err)
	}
	if _, err := st.SendReminders(ctx, issued.Add(72*time.Hour), 0, 10, func(rectify.Notice) (rectify.Reminder, bool) {
		return rectify.ReminderOverdue, true
	}); err != nil {
		t.Fatalf("rectifypgtest: remind %s: %v", tenant, err)
	}
	return n.ID
}
