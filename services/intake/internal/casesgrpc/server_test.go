// Protects intake's API contract on a real database: Idempotency-Key, masking by role, tenant and branch isolation, SREs seeing no cases, and audited contact reads.
package casesgrpc_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casesgrpc"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

var (
	system     = auth.Principal{Tenant: "bank-a", Subject: "core-banking", Role: auth.RoleBankSystem}
	teller     = auth.Principal{Tenant: "bank-a", Subject: "teller-1", Role: auth.RoleTeller, Branch: "br-1", Region: "rg-1"}
	cm         = auth.Principal{Tenant: "bank-a", Subject: "cm-1", Role: auth.RoleComplaintManager, Branch: "br-1", Region: "rg-1"}
	head       = auth.Principal{Tenant: "bank-a", Subject: "head-1", Role: auth.RoleBranchHead, Branch: "br-1", Region: "rg-1"}
	supervisor = auth.Principal{Tenant: "bank-a", Subject: "sup-1", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}
	headOffice = auth.Principal{Tenant: "bank-a", Subject: "hq-1", Role: auth.RoleHeadOffice}
	farTeller  = auth.Principal{Tenant: "bank-a", Subject: "teller-9", Role: auth.RoleTeller, Branch: "br-9", Region: "rg-9"}
	sre        = auth.Principal{Tenant: "bank-a", Subject: "ops-1", Role: auth.RoleSRE}
	otherBank  = auth.Principal{Tenant: "bank-b", Subject: "core-banking", Role: auth.RoleBankSystem}
	notifier   = auth.Principal{Tenant: "*", Subject: "notification", Role: auth.RoleService}
)

var inClear = &intakev1.Customer{Name: "张三丰", IdNumber: "110101199003071234", Phone: "13812345678",
	Email: "zsf@example.com", AccountNumber: "6222020200112233"}

// masked is the same customer as a teller sees it.
var masked = &intakev1.Customer{Name: "张**", IdNumber: "110***********1234", Phone: "138****5678",
	Email: "z***@example.com", AccountNumber: "************2233"}

// branchDir is a fixed org tree standing in for routing.
type branchDir map[string]cases.Branch

func (d branchDir) Get(_ context.Context, tenant, id string) (cases.Branch, error) {
	if b, ok := d[tenant+"/"+id]; ok {
		return b, nil
	}
	return cases.Branch{}, status.Error(codes.InvalidArgument, "invalid request: branchId: no such branch in this bank")
}

type fixture struct {
	pool     *pgxpool.Pool
	store    *casespg.Store
	server   *casesgrpc.Server
	internal *casesgrpc.Internal
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	sealer, err := pii.NewSealer(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cases.ParseMACKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{4}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	store := casespg.New(pool, sealer, casespg.WithMACKeys(keys))
	clock := func() time.Time { return now }
	br := cases.Branch{ID: "br-1", Region: "rg-1", TimeZone: "Asia/Shanghai", CalendarID: "cn", ComplaintManager: "cm-1",
		Staff: []string{"teller-1", "cm-1", "head-1"}}
	return &fixture{pool: pool, store: store,
		server: &casesgrpc.Server{Store: store, HashKey: []byte("test-hash-key"), Now: clock,
			Branches: branchDir{"bank-a/br-1": br, "bank-b/br-1": br,
				"bank-a/br-2": {ID: "br-2", Region: "rg-1", TimeZone: "Asia/Shanghai", CalendarID: "cn", ComplaintManager: "cm-2"},
				"bank-a/br-7": {ID: "br-7", Region: "rg-7", TimeZone: "Asia/Shanghai", CalendarID: "cn", ComplaintManager: "cm-7"}}},
		internal: &casesgrpc.Internal{Store: store, Now: clock},
	}
}

// as is a call context of p, with an Idempotency-Key when key is not empty.
func as(p auth.Principal, key string) context.Context {
	ctx := auth.WithPrincipal(context.Background(), p)
	if p.Role == auth.RoleService { // as the interceptor does once the service's own key verified
		ctx = auth.WithCallingService(ctx, p.Subject)
	}
	if key != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("idempotency-key", key))
	}
	return ctx
}

func request() *intakev1.CreateCaseRequest {
	return &intakev1.CreateCaseRequest{BranchId: "br-1", Channel: casesv1.Channel_CHANNEL_ON_SITE,
		Category: casesv1.Category_CATEGORY_FEE_DISPUTE, Severity: casesv1.Severity_SEVERITY_NORMAL,
		Summary: "fee charged twice", OccurredAt: timestamppb.New(now.Add(-time.Hour)),
		Customer: &intakev1.Customer{Name: inClear.Name, IdNumber: inClear.IdNumber, Phone: inClear.Phone,
			Email: inClear.Email, AccountNumber: inClear.AccountNumber}}
}

func (f *fixture) create(t *testing.T, p auth.Principal, key string) *intakev1.Case {
	t.Helper()
	resp, err := f.server.CreateCase(as(p, key), request())
	if err != nil {
		t.Fatalf("create case as %s: %v", p.Subject, err)
	}
	return resp.GetCase()
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

// fields lists the field violations of an InvalidArgument status.
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

func sameCustomer(got, want *intakev1.Customer) bool {
	return got.GetName() == want.GetName() && got.GetIdNumber() == want.GetIdNumber() && got.GetPhone() == want.GetPhone() &&
		got.GetEmail() == want.GetEmail() && got.GetAccountNumber() == want.GetAccountNumber()
}

func TestCreateCaseRequiresIdempotencyKey(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{"a request without metadata is refused", auth.WithPrincipal(context.Background(), system)},
		{"a request without the key is refused", metadata.NewIncomingContext(auth.WithPrincipal(context.Background(), system),
			metadata.Pairs("x-request-id", "r1"))},
		{"a blank key is refused", as(system, "   ")},
		{"a key longer than 128 characters is refused", as(system, strings.Repeat("k", 129))},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.server.CreateCase(tt.ctx, request())
			wantCode(t, err, codes.InvalidArgument)
			if got := fields(err); len(got) != 1 || got[0] != "Idempotency-Key" {
				t.Errorf("field violations %v, want [Idempotency-Key]", got)
			}
		})
	}
	if n := f.count(t, "cases"); n != 0 {
		t.Errorf("%d cases stored by refused requests", n)
	}
}

func TestCreateCaseWithTheSameKeyCreatesOneCase(t *testing.T) {
	f := newFixture(t)
	first := f.create(t, system, "req-1")
	again := f.create(t, system, "req-1")
	if again.GetId() != first.GetId() || again.GetCaseNumber() != first.GetCaseNumber() {
		t.Errorf("retry got %s %s, want %s %s", again.GetId(), again.GetCaseNumber(), first.GetId(), first.GetCaseNumber())
	}
	changed := request()
	changed.Summary = "something else"
	_, err := f.server.CreateCase(as(system, "req-1"), changed)
	wantCode(t, err, codes.AlreadyExists)
	for table, want := range map[string]int{"cases": 1, "outbox": 1} {
		if n := f.count(t, table); n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	var payload []byte
	if err := f.pool.QueryRow(context.Background(), `SELECT payload FROM outbox`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{inClear.Name, inClear.IdNumber, inClear.Phone, inClear.Email, inClear.AccountNumber} {
		if bytes.Contains(payload, []byte(secret)) {
			t.Errorf("the CaseCreated event carries personal data %q", secret)
		}
	}
}

func TestCreateCaseShowsTheCustomerAsTheCallersRoleAllows(t *testing.T) {
	tests := []struct {
		name    string
		creator auth.Principal
		want    *intakev1.Customer
	}{
		{"a teller gets the customer back masked", teller, masked},
		{"a complaint manager gets the customer back in clear", cm, inClear},
		{"the bank's system gets the customer back masked", system, masked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.create(t, tt.creator, "req-1")
			if !sameCustomer(c.GetCustomer(), tt.want) {
				t.Errorf("customer %v, want %v", c.GetCustomer(), tt.want)
			}
			stored, err := f.store.Get(context.Background(), "bank-a", c.GetId())
			if err != nil {
				t.Fatal(err)
			}
			if stored.Customer.IDNumber != inClear.IdNumber {
				t.Errorf("stored ID number %q: masking must not reach the database", stored.Customer.IDNumber)
			}
		})
	}
}

func TestGetCaseShowsOnlyWhatTheCallerMaySee(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, system, "req-1").GetId()
	tests := []struct {
		name     string
		caller   auth.Principal
		wantCode codes.Code
		want     *intakev1.Customer
	}{
		{"a teller of the branch sees the customer masked", teller, codes.OK, masked},
		{"the complaint manager sees the customer in clear", cm, codes.OK, inClear},
		{"the branch head sees the customer in clear", head, codes.OK, inClear},
		{"the regional supervisor sees the customer masked", supervisor, codes.OK, masked},
		{"a teller of another branch does not find the case", farTeller, codes.NotFound, nil},
		{"another bank does not find the case", otherBank, codes.NotFound, nil},
		{"an SRE may not read cases at all", sre, codes.PermissionDenied, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.server.GetCase(as(tt.caller, ""), &intakev1.GetCaseRequest{CaseId: id})
			wantCode(t, err, tt.wantCode)
			if tt.want != nil && !sameCustomer(resp.GetCase().GetCustomer(), tt.want) {
				t.Errorf("customer %v, want %v", resp.GetCase().GetCustomer(), tt.want)
			}
		})
	}
}

func TestListCasesStaysInsideTheCallersScope(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, system, "req-1").GetId()
	tests := []struct {
		name     string
		caller   auth.Principal
		branch   string
		wantCode codes.Code
		wantIDs  []string
	}{
		{"the bank's system lists the bank's cases", system, "", codes.OK, []string{id}},
		{"a teller lists the branch's cases", teller, "", codes.OK, []string{id}},
		{"a teller of another branch lists nothing of this branch", farTeller, "", codes.OK, nil},
		{"a teller asking for another branch is refused", farTeller, "br-1", codes.PermissionDenied, nil},
		{"another bank lists nothing", otherBank, "", codes.OK, nil},
		{"an SRE may not list cases", sre, "", codes.PermissionDenied, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.server.ListCases(as(tt.caller, ""), &intakev1.ListCasesRequest{BranchId: tt.branch})
			wantCode(t, err, tt.wantCode)
			var ids []string
			for _, c := range resp.GetCases() {
				ids = append(ids, c.GetId())
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("listed %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

func TestSRECannotRegisterCases(t *testing.T) {
	f := newFixture(t)
	_, err := f.server.CreateCase(as(sre, "req-1"), request())
	wantCode(t, err, codes.PermissionDenied)
	if n := f.count(t, "cases"); n != 0 {
		t.Errorf("%d cases stored", n)
	}
}

func TestGetCaseContactIsForServicesAndAudited(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, system, "req-1").GetId()
	tests := []struct {
		name     string
		caller   auth.Principal
		wantCode codes.Code
	}{
		{"a teller may not call the internal API", teller, codes.PermissionDenied},
		{"a complaint manager may not call the internal API", cm, codes.PermissionDenied},
		{"the bank's system may not call the internal API", system, codes.PermissionDenied},
		{"another service (reporting) may not read contacts", auth.Principal{Tenant: auth.AllTenants, Subject: "reporting", Role: auth.RoleService}, codes.PermissionDenied},
		{"a service gets the contact", notifier, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.internal.GetCaseContact(as(tt.caller, ""), &intakev1.GetCaseContactRequest{CaseId: id})
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != codes.OK {
				return
			}
			if resp.GetCustomerName() != inClear.Name || resp.GetPhone() != inClear.Phone || resp.GetEmail() != inClear.Email ||
				resp.GetTenantId() != "bank-a" || resp.GetCaseNumber() != "CD-20261122-000001" {
				t.Errorf("contact %v", resp)
			}
		})
	}
	recs, err := f.store.Audit(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var reads []cases.AuditRecord
	for _, r := range recs {
		if r.Entry.Action == "personal_data_read" {
			reads = append(reads, r)
		}
	}
	if len(reads) != 1 {
		t.Fatalf("%d personal_data_read entries, want exactly the service's one", len(reads))
	}
	if reads[0].Entry.Actor != "notification" || reads[0].Entry.Details["purpose"] == "" {
		t.Errorf("read entry %+v, want actor notification and a purpose", reads[0].Entry)
	}
	if v, err := f.store.VerifyAudit(context.Background(), id); err != nil || !v.OK {
		t.Errorf("audit chain after the read: %+v %v", v, err)
	}
}

// A page token that was not produced by this API is the caller's mistake,
// answered with InvalidArgument on pageToken, never a 500.
func TestAForgedPageTokenIsAnInvalidArgument(t *testing.T) {
	f := newFixture(t)
	f.create(t, system, "req-1")
	for _, tok := range []string{"%%%", base64.RawURLEncoding.EncodeToString([]byte("2026-01-01T00:00:00Z|zzz")), base64.RawURLEncoding.EncodeToString([]byte("no-separator"))} {
		_, err := f.server.ListCases(as(system, ""), &intakev1.ListCasesRequest{PageToken: tok})
		wantCode(t, err, codes.InvalidArgument)
		if got := fields(err); len(got) != 1 || got[0] != "pageToken" {
			t.Errorf("token %q: field violations %v, want [pageToken]", tok, got)
		}
	}
}

// An idempotency key belongs to its caller: another caller of the same bank
// reusing it gets its own case, neither a replay of the first nor a conflict.
func TestIdempotencyKeysBelongToTheirCaller(t *testing.T) {
	f := newFixture(t)
	first := f.create(t, system, "shared-key")
	again := f.create(t, system, "shared-key")
	if again.GetId() != first.GetId() {
		t.Fatalf("the same caller's retry made case %s, want the replay %s", again.GetId(), first.GetId())
	}
	other := auth.Principal{Tenant: system.Tenant, Subject: "another-terminal", Role: auth.RoleBankSystem}
	theirs := f.create(t, other, "shared-key")
	if theirs.GetId() == "" || theirs.GetId() == first.GetId() {
		t.Fatalf("another caller's request with the same key got case %q, want a case of its own", theirs.GetId())
	}
}

func TestTheCustomersPreferredChannelIsKeptAndGivenToNotification(t *testing.T) {
	f := newFixture(t)
	req := request()
	req.Customer.PreferredChannel = intakev1.ContactChannel_CONTACT_CHANNEL_SMS
	c, err := f.server.CreateCase(as(system, "req-sms"), req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.internal.GetCaseContact(as(notifier, ""), &intakev1.GetCaseContactRequest{CaseId: c.GetCase().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetPreferredChannel() != intakev1.ContactChannel_CONTACT_CHANNEL_SMS {
		t.Errorf("preferred channel %v, want SMS", resp.GetPreferredChannel())
	}
	req = request()
	req.Customer.Phone = ""
	req.Customer.PreferredChannel = intakev1.ContactChannel_CONTACT_CHANNEL_SMS
	_, err = f.server.CreateCase(as(system, "req-sms-2"), req)
	wantCode(t, err, codes.InvalidArgument)
	if err == nil || !strings.Contains(err.Error(), "customer.preferredChannel") {
		t.Errorf("error %v does not name customer.preferredChannel", err)
	}
}
