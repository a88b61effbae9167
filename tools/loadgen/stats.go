package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. An empty slice has no percentile (0).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// ms is a duration in milliseconds, rounded to 0.01 ms for the output.
func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// latencies summarises a set of durations.
type latencies struct {
	P50, P95, P99, Max time.Duration
	N                  int
}

func summarise(ds []time.Duration) latencies {
	s := slices.Clone(ds)
	slices.Sort(s)
	l := latencies{N: len(s)}
	if len(s) == 0 {
		return l
	}
	l.P50, l.P95, l.P99, l.Max = percentile(s, 50), percentile(s, 95), percentile(s, 99), s[len(s)-1]
	return l
}

// perSecond is n events over d, 0 for an empty interval.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round2(float64(n) / d.Seconds())
}

// sustained is the rate at which cases were completed end to end, given
// when each was: the cases after the first over the time from the first
// completion to the last. The pipeline's latency shifts every completion
// alike and so drops out: a pipeline that keeps up completes at the offered
// rate, one that falls behind at the rate it drains its backlog.
func sustained(done []time.Time) float64 {
	if len(done) < 2 {
		return 0
	}
	first, last := done[0], done[0]
	for _, t := range done[1:] {
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return perSecond(len(done)-1, last.Sub(first))
}
