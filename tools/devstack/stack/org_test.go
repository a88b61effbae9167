package stack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/protobuf/encoding/protojson"
)

func loadBanks(t *testing.T) DemoBanks {
	t.Helper()
	banks, err := LoadDemoBanks("") // found from the package directory
	if err != nil {
		t.Fatal(err)
	}
	return banks
}

// TestDemoFilesKeepTheStackConstants: the ids the stack's tokens, the e2e
// tests and the README use are in the files, with the role, branch and
// region MintTokens gives them.
func TestDemoFilesKeepTheStackConstants(t *testing.T) {
	banks := loadBanks(t)
	for _, want := range []auth.Principal{
		{Tenant: DemoTenant, Subject: DemoTeller, Role: auth.RoleTeller, Branch: DemoBranch, Region: DemoRegion},
		{Tenant: DemoTenant, Subject: DemoSupervisor, Role: auth.RoleRegionalSupervisor, Region: DemoRegion},
		{Tenant: DemoTenant, Subject: DemoHeadOffice, Role: auth.RoleHeadOffice},
		{Tenant: DemoTenant, Subject: "st-pudong-complaints", Role: auth.RoleComplaintManager, Branch: DemoBranch, Region: DemoRegion},
		{Tenant: DemoTenant, Subject: "st-xuhui-teller-1", Role: auth.RoleTeller, Branch: "br-sh-xuhui", Region: DemoRegion},
		{Tenant: DemoTenant, Subject: "st-haidian-teller-1", Role: auth.RoleTeller, Branch: "br-bj-haidian", Region: "rg-north"},
		{Tenant: DemoTenant, Subject: "st-tech", Role: auth.RoleTechSupport},
		{Tenant: OtherTenant, Subject: "st2-head-office", Role: auth.RoleHeadOffice},
		{Tenant: OtherTenant, Subject: "st2-tianhe-teller-1", Role: auth.RoleTeller, Branch: OtherBranch, Region: OtherRegion},
	} {
		got, ok := banks.Principal(want.Subject)
		if !ok || got != want {
			t.Errorf("%s: got %+v (found %v), want %+v", want.Subject, got, ok, want)
		}
	}
	if _, ok := banks.Principal("st-nobody"); ok {
		t.Error("a staff id of no file has a principal")
	}
}

func TestStaffOf(t *testing.T) {
	banks := loadBanks(t)
	got, err := banks.StaffOf(DemoBranch)
	want := []string{"st-pudong-teller-1", "st-pudong-teller-2", "st-pudong-lobby", "st-pudong-complaints", "st-pudong-head"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("staff of %s: %v %v; want %v", DemoBranch, got, err, want)
	}
	if got, err := banks.StaffOf(OtherBranch); err != nil || len(got) != 3 {
		t.Errorf("staff of %s: %v %v", OtherBranch, got, err)
	}
	if got, _ := banks.StaffOf(""); !slices.Contains(got, DemoHeadOffice) || !slices.Contains(got, "st2-head-office") || slices.Contains(got, DemoTeller) {
		t.Errorf("staff without a branch: %v", got)
	}
	if _, err := banks.StaffOf("br-nowhere"); err == nil {
		t.Error("an unknown branch is not an error")
	}
	// Every staff member of the files has a principal of their own bank.
	for _, b := range banks {
		for _, m := range b.Org.GetStaff() {
			if p, ok := banks.Principal(m.GetId()); !ok || p.Tenant != b.Tenant || p.Role == "" {
				t.Errorf("%s: %+v", m.GetId(), p)
			}
		}
	}
}

// TestSeedImportsTheFiles: Seed posts each file's org as its bank's head
// office, then writes back the default SLA policy.
func TestSeedImportsTheFiles(t *testing.T) {
	var mu sync.Mutex
	imported := map[string]*routingv1.ImportOrgRequest{} // token → body
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path+" "+tok)
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/org:import":
			var req routingv1.ImportOrgRequest
			if err := protojson.Unmarshal(raw, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			imported[tok] = &req
			_, _ = w.Write([]byte(`{"regions":` + strconv.Itoa(len(req.GetRegions())) + `,"branches":` +
				strconv.Itoa(len(req.GetBranches())) + `,"staff":` + strconv.Itoa(len(req.GetStaff())) + `}`))
		case "GET /v1/sla/policy":
			_, _ = w.Write([]byte(`{"policy":{"ackMinutes":60}}`))
		case "PUT /v1/sla/policy":
			_, _ = w.Write([]byte(`{}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	var log bytes.Buffer
	s := &Stack{cfg: Config{Log: &log}, Ports: map[string]int{"gateway": port}}
	if err := s.Seed(context.Background(), Tokens{HeadOffice: "ho-1", OtherHeadOffice: "ho-2"}); err != nil {
		t.Fatal(err)
	}
	if got := len(imported["ho-1"].GetStaff()); got != 26 {
		t.Errorf("demo bank: %d staff imported", got)
	}
	if got := imported["ho-2"].GetBranches(); len(got) != 1 || got[0].GetId() != OtherBranch || len(got[0].GetOpeningHours()) == 0 {
		t.Errorf("second bank: branches %v", got)
	}
	if want := "POST /v1/org:import ho-1,GET /v1/sla/policy ho-1,PUT /v1/sla/policy ho-1," +
		"POST /v1/org:import ho-2,GET /v1/sla/policy ho-2,PUT /v1/sla/policy ho-2"; strings.Join(calls, ",") != want {
		t.Errorf("calls:\n%s\nwant\n%s", strings.Join(calls, ","), want)
	}
	if !strings.Contains(log.String(), "demo-bank: 2 regions, 4 branches, 26 staff from ") {
		t.Errorf("log: %s", log.String())
	}
}
