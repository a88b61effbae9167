// Package report is the reporting service's domain: the read model of one
// case as supervisors count it, the rules that fold facts from every other
// service into it whatever order they arrive in, who may see which counts,
// and the summary a supervisor reads. It knows nothing of SQL, gRPC or
// Kafka; adapters beside it (reportpg, reportgrpc, reportkafka) translate.
//
// Dimension values (status, category, severity, channel, tier) are the
// proto enum names, e.g. "CATEGORY_SERVICE_ATTITUDE", so that keys in a
// report read the same as in the API and in every other service.
package report

import (
	"errors"
	"fmt"
	"time"
)

// AcknowledgmentTemplate is the notification template whose delivery means
// the customer was told the case was received (the one-hour acknowledgment).
const AcknowledgmentTemplate = "case_acknowledgment"

// ErrInvalidFact marks a fact that can never be applied (a producer bug);
// retrying it cannot help.
var ErrInvalidFact = errors.New("invalid fact")

// CaseRecord is what reporting knows about one case. Facts about a case
// come from four topics that are ordered per case within a topic but not
// across topics, so a record may exist before its creation is known: such a
// partial record has a zero CreatedAt and is not counted in summaries until
// the creation arrives.
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
	Status       string
	CreatedAt    time.Time
	// StatusAt is when Status was set by a lifecycle step (zero: the
	// status of registration).
	StatusAt time.Time

	// OwnerID is the owner named by the latest assignment (by assignment
	// time); empty while the case has never been assigned.
	OwnerID         string
	FirstAssignedAt time.Time
	LastAssignedAt  time.Time

	// AcknowledgedAt is when the customer was first told the case was received.
	AcknowledgedAt time.Time
	// Breaches counts deadlines of the case that passed unmet.
	Breaches int
}

// Created reports whether the case's creation has been applied.
func (r CaseRecord) Created() bool { return !r.CreatedAt.IsZero() }

// Fact is something another service announced about a case that the read
// model records. The set is closed: CaseOpened, OwnerAssigned,
// CustomerAcknowledged, DeadlineMissed and StatusChanged.
type Fact interface {
	applyTo(r *CaseRecord)
	validate() error
}

// CaseOpened is the case's creation, as intake registered it.
type CaseOpened struct {
	CaseNumber   string
	BranchID     string
	RegionID     string
	Channel      string
	Category     string
	Severity     string
	CustomerTier string
	Status       string
	CreatedAt    time.Time
}

// OwnerAssigned is a hand-over of the case to OwnerID at At (first
// assignment, transfer or escalation alike).
type OwnerAssigned struct {
	OwnerID string
	At      time.Time
}

// CustomerAcknowledged is the acknowledgment reaching the customer at At.
type CustomerAcknowledged struct {
	At time.Time
}

// StatusChanged is a lifecycle step that left the case in Status at At.
type StatusChanged struct {
	Status string
	At     time.Time
}

// DeadlineMissed is one deadline of the case breached.
type DeadlineMissed struct {
	Kind  string
	DueAt time.Time
}

// Apply folds f into r. Every rule is order-independent, so the record ends
// the same whichever topic's events arrive first:
//   - the first creation wins; a repeated creation changes nothing;
//   - the owner is the one named by the latest assignment, and the first
//     assignment time is the earliest seen;
//   - the acknowledgment time is the earliest seen;
//   - the status is that of the latest step (by step time), else of the creation;
//   - each breach counts once (the consumer drops redelivered events).
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
	r.CustomerTier, r.CreatedAt = c.CustomerTier, c.CreatedAt
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
	}
	return nil
}

// applyTo keeps the status of the latest step, whatever order steps arrive in.
func (c StatusChanged) applyTo(r *CaseRecord) {
	if r.StatusAt.IsZero() || !c.At.Before(r.StatusAt) {
		r.Status, r.StatusAt = c.Status, c.At
	}
}

func (a OwnerAssigned) validate() error {
	switch {
	case a.OwnerID == "":
		// Every moment a case has exactly one owner: an assignment to nobody is a producer bug.
		return errors.New("no owner")
	case a.At.IsZero():
		return errors.New("no assignment time")
	}
	return nil
}

func (a OwnerAssigned) applyTo(r *CaseRecord) {
	if r.FirstAssignedAt.IsZero() || a.At.Before(r.FirstAssignedAt) {
		r.FirstAssignedAt = a.At
	}
	if r.LastAssignedAt.IsZero() || !a.At.Before(r.LastAssignedAt) {
		r.OwnerID, r.LastAssignedAt = a.OwnerID, a.At
	}
}

func (a CustomerAcknowledged) validate() error {
	if a.At.IsZero() {
		return errors.New("no sending time")
	}
	return nil
}

func (a CustomerAcknowledged) applyTo(r *CaseRecord) {
	if r.AcknowledgedAt.IsZero() || a.At.Before(r.AcknowledgedAt) {
		r.AcknowledgedAt = a.At
	}
}

func (DeadlineMissed) validate() error { return nil }

func (DeadlineMissed) applyTo(r *CaseRecord) { r.Breaches++ }
