package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

// A normal complaint walks through the gateway from registration to
// closure: the other services follow the steps (slatimer meets the answer
// deadline, reporting counts by status, routing takes it off the queue),
// the history tells the story, masking follows the role, and a step the
// state does not allow is a 409 naming what is allowed.
func TestACaseIsWorkedToClosure(t *testing.T) {
	mint := func(p auth.Principal) string {
		tok, err := st.Keys.Mint(p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cm := mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-pudong-complaints", Role: auth.RoleComplaintManager, Branch: stack.DemoBranch, Region: stack.DemoRegion})
	head := mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-pudong-head", Role: auth.RoleBranchHead, Branch: stack.DemoBranch, Region: stack.DemoRegion})
	_, before := call(t, http.MethodGet, "/v1/reports/summary", toks.HeadOffice, nil)
	c := createCase(t, "life-"+time.Now().Format("150405.000"), newCaseBody("汇款账号录入错误"))
	id := str(c["id"])
	path := "/v1/cases/" + id
	// Routing assigns the case asynchronously: the owning teller (the first
	// receiver) is its owner before the steps below, as at a real counter.
	eventually(t, 20*time.Second, "first owner recorded in intake", func() string {
		_, h := call(t, http.MethodGet, path+"/history", cm, nil)
		for _, e := range list(h, "entries") {
			if e["kind"] == "handover" {
				return ""
			}
		}
		return "no hand-over yet"
	})

	code, r := call(t, http.MethodPost, path+":answer", cm, obj{"answer": "x", "rootCause": "ROOT_CAUSE_OTHER"})
	if code != http.StatusConflict || !strings.Contains(str(r["message"]), "CASE_STATUS_REPORTED") {
		t.Fatalf("answering a case not yet verified: %d %v, want 409 naming the current status", code, r)
	}
	steps := []struct {
		token, action string
		body          obj
		want          string
	}{
		{cm, "startVerification", obj{}, "CASE_STATUS_VERIFYING"},
		{cm, "recordVerification", obj{"finding": "柜员将收款账号6222021234567890录错一位", "substantiated": true, "departments": []string{"运营管理部"}}, "CASE_STATUS_HANDLING"},
		{cm, "answer", obj{"answer": "已更正并补发，致歉。", "rootCause": "ROOT_CAUSE_MANUAL_ENTRY_ERROR",
			"compensation": obj{"kind": "COMPENSATION_KIND_FEE_REFUND", "amountFen": 2500}}, "CASE_STATUS_ANSWERED"},
		{cm, "recordReturnVisit", obj{"satisfaction": 5, "comment": "满意", "reached": true}, "CASE_STATUS_FOLLOWING_UP"},
		{head, "close", obj{}, "CASE_STATUS_CLOSED"},
	}
	for _, s := range steps {
		code, r := call(t, http.MethodPost, path+":"+s.action, s.token, s.body)
		if code != http.StatusOK || str(r["status"]) != s.want {
			t.Fatalf("%s: %d %v, want 200 and %s", s.action, code, r, s.want)
		}
	}
	if code, r := call(t, http.MethodPost, path+"/notes", cm, obj{"text": "客户来电确认，手机13812345678"}); code != http.StatusOK {
		t.Fatalf("note: %d %v", code, r)
	}
	_, h := call(t, http.MethodGet, path+"/history", cm, nil)
	var got []string
	for _, e := range list(h, "entries") {
		got = append(got, str(e["kind"])+":"+str(e["action"]))
	}
	if want := "registered: handover: step:startVerification step:recordVerification step:answer step:recordReturnVisit step:close note:"; strings.Join(got, " ") != want {
		// The hand-over arrives from routing asynchronously: it may sit anywhere after registration.
		if len(got) != 8 || got[0] != "registered:" {
			t.Errorf("history %v, want %s", got, want)
		}
	}
	// Another teller of the branch (not the owner, no need-to-know) sees
	// personal numbers masked; the owner (the reporting teller) sees them.
	other := mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-pudong-teller-2", Role: auth.RoleTeller, Branch: stack.DemoBranch, Region: stack.DemoRegion})
	_, ov := call(t, http.MethodGet, path+"/history", toks.Teller, nil)
	if !strings.Contains(fmt.Sprint(ov), "13812345678") {
		t.Errorf("the owning teller does not see the customer's phone in the note")
	}
	_, tv := call(t, http.MethodGet, path+"/history", other, nil)
	for _, e := range list(tv, "entries") {
		if strings.Contains(str(e["text"]), "13812345678") || strings.Contains(str(e["text"]), "6222021234567890") {
			t.Errorf("a teller sees a personal number in the history: %q", str(e["text"]))
		}
	}
	eventually(t, 20*time.Second, "slatimer meets the first-answer deadline", func() string {
		_, d := call(t, http.MethodGet, path+"/deadlines", toks.BankSystem, nil)
		for _, x := range list(d, "deadlines") {
			if str(x["kind"]) == "DEADLINE_KIND_FIRST_ANSWER" && str(x["metAt"]) != "" {
				return ""
			}
		}
		return fmt.Sprint(d)
	})
	eventually(t, 20*time.Second, "reporting counts the closed case", func() string {
		_, s := call(t, http.MethodGet, "/v1/reports/summary", toks.HeadOffice, nil)
		closed := func(o obj) int { // int64 values come as JSON strings
			m, _ := o["byStatus"].(obj)
			n, _ := strconv.Atoi(fmt.Sprint(m["CASE_STATUS_CLOSED"]))
			return n
		}
		if closed(s) >= closed(before)+1 {
			return ""
		}
		return fmt.Sprint(s["byStatus"])
	})
	eventually(t, 20*time.Second, "routing takes the closed case off the queue", func() string {
		_, q := call(t, http.MethodGet, "/v1/branches/"+stack.DemoBranch+"/queue", toks.HeadOffice, nil)
		for _, e := range list(q, "entries") {
			if str(e["caseId"]) == id {
				return "still queued"
			}
		}
		return ""
	})
	eventually(t, 20*time.Second, "the customer receives the answer", func() string {
		for _, m := range mailsFor(t, str(c["caseNumber"])) {
			if strings.Contains(m.Subject, "答复") && strings.Contains(m.Body, "已更正并补发，致歉。") {
				return ""
			}
		}
		return fmt.Sprintf("%d mails of the case, none with the answer", len(mailsFor(t, str(c["caseNumber"]))))
	})
	code, r = call(t, http.MethodPost, path+":close", head, obj{})
	if code != http.StatusConflict {
		t.Errorf("closing a closed case: %d %v, want 409", code, r)
	}
	if code, _ := call(t, http.MethodPost, path+":reopen", toks.BankSystem, obj{"reason": "x"}); code != http.StatusForbidden {
		t.Errorf("a bank system reopening: %d, want 403", code)
	}
}

// A complex and a major complaint walk the same steps to closure; their
// first-answer deadlines are met by the answer.
func TestComplexAndMajorComplaintsAreWorkedToClosure(t *testing.T) {
	head, err := st.Keys.Mint(auth.Principal{Tenant: stack.DemoTenant, Subject: "st-pudong-head", Role: auth.RoleBranchHead, Branch: stack.DemoBranch, Region: stack.DemoRegion}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, sev := range []string{"SEVERITY_COMPLEX", "SEVERITY_MAJOR"} {
		t.Run(sev, func(t *testing.T) {
			body := newCaseBody("复杂或重大投诉 " + sev)
			body["severity"] = sev
			c := createCase(t, "sev-"+sev+time.Now().Format("150405.000"), body)
			path := "/v1/cases/" + str(c["id"])
			for _, s := range []struct {
				action string
				body   obj
			}{
				{"startVerification", obj{}},
				{"recordVerification", obj{"finding": "多部门会商核实", "substantiated": true, "departments": []string{"运营管理部", "科技部"}}},
				{"answer", obj{"answer": "经核实已处理，向您致歉。", "rootCause": "ROOT_CAUSE_SYSTEM_FAILURE"}},
				{"recordReturnVisit", obj{"satisfaction": 3, "reached": true}},
				{"close", obj{}},
			} {
				if code, r := call(t, http.MethodPost, path+":"+s.action, head, s.body); code != http.StatusOK {
					t.Fatalf("%s: %d %v", s.action, code, r)
				}
			}
			eventually(t, 20*time.Second, "the first answer met", func() string {
				_, d := call(t, http.MethodGet, path+"/deadlines", toks.BankSystem, nil)
				for _, x := range list(d, "deadlines") {
					if str(x["kind"]) == "DEADLINE_KIND_FIRST_ANSWER" && str(x["metAt"]) != "" {
						return ""
					}
				}
				return fmt.Sprint(d)
			})
			_, got := call(t, http.MethodGet, path, toks.BankSystem, nil)
			if str(got["status"]) != "CASE_STATUS_CLOSED" || str(got["severity"]) != sev || (got["headOfficeCase"] == true) != (sev == "SEVERITY_MAJOR") {
				t.Errorf("case after closing: %v (a major case goes up to head office, a complex one not)", got)
			}
			// Every step is in the audit trail, and the trail holds.
			if code, v := call(t, http.MethodGet, path+"/audit:verify", toks.BankSystem, nil); code != http.StatusOK || v["ok"] != true || v["entries"].(float64) < 6 {
				t.Errorf("audit after the walk: %d %v, want ok with the creation and five steps", code, v)
			}
		})
	}
}
