// Protects migration 4: a bank's policy set before versions becomes its version 1, with the regulator's limit brought under the rules.
package timergrpc_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
)

// migrationsBefore is the service's migrations numbered below n.
func migrationsBefore(t *testing.T, n string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name >= n {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &fstest.MapFile{Data: b}
	}
	return out
}

func TestPoliciesSetBeforeVersionsBecomeVersionOneUnderTheRegulatorsRules(t *testing.T) {
	ctx := context.Background()
	dsn := testinfra.NewDatabase(t)
	old, err := pgdb.Open(ctx, dsn, migrationsBefore(t, "00004"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Stored policies as the service wrote them before (sla.Policy as JSON,
	// no channel, tier or calendar days yet).
	rule := func(kind, clock string, duration time.Duration, days int, category string) map[string]any {
		return map[string]any{"Kind": kind, "Clock": clock, "Duration": int64(duration), "WorkingDays": days, "Severity": "", "Category": category}
	}
	base := []map[string]any{
		rule("DEADLINE_KIND_ACKNOWLEDGE", "CLOCK_CALENDAR", time.Hour, 0, ""),
		rule("DEADLINE_KIND_FIRST_ANSWER", "CLOCK_WORKING_DAYS", 0, 2, ""),
		rule("DEADLINE_KIND_RESOLUTION", "CLOCK_WORKING_DAYS", 0, 7, ""),
	}
	with := func(extra ...map[string]any) []byte {
		b, err := json.Marshal(map[string]any{"Rules": append(append([]map[string]any{}, base...), extra...),
			"WarningFractions": []float64{0.5, 0.8}, "WorkHours": map[string]any{"Start": int64(9 * time.Hour), "End": int64(17 * time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	setAt := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	for tenant, policy := range map[string][]byte{
		"bank-15x24h":    with(rule("DEADLINE_KIND_REGULATORY_DECISION", "CLOCK_CALENDAR", 15*24*time.Hour, 0, "complaint")),
		"bank-ten-years": with(rule("DEADLINE_KIND_REGULATORY_DECISION", "CLOCK_CALENDAR", 10*365*24*time.Hour, 0, "complaint")),
		"bank-10-days":   with(rule("DEADLINE_KIND_REGULATORY_DECISION", "CLOCK_CALENDAR", 10*24*time.Hour+5*time.Hour, 0, "complaint")),
		"bank-8-wdays":   with(rule("DEADLINE_KIND_REGULATORY_DECISION", "CLOCK_WORKING_DAYS", 0, 8, "complaint")),
		"bank-dropped":   with(),
	} {
		if _, err := old.Exec(ctx, `INSERT INTO policies (tenant_id, policy, updated_at) VALUES ($1, $2, $3)`, tenant, policy, setAt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	pool, err := pgdb.Open(ctx, dsn, migrations.FS, nil)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(pool.Close)
	s := &timergrpc.Server{Store: timerpg.New(pool), Now: func() time.Time { return created }}
	tests := []struct {
		tenant string
		days   int32
	}{
		{"bank-15x24h", 15}, {"bank-ten-years", 15}, {"bank-10-days", 10}, {"bank-8-wdays", 8}, {"bank-dropped", 15},
	}
	for _, tt := range tests {
		t.Run("the policy of "+tt.tenant+" gets a regulatory limit of "+strconv.Itoa(int(tt.days))+" calendar days", func(t *testing.T) {
			ho := auth.Principal{Tenant: tt.tenant, Subject: "ho", Role: auth.RoleHeadOffice}
			got, err := s.GetPolicy(as(ho), &slatimerv1.GetPolicyRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if got.GetIsDefault() || got.GetVersion() != 1 || got.GetUpdatedBy() != "before policy versions" || !got.GetUpdatedAt().AsTime().Equal(setAt) {
				t.Fatalf("policy: default %v, version %d by %q at %v; want version 1 of before, set %v",
					got.GetIsDefault(), got.GetVersion(), got.GetUpdatedBy(), got.GetUpdatedAt().AsTime(), setAt)
			}
			var regs []*slatimerv1.PolicyRule
			for _, r := range got.GetPolicy().GetRules() {
				if r.GetKind() == slatimerv1.DeadlineKind_DEADLINE_KIND_REGULATORY_DECISION {
					regs = append(regs, r)
				}
			}
			if len(regs) != 1 || regs[0].GetClock() != slatimerv1.Clock_CLOCK_CALENDAR_DAYS || regs[0].GetWorkingDays() != tt.days ||
				regs[0].GetDuration() != nil || regs[0].GetCategory() != sla.CategoryComplaint {
				t.Fatalf("regulatory rules %v, want one of %d calendar days for complaints", regs, tt.days)
			}
			if len(got.GetPolicy().GetRules()) != 4 || got.GetPolicy().GetWarningFractions()[1] != 0.8 {
				t.Errorf("the rest of the policy changed: %v", got.GetPolicy())
			}
			// Put back as it is, it passes today's validation.
			if put, err := s.PutPolicy(as(ho), &slatimerv1.PutPolicyRequest{Policy: got.GetPolicy()}); err != nil || put.GetVersion() != 2 {
				t.Errorf("putting the migrated policy back: %v, %v; want version 2", put, err)
			}
		})
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'policies'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("policies table still there (%d, %v)", n, err)
	}
}
