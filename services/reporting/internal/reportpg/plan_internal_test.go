package reportpg

import (
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
)

// Which queries the rollups answer, and with which rows: the figures
// themselves are checked against the case facts in figures_test.go.
func TestRollupGroupReadsPairsOfACategoryAboveBranchLevel(t *testing.T) {
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{Zone: loc}
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
	tests := []struct {
		name      string
		q         report.Query
		g         report.Group
		ok        bool
		level     string
		dim       string
		val       string // "" when none
		first     string
		second    string
		part      int
		wantGroup string
	}{
		{name: "one dimension by branch", q: report.Query{Category: "C"}, g: report.GroupBranch, ok: true, level: "B", dim: "category", val: "C", wantGroup: "scope"},
		{name: "a category's channels at bank level", q: report.Query{Category: "C"}, g: report.GroupChannel, ok: true, level: "T", dim: "category|channel", first: "C", part: 2, wantGroup: "val"},
		{name: "a tier's categories in a region", q: report.Query{Scope: report.Scope{Region: "r1"}, Tier: "G"}, g: report.GroupCategory, ok: true, level: "R", dim: "category|customer_tier", second: "G", part: 1, wantGroup: "val"},
		{name: "a category and a severity by region", q: report.Query{Category: "C", Severity: "S"}, g: report.GroupRegion, ok: true, level: "R", dim: "category|severity", val: "C|S", wantGroup: "scope"},
		{name: "a category and a channel in whole months", q: report.Query{Category: "C", Channel: "X", From: march, To: march.AddDate(0, 1, 0)}, g: report.GroupNone, ok: true, level: "T", dim: "category|channel", val: "C|X"},
		{name: "one branch by region: its own rows", q: report.Query{Scope: report.Scope{Branch: "b1"}}, g: report.GroupRegion, ok: true, level: "B", wantGroup: "region"},
		{name: "a pair by branch: case facts", q: report.Query{Category: "C", Channel: "X"}, g: report.GroupBranch},
		{name: "a pair in one branch: case facts", q: report.Query{Scope: report.Scope{Branch: "b1"}, Category: "C"}, g: report.GroupChannel},
		{name: "two dimensions without a category: case facts", q: report.Query{Channel: "X"}, g: report.GroupTier},
		{name: "three dimensions: case facts", q: report.Query{Category: "C", Channel: "X"}, g: report.GroupTier},
		{name: "part of a month: case facts", q: report.Query{From: march.Add(time.Hour)}, g: report.GroupNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := s.rollupGroup(tt.q, tt.g)
			if ok != tt.ok {
				t.Fatalf("from the rollups: %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			deref := func(v *string) string {
				if v == nil {
					return ""
				}
				return *v
			}
			if p.level != tt.level || p.dim != tt.dim || deref(p.val) != tt.val || deref(p.valFirst) != tt.first ||
				deref(p.valSecond) != tt.second || p.part != tt.part || p.grp != tt.wantGroup {
				t.Errorf("plan level %q dim %q val %q first %q second %q part %d grp %q, want %q %q %q %q %q %d %q",
					p.level, p.dim, deref(p.val), deref(p.valFirst), deref(p.valSecond), p.part, p.grp,
					tt.level, tt.dim, tt.val, tt.first, tt.second, tt.part, tt.wantGroup)
			}
		})
	}
}
