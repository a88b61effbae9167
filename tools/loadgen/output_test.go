package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func decodeLine(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if bytes.Count(b, []byte("\n")) != 1 || !bytes.HasSuffix(b, []byte("\n")) {
		t.Fatalf("not one line: %q", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return m
}

func TestIntakeJSONShape(t *testing.T) {
	res := intakeResult{Mode: "intake", Transport: "grpc", Count: 2000, Concurrency: 16, Created: 2000,
		ThroughputPerS: 193.2, P50Ms: 70, P95Ms: 120, P99Ms: 144, PgCommitRatePerS: 20082, Ratio: 0.0096,
		verification: newVerification(3*time.Second, 0, nil)}
	var buf bytes.Buffer
	if err := writeJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	m := decodeLine(t, buf.Bytes())
	for _, k := range []string{"throughput_per_s", "p50_ms", "p95_ms", "p99_ms", "errors", "pg_commit_rate_per_s",
		"ratio", "count", "concurrency", "transport", "verified", "violations", "settle_s", "unsettled", "latency_from"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, buf.String())
		}
	}
	if m["verified"] != true || m["transport"] != "grpc" || m["count"] != 2000.0 || m["ratio"] != 0.0096 {
		t.Errorf("values: %s", buf.String())
	}
	if _, ok := m["violation_samples"]; ok {
		t.Errorf("violation_samples on a verified run: %s", buf.String())
	}
}

func TestPipelineJSONShape(t *testing.T) {
	vs := make([]violation, 30)
	for i := range vs {
		vs[i] = violation{CaseID: "c", Tenant: "demo-bank", Effect: "owner", Detail: "2 assignments"}
	}
	res := pipelineResult{Mode: "pipeline", Transport: "grpc", Rate: 100, DurationS: 20,
		Effects:      map[string]effectSummary{"owner": {P50Ms: 1, P99Ms: 2, MaxMs: 3, Count: 4, Clock: "observed"}},
		verification: newVerification(time.Second, 2, vs)}
	var buf bytes.Buffer
	if err := writeJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	m := decodeLine(t, buf.Bytes())
	for _, k := range []string{"sustained_throughput_per_s", "backlog_at_end", "effects", "verified", "rate", "duration_s",
		"registration_rate_per_s", "create_p99_ms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, buf.String())
		}
	}
	owner, _ := m["effects"].(map[string]any)["owner"].(map[string]any)
	for _, k := range []string{"p50_ms", "p99_ms", "max_ms", "count", "clock"} {
		if _, ok := owner[k]; !ok {
			t.Errorf("effects.owner has no %q: %s", k, buf.String())
		}
	}
	if m["verified"] != false || m["violations"] != 30.0 || len(m["violation_samples"].([]any)) != maxSamples {
		t.Errorf("violations: %s", buf.String())
	}
	sample := m["violation_samples"].([]any)[0].(map[string]any)
	if sample["case_id"] != "c" || sample["effect"] != "owner" || sample["detail"] != "2 assignments" {
		t.Errorf("a sample: %v", sample)
	}
}

func TestTextOutputKeepsFieldOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := writeText(&buf, intakeResult{Mode: "intake", Transport: "http", verification: verification{Verified: true}}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var keys []string
	for sc.Scan() {
		keys = append(keys, strings.Fields(sc.Text())[0])
	}
	if len(keys) < 5 || keys[0] != "mode" || keys[1] != "transport" || !strings.Contains(strings.Join(keys, " "), "verified") {
		t.Errorf("keys = %v", keys)
	}
}
