package notify

import (
	"fmt"
	"time"
	_ "time/tzdata" // branch zones must resolve even in images without a zoneinfo database
)

// Deadline kinds as slatimer names them on its events.
const (
	KindFirstAnswer = "DEADLINE_KIND_FIRST_ANSWER"
	KindResolution  = "DEADLINE_KIND_RESOLUTION"
)

// DefaultTimeZone is used when an event names no zone: counterdesk's banks
// are in China unless configured otherwise.
const DefaultTimeZone = "Asia/Shanghai"

// Deadline is one armed time limit of a case.
type Deadline struct {
	Kind  string
	DueAt time.Time
}

// Acknowledgment is what the customer is promised when a case is taken on:
// an answer by ExpectedAnswerAt, told in the branch's zone.
type Acknowledgment struct {
	ExpectedAnswerAt time.Time
	TimeZone         string
}

// AcknowledgmentFor decides whether armed deadlines call for an
// acknowledgment to the customer, and what it promises: the first-answer
// deadline, or the resolution deadline when a case has no separate first
// answer. Deadlines of other kinds alone (e.g. only a hand-over pickup)
// promise the customer nothing, so no message is sent.
func AcknowledgmentFor(deadlines []Deadline, timeZone string) (Acknowledgment, bool, error) {
	if timeZone == "" {
		timeZone = DefaultTimeZone
	}
	if _, err := time.LoadLocation(timeZone); err != nil {
		return Acknowledgment{}, false, fmt.Errorf("unknown time zone %q: %w", timeZone, err)
	}
	for _, kind := range []string{KindFirstAnswer, KindResolution} {
		for _, d := range deadlines {
			if d.Kind == kind && !d.DueAt.IsZero() {
				return Acknowledgment{ExpectedAnswerAt: d.DueAt, TimeZone: timeZone}, true, nil
			}
		}
	}
	return Acknowledgment{}, false, nil
}
