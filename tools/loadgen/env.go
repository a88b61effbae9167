package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// endpoints is what loadgen needs of the running stack.
type endpoints struct {
	Gateway     string            // GATEWAY_URL
	IntakeGRPC  string            // INTAKE_GRPC_ADDR
	PostgresURL string            // POSTGRES_URL: the server's superuser, database postgres
	RedisURL    string            // REDIS_URL
	MailDir     string            // MAIL_DIR ("" : the mail check is skipped)
	Tokens      map[string]string // tenant → the bank system's API key
	Pprof       map[string]string // service → its profiles' base URL (<SERVICE>_PPROF_URL)
}

// endpointsFrom picks the stack's addresses and the two demo banks' system
// tokens out of endpoints.env.
func endpointsFrom(e map[string]string) (endpoints, error) {
	ep := endpoints{Gateway: strings.TrimRight(e["GATEWAY_URL"], "/"), IntakeGRPC: e["INTAKE_GRPC_ADDR"],
		PostgresURL: e["POSTGRES_URL"], RedisURL: e["REDIS_URL"], MailDir: e["MAIL_DIR"], Tokens: map[string]string{},
		Pprof: map[string]string{}}
	for _, svc := range stack.Services {
		if u := e[strings.ToUpper(svc)+"_PPROF_URL"]; u != "" {
			ep.Pprof[svc] = strings.TrimRight(u, "/")
		}
	}
	demo, other := e["DEMO_TENANT_ID"], e["OTHER_BANK_TENANT_ID"]
	if demo == "" {
		demo = stack.DemoTenant
	}
	if other == "" {
		other = stack.OtherTenant
	}
	if t := e["DEV_TOKEN"]; t != "" {
		ep.Tokens[demo] = t
	}
	if t := e["OTHER_BANK_TOKEN"]; t != "" {
		ep.Tokens[other] = t
	}
	var missing []string
	for k, v := range map[string]string{"GATEWAY_URL": ep.Gateway, "INTAKE_GRPC_ADDR": ep.IntakeGRPC,
		"POSTGRES_URL": ep.PostgresURL, "REDIS_URL": ep.RedisURL, "DEV_TOKEN": e["DEV_TOKEN"]} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return ep, fmt.Errorf("endpoints file lacks %s: run `make up` first", strings.Join(missing, ", "))
	}
	return ep, nil
}

// databaseURL is the server URL u with its database replaced by db: each
// service has its own database, named after it, on the stack's server.
func databaseURL(u, db string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("POSTGRES_URL: %w", err)
	}
	p.Path = "/" + db
	return p.String(), nil
}

// target is one branch cases are registered at, with the token of its
// bank's system and a staff member of the branch who reports them.
type target struct {
	Tenant, Branch, Region, Reporter, Token string
}

// targetsFrom lists every branch of the demo banks (their org files, as
// `make up` seeded them) whose bank has a token, in file order.
func targetsFrom(banks stack.DemoBanks, tokens map[string]string) ([]target, error) {
	var out []target
	for _, b := range banks {
		tok := tokens[b.Tenant]
		if tok == "" {
			continue
		}
		for _, br := range b.Org.GetBranches() {
			out = append(out, target{Tenant: b.Tenant, Branch: br.GetId(), Region: br.GetRegionId(),
				Reporter: reporterOf(b.Org, br.GetId()), Token: tok})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no branch of a bank with a token: check the endpoints file and deploy/demo")
	}
	return out, nil
}

// reporterOf picks a teller of the branch (else anyone working there) as
// the staff member who registers its cases, as at the counter.
func reporterOf(org *routingv1.ImportOrgRequest, branch string) string {
	any := ""
	for _, s := range org.GetStaff() {
		if s.GetBranchId() != branch {
			continue
		}
		if s.GetRole() == routingv1.Role_ROLE_TELLER {
			return s.GetId()
		}
		if any == "" {
			any = s.GetId()
		}
	}
	return any
}

// caseSpec is one case of a run: where, with what key, for whom.
type caseSpec struct {
	I         int
	Run       string // the run's tag (hex), in every key and address
	Target    target
	Key       string // Idempotency-Key
	Complaint bool   // a complaint (regulatory deadline) or a counter exception
	Email     string // the customer's address, unique per case
}

// specFor is case i of run: branches round-robin, every other case a
// complaint, a distinct idempotency key, customer and e-mail address.
func specFor(run string, i int, targets []target) caseSpec {
	return caseSpec{I: i, Run: run, Target: targets[i%len(targets)], Key: fmt.Sprintf("loadgen-%s-%d", run, i),
		Complaint: i%2 == 0, Email: fmt.Sprintf("lg-%s-%d@example.com", run, i)}
}

// request is the CreateCase request of s: the body of tools/e2e's
// newCaseBody, with its own customer (a shared ID number would make every
// case a repeat complaint of every other, which is not the load to measure).
func (s caseSpec) request(now time.Time) *intakev1.CreateCaseRequest {
	cat := casesv1.Category_CATEGORY_TRANSACTION_ERROR
	summary := "Transfer keyed to a wrong account"
	if s.Complaint {
		cat, summary = casesv1.Category_CATEGORY_FEE_DISPUTE, "Fee charged twice"
	}
	return &intakev1.CreateCaseRequest{
		BranchId: s.Target.Branch, Channel: casesv1.Channel_CHANNEL_ON_SITE, Category: cat,
		Severity: casesv1.Severity_SEVERITY_NORMAL, Summary: summary + " (loadgen)",
		Description: "Customer disputes a transfer fee.", OccurredAt: timestamppb.New(now.Add(-10 * time.Minute)),
		ReportedBy: s.Target.Reporter,
		Customer: &intakev1.Customer{Name: "王小明", IdNumber: fmt.Sprintf("LG%s%08d", s.Run, s.I),
			Phone: "13812345678", Email: s.Email, Tier: casesv1.CustomerTier_CUSTOMER_TIER_GOLD},
	}
}
