package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

// deadline returns a case's deadline of kind as slatimer shows it.
func deadline(t *testing.T, id, kind string) obj {
	_, ds := call(t, http.MethodGet, "/v1/cases/"+id+"/deadlines", toks.HeadOffice, nil)
	for _, d := range list(ds, "deadlines") {
		if d["kind"] == kind {
			return d
		}
	}
	return nil
}

func mailedTo(t *testing.T, caseNumber, addr string) []string {
	var subjects []string
	for _, m := range mailsFor(t, caseNumber) {
		if slices.Contains(m.To, addr) {
			subjects = append(subjects, m.Subject)
		}
	}
	return subjects
}

// Through the gateway, a demo-bank policy with a 20 s first-answer limit:
// the case warns, breaches, escalates to the next owner, and both owners
// are told; a second case waiting for the customer does not breach while
// paused; the supervisor's overdue list shows the first; the regulatory
// limit is extended with approval.
func TestAShortFirstAnswerLimitWarnsBreachesEscalatesAndTellsBothOwners(t *testing.T) {
	_, pol := call(t, http.MethodGet, "/v1/sla/policy", toks.HeadOffice, nil)
	orig := pol["policy"].(obj)
	short := obj{}
	for k, v := range orig {
		short[k] = v
	}
	var rules []any
	for _, r := range orig["rules"].([]any) {
		rule := r.(obj)
		if rule["kind"] == "DEADLINE_KIND_FIRST_ANSWER" {
			rule = obj{"kind": rule["kind"], "clock": "CLOCK_CALENDAR", "duration": "20s", "severity": rule["severity"]}
		}
		rules = append(rules, rule)
	}
	short["rules"] = rules
	if code, r := call(t, http.MethodPut, "/v1/sla/policy", toks.BankSystem, short); code != http.StatusForbidden {
		t.Fatalf("a bank system setting the policy: %d %v", code, r)
	}
	code, put := call(t, http.MethodPut, "/v1/sla/policy", toks.HeadOffice, short)
	if code != http.StatusOK {
		t.Fatalf("short first-answer policy: %d %v", code, put)
	}
	t.Cleanup(func() {
		if code, r := call(t, http.MethodPut, "/v1/sla/policy", toks.HeadOffice, orig); code != http.StatusOK {
			t.Errorf("restore the policy: %d %v", code, r)
		}
	})
	_, versions := call(t, http.MethodGet, "/v1/sla/policy/versions", toks.HeadOffice, nil)
	if vs := list(versions, "versions"); len(vs) == 0 || str(vs[0]["updatedBy"]) != stack.DemoHeadOffice {
		t.Errorf("policy versions %v, want the newest set by head office", versions)
	}

	cm := staffToken(t, "st-pudong-complaints", auth.RoleComplaintManager, stack.DemoBranch, stack.DemoRegion)
	head := staffToken(t, "st-pudong-head", auth.RoleBranchHead, stack.DemoBranch, stack.DemoRegion)
	a := createCase(t, "sla-a-"+time.Now().Format("150405.000"), newCaseBody("二十秒时限"))
	b := createCase(t, "sla-b-"+time.Now().Format("150405.000"), newCaseBody("等待客户材料"))
	aID, bID := str(a["id"]), str(b["id"])
	eventually(t, 10*time.Second, "b's first-answer clock", func() string {
		if deadline(t, bID, "DEADLINE_KIND_FIRST_ANSWER") == nil {
			return "not armed"
		}
		return ""
	})
	if code, r := call(t, http.MethodPost, "/v1/cases/"+bID+":startVerification", cm, obj{}); code != http.StatusOK {
		t.Fatalf("start verification of b: %d %v", code, r)
	}
	if code, r := call(t, http.MethodPost, "/v1/cases/"+bID+":awaitCustomer", cm, obj{"reason": "等待客户提供汇款回单"}); code != http.StatusOK {
		t.Fatalf("b awaits the customer: %d %v", code, r)
	}

	// a: yellow, orange, red, then breached; owned by the reporting teller, then one level up.
	eventually(t, 60*time.Second, "a's first answer breached", func() string {
		d := deadline(t, aID, "DEADLINE_KIND_FIRST_ANSWER")
		if d == nil || d["level"] != "WARNING_LEVEL_BREACHED" || d["state"] != "breached" {
			return fmt.Sprint(d)
		}
		return ""
	})
	eventually(t, 20*time.Second, "a escalated on the breach", func() string {
		_, as := call(t, http.MethodGet, "/v1/cases/"+aID+"/assignment", toks.HeadOffice, nil)
		if str(as["ownerId"]) != "st-pudong-complaints" {
			return fmt.Sprint(as)
		}
		hs := list(as, "handovers")
		if last := hs[len(hs)-1]; str(last["reason"]) != "escalated_on_breach:DEADLINE_KIND_FIRST_ANSWER" || str(last["fromStaffId"]) != stack.DemoTeller {
			return fmt.Sprint(last)
		}
		return ""
	})
	_, h := call(t, http.MethodGet, "/v1/cases/"+aID+"/history", toks.HeadOffice, nil)
	var levels []string
	for _, e := range list(h, "entries") {
		if e["kind"] == "deadline" && strings.HasPrefix(str(e["action"]), "DEADLINE_KIND_FIRST_ANSWER:") {
			levels = append(levels, strings.TrimPrefix(str(e["action"]), "DEADLINE_KIND_FIRST_ANSWER:"))
		}
	}
	if strings.Join(levels, ",") != "yellow,orange,red,breached" {
		t.Errorf("a's first-answer history %v, want yellow, orange, red, breached", levels)
	}
	// Both owners are told: the teller of every warning and the breach, the
	// complaint manager (the level above) of the breach.
	number := str(a["caseNumber"])
	eventually(t, 20*time.Second, "staff alerts", func() string {
		teller := mailedTo(t, number, "st-pudong-teller-1@demo-bank.example")
		above := mailedTo(t, number, "st-pudong-complaints@demo-bank.example")
		if len(teller) < 4 || len(above) < 1 {
			return fmt.Sprintf("teller got %q, complaint manager got %q", teller, above)
		}
		return ""
	})

	// b is paused: no breach while it waits, however long after its 20 s.
	d := deadline(t, bID, "DEADLINE_KIND_FIRST_ANSWER")
	if d == nil || d["state"] != "paused" || d["level"] == "WARNING_LEVEL_BREACHED" || d["pausedAt"] == nil {
		t.Errorf("b's first answer while paused: %v", d)
	}
	// The supervisor's overdue list holds a, not b.
	_, over := call(t, http.MethodGet, "/v1/deadlines?state=DUE_STATE_OVERDUE&branchId="+stack.DemoBranch+"&pageSize=1000", toks.Supervisor, nil)
	var overdue []string
	for _, x := range list(over, "deadlines") {
		if dl, _ := x["deadline"].(obj); dl != nil && dl["kind"] == "DEADLINE_KIND_FIRST_ANSWER" {
			overdue = append(overdue, str(x["caseId"]))
		}
	}
	if !slices.Contains(overdue, aID) || slices.Contains(overdue, bID) {
		t.Errorf("overdue first answers %v: want a (%s) and not the paused b", overdue, aID)
	}
	// The regulatory limit of b: 15 → 30 days with the branch head's approval.
	before := deadline(t, bID, "DEADLINE_KIND_REGULATORY_DECISION")
	if code, r := call(t, http.MethodPost, "/v1/cases/"+bID+":extendDeadline", cm, obj{"days": 15, "reason": "需调取监控"}); code != http.StatusForbidden {
		t.Errorf("a complaint manager extending: %d %v", code, r)
	}
	code, ext := call(t, http.MethodPost, "/v1/cases/"+bID+":extendDeadline", head, obj{"days": 15, "reason": "需调取监控并联系第三方"})
	if code != http.StatusOK {
		t.Fatalf("extension by the branch head: %d %v", code, ext)
	}
	started, _ := time.Parse(time.RFC3339, str(before["startedAt"]))
	nu, _ := time.Parse(time.RFC3339, str(ext["deadline"].(obj)["dueAt"]))
	// 30 days from receipt now, the day of receipt not counted; a last day
	// on a holiday moves on to the next working day (Spring Festival: up to
	// 8 more).
	if got := nu.Sub(started); got < 30*24*time.Hour || got > 40*24*time.Hour {
		t.Errorf("the extended limit is %s after receipt, want 30 days (a few more if it ends in a holiday)", got)
	}
}
