package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

type obj = map[string]any

func call(t *testing.T, method, path, token string, body any, headers ...string) (int, obj) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, gw+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := obj{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// eventually polls check until it returns "" (done) or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %s", what, timeout, last)
}

var seq int

func newCaseBody(summary string) obj {
	seq++
	return obj{
		"branchId": stack.DemoBranch, "channel": "CHANNEL_ON_SITE", "category": "CATEGORY_FEE_DISPUTE",
		"severity": "SEVERITY_NORMAL", "summary": summary, "description": "Customer disputes a transfer fee.",
		"occurredAt": time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339), "reportedBy": stack.DemoTeller,
		"customer": obj{"name": "王小明", "idNumber": "110101199003071234", "phone": "13812345678",
			"email": fmt.Sprintf("wang.%d@example.com", seq), "tier": "CUSTOMER_TIER_GOLD"},
	}
}

func createCase(t *testing.T, key string, body obj) obj {
	t.Helper()
	code, c := call(t, http.MethodPost, "/v1/cases", toks.BankSystem, body, "Idempotency-Key", key)
	if code != http.StatusOK || c["id"] == nil {
		t.Fatalf("create case: %d %v", code, c)
	}
	return c
}

func list(o obj, key string) []obj {
	raw, _ := o[key].([]any)
	out := make([]obj, 0, len(raw))
	for _, r := range raw {
		if m, ok := r.(obj); ok {
			out = append(out, m)
		}
	}
	return out
}

func mailsFor(t *testing.T, caseNumber string) []localinfra.Message {
	t.Helper()
	msgs, err := localinfra.ReadMessages(st.MailDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []localinfra.Message
	for _, m := range msgs {
		if strings.Contains(m.Subject, caseNumber) || strings.Contains(m.Body, caseNumber) {
			out = append(out, m)
		}
	}
	return out
}

type traceSummary struct {
	TraceID  string   `json:"traceId"`
	Services []string `json:"services"`
}

func tracesFor(t *testing.T, caseID string) []traceSummary {
	t.Helper()
	resp, err := http.Get("http://" + st.Addr("traces") + "/api/traces?case_id=" + caseID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Traces []traceSummary `json:"traces"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Traces
}

func serviceLogs(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, s := range stack.Services {
		raw, err := os.ReadFile(st.LogFile(s))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(raw)
	}
	raw, _ := os.ReadFile(filepath.Join(filepath.Dir(st.MailDir()), "traces.jsonl"))
	b.Write(raw)
	return b.String()
}

func str(v any) string { s, _ := v.(string); return s }
