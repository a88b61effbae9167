package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

func TestACaseTravelsThroughAllFiveServices(t *testing.T) {
	_, before := call(t, http.MethodGet, "/v1/reports/summary", toks.Supervisor, nil)
	posted := time.Now()
	c := createCase(t, "flow-1", newCaseBody("Fee charged twice"))
	id, number := str(c["id"]), str(c["caseNumber"])

	// routing: the reporting teller owns it and it is queued at the branch.
	eventually(t, 10*time.Second, "intake shows the owner routing assigned", func() string {
		_, got := call(t, http.MethodGet, "/v1/cases/"+id, toks.BankSystem, nil)
		if got["ownerId"] != stack.DemoTeller || got["status"] != "CASE_STATUS_REPORTED" {
			return fmt.Sprintf("case is %v", got)
		}
		return ""
	})
	eventually(t, 10*time.Second, "the case is in the branch's live queue", func() string {
		_, q := call(t, http.MethodGet, "/v1/branches/"+stack.DemoBranch+"/queue", toks.Teller, nil)
		for _, e := range list(q, "entries") {
			if e["caseId"] == id {
				return ""
			}
		}
		return fmt.Sprintf("queue is %v", q)
	})

	// slatimer: acknowledgment and first answer armed; the first answer is
	// due at 17:00 Shanghai time on a later day (1 working day, normal case).
	var firstAnswer time.Time
	eventually(t, 10*time.Second, "deadlines armed", func() string {
		_, d := call(t, http.MethodGet, "/v1/cases/"+id+"/deadlines", toks.BankSystem, nil)
		kinds := map[string]string{}
		for _, dl := range list(d, "deadlines") {
			kinds[str(dl["kind"])] = str(dl["dueAt"])
		}
		if kinds["DEADLINE_KIND_ACKNOWLEDGE"] == "" || kinds["DEADLINE_KIND_FIRST_ANSWER"] == "" {
			return fmt.Sprintf("deadlines are %v", d)
		}
		firstAnswer, _ = time.Parse(time.RFC3339Nano, kinds["DEADLINE_KIND_FIRST_ANSWER"])
		return ""
	})
	sh, _ := time.LoadLocation("Asia/Shanghai")
	local := firstAnswer.In(sh)
	if local.Hour() != 17 || local.Minute() != 0 || !firstAnswer.After(posted) || local.Weekday() == time.Sunday {
		t.Errorf("first answer due %s, want 17:00 Shanghai on a later working day", local)
	}

	// notification: one acknowledgment e-mail, in Chinese, naming the case
	// number and the expected answer date, recorded as SENT.
	var mailAt time.Time
	eventually(t, 15*time.Second, "acknowledgment mail received by the SMTP server", func() string {
		if ms := mailsFor(t, number); len(ms) > 0 {
			mailAt = time.Now()
			return ""
		}
		return "no mail yet"
	})
	t.Logf("POST to mail received: %d ms", mailAt.Sub(posted).Milliseconds())
	m := mailsFor(t, number)[0]
	wantDate := fmt.Sprintf("%d年%d月%d日", local.Year(), int(local.Month()), local.Day())
	if !strings.Contains(m.Subject+m.Body, number) || !strings.Contains(m.Body, wantDate) {
		t.Errorf("mail does not name case %s and date %s:\nsubject %s\n%s", number, wantDate, m.Subject, m.Body)
	}
	eventually(t, 10*time.Second, "delivery recorded as SENT", func() string {
		_, n := call(t, http.MethodGet, "/v1/cases/"+id+"/notifications", toks.BankSystem, nil)
		for _, d := range list(n, "notifications") {
			if d["channel"] == "NOTIFICATION_CHANNEL_EMAIL" && strings.HasSuffix(str(d["status"]), "SENT") {
				return ""
			}
		}
		return fmt.Sprintf("notifications are %v", n)
	})

	// reporting: the regional supervisor's summary counts it.
	eventually(t, 10*time.Second, "reporting counts the case", func() string {
		_, after := call(t, http.MethodGet, "/v1/reports/summary", toks.Supervisor, nil)
		if count(after, "total", "") != count(before, "total", "")+1 ||
			count(after, "byCategory", "CATEGORY_FEE_DISPUTE") != count(before, "byCategory", "CATEGORY_FEE_DISPUTE")+1 ||
			count(after, "byStatus", "CASE_STATUS_REPORTED") != count(before, "byStatus", "CASE_STATUS_REPORTED")+1 {
			return fmt.Sprintf("before %v, after %v", before, after)
		}
		return ""
	})

	// One trace id spans all five services.
	eventually(t, 10*time.Second, "one trace through all five services", func() string {
		ts := tracesFor(t, id)
		if len(ts) != 1 {
			return fmt.Sprintf("%d traces for the case: %v", len(ts), ts)
		}
		for _, s := range stack.Services {
			if !slices.Contains(ts[0].Services, s) {
				return fmt.Sprintf("trace %s has services %v, missing %s", ts[0].TraceID, ts[0].Services, s)
			}
		}
		return ""
	})

	// Personal data never reaches logs or spans.
	logs := serviceLogs(t)
	for _, secret := range []string{"110101199003071234", "13812345678", "王小明", "wang."} {
		if strings.Contains(logs, secret) {
			t.Errorf("personal data %q found in service logs or spans", secret)
		}
	}
}

func count(o obj, field, key string) int {
	v := o[field]
	if key != "" {
		m, _ := v.(obj)
		v = m[key]
	}
	n, _ := strconv.Atoi(str(v))
	return n
}

func TestTheSameIdempotencyKeyCreatesOneCase(t *testing.T) {
	body := newCaseBody("Queue ticket skipped")
	first := createCase(t, "idem-1", body)
	second := createCase(t, "idem-1", body)
	if first["id"] != second["id"] || first["caseNumber"] != second["caseNumber"] {
		t.Fatalf("replay created another case: %v vs %v", first["id"], second["id"])
	}
	body["summary"] = "Something else"
	code, e := call(t, http.MethodPost, "/v1/cases", toks.BankSystem, body, "Idempotency-Key", "idem-1")
	if code != http.StatusConflict {
		t.Fatalf("same key, different request: %d %v, want 409", code, e)
	}
	code, e = call(t, http.MethodPost, "/v1/cases", toks.BankSystem, newCaseBody("no key"))
	if code != http.StatusBadRequest || !strings.Contains(str(e["message"]), "Idempotency-Key") {
		t.Fatalf("no key: %d %v, want 400 naming Idempotency-Key", code, e)
	}
}

func TestARequestWithoutAValidTokenIsRejectedAndCreatesNothing(t *testing.T) {
	_, before := call(t, http.MethodGet, "/v1/cases?pageSize=200", toks.BankSystem, nil)
	forged := toks.BankSystem[:len(toks.BankSystem)-4] + "AAAA"
	for name, tok := range map[string]string{"no token": "", "forged token": forged, "garbage": "not-a-jwt"} {
		code, _ := call(t, http.MethodPost, "/v1/cases", tok, newCaseBody("unauthorised "+name), "Idempotency-Key", "unauth-"+name)
		if code != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", name, code)
		}
	}
	time.Sleep(300 * time.Millisecond)
	_, after := call(t, http.MethodGet, "/v1/cases?pageSize=200", toks.BankSystem, nil)
	if len(list(after, "cases")) != len(list(before, "cases")) {
		t.Fatalf("cases went from %d to %d", len(list(before, "cases")), len(list(after, "cases")))
	}
}

func TestBadInputNamesTheFieldAndChangesNothing(t *testing.T) {
	tests := []struct {
		name, field string
		edit        func(obj)
	}{
		{"missing channel", "channel", func(b obj) { delete(b, "channel") }},
		{"unknown branch", "branchId", func(b obj) { b["branchId"] = "br-nowhere" }},
		{"reporter not at the branch", "reportedBy", func(b obj) { b["reportedBy"] = "st-haidian-teller-1" }},
		{"malformed e-mail", "customer.email", func(b obj) { b["customer"].(obj)["email"] = "not-an-address" }},
		{"occurred in the future", "occurredAt", func(b obj) { b["occurredAt"] = time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339) }},
		{"a NUL in the description", "description", func(b obj) { b["description"] = "x\u0000y" }},
		{"an escape sequence in the summary", "summary", func(b obj) { b["summary"] = "ok\u001b[2J" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCaseBody("bad input")
			tt.edit(b)
			code, e := call(t, http.MethodPost, "/v1/cases", toks.BankSystem, b, "Idempotency-Key", "bad-"+tt.name)
			if code != http.StatusBadRequest || !strings.Contains(str(e["message"]), tt.field) {
				t.Fatalf("got %d %v, want 400 naming %s", code, e, tt.field)
			}
			if strings.Contains(str(e["message"]), "not-an-address") {
				t.Errorf("error echoes the customer's value: %v", e["message"])
			}
		})
	}
}
