package notify

import (
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // branch zones must resolve even in images without a zoneinfo database
)

// Deadline kinds as slatimer names them on its events.
const (
	KindFirstAnswer = "DEADLINE_KIND_FIRST_ANSWER"
	KindResolution  = "DEADLINE_KIND_RESOLUTION"
	// KindRegulatoryDecision is the consumer-complaint rules' decision
	// limit, whose extensions the customer is told of (ChangeRegulatoryExtension).
	KindRegulatoryDecision = "DEADLINE_KIND_REGULATORY_DECISION"
)

// DefaultTimeZone is used when an event names no zone: counterdesk's banks
// are in China unless configured otherwise.
const DefaultTimeZone = "Asia/Shanghai"

// Deadline is one armed time limit of a case.
type Deadline struct {
	Kind  string
	DueAt time.Time
	// Provisional: DueAt was counted over days without official holiday
	// data, so it may still move when that year's schedule is published.
	Provisional bool
}

// Acknowledgment is what the customer is promised when a case is taken on:
// an answer by ExpectedAnswerAt, told in the branch's zone.
type Acknowledgment struct {
	// Kind is the deadline the promise stands for; a later recount of that
	// deadline, and only of that one, changes what the customer was told.
	Kind             string
	ExpectedAnswerAt time.Time
	// Provisional makes the message say "expected" and that the date follows
	// the official holiday schedule, so the customer is not promised a day
	// that may still move.
	Provisional bool
	TimeZone    string
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
				return Acknowledgment{Kind: d.Kind, ExpectedAnswerAt: d.DueAt, Provisional: d.Provisional, TimeZone: timeZone}, true, nil
			}
		}
	}
	return Acknowledgment{}, false, nil
}

// Reasons slatimer gives for counting a deadline again, as DeadlineRecomputed
// carries them.
const (
	// ChangeCalendarYearLoaded: the official holiday schedule of a year was
	// published and loaded.
	ChangeCalendarYearLoaded = "calendar_year_loaded"
	// ChangeBranchClosure: the branch was closed on some days (e.g. a
	// typhoon), which no longer count as working days.
	ChangeBranchClosure = "branch_closure"
	// ChangeResumed: the case waited for the customer, and the clock
	// resumed when they answered.
	ChangeResumed = "resumed_after_waiting_for_customer"
	// ChangeReopened: the case was reopened and is being handled again.
	ChangeReopened = "case_reopened"
	// ChangeRegulatoryExtension: the regulatory decision limit of a
	// complaint was extended with an approver's consent. The rules require
	// telling the customer of every extension, so it is told whatever kind
	// of deadline the acknowledgment promised.
	ChangeRegulatoryExtension = "regulatory_extension"
	// ChangeResumedAppraisal: the case waited for an external (third-party
	// or judicial) appraisal, and the clock resumed when it came back.
	ChangeResumedAppraisal = "resumed_after_appraisal"
	// ChangeComplexity: the case was reclassified (normal, complex, major)
	// and its answer date counted by the time allowed for the new class.
	ChangeComplexity = "complexity_changed"
	// ChangeBranch: the case moved to another branch of the bank and its
	// date was counted on that branch's working days.
	ChangeBranch = "branch_changed"
)

// Recount is a deadline of a case that slatimer counted again because the
// calendar under it changed.
type Recount struct {
	Kind        string
	OldDueAt    time.Time
	NewDueAt    time.Time
	Provisional bool
	// Reason is one of the Change constants; another value is told to the
	// customer as a change of the working calendar in general.
	Reason   string
	TimeZone string
}

// Promise is what a customer was told about a case's deadline: the kind of
// deadline an acknowledgment stood for and the time it named.
type Promise struct {
	// Kind is empty for acknowledgments queued before kinds were recorded.
	Kind  string
	DueAt time.Time
	// Lapsed: the acknowledgment was given up (skipped or failed), so the
	// customer never read DueAt and no move of it is theirs to hear about.
	Lapsed bool
}

// PromiseOf is what acknowledgment d promised the customer.
func PromiseOf(d Delivery) Promise {
	return Promise{Kind: d.DeadlineKind, DueAt: d.ExpectedAnswerAt, Lapsed: d.Status.Final() && d.Status != StatusSent}
}

// DateMove is a change of the promised answer time the customer is told
// about: from PreviousAnswerAt to ExpectedAnswerAt, both shown in TimeZone.
type DateMove struct {
	Kind             string
	PreviousAnswerAt time.Time
	ExpectedAnswerAt time.Time
	Provisional      bool
	Reason           string
	TimeZone         string
}

// Validate reports why r could never be told to anyone: no deadline kind,
// no due times, or a zone the zone database does not know. Such a recount
// reads the same however often it is handled.
func (r Recount) Validate() error {
	if r.Kind == "" {
		return errors.New("recount names no deadline kind")
	}
	if r.OldDueAt.IsZero() || r.NewDueAt.IsZero() {
		return errors.New("recount lacks the old or the new due time")
	}
	if _, err := time.LoadLocation(r.zone()); err != nil {
		return fmt.Errorf("unknown time zone %q: %w", r.TimeZone, err)
	}
	return nil
}

func (r Recount) zone() string {
	if r.TimeZone == "" {
		return DefaultTimeZone
	}
	return r.TimeZone
}

// DateMoveFor decides whether a recount changes what the customer was
// promised. Only the kind of deadline the acknowledgment promised matters to
// them (the first answer, or the resolution when a case has none); for a
// promise recorded without its kind, the recount must start from the very
// time the customer was told. An extension of the regulatory decision limit
// (ChangeRegulatoryExtension) is told whatever was promised: the rules
// require telling the customer of each one. A lapsed promise was never
// read, so nothing moved for the customer. A move that still reads the same to the
// customer (the same minute in the branch's zone, in every language) is not
// worth a message. It returns Validate's error for a malformed recount.
func DateMoveFor(p Promise, r Recount) (DateMove, bool, error) {
	if err := r.Validate(); err != nil {
		return DateMove{}, false, err
	}
	zone := r.zone()
	promised := p.Kind == r.Kind || (p.Kind == "" && p.DueAt.Equal(r.OldDueAt)) ||
		(r.Reason == ChangeRegulatoryExtension && r.Kind == KindRegulatoryDecision)
	if !promised || p.Lapsed {
		return DateMove{}, false, nil
	}
	same := true
	for _, lang := range []Language{LanguageZhCN, LanguageEn} {
		before, err := FormatTime(r.OldDueAt, zone, lang)
		if err != nil {
			return DateMove{}, false, err
		}
		after, err := FormatTime(r.NewDueAt, zone, lang)
		if err != nil {
			return DateMove{}, false, err
		}
		same = same && before == after
	}
	if same {
		return DateMove{}, false, nil
	}
	return DateMove{
		Kind: r.Kind, PreviousAnswerAt: r.OldDueAt, ExpectedAnswerAt: r.NewDueAt,
		Provisional: r.Provisional, Reason: r.Reason, TimeZone: zone,
	}, true, nil
}
