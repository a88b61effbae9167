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

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/protobuf/encoding/protojson"
)

// The demo bank (deploy/demo/org-demo-bank.yaml): 2 regions, 4 branches,
// staff in every role of the domain. These ids must stay in the file.
const (
	DemoTenant     = "demo-bank"
	DemoBranch     = "br-sh-pudong"
	DemoRegion     = "rg-east"
	DemoTeller     = "st-pudong-teller-1"
	DemoSupervisor = "st-east-supervisor"
	DemoHeadOffice = "st-head-office"
	DemoOperator   = "demo-operator"
)

// Tokens are the demo credentials written to endpoints.env.
type Tokens struct {
	BankSystem, Teller, Supervisor, SRE, HeadOffice, Operator string
	OtherBankSystem, OtherHeadOffice                          string
}

// TokenTTL is how long the demo tokens live: the longest the services
// accept. `make up` mints fresh ones every time; `devstack token` too.
const TokenTTL = 12 * time.Hour

// The second bank's one branch (deploy/demo/org-demo-bank-2.yaml).
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

// Seed loads both banks through the public API, as each bank's head office
// would (a bank system is not an administrator): the org trees of their
// files (DemoOrgFiles) into routing and the default SLA policy into
// slatimer. Idempotent.
func (s *Stack) Seed(ctx context.Context, t Tokens) error {
	banks, err := LoadDemoBanks(s.cfg.RepoDir)
	if err != nil {
		return err
	}
	tokens := map[string]string{DemoTenant: t.HeadOffice, OtherTenant: t.OtherHeadOffice}
	gw := "http://" + s.addr("gateway")
	for _, b := range banks {
		token, ok := tokens[b.Tenant]
		if !ok {
			return fmt.Errorf("seed org of %s: no head-office token of that bank", b.Tenant)
		}
		body, err := protojson.Marshal(b.Org)
		if err != nil {
			return err
		}
		raw, err := call(ctx, http.MethodPost, gw+"/v1/org:import", token, json.RawMessage(body))
		if err != nil {
			return fmt.Errorf("seed org of %s from %s: %w", b.Tenant, b.File, err)
		}
		var n routingv1.ImportOrgResponse
		if err := protojson.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("seed org of %s: unreadable answer: %w", b.Tenant, err)
		}
		fmt.Fprintf(s.cfg.Log, "  %-13s %s: %d regions, %d branches, %d staff from %s\n", "org", b.Tenant,
			n.GetRegions(), n.GetBranches(), n.GetStaff(), b.File)
		raw, err = call(ctx, http.MethodGet, gw+"/v1/sla/policy", token, nil)
		if err != nil {
			return fmt.Errorf("read default SLA policy of %s: %w", b.Tenant, err)
		}
		var got struct {
			Policy json.RawMessage `json:"policy"`
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			return fmt.Errorf("decode SLA policy: %w", err)
		}
		if _, err := call(ctx, http.MethodPut, gw+"/v1/sla/policy", token, got.Policy); err != nil {
			return fmt.Errorf("seed SLA policy of %s: %w", b.Tenant, err)
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
		"SMS_DIR":                      s.SMSDir(),
		"SMS_GATEWAY_URL":              s.SMSGatewayURL(),
		"WEBHOOK_SINK_DIR":             s.WebhookDir(),
		"WEBHOOK_SINK_URL":             "http://" + s.addr("webhooks"),
		"DEMO_WEBHOOK_SECRET":          s.WebhookSecret(DemoTenant),
		"SMTP_ADDR":                    s.addr("smtp"),
		"KAFKA_BROKERS":                s.addr("kafka"),
		"TRACES_URL":                   "http://" + s.addr("traces"),
		"POSTGRES_URL":                 s.Postgres.URL("postgres"),
		// The supervisors' dashboard with a one-click sign-in as the demo
		// regional supervisor: the token is in the fragment, which a
		// browser never sends to a server (nor into its logs).
		"DASHBOARD_URL": "http://" + s.addr("gateway") + "/dashboard/#token=" + t.Supervisor,
	}
	for _, svc := range Services {
		e[strings.ToUpper(svc)+"_GRPC_ADDR"] = s.addr(svc + ".grpc")
		e[strings.ToUpper(svc)+"_HTTP_URL"] = "http://" + s.addr(svc+".http")
		e[strings.ToUpper(svc)+"_PPROF_URL"] = "http://" + s.addr(svc+".pprof") + "/debug/pprof"
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
