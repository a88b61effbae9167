package report

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Measures are the additive counts behind Figures: what a rollup row keeps
// per scope and month, and what a query sums. Every field is a count of
// cases received in the counted window (or a sum over them).
type Measures struct {
	Received, Answered, Closed, Open, Withdrawn int64
	AckMet, AckSettled                          int64
	AnswerMet, AnswerSettled                    int64
	ResolveMet, ResolveSettled                  int64
	Warnings, Breaches, Escalations, Handovers  int64
	HandlingN                                   int64
	HandlingSumSeconds                          float64
	Settled, SettledAtBranch                    int64
	Repeats                                     int64
	SatN, SatSum                                int64
	// Sat[i] counts score i+1.
	Sat                          [5]int64
	Compensated, CompensationFen int64
}

// Add adds o to m.
func (m *Measures) Add(o Measures) {
	m.Received += o.Received
	m.Answered += o.Answered
	m.Closed += o.Closed
	m.Open += o.Open
	m.Withdrawn += o.Withdrawn
	m.AckMet += o.AckMet
	m.AckSettled += o.AckSettled
	m.AnswerMet += o.AnswerMet
	m.AnswerSettled += o.AnswerSettled
	m.ResolveMet += o.ResolveMet
	m.ResolveSettled += o.ResolveSettled
	m.Warnings += o.Warnings
	m.Breaches += o.Breaches
	m.Escalations += o.Escalations
	m.Handovers += o.Handovers
	m.HandlingN += o.HandlingN
	m.HandlingSumSeconds += o.HandlingSumSeconds
	m.Settled += o.Settled
	m.SettledAtBranch += o.SettledAtBranch
	m.Repeats += o.Repeats
	m.SatN += o.SatN
	m.SatSum += o.SatSum
	for i := range m.Sat {
		m.Sat[i] += o.Sat[i]
	}
	m.Compensated += o.Compensated
	m.CompensationFen += o.CompensationFen
}

// MeasuresOf is one case's contribution to the measures (zero for a
// partial record).
func MeasuresOf(r CaseRecord) Measures {
	if !r.Created() {
		return Measures{}
	}
	m := Measures{Received: 1, Warnings: int64(r.Warnings), Breaches: int64(r.Breaches),
		Escalations: int64(r.Escalations), Handovers: int64(r.Handovers)}
	if !r.FirstAnsweredAt.IsZero() {
		m.Answered = 1
	}
	switch r.Status {
	case StatusClosed:
		m.Closed = 1
	case StatusWithdrawn:
		m.Withdrawn = 1
	default:
		m.Open = 1
	}
	m.AckMet, m.AckSettled = pair(r.Compliance(KindAcknowledge))
	m.AnswerMet, m.AnswerSettled = pair(r.Compliance(KindFirstAnswer))
	m.ResolveMet, m.ResolveSettled = pair(r.Compliance(KindResolution))
	if d, ok := r.HandlingTime(); ok {
		m.HandlingN, m.HandlingSumSeconds = 1, d.Seconds()
	}
	if r.Settled() {
		m.Settled = 1
	}
	if r.SettledAtBranch() {
		m.SettledAtBranch = 1
	}
	if r.Repeat {
		m.Repeats = 1
	}
	if r.Satisfaction > 0 {
		m.SatN, m.SatSum = 1, int64(r.Satisfaction)
		m.Sat[r.Satisfaction-1] = 1
	}
	if r.Compensation.Kind != "" {
		m.Compensated, m.CompensationFen = 1, r.Compensation.AmountFen
	}
	return m
}

func pair(a, b bool) (int64, int64) { return b2i(a), b2i(b) }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Histogram counts handling times by bucket (see Bucket).
type Histogram map[int]int64

// Percentile is the nearest-rank p-quantile (0 < p <= 1) read from h: the
// value of the bucket holding the ceil(p*n)-th smallest time; 0 when empty.
func (h Histogram) Percentile(p float64) float64 {
	var n int64
	buckets := make([]int, 0, len(h))
	for b, c := range h {
		if c > 0 {
			n += c
			buckets = append(buckets, b)
		}
	}
	if n == 0 {
		return 0
	}
	slices.Sort(buckets)
	rank := int64(math.Ceil(p * float64(n)))
	var seen int64
	for _, b := range buckets {
		seen += h[b]
		if seen >= rank {
			return BucketValue(b)
		}
	}
	return BucketValue(buckets[len(buckets)-1])
}

// Figures are what the API shows of a set of cases.
type Figures struct {
	Measures
	AckRate, AnswerRate, ResolveRate       float64
	HandlingMean, HandlingP50, HandlingP90 float64 // seconds
	HandoversPerCase                       float64
	SettledAtBranchRate                    float64
	SatisfactionMean                       float64
}

// FiguresOf computes the figures from summed measures and the handling-time
// histogram of the same cases.
func FiguresOf(m Measures, h Histogram) Figures {
	return Figures{
		Measures:            m,
		AckRate:             ratio(m.AckMet, m.AckSettled),
		AnswerRate:          ratio(m.AnswerMet, m.AnswerSettled),
		ResolveRate:         ratio(m.ResolveMet, m.ResolveSettled),
		HandlingMean:        fratio(m.HandlingSumSeconds, m.HandlingN),
		HandlingP50:         h.Percentile(0.5),
		HandlingP90:         h.Percentile(0.9),
		HandoversPerCase:    fratio(float64(m.Handovers), m.Received),
		SettledAtBranchRate: ratio(m.SettledAtBranch, m.Settled),
		SatisfactionMean:    fratio(float64(m.SatSum), m.SatN),
	}
}

func ratio(a, b int64) float64 { return fratio(float64(a), b) }

func fratio(a float64, b int64) float64 {
	if b == 0 {
		return 0
	}
	return a / float64(b)
}

// Share is one item of a Pareto: its count, its share of the total and the
// cumulative share of it and every larger item.
type Share struct {
	Key              string
	N                int64
	Share, Cumulated float64
}

// Pareto orders counts largest first (ties by key) with shares.
func Pareto(counts map[string]int64) ([]Share, int64) {
	var total int64
	out := make([]Share, 0, len(counts))
	for k, n := range counts {
		if n > 0 {
			total += n
			out = append(out, Share{Key: k, N: n})
		}
	}
	slices.SortFunc(out, func(a, b Share) int {
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	var cum int64
	for i := range out {
		cum += out[i].N
		out[i].Share = ratio(out[i].N, total)
		out[i].Cumulated = ratio(cum, total)
	}
	return out, total
}

// Change is (cur - prev) / prev; 0 when prev is 0.
func Change(cur, prev int64) float64 {
	if prev == 0 {
		return 0
	}
	return float64(cur-prev) / float64(prev)
}

// PeriodStart is the start of the period of t (in loc), as an instant.
func PeriodStart(t time.Time, p Period, loc *time.Location) time.Time {
	l := t.In(loc)
	y, m, d := l.Date()
	switch p {
	case PeriodDay:
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	case PeriodWeek:
		wd := (int(l.Weekday()) + 6) % 7 // Monday 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, loc)
	case PeriodQuarter:
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc)
	}
}

// Period a trend counts in.
type Period int

// Periods.
const (
	PeriodMonth Period = iota
	PeriodDay
	PeriodWeek
	PeriodQuarter
)
