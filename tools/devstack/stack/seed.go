package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// The demo bank: 2 regions, 4 branches, staff in every role of the domain.
const (
	DemoTenant     = "demo-bank"
	DemoBranch     = "br-sh-pudong"
	DemoRegion     = "rg-east"
	DemoTeller     = "st-pudong-teller-1"
	DemoSupervisor = "st-east-supervisor"
	DemoHeadOffice = "st-head-office"
	DemoOperator   = "demo-operator"
)

type orgRegion struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type orgBranch struct {
	ID       string `json:"id"`
	RegionID string `json:"regionId"`
	Name     string `json:"name"`
	TimeZone string `json:"timeZone"`
}

type orgStaff struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	Role           string `json:"role"`
	BranchID       string `json:"branchId,omitempty"`
	RegionID       string `json:"regionId,omitempty"`
	AuthorityLevel int    `json:"authorityLevel"`
}

// DemoOrg returns the demo bank's org tree as the ImportOrg JSON body.
func DemoOrg() map[string]any {
	regions := []orgRegion{{"rg-east", "华东分行 East Region"}, {"rg-north", "华北分行 North Region"}}
	branches := []orgBranch{
		{"br-sh-pudong", "rg-east", "上海浦东支行 Shanghai Pudong", "Asia/Shanghai"},
		{"br-sh-xuhui", "rg-east", "上海徐汇支行 Shanghai Xuhui", "Asia/Shanghai"},
		{"br-bj-chaoyang", "rg-north", "北京朝阳支行 Beijing Chaoyang", "Asia/Shanghai"},
		{"br-bj-haidian", "rg-north", "北京海淀支行 Beijing Haidian", "Asia/Shanghai"},
	}
	var staff []orgStaff
	for _, b := range branches {
		short := strings.TrimPrefix(b.ID, "br-sh-")
		short = strings.TrimPrefix(short, "br-bj-")
		for _, m := range []struct {
			suffix, role string
			level        int
		}{
			{"teller-1", "ROLE_TELLER", 1}, {"teller-2", "ROLE_TELLER", 1}, {"lobby", "ROLE_LOBBY_MANAGER", 1},
			{"complaints", "ROLE_COMPLAINT_MANAGER", 2}, {"head", "ROLE_BRANCH_HEAD", 2},
		} {
			staff = append(staff, orgStaff{ID: "st-" + short + "-" + m.suffix, DisplayName: short + " " + m.suffix,
				Role: m.role, BranchID: b.ID, RegionID: b.RegionID, AuthorityLevel: m.level})
		}
	}
	staff = append(staff,
		orgStaff{ID: "st-east-supervisor", DisplayName: "East regional service manager", Role: "ROLE_REGIONAL_SUPERVISOR", RegionID: "rg-east", AuthorityLevel: 3},
		orgStaff{ID: "st-north-supervisor", DisplayName: "North regional service manager", Role: "ROLE_REGIONAL_SUPERVISOR", RegionID: "rg-north", AuthorityLevel: 3},
		orgStaff{ID: "st-head-office", DisplayName: "Head office service standards", Role: "ROLE_HEAD_OFFICE", AuthorityLevel: 4},
		orgStaff{ID: "st-tech", DisplayName: "Technology department", Role: "ROLE_TECH_SUPPORT", AuthorityLevel: 3},
		orgStaff{ID: "st-compliance", DisplayName: "Compliance department", Role: "ROLE_COMPLIANCE", AuthorityLevel: 3},
		orgStaff{ID: "st-legal", DisplayName: "Legal department", Role: "ROLE_LEGAL", AuthorityLevel: 3},
	)
	return map[string]any{"regions": regions, "branches": branches, "staff": staff}
}

// Tokens are the demo credentials written to endpoints.env.
type Tokens struct {
	BankSystem, Teller, Supervisor, SRE, HeadOffice, Operator string
	OtherBankSystem, OtherHeadOffice                          string
}

// TokenTTL is how long the demo tokens live: the longest the services
// accept. `make up` mints fresh ones every time; `devstack token` too.
const TokenTTL = 12 * time.Hour

// The second bank's one branch.
const (
	OtherBranch = "br-gz-tianhe"
	OtherRegion = "rg-south"
)

// MintTokens signs the demo credentials: staff tokens by each bank's own
// issuer, the operator's by the operators' issuer; the bank systems use
// their bank's API key.
func (s *Stack) MintTokens() (Tokens, error) {
	var t Tokens
	var err error
	for _, x := range []struct {
		dst *string
		p   auth.Principal
	}{
		{&t.Teller, auth.Principal{Tenant: DemoTenant, Subject: DemoTeller, Role: auth.RoleTeller, Branch: DemoBranch, Region: DemoRegion}},
		{&t.Supervisor, auth.Principal{Tenant: DemoTenant, Subject: DemoSupervisor, Role: auth.RoleRegionalSupervisor, Region: DemoRegion}},
		{&t.SRE, auth.Principal{Tenant: DemoTenant, Subject: "demo-sre", Role: auth.RoleSRE}},
		{&t.HeadOffice, auth.Principal{Tenant: DemoTenant, Subject: DemoHeadOffice, Role: auth.RoleHeadOffice}},
		{&t.OtherHeadOffice, auth.Principal{Tenant: OtherTenant, Subject: "st2-head-office", Role: auth.RoleHeadOffice}},
		// The installation's operator belongs to no bank.
		{&t.Operator, auth.Principal{Tenant: auth.AllTenants, Subject: DemoOperator, Role: auth.RoleOperator}},
	} {
		if *x.dst, err = s.Keys.Mint(x.p, TokenTTL); err != nil {
			return Tokens{}, err
		}
	}
	key := func(tenant string) (string, error) {
		if ks := s.Keys.APIKeys[tenant]; len(ks) > 0 {
			return ks[len(ks)-1].Key, nil
		}
		return "", fmt.Errorf("no API key for %s", tenant)
	}
	if t.BankSystem, err = key(DemoTenant); err != nil {
		return Tokens{}, err
	}
	if t.OtherBankSystem, err = key(OtherTenant); err != nil {
		return Tokens{}, err
	}
	return t, nil
}

// OtherOrg is the second bank: one region, one branch, a few staff.
func OtherOrg() map[string]any {
	return map[string]any{
		"regions":  []orgRegion{{OtherRegion, "华南分行 South Region"}},
		"branches": []orgBranch{{OtherBranch, OtherRegion, "广州天河支行 Guangzhou Tianhe", "Asia/Shanghai"}},
		"staff": []orgStaff{
			{ID: "st2-tianhe-teller-1", DisplayName: "tianhe teller-1", Role: "ROLE_TELLER", BranchID: OtherBranch, RegionID: OtherRegion, AuthorityLevel: 1},
			{ID: "st2-tianhe-complaints", DisplayName: "tianhe complaints", Role: "ROLE_COMPLAINT_MANAGER", BranchID: OtherBranch, RegionID: OtherRegion, AuthorityLevel: 2},
			{ID: "st2-tianhe-head", DisplayName: "tianhe head", Role: "ROLE_BRANCH_HEAD", BranchID: OtherBranch, RegionID: OtherRegion, AuthorityLevel: 2},
			{ID: "st2-head-office", DisplayName: "Bank 2 head office", Role: "ROLE_HEAD_OFFICE", AuthorityLevel: 4},
		},
	}
}

// Seed loads both banks through the public API, as each bank's head office
// would (a bank system is not an administrator): the org trees into routing
// and the default SLA policy into slatimer. Idempotent.
func (s *Stack) Seed(ctx context.Context, t Tokens) error {
	gw := "http://" + s.addr("gateway")
	for _, b := range []struct {
		tenant, token string
		org           map[string]any
	}{{DemoTenant, t.HeadOffice, DemoOrg()}, {OtherTenant, t.OtherHeadOffice, OtherOrg()}} {
		if _, err := call(ctx, http.MethodPost, gw+"/v1/org:import", b.token, b.org); err != nil {
			return fmt.Errorf("seed org of %s: %w", b.tenant, err)
		}
		raw, err := call(ctx, http.MethodGet, gw+"/v1/sla/policy", b.token, nil)
		if err != nil {
			return fmt.Errorf("read default SLA policy of %s: %w", b.tenant, err)
		}
		var got struct {
			Policy json.RawMessage `json:"policy"`
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			return fmt.Errorf("decode SLA policy: %w", err)
		}
		if _, err := call(ctx, http.MethodPut, gw+"/v1/sla/policy", b.token, got.Policy); err != nil {
			return fmt.Errorf("seed SLA policy of %s: %w", b.tenant, err)
		}
	}
	return nil
}

func call(ctx context.Context, method, url, token string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, ok := body.(json.RawMessage)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return nil, err
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, out)
	}
	return out, nil
}

// WriteEndpoints writes endpoints.env (shell KEY=value lines) and returns it.
func (s *Stack) WriteEndpoints(t Tokens) (map[string]string, error) {
	e := map[string]string{
		"GATEWAY_URL":                  "http://" + s.addr("gateway"),
		"DEV_TOKEN":                    t.BankSystem,
		"DEMO_TENANT_ID":               DemoTenant,
		"DEMO_BRANCH_ID":               DemoBranch,
		"DEMO_REGION_ID":               DemoRegion,
		"DEMO_STAFF_ID":                DemoTeller,
		"DEMO_STAFF_TOKEN":             t.Teller,
		"DEMO_SUPERVISOR_TOKEN":        t.Supervisor,
		"DEMO_SRE_TOKEN":               t.SRE,
		"DEMO_HEAD_OFFICE_TOKEN":       t.HeadOffice,
		"DEMO_OPERATOR_TOKEN":          t.Operator,
		"OTHER_BANK_TOKEN":             t.OtherBankSystem,
		"OTHER_BANK_HEAD_OFFICE_TOKEN": t.OtherHeadOffice,
		"OTHER_BANK_TENANT_ID":         OtherTenant,
		"OTHER_BANK_BRANCH_ID":         OtherBranch,
		"REDIS_URL":                    s.Redis.URL(),
		"MAIL_DIR":                     s.MailDir(),
		"SMTP_ADDR":                    s.addr("smtp"),
		"KAFKA_BROKERS":                s.addr("kafka"),
		"TRACES_URL":                   "http://" + s.addr("traces"),
		"POSTGRES_URL":                 s.Postgres.URL("postgres"),
	}
	for _, svc := range Services {
		e[strings.ToUpper(svc)+"_GRPC_ADDR"] = s.addr(svc + ".grpc")
		e[strings.ToUpper(svc)+"_HTTP_URL"] = "http://" + s.addr(svc+".http")
	}
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by `make up`. Source it: set -a; . .devstack/endpoints.env; set +a\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, e[k])
	}
	s.Endpoints = e
	return e, os.WriteFile(s.cfg.path("endpoints.env"), []byte(b.String()), 0o600)
}

// DemoStaffPrincipal is the principal of a demo staff member of either bank
// (role, branch and region as the seeded org has them).
func DemoStaffPrincipal(id string) (auth.Principal, bool) {
	for tenant, org := range map[string]map[string]any{DemoTenant: DemoOrg(), OtherTenant: OtherOrg()} {
		for _, m := range org["staff"].([]orgStaff) {
			if m.ID == id {
				return auth.Principal{Tenant: tenant, Subject: m.ID, Role: auth.Role(strings.ToLower(strings.TrimPrefix(m.Role, "ROLE_"))),
					Branch: m.BranchID, Region: m.RegionID}, true
			}
		}
	}
	return auth.Principal{}, false
}

// DemoStaffOf lists the demo staff ids of a branch (of either bank), in the
// org's order; all staff without a branch when branch is empty.
func DemoStaffOf(branch string) []string {
	var out []string
	for _, org := range []map[string]any{DemoOrg(), OtherOrg()} {
		for _, m := range org["staff"].([]orgStaff) {
			if m.BranchID == branch {
				out = append(out, m.ID)
			}
		}
	}
	return out
}
