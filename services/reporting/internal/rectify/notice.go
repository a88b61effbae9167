// Package rectify is the domain of rectification notices (客户投诉整改通知单),
// of which reporting is the system of record: a supervisor who finds a fault
// in cases issues a notice to a branch (or head office to a department) with
// a due date; the branch records the measures it took; the supervisor closes
// it. It holds the state machine (ISSUED → MEASURES_RECORDED → CLOSED), who
// may do what to which notice (one role table), the validation of what
// callers send, when a notice is overdue or due for a reminder (always at a
// given now), and the store port its adapters implement. It knows nothing of
// SQL, gRPC or Kafka.
package rectify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pii"
)

// Status is where a notice stands.
type Status string

const (
	StatusIssued           Status = "ISSUED"
	StatusMeasuresRecorded Status = "MEASURES_RECORDED"
	StatusClosed           Status = "CLOSED"
)

// Action is a change of a notice, as the API names it.
type Action string

const (
	ActionIssue          Action = "issue"
	ActionRecordMeasures Action = "recordMeasures"
	ActionClose          Action = "close"
)

// Zone is the time zone due dates are read in. Reporting does not know each
// branch's zone; every demo and default branch is in China's.
const Zone = "Asia/Shanghai"

// Limits on free text, in characters (runes).
const (
	MaxFault   = 4000
	MaxMeasure = 4000
	MaxComment = 2000
	MaxCases   = 100
)

var (
	// ErrPermissionDenied: the caller's role may not do this, or the
	// target is outside their scope. The wrapping text says why.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNotFound: no such notice the caller may see.
	ErrNotFound = errors.New("rectification notice not found")
)

// FieldError is a request field that cannot be accepted as given.
type FieldError struct {
	Field       string // as named in the API's JSON, e.g. "dueDate", "caseIds[1]"
	Description string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Description }

// StepError is an action the notice's status does not allow.
type StepError struct {
	Action  Action
	Current Status
	Needs   Status
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s needs status %s; the notice is %s", e.Action, e.Needs, e.Current)
}

// Notice is one rectification notice.
type Notice struct {
	TenantID string
	ID       string
	// BranchID and RegionID name the branch it is sent to; Department the
	// head-office department instead. Exactly one of BranchID and
	// Department is set.
	BranchID   string
	RegionID   string
	Department string
	Fault      string
	CaseIDs    []string
	// DueDate is the last day (YYYY-MM-DD in Zone); DueAt is when it ends,
	// 24:00 local.
	DueDate    string
	DueAt      time.Time
	Status     Status
	IssuedBy   string
	IssuerRole auth.Role
	IssuedAt   time.Time

	Measures   string
	MeasuresBy string
	MeasuresAt time.Time

	ClosedBy       string
	ClosedAt       time.Time
	ClosingComment string

	// History is every change, oldest first.
	History []HistoryEntry

	// IdempotencyKey is the issuer's key for the request that issued it
	// (empty: none), and Fingerprint that request's digest.
	IdempotencyKey string
	Fingerprint    string
}

// HistoryEntry is one change: who did what, when.
type HistoryEntry struct {
	Action    Action
	ActorID   string
	ActorRole auth.Role
	At        time.Time
	From      Status // empty on issue
	To        Status
}

// Overdue reports whether the notice is not closed at now and its due time
// has passed.
func (n Notice) Overdue(now time.Time) bool {
	return n.Status != StatusClosed && !now.Before(n.DueAt)
}

// CaseRef is what reporting's read model knows of a case a notice links.
type CaseRef struct {
	CaseID   string
	BranchID string
	RegionID string
}

// IssueRequest is what an issuer sends.
type IssueRequest struct {
	BranchID   string
	Department string
	Fault      string
	CaseIDs    []string
	DueDate    string
	// IdempotencyKey, when set, makes a retry of the same request return
	// the notice issued the first time.
	IdempotencyKey string
}

// MaxIdempotencyKey bounds an idempotency key, in bytes.
const MaxIdempotencyKey = 128

// Fingerprint is a digest of what the request asks for, to tell a retry
// (same digest) from another request reusing its idempotency key.
func (r IssueRequest) Fingerprint() string {
	h := sha256.New()
	for _, f := range append([]string{strings.TrimSpace(r.BranchID), strings.TrimSpace(r.Department),
		strings.TrimSpace(r.Fault), strings.TrimSpace(r.DueDate)}, r.CaseIDs...) {
		fmt.Fprintf(h, "%d:%s;", len(f), f) // length-prefixed: no two field lists meet
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Issue builds a new notice from req for caller at now, with the given id.
// known holds the read model's record of each linked case the bank has
// (looked up bank-wide; scope is decided here).
func Issue(req IssueRequest, caller auth.Principal, known []CaseRef, id string, now time.Time) (Notice, error) {
	if err := authorize(caller, ActionIssue); err != nil {
		return Notice{}, err
	}
	branch, dept := strings.TrimSpace(req.BranchID), strings.TrimSpace(req.Department)
	switch {
	case branch == "" && dept == "":
		return Notice{}, &FieldError{"branchId", "name the branch the notice is sent to (or, for head office, a department)"}
	case branch != "" && dept != "":
		return Notice{}, &FieldError{"department", "a notice goes to a branch or a department, not both"}
	case dept != "" && caller.Role != auth.RoleHeadOffice:
		return Notice{}, fmt.Errorf("%w: only head office sends notices to a department", ErrPermissionDenied)
	}
	fault, err := text("fault", req.Fault, MaxFault, true)
	if err != nil {
		return Notice{}, err
	}
	if len(req.CaseIDs) == 0 {
		return Notice{}, &FieldError{"caseIds", "link at least one case the fault was found in"}
	}
	if len(req.CaseIDs) > MaxCases {
		return Notice{}, &FieldError{"caseIds", fmt.Sprintf("at most %d cases", MaxCases)}
	}
	dueDate, dueAt, err := ParseDueDate(req.DueDate, now)
	if err != nil {
		return Notice{}, err
	}
	byID := make(map[string]CaseRef, len(known))
	for _, c := range known {
		byID[c.CaseID] = c
	}
	// The branch's region is where the read model places its cases: a
	// branch reporting has never seen a case of cannot be sent a notice
	// about cases anyway.
	region := ""
	seen := make(map[string]bool, len(req.CaseIDs))
	for i, cid := range req.CaseIDs {
		field := fmt.Sprintf("caseIds[%d]", i)
		if seen[cid] {
			return Notice{}, &FieldError{field, "listed twice"}
		}
		seen[cid] = true
		c, ok := byID[cid]
		switch {
		case !ok:
			return Notice{}, &FieldError{field, "no such case known to reporting in your bank"}
		case branch != "" && c.BranchID != branch:
			return Notice{}, &FieldError{field, "not a case of branch " + branch}
		case branch == "" && !caller.CanSeeBranch(c.BranchID, c.RegionID):
			return Notice{}, &FieldError{field, "no such case known to reporting in your bank"}
		}
		if region == "" {
			region = c.RegionID
		}
	}
	if branch != "" && caller.Role == auth.RoleRegionalSupervisor && (caller.Region == "" || region != caller.Region) {
		return Notice{}, fmt.Errorf("%w: branch %s is outside your region", ErrPermissionDenied, branch)
	}
	if branch == "" {
		region = ""
	}
	n := Notice{
		TenantID: caller.Tenant, ID: id, BranchID: branch, RegionID: region, Department: dept,
		Fault: fault, CaseIDs: append([]string(nil), req.CaseIDs...), DueDate: dueDate, DueAt: dueAt,
		Status: StatusIssued, IssuedBy: caller.Subject, IssuerRole: caller.Role, IssuedAt: now,
	}
	n.History = []HistoryEntry{{Action: ActionIssue, ActorID: caller.Subject, ActorRole: caller.Role, At: now, To: StatusIssued}}
	if req.IdempotencyKey != "" {
		n.IdempotencyKey, n.Fingerprint = req.IdempotencyKey, req.Fingerprint()
	}
	return n, nil
}

// RecordMeasures records what the branch did: ISSUED → MEASURES_RECORDED.
func RecordMeasures(n Notice, measures string, caller auth.Principal, now time.Time) (Notice, error) {
	if err := authorizeOn(caller, ActionRecordMeasures, n); err != nil {
		return n, err
	}
	m, err := text("measures", measures, MaxMeasure, true)
	if err != nil {
		return n, err
	}
	if n.Status != StatusIssued {
		return n, &StepError{Action: ActionRecordMeasures, Current: n.Status, Needs: StatusIssued}
	}
	n.Measures, n.MeasuresBy, n.MeasuresAt = m, caller.Subject, now
	return n.moved(ActionRecordMeasures, StatusMeasuresRecorded, caller, now), nil
}

// Close closes a notice whose measures are recorded: MEASURES_RECORDED →
// CLOSED.
func Close(n Notice, comment string, caller auth.Principal, now time.Time) (Notice, error) {
	if err := authorizeOn(caller, ActionClose, n); err != nil {
		return n, err
	}
	c, err := text("comment", comment, MaxComment, false)
	if err != nil {
		return n, err
	}
	if n.Status != StatusMeasuresRecorded {
		return n, &StepError{Action: ActionClose, Current: n.Status, Needs: StatusMeasuresRecorded}
	}
	n.ClosedBy, n.ClosedAt, n.ClosingComment = caller.Subject, now, c
	return n.moved(ActionClose, StatusClosed, caller, now), nil
}

func (n Notice) moved(a Action, to Status, caller auth.Principal, now time.Time) Notice {
	h := HistoryEntry{Action: a, ActorID: caller.Subject, ActorRole: caller.Role, At: now, From: n.Status, To: to}
	n.History = append(append([]HistoryEntry(nil), n.History...), h)
	n.Status = to
	return n
}

// ParseDueDate reads a due date (YYYY-MM-DD in Zone), which must be after
// now's date there, and returns it with the instant it ends (24:00 local).
func ParseDueDate(s string, now time.Time) (string, time.Time, error) {
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("load zone %s: %w", Zone, err)
	}
	d, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), loc)
	if err != nil {
		return "", time.Time{}, &FieldError{"dueDate", "must be a date YYYY-MM-DD"}
	}
	ny, nm, nd := now.In(loc).Date()
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, loc)
	if !d.After(today) {
		return "", time.Time{}, &FieldError{"dueDate", "must be after today (" + today.Format(time.DateOnly) + ", " + Zone + ")"}
	}
	if d.After(today.AddDate(1, 0, 0)) {
		return "", time.Time{}, &FieldError{"dueDate", "must be within a year"}
	}
	return d.Format(time.DateOnly), d.AddDate(0, 0, 1), nil
}

// text checks one free-text field. Notices are read by many people in the
// bank and are not encrypted, so a personal number (ID, mobile, card,
// account) in them is refused rather than stored: a notice names cases by
// linking them.
func text(field, s string, maxRunes int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		return "", &FieldError{field, "must not be empty"}
	case len([]rune(s)) > maxRunes:
		return "", &FieldError{field, fmt.Sprintf("at most %d characters", maxRunes)}
	case pii.ContainsPersonalNumber(s):
		return "", &FieldError{field, "must not contain personal numbers (ID, phone, card or account numbers): link the case instead"}
	}
	return s, nil
}
