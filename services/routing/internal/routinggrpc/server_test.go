// Protects routing's API scoping on real Postgres and Redis: queues only for callers who may see the branch, no bank data for SREs, and org import only by head office or the bank's systems, validated.
package routinggrpc_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routinggrpc"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"github.com/counterdesk/counterdesk/services/routing/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Redis)) }

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

var (
	system     = auth.Principal{Tenant: "bank-a", Subject: "hr-system", Role: auth.RoleBankSystem}
	headOffice = auth.Principal{Tenant: "bank-a", Subject: "ho-1", Role: auth.RoleHeadOffice}
	teller1    = auth.Principal{Tenant: "bank-a", Subject: "teller-1", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"}
	teller2    = auth.Principal{Tenant: "bank-a", Subject: "teller-2", Role: auth.RoleTeller, Branch: "br-2", Region: "rg-2"}
	sup1       = auth.Principal{Tenant: "bank-a", Subject: "sup-1", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}
	sup2       = auth.Principal{Tenant: "bank-a", Subject: "sup-2", Role: auth.RoleRegionalSupervisor, Region: "rg-2"}
	sre        = auth.Principal{Tenant: "bank-a", Subject: "ops-1", Role: auth.RoleSRE}
	otherBank  = auth.Principal{Tenant: "bank-b", Subject: "core", Role: auth.RoleBankSystem}
)

type fixture struct {
	pool   *pgxpool.Pool
	server *routinggrpc.Server
}

// newFixture imports bank-a's org tree through the API and queues one case at br-1.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	opts, err := redis.ParseURL(testinfra.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	queues := routingredis.New(rdb)
	f := &fixture{pool: pool, server: &routinggrpc.Server{Store: routingpg.New(pool), Queues: queues}}
	if _, err := f.server.ImportOrg(as(headOffice), org()); err != nil {
		t.Fatalf("import org: %v", err)
	}
	if err := queues.Put(ctx, routing.Queued{CaseID: "0193a000-0000-7000-8000-000000000001", Tenant: "bank-a",
		Branch: "br-1", Owner: routing.Owner{Staff: "teller-1"}, EnqueuedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return f
}

func as(p auth.Principal) context.Context { return auth.WithPrincipal(context.Background(), p) }

func org() *routingv1.ImportOrgRequest {
	return &routingv1.ImportOrgRequest{
		Regions: []*routingv1.Region{{Id: "rg-1", Name: "East"}, {Id: "rg-2", Name: "West"}},
		Branches: []*routingv1.Branch{
			{Id: "br-1", RegionId: "rg-1", Name: "One"},
			{Id: "br-2", RegionId: "rg-2", Name: "Two"},
		},
		Staff: []*routingv1.Staff{
			{Id: "teller-1", DisplayName: "Li", Role: routingv1.Role_ROLE_TELLER, BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 1},
			{Id: "cm-1", DisplayName: "Wang", Role: routingv1.Role_ROLE_COMPLAINT_MANAGER, BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 2},
			{Id: "teller-2", DisplayName: "Zhao", Role: routingv1.Role_ROLE_TELLER, BranchId: "br-2", RegionId: "rg-2", AuthorityLevel: 1},
			{Id: "sup-1", DisplayName: "Qian", Role: routingv1.Role_ROLE_REGIONAL_SUPERVISOR, RegionId: "rg-1", AuthorityLevel: 3},
		},
	}
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code %s (%v), want %s", got, err, want)
	}
}

func fields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func TestGetQueueOnlyForCallersWhoMaySeeTheBranch(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		caller   auth.Principal
		branch   string
		wantCode codes.Code
		wantLen  int
	}{
		{"a teller sees the queue of their branch", teller1, "br-1", codes.OK, 1},
		{"the regional supervisor sees a branch of the region", sup1, "br-1", codes.OK, 1},
		{"head office sees any branch", headOffice, "br-1", codes.OK, 1},
		{"a teller of another branch does not find the branch", teller2, "br-1", codes.NotFound, 0},
		{"a supervisor of another region does not find the branch", sup2, "br-1", codes.NotFound, 0},
		{"another bank does not find the branch", otherBank, "br-1", codes.NotFound, 0},
		{"an unknown branch is not found", headOffice, "br-404", codes.NotFound, 0},
		{"an SRE is refused", sre, "br-1", codes.PermissionDenied, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.server.GetQueue(as(tt.caller), &routingv1.GetQueueRequest{BranchId: tt.branch})
			wantCode(t, err, tt.wantCode)
			if len(resp.GetEntries()) != tt.wantLen {
				t.Fatalf("%d entries, want %d", len(resp.GetEntries()), tt.wantLen)
			}
			if tt.wantLen > 0 {
				e := resp.GetEntries()[0]
				if e.GetOwnerId() != "teller-1" || !e.GetEnqueuedAt().AsTime().Equal(t0) {
					t.Errorf("entry %v, want owner teller-1 since %s", e, t0)
				}
			}
		})
	}
}

func TestGetBranch(t *testing.T) {
	f := newFixture(t)
	resp, err := f.server.GetBranch(as(system), &routingv1.GetBranchRequest{BranchId: "br-1"})
	if err != nil {
		t.Fatal(err)
	}
	b := resp.GetBranch()
	if b.GetRegionId() != "rg-1" || b.GetTimeZone() != "Asia/Shanghai" || b.GetCalendarId() != "cn" || resp.GetComplaintManagerId() != "cm-1" {
		t.Errorf("branch %v", resp)
	}
	if got := resp.GetStaffIds(); len(got) != 2 || got[0] != "cm-1" || got[1] != "teller-1" {
		t.Errorf("staff %v, want [cm-1 teller-1]", got)
	}
	_, err = f.server.GetBranch(as(sre), &routingv1.GetBranchRequest{BranchId: "br-1"})
	wantCode(t, err, codes.PermissionDenied)
	_, err = f.server.GetBranch(as(otherBank), &routingv1.GetBranchRequest{BranchId: "br-1"})
	wantCode(t, err, codes.NotFound)
	// A teller sees their own branch's staff, not another branch's.
	if _, err := f.server.GetBranch(as(teller1), &routingv1.GetBranchRequest{BranchId: teller1.Branch}); err != nil {
		t.Errorf("teller reading their own branch: %v", err)
	}
	_, err = f.server.GetBranch(as(teller1), &routingv1.GetBranchRequest{BranchId: "br-2"})
	wantCode(t, err, codes.NotFound)
}

func TestImportOrgIsGuardedAndValidated(t *testing.T) {
	tests := []struct {
		name      string
		caller    auth.Principal
		edit      func(*routingv1.ImportOrgRequest)
		wantCode  codes.Code
		wantField string
	}{
		{name: "a teller may not import the org tree", caller: teller1, wantCode: codes.PermissionDenied},
		{name: "a bank system (a teller terminal) is not an administrator", caller: system, wantCode: codes.PermissionDenied},
		{name: "the installation operator may not import a bank's org tree", caller: auth.Principal{Tenant: auth.AllTenants, Subject: "op", Role: auth.RoleOperator}, wantCode: codes.PermissionDenied},
		{name: "a regional supervisor may not import the org tree", caller: sup1, wantCode: codes.PermissionDenied},
		{name: "an SRE may not import the org tree", caller: sre, wantCode: codes.PermissionDenied},
		{name: "a branch role without a branch names the first staff member's field", caller: headOffice,
			edit: func(r *routingv1.ImportOrgRequest) { r.Staff[0].BranchId = "" }, wantCode: codes.InvalidArgument,
			wantField: "staff[0].branchId"},
		{name: "a branch role without a branch names the right index", caller: headOffice,
			edit: func(r *routingv1.ImportOrgRequest) { r.Staff[2].BranchId = "" }, wantCode: codes.InvalidArgument,
			wantField: "staff[2].branchId"},
		{name: "a branch in an unknown region is a failed precondition", caller: headOffice,
			edit: func(r *routingv1.ImportOrgRequest) {
				r.Branches[1].RegionId, r.Staff[2].RegionId = "rg-nowhere", "rg-nowhere"
			},
			wantCode: codes.FailedPrecondition},
		{name: "a staff member of a branch that does not exist is refused, naming them", caller: headOffice,
			edit:     func(r *routingv1.ImportOrgRequest) { r.Staff[1].BranchId = "br-atlantis" },
			wantCode: codes.InvalidArgument, wantField: "staff[1].branchId"},
		{name: "a staff member in another region than their branch is refused", caller: headOffice,
			edit:     func(r *routingv1.ImportOrgRequest) { r.Staff[2].RegionId = "rg-1" },
			wantCode: codes.InvalidArgument, wantField: "staff[2].regionId"},
		{name: "a misspelt time zone is refused, naming the branch", caller: headOffice,
			edit:     func(r *routingv1.ImportOrgRequest) { r.Branches[1].TimeZone = "Asia/Shangai" },
			wantCode: codes.InvalidArgument, wantField: "branches[1].timeZone"},
		{name: "a calendar counterdesk does not have is refused", caller: headOffice,
			edit:     func(r *routingv1.ImportOrgRequest) { r.Branches[0].CalendarId = "hk" },
			wantCode: codes.InvalidArgument, wantField: "branches[0].calendarId"},
		{name: "a regional role needs no branch", caller: headOffice,
			edit: func(r *routingv1.ImportOrgRequest) {
				r.Staff = append(r.Staff, &routingv1.Staff{Id: "sup-9", DisplayName: "Zhou", Role: routingv1.Role_ROLE_REGIONAL_SUPERVISOR, RegionId: "rg-2", AuthorityLevel: 3})
			},
			wantCode: codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			req := org()
			for _, s := range req.Staff {
				s.DisplayName += " (renamed)"
			}
			if tt.edit != nil {
				tt.edit(req)
			}
			staffBefore := f.count(t, "staff")
			resp, err := f.server.ImportOrg(as(tt.caller), req)
			wantCode(t, err, tt.wantCode)
			if tt.wantField != "" {
				if got := fields(err); len(got) != 1 || got[0] != tt.wantField {
					t.Errorf("field violations %v, want [%s]", got, tt.wantField)
				}
			}
			var renamed int
			if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM staff WHERE display_name LIKE '% (renamed)'`).Scan(&renamed); err != nil {
				t.Fatal(err)
			}
			if tt.wantCode != codes.OK {
				if renamed != 0 || f.count(t, "staff") != staffBefore {
					t.Errorf("a refused import changed staff: %d renamed", renamed)
				}
				return
			}
			if int(resp.GetStaff()) != len(req.Staff) || renamed != len(org().Staff) {
				t.Errorf("import reported %d staff and renamed %d, want %d and %d", resp.GetStaff(), renamed, len(req.Staff), len(org().Staff))
			}
		})
	}
}

// Head office rebuilds its bank's queues from the assignments in Postgres:
// entries Redis holds without an open assignment go, the open ones come
// back, and another bank's queues are untouched; nobody else may.
func TestRebuildQueuesRestoresTheBanksQueuesFromItsAssignments(t *testing.T) {
	f := newFixture(t) // bank-a's br-1 queue holds a case without an assignment
	ctx := context.Background()
	var ids []string
	for i := range 2 {
		id := uuid.NewString()
		ids = append(ids, id)
		if err := f.server.Store.InTx(ctx, func(tx routing.Tx) error {
			_, err := tx.SaveNew(ctx, routing.Assignment{CaseID: id, Tenant: "bank-a", Branch: "br-1", Owner: routing.Owner{Staff: "teller-1"},
				FirstResponder: "teller-1", Reason: "first_responder", Kind: routing.KindAssign, At: t0.Add(time.Duration(i) * time.Minute)},
				routing.Case{Severity: "SEVERITY_NORMAL"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.server.Queues.Put(ctx, routing.Queued{CaseID: "other-bank-case", Tenant: "bank-b", Branch: "br-1", Owner: routing.Owner{Staff: "x"}, EnqueuedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []auth.Principal{system, teller1, sup1} {
		if _, err := f.server.RebuildQueues(as(p), &routingv1.RebuildQueuesRequest{}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s rebuilding queues: %v, want PermissionDenied", p.Role, err)
		}
	}
	resp, err := f.server.RebuildQueues(as(headOffice), &routingv1.RebuildQueuesRequest{})
	if err != nil || resp.GetQueued() != 2 {
		t.Fatalf("RebuildQueues = %v, %v; want 2 queued", resp, err)
	}
	es, _, _, err := f.server.Queues.Page(ctx, "bank-a", "br-1", nil, routingredis.Cursor{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.CaseID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("bank-a's queue after the rebuild: %v, want exactly %v", got, ids)
	}
	if es, _, _, _ := f.server.Queues.Page(ctx, "bank-b", "br-1", nil, routingredis.Cursor{}, 10); len(es) != 1 {
		t.Errorf("bank-b's queue after bank-a's rebuild: %v, want untouched", es)
	}
}
