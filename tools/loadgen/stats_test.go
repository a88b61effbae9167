package main

import (
	"slices"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose: summarise sorts a copy
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	orig := slices.Clone(ds)
	l := summarise(ds)
	if l.P50 != 50*time.Millisecond || l.P95 != 95*time.Millisecond || l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond || l.N != 100 {
		t.Errorf("summarise(1..100 ms) = %+v", l)
	}
	if !slices.Equal(ds, orig) {
		t.Error("summarise reordered its input")
	}
	sorted := []time.Duration{10, 20, 30, 40}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 20}, {75, 30}, {76, 40}, {99, 40}, {100, 40}, {1, 10}, {0, 10}} {
		if got := percentile(sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", sorted, tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile of one = %v", got)
	}
	if l := summarise(nil); l != (latencies{}) {
		t.Errorf("summarise(nil) = %+v", l)
	}
}

func TestRatesAndRounding(t *testing.T) {
	if got := perSecond(500, 2*time.Second); got != 250 {
		t.Errorf("perSecond = %v", got)
	}
	if got := perSecond(5, 0); got != 0 {
		t.Errorf("perSecond over nothing = %v", got)
	}
	if got := ms(1234567 * time.Nanosecond); got != 1.23 {
		t.Errorf("ms = %v", got)
	}
}

func TestSustainedThroughput(t *testing.T) {
	base := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var keepsUp, fallsBehind []time.Time
	for i := range 201 {
		// Offered at 100/s for 2 s: one pipeline completes each 3 s after it
		// was registered, the other drains 40 a second from the start.
		keepsUp = append(keepsUp, base.Add(3*time.Second+time.Duration(i)*10*time.Millisecond))
		fallsBehind = append(fallsBehind, base.Add(time.Duration(i)*25*time.Millisecond))
	}
	if got := sustained(keepsUp); got != 100 {
		t.Errorf("keeps up: %v/s, want 100", got)
	}
	if got := sustained(fallsBehind); got != 40 {
		t.Errorf("falls behind: %v/s, want 40", got)
	}
	if got := sustained(keepsUp[:1]); got != 0 {
		t.Errorf("one case: %v", got)
	}
}
