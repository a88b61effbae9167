// Protects routing's org tree import: repeatable, updating in place, all-or-nothing, and refusing branches of unknown regions.
package routingpg_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/migrations"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

func open(t *testing.T) (*pgxpool.Pool, *routingpg.Store) {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool, routingpg.New(pool)
}

var (
	regions  = []routingpg.Region{{ID: "rg-1", Name: "East"}, {ID: "rg-2", Name: "West"}}
	branches = []routing.Branch{
		{ID: "br-1", Region: "rg-1", Name: "Nanjing Road", TimeZone: "Asia/Shanghai", CalendarID: "cn"},
		{ID: "br-2", Region: "rg-2", Name: "Chengdu Main", TimeZone: "Asia/Shanghai", CalendarID: "cn"},
	}
	staff = []routing.Staff{
		{ID: "teller-1", Name: "Li", Role: routing.RoleTeller, Branch: "br-1", Region: "rg-1", AuthorityLevel: 1},
		{ID: "cm-1", Name: "Wang", Role: routing.RoleComplaintManager, Branch: "br-1", Region: "rg-1", AuthorityLevel: 2},
		{ID: "teller-2", Name: "Zhao", Role: routing.RoleTeller, Branch: "br-2", Region: "rg-2", AuthorityLevel: 1},
	}
)

// snapshot is every org row of the database, in a stable order.
func snapshot(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT row_to_json(r)::text FROM regions r ORDER BY tenant_id, id`,
		`SELECT row_to_json(b)::text FROM branches b ORDER BY tenant_id, id`,
		`SELECT row_to_json(s)::text FROM staff s ORDER BY tenant_id, id`,
	} {
		rows, err := pool.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestImportOrgTwiceGivesTheSameRows(t *testing.T) {
	pool, store := open(t)
	ctx := context.Background()
	if err := store.ImportOrg(ctx, "bank-a", regions, branches, staff); err != nil {
		t.Fatal(err)
	}
	first := snapshot(t, pool)
	if len(first) != len(regions)+len(branches)+len(staff) {
		t.Fatalf("%d rows after import, want %d: %v", len(first), len(regions)+len(branches)+len(staff), first)
	}
	if err := store.ImportOrg(ctx, "bank-a", regions, branches, staff); err != nil {
		t.Fatal(err)
	}
	if second := snapshot(t, pool); !slices.Equal(first, second) {
		t.Errorf("second import changed rows:\nfirst  %v\nsecond %v", first, second)
	}
}

func TestImportOrgUpdatesInPlace(t *testing.T) {
	_, store := open(t)
	ctx := context.Background()
	if err := store.ImportOrg(ctx, "bank-a", regions, branches, staff); err != nil {
		t.Fatal(err)
	}
	moved := slices.Clone(branches)
	moved[0].Name, moved[0].Region, moved[0].TimeZone = "Bund", "rg-2", "Asia/Urumqi"
	promoted := slices.Clone(staff)
	promoted[0].Role, promoted[0].AuthorityLevel = routing.RoleLobbyManager, 2
	if err := store.ImportOrg(ctx, "bank-a", nil, moved[:1], promoted[:1]); err != nil {
		t.Fatal(err)
	}
	b, err := store.Branch(ctx, "bank-a", "br-1")
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "Bund" || b.Region != "rg-2" || b.TimeZone != "Asia/Urumqi" {
		t.Errorf("branch not updated: %+v", b)
	}
	tests := []struct {
		name, id, role string
		level          int
	}{
		{"the re-imported teller has the new role", "teller-1", routing.RoleLobbyManager, 2},
		{"staff left out of the import are kept", "cm-1", routing.RoleComplaintManager, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := slices.IndexFunc(b.Staff, func(s routing.Staff) bool { return s.ID == tt.id })
			if i < 0 {
				t.Fatalf("%s not in branch staff %+v", tt.id, b.Staff)
			}
			if s := b.Staff[i]; s.Role != tt.role || s.AuthorityLevel != tt.level || !s.Active {
				t.Errorf("staff %+v, want role %s level %d active", s, tt.role, tt.level)
			}
		})
	}
}

func TestImportOrgWithBranchOfUnknownRegionChangesNothing(t *testing.T) {
	pool, store := open(t)
	ctx := context.Background()
	if err := store.ImportOrg(ctx, "bank-a", regions, branches, staff); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, pool)
	err := store.ImportOrg(ctx, "bank-a",
		[]routingpg.Region{{ID: "rg-3", Name: "North"}},
		[]routing.Branch{{ID: "br-3", Region: "rg-3", Name: "Harbin", TimeZone: "Asia/Shanghai", CalendarID: "cn"},
			{ID: "br-4", Region: "rg-nowhere", Name: "Atlantis", TimeZone: "Asia/Shanghai", CalendarID: "cn"}},
		[]routing.Staff{{ID: "teller-3", Name: "Sun", Role: routing.RoleTeller, Branch: "br-3", Region: "rg-3", AuthorityLevel: 1}})
	if !errors.Is(err, routingpg.ErrNotFound) {
		t.Fatalf("err = %v, want it to wrap routingpg.ErrNotFound", err)
	}
	if after := snapshot(t, pool); !slices.Equal(before, after) {
		t.Errorf("a failed import left rows behind:\nbefore %v\nafter  %v", before, after)
	}
	// Regions are per bank: another bank's rg-1 does not make bank-b's branch valid.
	err = store.ImportOrg(ctx, "bank-b", nil, []routing.Branch{{ID: "br-1", Region: "rg-1", Name: "x", TimeZone: "Asia/Shanghai", CalendarID: "cn"}}, nil)
	if !errors.Is(err, routingpg.ErrNotFound) {
		t.Errorf("bank-b branch in bank-a's region: err = %v, want routingpg.ErrNotFound", err)
	}
}

func TestBranchOfAnotherBankIsNotFound(t *testing.T) {
	_, store := open(t)
	ctx := context.Background()
	if err := store.ImportOrg(ctx, "bank-a", regions, branches, staff); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Branch(ctx, "bank-b", "br-1"); !errors.Is(err, routingpg.ErrNotFound) {
		t.Errorf("err = %v, want routingpg.ErrNotFound", err)
	}
}
