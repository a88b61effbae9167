package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPacerSpacesRequestsEvenly(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	p := pacer{start: start, rate: 200}
	for _, tc := range []struct {
		i    int
		want time.Duration
	}{{0, 0}, {1, 5 * time.Millisecond}, {200, time.Second}, {1000, 5 * time.Second}} {
		if got := p.due(tc.i).Sub(start); got != tc.want {
			t.Errorf("due(%d) = start+%v, want start+%v", tc.i, got, tc.want)
		}
	}
	if p := (pacer{start: start, rate: 3}); p.due(1).Sub(start) != 333333333*time.Nanosecond {
		t.Errorf("a third of a second: %v", p.due(1).Sub(start))
	}
	for _, tc := range []struct {
		rate float64
		d    time.Duration
		want int
	}{{100, 20 * time.Second, 2000}, {1000, 60 * time.Second, 60000}, {2.5, time.Second, 3}, {0.1, time.Second, 0}} {
		if got := countFor(tc.rate, tc.d); got != tc.want {
			t.Errorf("countFor(%v, %v) = %d, want %d", tc.rate, tc.d, got, tc.want)
		}
	}
}

// An open loop sends at the rate whatever the answers take, and measures
// latency from when each request was due.
func TestDriveOpenLoopKeepsTheRate(t *testing.T) {
	const n, rate = 40, 200.0 // 195 ms of schedule
	var mu sync.Mutex
	var outs []outcome
	start := time.Now()
	drive(context.Background(), driveConfig{n: n, concurrency: 8, rate: rate}, func(context.Context, int) (string, error) {
		time.Sleep(10 * time.Millisecond)
		return "id", nil
	}, func(o outcome) {
		mu.Lock()
		outs = append(outs, o)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	if len(outs) != n {
		t.Fatalf("%d outcomes, want %d", len(outs), n)
	}
	if elapsed < 195*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("40 requests at 200/s took %v, want about 205 ms", elapsed)
	}
	seen := map[int]bool{}
	for _, o := range outs {
		seen[o.i] = true
		if o.sent.Before(o.due) {
			t.Errorf("request %d sent %v before it was due", o.i, o.due.Sub(o.sent))
		}
		if o.latency != o.done.Sub(o.due) || o.latency < 10*time.Millisecond {
			t.Errorf("request %d: latency %v, want done−due ≥ 10 ms", o.i, o.latency)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct requests, want %d", len(seen), n)
	}
}

// A closed loop keeps exactly C requests in flight and no more.
func TestDriveClosedLoopConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int64
	var errs atomic.Int64
	drive(context.Background(), driveConfig{n: 60, concurrency: 4}, func(_ context.Context, i int) (string, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		if i%10 == 0 {
			return "", errors.New("refused")
		}
		return "id", nil
	}, func(o outcome) {
		if o.err != nil {
			errs.Add(1)
		}
		if o.due != o.sent {
			t.Errorf("closed loop: due %v ≠ sent %v", o.due, o.sent)
		}
	})
	if peak.Load() != 4 {
		t.Errorf("peak in flight %d, want 4", peak.Load())
	}
	if errs.Load() != 6 {
		t.Errorf("%d errors handed on, want 6", errs.Load())
	}
}

func TestDriveStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var n atomic.Int64
	start := time.Now()
	drive(ctx, driveConfig{n: 1000, concurrency: 2, rate: 20}, func(context.Context, int) (string, error) { return "id", nil },
		func(outcome) { n.Add(1) })
	if time.Since(start) > time.Second || n.Load() > 5 {
		t.Errorf("after the context ended: %d requests in %v", n.Load(), time.Since(start))
	}
}

func TestRenderBar(t *testing.T) {
	got := renderBar(50, 100, 10, time.Second, 2)
	if !strings.HasPrefix(got, "[=====>    ] 50/100  50/s  2 errors") {
		t.Errorf("bar = %q", got)
	}
	if got := renderBar(100, 100, 10, time.Second, 0); !strings.HasPrefix(got, "[==========] 100/100") {
		t.Errorf("full bar = %q", got)
	}
}
