// Package report is the reporting service's domain: the read model of one
// case as supervisors count it (its facts), the rules that fold facts from
// every other service into it whatever order they arrive in, the figures
// computed from many cases (rates, handling-time percentiles, Pareto), who
// may see which figures, and the questions the API asks. It knows nothing of
// SQL, gRPC or Kafka; adapters beside it (reportpg, reportgrpc, reportkafka)
// translate.
//
// Dimension values (status, category, severity, channel, tier) are the
// proto enum names, e.g. "CATEGORY_SERVICE_ATTITUDE", so that keys in a
// report read the same as in the API and in every other service.
package report

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// AcknowledgmentTemplate is the notification template whose delivery means
// the customer was told the case was received (the one-hour acknowledgment).
const AcknowledgmentTemplate = "case_acknowledgment"

// Deadline kinds reports follow by name (slatimer's enum names).
const (
	KindAcknowledge = "DEADLINE_KIND_ACKNOWLEDGE"
	KindFirstAnswer = "DEADLINE_KIND_FIRST_ANSWER"
	KindResolution  = "DEADLINE_KIND_RESOLUTION"
	KindRegulatory  = "DEADLINE_KIND_REGULATORY_DECISION"
	KindReturnVisit = "DEADLINE_KIND_RETURN_VISIT"
)

// Statuses reports treat specially.
const (
	StatusReported    = "CASE_STATUS_REPORTED"
	StatusClosed      = "CASE_STATUS_CLOSED"
	StatusWithdrawn   = "CASE_STATUS_WITHDRAWN"
	StatusUnderReview = "CASE_STATUS_UNDER_REVIEW"
)

// ErrInvalidFact marks a fact that can never be applied (a producer bug);
// retrying it cannot help.
var ErrInvalidFact = errors.New("invalid fact")

// Deadline is what reports know of one deadline of a case.
type Deadline struct {
	Kind     string
	DueAt    time.Time // latest due time (armed or recomputed)
	Breached bool
	Warnings int
	// WarnLevel is the highest warning reached: "", yellow, orange, red.
	WarnLevel string
	// ByLevel counts the warnings of each level.
	ByLevel map[string]int
}

// CaseRecord is what reporting knows about one case. Facts about a case
// come from four topics that are ordered per case within a topic but not
// across topics, so a record may exist before its creation is known: such a
// partial record has a zero ReceivedAt and is left out of every figure
// until the creation arrives.
type CaseRecord struct {
	TenantID string
	CaseID   string

	// Known once the case's creation has been applied.
	CaseNumber   string
	BranchID     string
	RegionID     string
	Channel      string
	Category     string
	Severity     string
	CustomerTier string
	TimeZone     string
	// The customer as intake masks them; reporting never sees more.
	CustomerNameMasked  string
	CustomerPhoneMasked string
	Repeat              bool
	CreatedAt           time.Time
	ReceivedAt          time.Time

	Status string
	// StatusAt is when Status was set by a lifecycle step (zero: the
	// status of registration).
	StatusAt time.Time

	AcknowledgedAt  time.Time // earliest
	FirstAnsweredAt time.Time
	AnsweredAt      time.Time // latest answer
	ClosedAt        time.Time // latest close
	WithdrawnAt     time.Time
	Reopened        int
	ReviewAt        time.Time // latest review request
	ReturnVisitAt   time.Time
	Satisfaction    int // 1..5; 0 none
	RootCause       string
	Compensation    Compensation

	// OwnerID is the owner named by the latest assignment (by assignment
	// time); empty while the case has never been assigned (or waits in a
	// role queue).
	OwnerID         string
	OwnerLevel      string
	FirstAssignedAt time.Time
	LastAssignedAt  time.Time
	Assignments     int
	Handovers       int
	Escalations     int
	// LeftBranch: the case reached regional service management, head
	// office or a department.
	LeftBranch bool

	Deadlines map[string]*Deadline
	Extended  bool // the regulatory limit was extended once
	Warnings  int
	// Breaches counts deadlines of the case that passed unmet.
	Breaches int
}

// Compensation offered with the latest answer; zero Kind: none.
type Compensation struct {
	Kind      string
	Tier      string
	AmountFen int64
}

// Created reports whether the case's creation has been applied.
func (r CaseRecord) Created() bool { return !r.ReceivedAt.IsZero() }

// Open reports whether the case is neither closed nor withdrawn.
func (r CaseRecord) Open() bool { return r.Status != StatusClosed && r.Status != StatusWithdrawn }

// UnderReview reports whether a review (核查) of the answer is open.
func (r CaseRecord) UnderReview() bool { return r.Status == StatusUnderReview }

// Fact is something another service announced about a case that the read
// model records. The set is closed: the types in this file.
type Fact interface {
	applyTo(r *CaseRecord)
	validate() error
}

// CaseOpened is the case's creation, as intake registered it.
type CaseOpened struct {
	CaseNumber          string
	BranchID            string
	RegionID            string
	Channel             string
	Category            string
	Severity            string
	CustomerTier        string
	Status              string
	TimeZone            string
	CustomerNameMasked  string
	CustomerPhoneMasked string
	Repeat              bool
	CreatedAt           time.Time
	// ReceivedAt is when the bank received it; zero: at CreatedAt.
	ReceivedAt time.Time
}

// OwnerAssigned is an assignment of the case (routing's AssignmentMade).
type OwnerAssigned struct {
	// OwnerID is empty while the case waits in a role queue.
	OwnerID string
	// Kind is routing's: assign, claim, transfer, escalate, return, breach, reroute.
	Kind string
	// Level is the ladder level of the new owner.
	Level string
	At    time.Time
}

// CustomerAcknowledged is the acknowledgment reaching the customer at At.
type CustomerAcknowledged struct {
	At time.Time
}

// StatusChanged is a lifecycle step that left the case in Status at At,
// with what the step carries.
type StatusChanged struct {
	Action string
	Status string
	At     time.Time
	// On "answer".
	RootCause    string
	Compensation Compensation
	// On "recordReturnVisit" (0: the customer was not reached).
	Satisfaction int
	// On "reclassify" and "moveBranch": the case's dimensions now.
	BranchID, RegionID, Severity string
}

// DeadlinesArmed is slatimer arming the case's deadlines.
type DeadlinesArmed struct {
	Deadlines []ArmedDeadline
}

// ArmedDeadline is one armed deadline.
type ArmedDeadline struct {
	Kind  string
	DueAt time.Time
}

// DeadlineMoved is a deadline counted again (calendar change, pause,
// extension); Reason "regulatory_extension" marks the extension.
type DeadlineMoved struct {
	Kind   string
	DueAt  time.Time
	Reason string
}

// DeadlineWarned is a warning level reached.
type DeadlineWarned struct {
	Kind  string
	Level string
}

// DeadlineMissed is one deadline of the case breached.
type DeadlineMissed struct {
	Kind  string
	DueAt time.Time
}

// Apply folds f into r. Every rule is order-independent across topics, so
// the record ends the same whichever topic's events arrive first:
//   - the first creation wins; a repeated creation changes nothing;
//   - the owner is the one named by the latest assignment, and the first
//     assignment time is the earliest seen; hand-overs and escalations count;
//   - acknowledgment and first answer take the earliest time, the latest
//     answer and close the latest;
//   - the status is that of the latest step (by step time), else of the creation;
//   - each breach and warning counts once (the consumer drops redelivered events).
func (r *CaseRecord) Apply(f Fact) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("%w: %T for case %s: %w", ErrInvalidFact, f, r.CaseID, err)
	}
	f.applyTo(r)
	return nil
}

func (c CaseOpened) validate() error {
	switch {
	case c.BranchID == "":
		return errors.New("no branch")
	case c.CreatedAt.IsZero():
		return errors.New("no creation time")
	}
	return nil
}

func (c CaseOpened) applyTo(r *CaseRecord) {
	if r.Created() {
		return
	}
	r.CaseNumber, r.BranchID, r.RegionID = c.CaseNumber, c.BranchID, c.RegionID
	r.Channel, r.Category, r.Severity = c.Channel, c.Category, c.Severity
	r.CustomerTier, r.CreatedAt, r.TimeZone = c.CustomerTier, c.CreatedAt, c.TimeZone
	r.CustomerNameMasked, r.CustomerPhoneMasked, r.Repeat = c.CustomerNameMasked, c.CustomerPhoneMasked, c.Repeat
	r.ReceivedAt = c.ReceivedAt
	if r.ReceivedAt.IsZero() || r.ReceivedAt.After(c.CreatedAt) {
		r.ReceivedAt = c.CreatedAt
	}
	if r.StatusAt.IsZero() { // a step applied before the creation keeps its status
		r.Status = c.Status
	}
}

func (c StatusChanged) validate() error {
	switch {
	case c.Status == "":
		return errors.New("no status")
	case c.At.IsZero():
		return errors.New("no step time")
	case c.Satisfaction < 0 || c.Satisfaction > 5:
		return errors.New("satisfaction outside 1-5")
	case c.Compensation.AmountFen < 0:
		return errors.New("negative compensation")
	}
	return nil
}

func (c StatusChanged) applyTo(r *CaseRecord) {
	latest := r.StatusAt.IsZero() || !c.At.Before(r.StatusAt)
	if latest {
		r.Status, r.StatusAt = c.Status, c.At
	}
	switch c.Action {
	case "answer":
		r.FirstAnsweredAt = earliest(r.FirstAnsweredAt, c.At)
		if r.AnsweredAt.IsZero() || !c.At.Before(r.AnsweredAt) {
			r.AnsweredAt, r.RootCause, r.Compensation = c.At, c.RootCause, c.Compensation
		}
	case "close":
		r.ClosedAt = latestOf(r.ClosedAt, c.At)
	case "withdraw":
		r.WithdrawnAt = latestOf(r.WithdrawnAt, c.At)
	case "reopen":
		r.Reopened++
	case "requestReview":
		r.ReviewAt = latestOf(r.ReviewAt, c.At)
	case "recordReturnVisit":
		if c.Satisfaction > 0 && (r.ReturnVisitAt.IsZero() || !c.At.Before(r.ReturnVisitAt)) {
			r.ReturnVisitAt, r.Satisfaction = c.At, c.Satisfaction
		}
	case "acknowledge":
		r.AcknowledgedAt = earliest(r.AcknowledgedAt, c.At)
	case "reclassify":
		if latest && c.Severity != "" {
			r.Severity = c.Severity
		}
	case "moveBranch":
		if latest && c.BranchID != "" {
			r.BranchID, r.RegionID = c.BranchID, c.RegionID
		}
	}
}

func (a OwnerAssigned) validate() error {
	if a.At.IsZero() {
		return errors.New("no assignment time")
	}
	return nil
}

// handoverKinds are assignments that move a case from one owner to another
// (a first assignment or a claim from a role queue is not a hand-over).
var handoverKinds = map[string]bool{"transfer": true, "escalate": true, "breach": true, "reroute": true, "return": true}

// offBranchLevels are ladder levels above the branch.
var offBranchLevels = map[string]bool{"regional": true, "head_office": true, "department": true}

func (a OwnerAssigned) applyTo(r *CaseRecord) {
	r.Assignments++
	if handoverKinds[a.Kind] {
		r.Handovers++
	}
	if a.Kind == "escalate" || a.Kind == "breach" {
		r.Escalations++
	}
	if offBranchLevels[a.Level] {
		r.LeftBranch = true
	}
	r.FirstAssignedAt = earliest(r.FirstAssignedAt, a.At)
	if r.LastAssignedAt.IsZero() || !a.At.Before(r.LastAssignedAt) {
		r.OwnerID, r.OwnerLevel, r.LastAssignedAt = a.OwnerID, a.Level, a.At
	}
}

func (a CustomerAcknowledged) validate() error {
	if a.At.IsZero() {
		return errors.New("no sending time")
	}
	return nil
}

func (a CustomerAcknowledged) applyTo(r *CaseRecord) {
	r.AcknowledgedAt = earliest(r.AcknowledgedAt, a.At)
}

func (d DeadlinesArmed) validate() error {
	for _, a := range d.Deadlines {
		if a.Kind == "" || a.DueAt.IsZero() {
			return errors.New("a deadline without kind or due time")
		}
	}
	return nil
}

func (d DeadlinesArmed) applyTo(r *CaseRecord) {
	for _, a := range d.Deadlines {
		r.deadline(a.Kind).DueAt = a.DueAt
	}
}

func (d DeadlineMoved) validate() error {
	if d.Kind == "" || d.DueAt.IsZero() {
		return errors.New("no kind or new due time")
	}
	return nil
}

func (d DeadlineMoved) applyTo(r *CaseRecord) {
	r.deadline(d.Kind).DueAt = d.DueAt
	if d.Reason == "regulatory_extension" {
		r.Extended = true
	}
}

// warnRank orders warning levels.
var warnRank = map[string]int{"": 0, "yellow": 1, "orange": 2, "red": 3}

func (d DeadlineWarned) validate() error {
	if d.Kind == "" {
		return errors.New("no kind")
	}
	if _, ok := warnRank[d.Level]; !ok || d.Level == "" {
		return fmt.Errorf("unknown warning level %q", d.Level)
	}
	return nil
}

func (d DeadlineWarned) applyTo(r *CaseRecord) {
	dl := r.deadline(d.Kind)
	dl.Warnings++
	if dl.ByLevel == nil {
		dl.ByLevel = map[string]int{}
	}
	dl.ByLevel[d.Level]++
	if warnRank[d.Level] > warnRank[dl.WarnLevel] {
		dl.WarnLevel = d.Level
	}
	r.Warnings++
}

func (d DeadlineMissed) validate() error {
	if d.Kind == "" {
		return errors.New("no kind")
	}
	return nil
}

func (d DeadlineMissed) applyTo(r *CaseRecord) {
	dl := r.deadline(d.Kind)
	dl.Breached = true
	if dl.DueAt.IsZero() {
		dl.DueAt = d.DueAt
	}
	r.Breaches++
}

func (r *CaseRecord) deadline(kind string) *Deadline {
	if r.Deadlines == nil {
		r.Deadlines = map[string]*Deadline{}
	}
	d, ok := r.Deadlines[kind]
	if !ok {
		d = &Deadline{Kind: kind}
		r.Deadlines[kind] = d
	}
	return d
}

func earliest(cur, t time.Time) time.Time {
	if cur.IsZero() || t.Before(cur) {
		return t
	}
	return cur
}

func latestOf(cur, t time.Time) time.Time {
	if cur.IsZero() || t.After(cur) {
		return t
	}
	return cur
}

// Milestone is when the step a deadline kind waits for was taken (zero:
// not yet, or a kind whose step reports do not see).
func (r CaseRecord) Milestone(kind string) time.Time {
	switch kind {
	case KindAcknowledge:
		return r.AcknowledgedAt
	case KindFirstAnswer, KindRegulatory:
		return r.FirstAnsweredAt
	case KindResolution:
		if !r.ClosedAt.IsZero() {
			return r.ClosedAt
		}
		return r.WithdrawnAt
	case KindReturnVisit:
		return r.ReturnVisitAt
	}
	return time.Time{}
}

// Compliance of one deadline kind: met means its step was taken by the due
// time and no breach was announced; settled means met or breached (a step
// taken after the due time counts as breached even before the breach event
// arrives). A kind never armed is neither.
func (r CaseRecord) Compliance(kind string) (met, settled bool) {
	d, ok := r.Deadlines[kind]
	if !ok {
		return false, false
	}
	m := r.Milestone(kind)
	late := !m.IsZero() && !d.DueAt.IsZero() && m.After(d.DueAt)
	met = !m.IsZero() && !d.Breached && !late
	return met, met || d.Breached || late
}

// DeadlineMet reports a kind's deadline met; kinds whose step reports do not
// see count as met when the case was settled (answered or closed) without a
// breach of them.
func (r CaseRecord) DeadlineMet(d *Deadline) bool {
	if d.Breached {
		return false
	}
	switch d.Kind {
	case KindAcknowledge, KindFirstAnswer, KindRegulatory, KindResolution, KindReturnVisit:
		met, _ := r.Compliance(d.Kind)
		return met
	}
	return r.Settled()
}

// Settled reports whether the case was answered or closed.
func (r CaseRecord) Settled() bool { return !r.FirstAnsweredAt.IsZero() || r.Status == StatusClosed }

// SettledAtBranch reports a settled case that never left its branch.
func (r CaseRecord) SettledAtBranch() bool { return r.Settled() && !r.LeftBranch }

// HandlingTime is from receipt to the first answer (false: not answered).
func (r CaseRecord) HandlingTime() (time.Duration, bool) {
	if !r.Created() || r.FirstAnsweredAt.IsZero() {
		return 0, false
	}
	d := r.FirstAnsweredAt.Sub(r.ReceivedAt)
	if d < 0 {
		d = 0
	}
	return d, true
}

// NextDeadline is the earliest deadline of an open case whose step has not
// been taken yet (breached or not), for the at-risk list; ok is false for a
// closed case or one with none.
func (r CaseRecord) NextDeadline() (d Deadline, ok bool) {
	if !r.Created() || !r.Open() {
		return Deadline{}, false
	}
	for _, k := range []string{KindAcknowledge, KindFirstAnswer, KindRegulatory, KindResolution} {
		dl, armed := r.Deadlines[k]
		if !armed || dl.DueAt.IsZero() || !r.Milestone(k).IsZero() {
			continue
		}
		if !ok || dl.DueAt.Before(d.DueAt) {
			d, ok = *dl, true
		}
	}
	return d, ok
}

// HistogramBase is the ratio between handling-time histogram buckets: a
// percentile read from the histogram is within 5% of the exact one.
const HistogramBase = 1.1

// Bucket is the histogram bucket of a handling time (at least one second).
func Bucket(d time.Duration) int {
	s := max(d.Seconds(), 1)
	return int(math.Floor(math.Log(s) / math.Log(HistogramBase)))
}

// BucketValue is the value a bucket stands for: its geometric middle.
func BucketValue(b int) float64 { return math.Pow(HistogramBase, float64(b)+0.5) }

// LocalMonth is the first day of the month of t in zone loc, as a UTC date.
func LocalMonth(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, time.UTC)
}
