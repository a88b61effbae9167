package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// intakeResult is the one JSON line of `loadgen intake`.
type intakeResult struct {
	Mode        string  `json:"mode"` // "intake"
	Transport   string  `json:"transport"`
	Count       int     `json:"count"` // cases asked for
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"` // offered cases/s; 0: closed loop
	Branches    int     `json:"branches"`
	Created     int     `json:"created"`
	Errors      int     `json:"errors"`
	DurationS   float64 `json:"duration_s"`
	// ThroughputPerS is cases created per second of the load.
	ThroughputPerS float64 `json:"throughput_per_s"`
	P50Ms          float64 `json:"p50_ms"`
	P95Ms          float64 `json:"p95_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	// LatencyFrom: "sent" (closed loop) or "scheduled" (open loop: from when
	// the request was due, so time spent waiting for a free client counts).
	LatencyFrom string `json:"latency_from"`
	// The raw Postgres commit rate at the same concurrency on the same
	// server, measured after the pipeline settled.
	PgCommitRatePerS  float64 `json:"pg_commit_rate_per_s"`
	PgSeconds         float64 `json:"pg_seconds"`
	PgSynchronousComm string  `json:"pg_synchronous_commit"`
	PgFsync           string  `json:"pg_fsync"`
	// Ratio is ThroughputPerS / PgCommitRatePerS.
	Ratio float64 `json:"ratio"`
	// Profile is where the time went (--profile); absent without it.
	Profile *profileResult `json:"profile,omitempty"`
	verification
}

// effectSummary is one effect's latency from the create answer.
type effectSummary struct {
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	Count int     `json:"count"` // cases with the effect seen
	Clock string  `json:"clock"` // where the time comes from: "observed" (poll) or the column
}

// pipelineResult is the one JSON line of `loadgen pipeline`.
type pipelineResult struct {
	Mode        string  `json:"mode"` // "pipeline"
	Transport   string  `json:"transport"`
	Rate        float64 `json:"rate"`
	DurationS   float64 `json:"duration_s"`
	Concurrency int     `json:"concurrency"`
	Branches    int     `json:"branches"`
	Count       int     `json:"count"` // cases sent
	Created     int     `json:"created"`
	Errors      int     `json:"errors"`
	// RegistrationRatePerS is cases created per second while registering.
	RegistrationRatePerS float64 `json:"registration_rate_per_s"`
	CreateP50Ms          float64 `json:"create_p50_ms"`
	CreateP99Ms          float64 `json:"create_p99_ms"`
	// Effects per effect, and "all": until the last effect of the case.
	Effects map[string]effectSummary `json:"effects"`
	// SustainedThroughputPerS is cases completed end to end (every effect)
	// per second, from the first case completed to the last (see sustained).
	SustainedThroughputPerS float64 `json:"sustained_throughput_per_s"`
	// BacklogAtEnd is the cases with some effect missing when the
	// registration stopped.
	BacklogAtEnd int   `json:"backlog_at_end"`
	PollMs       int64 `json:"poll_ms"`
	// Profile is where the time went (--profile); absent without it.
	Profile *profileResult `json:"profile,omitempty"`
	verification
}

// verification is what both commands end with.
type verification struct {
	// SettleS is how long it took after the load until every effect of
	// every case was seen (or the --settle limit).
	SettleS float64 `json:"settle_s"`
	// Unsettled is the cases still missing an effect when settling gave up.
	Unsettled  int         `json:"unsettled"`
	Verified   bool        `json:"verified"`
	Violations int         `json:"violations"`
	Samples    []violation `json:"violation_samples,omitempty"` // the first few
}

// maxSamples is how many violations the JSON line carries (stderr lists them all).
const maxSamples = 20

func newVerification(settle time.Duration, unsettled int, vs []violation) verification {
	v := verification{SettleS: round2(settle.Seconds()), Unsettled: unsettled, Violations: len(vs), Verified: len(vs) == 0}
	if len(vs) > 0 {
		v.Samples = vs[:min(len(vs), maxSamples)]
	}
	return v
}

// writeJSON writes v as one line.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeText writes v for a person: one "key  value" line per field of its
// JSON form, in order.
func writeText(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var fields orderedFields
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	for _, f := range fields {
		if _, err := fmt.Fprintf(w, "%-26s %s\n", f.key, f.value); err != nil {
			return err
		}
	}
	return nil
}

type field struct{ key, value string }

// orderedFields is a JSON object's fields in the order they came.
type orderedFields []field

func (o *orderedFields) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		*o = append(*o, field{key: fmt.Sprint(k), value: string(raw)})
	}
	return nil
}
