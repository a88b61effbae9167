package report_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
)

func TestScopeFor(t *testing.T) {
	p := func(role auth.Role, branch, region string) auth.Principal {
		return auth.Principal{Tenant: "bank-a", Subject: "u1", Role: role, Branch: branch, Region: region}
	}
	tests := []struct {
		name   string
		caller auth.Principal
		want   report.Scope
		denied bool
	}{
		{"head office sees the whole bank", p(auth.RoleHeadOffice, "", ""), report.Scope{Tenant: "bank-a"}, false},
		{"a bank system sees the whole bank", p(auth.RoleBankSystem, "", ""), report.Scope{Tenant: "bank-a"}, false},
		{"compliance sees the whole bank", p(auth.RoleCompliance, "", ""), report.Scope{Tenant: "bank-a"}, false},
		{"legal sees the whole bank", p(auth.RoleLegal, "", ""), report.Scope{Tenant: "bank-a"}, false},
		{"head office is not narrowed by a branch in its token", p(auth.RoleHeadOffice, "b1", "r1"), report.Scope{Tenant: "bank-a"}, false},
		{"a regional supervisor sees their region only", p(auth.RoleRegionalSupervisor, "b1", "r1"), report.Scope{Tenant: "bank-a", Region: "r1"}, false},
		{"a regional supervisor without a region sees nothing", p(auth.RoleRegionalSupervisor, "b1", ""), report.Scope{}, true},
		{"a teller sees their branch", p(auth.RoleTeller, "b1", "r1"), report.Scope{Tenant: "bank-a", Branch: "b1"}, false},
		{"a lobby manager sees their branch", p(auth.RoleLobbyManager, "b1", "r1"), report.Scope{Tenant: "bank-a", Branch: "b1"}, false},
		{"a complaint manager sees their branch", p(auth.RoleComplaintManager, "b1", "r1"), report.Scope{Tenant: "bank-a", Branch: "b1"}, false},
		{"a branch head sees their branch", p(auth.RoleBranchHead, "b1", "r1"), report.Scope{Tenant: "bank-a", Branch: "b1"}, false},
		{"branch staff without a branch see nothing", p(auth.RoleBranchHead, "", "r1"), report.Scope{}, true},
		{"an SRE sees no case data", p(auth.RoleSRE, "", ""), report.Scope{}, true},
		{"tech support does not read case reports", p(auth.RoleTechSupport, "", ""), report.Scope{}, true},
		{"another service does not read case reports", auth.Principal{Tenant: "*", Subject: "intake", Role: auth.RoleService}, report.Scope{}, true},
		{"an unknown role sees nothing", p("auditor", "", ""), report.Scope{}, true},
		{"a caller without a tenant sees nothing", auth.Principal{Subject: "u1", Role: auth.RoleHeadOffice}, report.Scope{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := report.ScopeFor(tt.caller)
			if tt.denied {
				if !errors.Is(err, report.ErrPermissionDenied) {
					t.Fatalf("ScopeFor() error = %v, want permission denied", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ScopeFor() error = %v", err)
			}
			if got != tt.want {
				t.Fatalf("ScopeFor() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSREIsToldWhy(t *testing.T) {
	_, err := report.ScopeFor(auth.Principal{Tenant: "bank-a", Subject: "ops", Role: auth.RoleSRE})
	if want := "permission denied: SREs see operational metrics, not case data"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestNarrow(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	whole := report.Scope{Tenant: "bank-a"}
	region := report.Scope{Tenant: "bank-a", Region: "r1"}
	branch := report.Scope{Tenant: "bank-a", Branch: "b1"}
	tests := []struct {
		name         string
		scope        report.Scope
		filter       report.Filter
		branchRegion string
		known        bool
		want         report.Query
		wantErr      error
	}{
		{"no filter keeps the scope", region, report.Filter{}, "", false,
			report.Query{Scope: region}, nil},
		{"a time window is kept", whole, report.Filter{From: t0, To: t0.Add(time.Hour)}, "", false,
			report.Query{Scope: whole, From: t0, To: t0.Add(time.Hour)}, nil},
		{"a window ending where it starts is refused", whole, report.Filter{From: t0, To: t0}, "", false,
			report.Query{}, &report.FieldError{}},
		{"head office may pick any branch", whole, report.Filter{Branch: "b9"}, "r9", true,
			report.Query{Scope: report.Scope{Tenant: "bank-a", Branch: "b9"}}, nil},
		{"a regional supervisor may pick a branch of their region", region, report.Filter{Branch: "b2"}, "r1", true,
			report.Query{Scope: report.Scope{Tenant: "bank-a", Region: "r1", Branch: "b2"}}, nil},
		{"a regional supervisor may not pick a branch of another region", region, report.Filter{Branch: "b9"}, "r9", true,
			report.Query{}, report.ErrPermissionDenied},
		{"a branch with no cases yet is counted within the region", region, report.Filter{Branch: "new"}, "", false,
			report.Query{Scope: report.Scope{Tenant: "bank-a", Region: "r1", Branch: "new"}}, nil},
		{"branch staff may name their own branch", branch, report.Filter{Branch: "b1"}, "", false,
			report.Query{Scope: branch}, nil},
		{"branch staff may not name another branch", branch, report.Filter{Branch: "b2"}, "r1", true,
			report.Query{}, report.ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.scope.Narrow(tt.filter, tt.branchRegion, tt.known)
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("Narrow() error = %v", err)
				}
			case *report.FieldError:
				var fe *report.FieldError
				if !errors.As(err, &fe) || fe.Field != "to" {
					t.Fatalf("Narrow() error = %v, want a field error on to", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("Narrow() error = %v, want %v", err, want)
				}
			}
			if got != tt.want {
				t.Fatalf("Narrow() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

type fakeReader struct {
	regions map[string]string
	got     *report.Query
}

func (f *fakeReader) Summarize(_ context.Context, q report.Query) (report.Summary, error) {
	f.got = &q
	return report.Summary{Total: 3}, nil
}

func (f *fakeReader) BranchRegion(_ context.Context, _, branch string) (string, bool, error) {
	r, ok := f.regions[branch]
	return r, ok, nil
}

func TestReportsSummary(t *testing.T) {
	asOf := time.Date(2025, 3, 3, 10, 30, 0, 0, time.UTC)
	supervisor := auth.Principal{Tenant: "bank-a", Subject: "s1", Role: auth.RoleRegionalSupervisor, Region: "r1"}

	t.Run("a regional supervisor's summary is limited to their region and stamped with the clock", func(t *testing.T) {
		store := &fakeReader{}
		r := &report.Reports{Store: store, Now: func() time.Time { return asOf }}
		got, err := r.Summary(context.Background(), supervisor, report.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if store.got == nil || store.got.Tenant != "bank-a" || store.got.Region != "r1" {
			t.Fatalf("query = %+v, want tenant bank-a region r1", store.got)
		}
		if got.Total != 3 || !got.AsOf.Equal(asOf) {
			t.Fatalf("summary = %+v", got)
		}
	})
	t.Run("a branch the read model places in another region is refused before counting", func(t *testing.T) {
		store := &fakeReader{regions: map[string]string{"b9": "r9"}}
		r := &report.Reports{Store: store, Now: func() time.Time { return asOf }}
		_, err := r.Summary(context.Background(), supervisor, report.Filter{Branch: "b9"})
		if !errors.Is(err, report.ErrPermissionDenied) {
			t.Fatalf("error = %v, want permission denied", err)
		}
		if store.got != nil {
			t.Fatal("the store was asked to count")
		}
	})
	t.Run("an SRE is refused before the store is asked anything", func(t *testing.T) {
		store := &fakeReader{}
		r := &report.Reports{Store: store, Now: func() time.Time { return asOf }}
		_, err := r.Summary(context.Background(), auth.Principal{Tenant: "bank-a", Subject: "ops", Role: auth.RoleSRE}, report.Filter{})
		if !errors.Is(err, report.ErrPermissionDenied) || store.got != nil {
			t.Fatalf("error = %v, store asked = %v", err, store.got != nil)
		}
	})
}
