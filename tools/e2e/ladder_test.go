package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

// staffToken mints a token for a demo staff member as the bank's issuer would.
func staffToken(t *testing.T, id string, role auth.Role, branch, region string) string {
	t.Helper()
	tok, err := st.Keys.Mint(auth.Principal{Tenant: stack.DemoTenant, Subject: id, Role: role, Branch: branch, Region: region}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type rung struct {
	id, level string
	token     string
}

func demoLadder(t *testing.T) []rung {
	b, r := stack.DemoBranch, stack.DemoRegion
	return []rung{
		{"st-pudong-teller-1", "first_receiver", staffToken(t, "st-pudong-teller-1", auth.RoleTeller, b, r)},
		{"st-pudong-complaints", "complaint_manager", staffToken(t, "st-pudong-complaints", auth.RoleComplaintManager, b, r)},
		{"st-pudong-head", "branch_head", staffToken(t, "st-pudong-head", auth.RoleBranchHead, b, r)},
		{"st-east-supervisor", "regional", staffToken(t, "st-east-supervisor", auth.RoleRegionalSupervisor, "", r)},
		{"st-head-office", "head_office", staffToken(t, "st-head-office", auth.RoleHeadOffice, "", "")},
	}
}

// pickup returns the case's pick-up deadline as slatimer holds it.
func pickup(t *testing.T, id string) obj {
	_, ds := call(t, http.MethodGet, "/v1/cases/"+id+"/deadlines", toks.HeadOffice, nil)
	for _, d := range list(ds, "deadlines") {
		if d["kind"] == "DEADLINE_KIND_HANDOVER_PICKUP" {
			return d
		}
	}
	return nil
}

// checkStep waits until every view agrees the case is owned by want: routing's
// assignment, intake's case, the branch queue (under the owner, pick-up as
// expected), slatimer's pick-up clock and intake's history.
func checkStep(t *testing.T, id string, want rung, pending bool, handovers int) {
	t.Helper()
	eventually(t, 20*time.Second, "owner "+want.id, func() string {
		_, a := call(t, http.MethodGet, "/v1/cases/"+id+"/assignment", toks.HeadOffice, nil)
		if str(a["ownerId"]) != want.id || a["pickupPending"] == true != pending || str(a["level"]) != want.level ||
			len(list(a, "handovers")) != handovers || str(a["firstResponderId"]) != "st-pudong-teller-1" {
			return fmt.Sprint("assignment ", a)
		}
		_, c := call(t, http.MethodGet, "/v1/cases/"+id, toks.HeadOffice, nil)
		if str(c["ownerId"]) != want.id {
			return fmt.Sprint("intake's case ", c["ownerId"])
		}
		_, q := call(t, http.MethodGet, "/v1/branches/"+stack.DemoBranch+"/queue?pageSize=1000&ownerId="+want.id, toks.HeadOffice, nil)
		found := false
		for _, e := range list(q, "entries") {
			if e["caseId"] == id {
				found = e["pickupPending"] == true == pending
			}
		}
		if !found {
			return fmt.Sprint("not in ", want.id, "'s queue as expected: ", q)
		}
		if handovers > 1 {
			d := pickup(t, id)
			if d == nil || (d["metAt"] != nil) == pending {
				return fmt.Sprint("pick-up clock ", d)
			}
		}
		_, h := call(t, http.MethodGet, "/v1/cases/"+id+"/history", toks.HeadOffice, nil)
		n := 0
		for _, e := range list(h, "entries") {
			if e["kind"] == "handover" {
				n++
			}
		}
		if n != handovers {
			return fmt.Sprintf("intake's history has %d hand-overs, want %d", n, handovers)
		}
		return ""
	})
}

// A complaint climbs the whole ladder to head office by explicit
// escalation, each new owner picking it up; head office cannot go higher.
func TestAComplaintIsEscalatedUpTheWholeLadder(t *testing.T) {
	ladder := demoLadder(t)
	c := createCase(t, "ladder-"+time.Now().Format("150405.000"), newCaseBody("客户要求上级处理"))
	id := str(c["id"])
	checkStep(t, id, ladder[0], false, 1)
	n := 1
	for i := 1; i < len(ladder); i++ {
		code, r := call(t, http.MethodPost, "/v1/cases/"+id+":escalate", ladder[i-1].token, obj{"reason": "超出权限，请上级处理"})
		if code != http.StatusOK {
			t.Fatalf("escalate by %s: %d %v", ladder[i-1].id, code, r)
		}
		n++
		checkStep(t, id, ladder[i], true, n)
		if code, r := call(t, http.MethodPost, "/v1/cases/"+id+":claim", ladder[i].token, obj{}); code != http.StatusOK {
			t.Fatalf("%s picks up: %d %v", ladder[i].id, code, r)
		}
		n++
		checkStep(t, id, ladder[i], false, n)
	}
	if code, r := call(t, http.MethodPost, "/v1/cases/"+id+":escalate", ladder[4].token, obj{"reason": "更高"}); code != http.StatusConflict {
		t.Errorf("escalate from head office: %d %v, want 409", code, r)
	}
	if code, _ := call(t, http.MethodPost, "/v1/cases/"+id+":claim", ladder[2].token, obj{}); code != http.StatusForbidden && code != http.StatusConflict {
		t.Errorf("a claim of a case nobody handed over: %d", code)
	}
}

// With a short pick-up limit, a hand-over nobody picks up breaches and
// escalates, level after level, until head office owns it.
func TestUnclaimedHandOversEscalateOnBreachToHeadOffice(t *testing.T) {
	_, pol := call(t, http.MethodGet, "/v1/sla/policy", toks.HeadOffice, nil)
	orig := pol["policy"].(obj)
	short := obj{}
	for k, v := range orig {
		short[k] = v
	}
	var rules []any
	for _, r := range orig["rules"].([]any) {
		if r.(obj)["kind"] != "DEADLINE_KIND_HANDOVER_PICKUP" {
			rules = append(rules, r)
		}
	}
	short["rules"] = append(rules, obj{"kind": "DEADLINE_KIND_HANDOVER_PICKUP", "clock": "CLOCK_CALENDAR", "duration": "3s"})
	if code, r := call(t, http.MethodPut, "/v1/sla/policy", toks.HeadOffice, short); code != http.StatusOK {
		t.Fatalf("short pick-up policy: %d %v", code, r)
	}
	t.Cleanup(func() {
		if code, r := call(t, http.MethodPut, "/v1/sla/policy", toks.HeadOffice, orig); code != http.StatusOK {
			t.Errorf("restore the policy: %d %v", code, r)
		}
	})
	ladder := demoLadder(t)
	c := createCase(t, "breach-ladder-"+time.Now().Format("150405.000"), newCaseBody("无人接手的转交"))
	id := str(c["id"])
	checkStep(t, id, ladder[0], false, 1)
	if code, r := call(t, http.MethodPost, "/v1/cases/"+id+":escalate", ladder[0].token, obj{"reason": "请投诉管理员处理"}); code != http.StatusOK {
		t.Fatalf("escalate: %d %v", code, r)
	}
	// Nobody claims: complaint manager → branch head → region → head office, one breach each.
	eventually(t, 60*time.Second, "breach escalation to head office", func() string {
		_, a := call(t, http.MethodGet, "/v1/cases/"+id+"/assignment", toks.HeadOffice, nil)
		if str(a["ownerId"]) != "st-head-office" {
			return fmt.Sprint("owner ", a["ownerId"])
		}
		return ""
	})
	_, a := call(t, http.MethodGet, "/v1/cases/"+id+"/assignment", toks.HeadOffice, nil)
	var got []string
	for _, h := range list(a, "handovers") {
		got = append(got, str(h["kind"])+">"+str(h["toStaffId"]))
	}
	want := "assign>st-pudong-teller-1 escalate>st-pudong-complaints breach>st-pudong-head breach>st-east-supervisor breach>st-head-office"
	if strings.Join(got, " ") != want {
		t.Errorf("hand-overs %v, want %s", got, want)
	}
	for _, h := range list(a, "handovers")[2:] {
		if str(h["reason"]) != "escalated_on_breach:DEADLINE_KIND_HANDOVER_PICKUP" {
			t.Errorf("breach hand-over %v", h)
		}
	}
	// Head office picks it up; the clock is met and nothing moves it again.
	if code, r := call(t, http.MethodPost, "/v1/cases/"+id+":claim", ladder[4].token, obj{}); code != http.StatusOK {
		t.Fatalf("head office picks up: %d %v", code, r)
	}
	checkStep(t, id, ladder[4], false, 6)
}
