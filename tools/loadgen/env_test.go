package main

import (
	"github.com/counterdesk/counterdesk/tools/internal/devenv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

func TestEndpointsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints.env")
	content := "# Written by `make up`\nGATEWAY_URL=http://127.0.0.1:18080/\nINTAKE_GRPC_ADDR=127.0.0.1:18090\n" +
		"POSTGRES_URL=postgres://postgres@127.0.0.1:18081/postgres?sslmode=disable\nREDIS_URL=redis://127.0.0.1:18082/0\n" +
		"DEV_TOKEN=cdk.demo-bank.x\nOTHER_BANK_TOKEN=cdk.demo-bank-2.y\nOTHER_BANK_TENANT_ID=demo-bank-2\nMAIL_DIR=/m\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := devenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := endpointsFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Gateway != "http://127.0.0.1:18080" || ep.Tokens["demo-bank"] != "cdk.demo-bank.x" || ep.Tokens["demo-bank-2"] != "cdk.demo-bank-2.y" || ep.MailDir != "/m" {
		t.Errorf("endpoints = %+v", ep)
	}
	u, err := databaseURL(ep.PostgresURL, "routing")
	if err != nil || u != "postgres://postgres@127.0.0.1:18081/routing?sslmode=disable" {
		t.Errorf("databaseURL = %q, %v", u, err)
	}
	delete(env, "POSTGRES_URL")
	if _, err := endpointsFrom(env); err == nil || !strings.Contains(err.Error(), "POSTGRES_URL") {
		t.Errorf("without POSTGRES_URL: %v", err)
	}
}

// Cases go round-robin over both demo banks' branches, each with its
// bank's token and a staff member of the branch as reporter.
func TestTargetsSpreadOverBothBanks(t *testing.T) {
	banks, err := stack.LoadDemoBanks("")
	if err != nil {
		t.Fatal(err)
	}
	targets, err := targetsFrom(banks, map[string]string{stack.DemoTenant: "tok1", stack.OtherTenant: "tok2"})
	if err != nil {
		t.Fatal(err)
	}
	tenants := map[string]int{}
	for _, tg := range targets {
		tenants[tg.Tenant]++
		if tg.Reporter == "" || tg.Token == "" || tg.Region == "" {
			t.Errorf("target %+v lacks a reporter, token or region", tg)
		}
		if (tg.Tenant == stack.DemoTenant) != (tg.Token == "tok1") {
			t.Errorf("target %+v has the other bank's token", tg)
		}
	}
	if len(tenants) != 2 || len(targets) < 3 {
		t.Fatalf("targets = %+v", targets)
	}
	keys, mails, ids, branches := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]int{}
	for i := range 3 * len(targets) {
		s := specFor("ab12cd34", i, targets)
		keys[s.Key], mails[s.Email] = true, true
		branches[s.Target.Branch]++
		req := s.request(time.Now())
		if req.GetBranchId() != s.Target.Branch || req.GetReportedBy() != s.Target.Reporter || req.GetCustomer().GetEmail() != s.Email {
			t.Errorf("case %d: request %v does not match %+v", i, req, s)
		}
		if (req.GetCategory() == casesv1.Category_CATEGORY_FEE_DISPUTE) != s.Complaint || !regexp.MustCompile(`^[0-9A-Za-z]{6,32}$`).MatchString(req.GetCustomer().GetIdNumber()) {
			t.Errorf("case %d: category %v, id number %q", i, req.GetCategory(), req.GetCustomer().GetIdNumber())
		}
		ids[req.GetCustomer().GetIdNumber()] = true
	}
	if len(keys) != 3*len(targets) || len(mails) != 3*len(targets) || len(ids) != 3*len(targets) {
		t.Errorf("keys, addresses or customers repeat: %d keys, %d addresses, %d ID numbers", len(keys), len(mails), len(ids))
	}
	for b, n := range branches {
		if n != 3 {
			t.Errorf("branch %s got %d of %d cases", b, n, 3*len(targets))
		}
	}
	if one, err := targetsFrom(banks, map[string]string{stack.DemoTenant: "tok1"}); err != nil || len(one) >= len(targets) {
		t.Errorf("one bank's token: %d targets, %v", len(one), err)
	}
	if _, err := targetsFrom(banks, nil); err == nil {
		t.Error("no token at all: no error")
	}
}
