package notify

import (
	"fmt"
	"math"
	"time"
)

// MaxAttempts is how often a delivery is tried (since its last replay)
// before it is dead-lettered. With the back-off below that is six to twelve
// hours of an unreachable relay or gateway: a night's outage heals by
// itself, a longer one leaves dead letters that are counted, alerted on and
// replayed (POST /v1/notifications/{id}:retry).
const MaxAttempts = 24

// Backoff bounds: the first retry comes after about BackoffBase, each later
// one waits about twice as long, never more than BackoffCap.
const (
	BackoffBase = time.Second
	BackoffCap  = time.Hour
)

// Backoff is the wait after the given number of failed attempts: an
// exponential step (1 → 1s, 2 → 2s, 3 → 4s, …, capped at an hour) of which
// the upper half is spread by jitter in [0, 1) ("equal jitter"), so the
// deliveries a relay outage failed together do not all come back in the
// same second, and none comes back sooner than half its step. The caller
// draws jitter from its source; tests pass fixed values.
func Backoff(failedAttempts int, jitter float64) time.Duration {
	if failedAttempts < 1 {
		return 0
	}
	step := BackoffBase
	for i := 1; i < failedAttempts && step < BackoffCap; i++ {
		step *= 2
	}
	step = min(step, BackoffCap)
	jitter = math.Min(math.Max(jitter, 0), 1)
	return step/2 + time.Duration(jitter*float64(step/2))
}

// QuietHours is the part of the day, in the branch's time zone, in which
// messages that respect it (HeldByQuietHours) are not sent: from Start to
// End, wrapping past midnight when Start is later than End. Equal Start and
// End mean no quiet hours.
type QuietHours struct {
	// Start and End are times of day as offsets from midnight.
	Start, End time.Duration
}

// DefaultQuietHours is 21:00–08:00.
var DefaultQuietHours = QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}

// ParseQuietHours reads "HH:MM-HH:MM" (e.g. "21:00-08:00"); "off" or ""
// is no quiet hours.
func ParseQuietHours(s string) (QuietHours, error) {
	if s == "" || s == "off" {
		return QuietHours{}, nil
	}
	var h1, m1, h2, m2 int
	if n, err := fmt.Sscanf(s, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); err != nil || n != 4 {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM or off", s)
	}
	for _, v := range [][2]int{{h1, m1}, {h2, m2}} {
		if v[0] < 0 || v[0] > 23 || v[1] < 0 || v[1] > 59 {
			return QuietHours{}, fmt.Errorf("quiet hours %q: hours 00-23, minutes 00-59", s)
		}
	}
	return QuietHours{
		Start: time.Duration(h1)*time.Hour + time.Duration(m1)*time.Minute,
		End:   time.Duration(h2)*time.Hour + time.Duration(m2)*time.Minute,
	}, nil
}

// String is the "HH:MM-HH:MM" form, or "off".
func (q QuietHours) String() string {
	if q.Start == q.End {
		return "off"
	}
	f := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return f(q.Start) + "-" + f(q.End)
}

// NextAllowed is the earliest time at or after now at which a message that
// respects the quiet hours may go out, in the zone loc: now itself outside
// them, their end otherwise.
func (q QuietHours) NextAllowed(now time.Time, loc *time.Location) time.Time {
	if q.Start == q.End {
		return now
	}
	local := now.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	at := func(day int, off time.Duration) time.Time {
		d := midnight.AddDate(0, 0, day)
		return time.Date(d.Year(), d.Month(), d.Day(), int(off.Hours()), int(off.Minutes())%60, 0, 0, loc)
	}
	start, end := at(0, q.Start), at(0, q.End)
	if q.Start < q.End { // e.g. 12:00-14:00, within one day
		if !local.Before(start) && local.Before(end) {
			return end
		}
		return now
	}
	switch { // wraps midnight, e.g. 21:00-08:00
	case local.Before(end):
		return end
	case !local.Before(start):
		return at(1, q.End)
	}
	return now
}

// HeldByQuietHours reports whether quiet hours may hold d. Urgent
// deliveries never wait, and neither do: the acknowledgment, which answers
// what the customer has just done and is due within the hour; a breach and
// a red warning to staff.
func (d Delivery) HeldByQuietHours() bool {
	if d.Urgent {
		return false
	}
	switch d.Template {
	case TemplateCaseAcknowledgment, TemplateStaffDeadlineBreached:
		return false
	case TemplateStaffDeadlineWarned:
		return d.AlertLevel != LevelRed
	}
	return true
}
