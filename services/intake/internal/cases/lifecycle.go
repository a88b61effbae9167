package cases

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// Statuses, as the API names them (counterdesk.cases.v1.CaseStatus).
const (
	StatusReported     = "CASE_STATUS_REPORTED"
	StatusVerifying    = "CASE_STATUS_VERIFYING"
	StatusHandling     = "CASE_STATUS_HANDLING"
	StatusFollowingUp  = "CASE_STATUS_FOLLOWING_UP"
	StatusAnswered     = "CASE_STATUS_ANSWERED"
	StatusClosed       = "CASE_STATUS_CLOSED"
	StatusWithdrawn    = "CASE_STATUS_WITHDRAWN"
	StatusUnderReview  = "CASE_STATUS_UNDER_REVIEW"
	StatusWaitingOnCus = "CASE_STATUS_WAITING_FOR_CUSTOMER"
	// StatusWaitingOnAppraisal: the bank waits for an external appraisal
	// (third-party or judicial, 第三方鉴定). A status of its own rather than
	// the customer wait with a marker: the state machine stays a table of
	// statuses (resumeFromAppraisal applies exactly where it waits for one),
	// and the API, lists and reports tell the two waits apart with no new
	// field or column.
	StatusWaitingOnAppraisal = "CASE_STATUS_WAITING_FOR_APPRAISAL"
)

// Action is one step a caller asks for; each is its own API method.
type Action string

const (
	ActStartVerification  Action = "startVerification"
	ActRecordVerification Action = "recordVerification"
	ActAnswer             Action = "answer"
	ActRecordReturnVisit  Action = "recordReturnVisit"
	ActClose              Action = "close"
	ActWithdraw           Action = "withdraw"
	ActReopen             Action = "reopen"
	ActRequestReview      Action = "requestReview"
	ActDecideReview       Action = "decideReview"
	ActAwaitCustomer      Action = "awaitCustomer"
	ActResumeFromCustomer Action = "resumeFromCustomer"
	// ActAcknowledge records that the customer was told the case was taken
	// on, by a person (in person at the counter, by phone): it changes no
	// status, and meets the acknowledgment deadline like a sent message.
	ActAcknowledge Action = "acknowledge"
	// ActAwaitAppraisal and ActResumeFromAppraisal pause and resume the
	// clocks while an external appraisal is awaited.
	ActAwaitAppraisal      Action = "awaitAppraisal"
	ActResumeFromAppraisal Action = "resumeFromAppraisal"
	// ActReclassify changes the case's complexity (severity); its status
	// does not change.
	ActReclassify Action = "reclassify"
	// ActMoveBranch moves the case to another branch of the bank; its
	// status does not change.
	ActMoveBranch Action = "moveBranch"
)

// Actions in the order the API documents them.
var Actions = []Action{ActStartVerification, ActRecordVerification, ActAnswer, ActRecordReturnVisit, ActClose,
	ActWithdraw, ActReopen, ActRequestReview, ActDecideReview, ActAwaitCustomer, ActResumeFromCustomer, ActAcknowledge,
	ActAwaitAppraisal, ActResumeFromAppraisal, ActReclassify, ActMoveBranch}

// ReviewWindow is how long after the answer a customer may ask for a review.
const ReviewWindow = 30 * 24 * time.Hour

// open are the statuses of a case still being worked.
var open = []string{StatusReported, StatusVerifying, StatusHandling, StatusWaitingOnCus, StatusWaitingOnAppraisal}

// from lists, per action, the statuses it may start from.
var from = map[Action][]string{
	ActStartVerification:   {StatusReported},
	ActRecordVerification:  {StatusVerifying},
	ActAnswer:              {StatusHandling},
	ActRecordReturnVisit:   {StatusAnswered, StatusFollowingUp},
	ActClose:               {StatusFollowingUp},
	ActWithdraw:            append(slices.Clone(open), StatusAnswered, StatusFollowingUp, StatusUnderReview),
	ActReopen:              {StatusClosed},
	ActRequestReview:       {StatusAnswered, StatusFollowingUp, StatusClosed},
	ActDecideReview:        {StatusUnderReview},
	ActAwaitCustomer:       {StatusReported, StatusVerifying, StatusHandling},
	ActResumeFromCustomer:  {StatusWaitingOnCus},
	ActAcknowledge:         {StatusReported, StatusVerifying, StatusHandling, StatusWaitingOnCus, StatusWaitingOnAppraisal},
	ActAwaitAppraisal:      {StatusReported, StatusVerifying, StatusHandling},
	ActResumeFromAppraisal: {StatusWaitingOnAppraisal},
	// Open and not yet answered (an answered case is not open).
	ActReclassify: open,
	ActMoveBranch: open,
}

// surveyFrom: the return-visit survey (回访) is sent to the customer when
// the case is closed, so their answer is recorded on the closed case (the
// latest return visit), which stays closed. A case reopened since takes no
// survey answer: it is being handled again.
var surveyFrom = []string{StatusClosed}

// SurveyActor is who the history and the event name for a survey answer:
// the customer, through the survey link the notification service checked.
const SurveyActor = "customer:survey"

// Rank orders roles by authority, for the rules that need someone above:
// a review is decided by someone above the one who answered, compensation
// over the bank's threshold needs a branch head or above.
func Rank(r auth.Role) int {
	switch r {
	case auth.RoleTeller, auth.RoleLobbyManager:
		return 1
	case auth.RoleComplaintManager, auth.RoleTechSupport:
		return 2
	case auth.RoleBranchHead:
		return 3
	case auth.RoleRegionalSupervisor, auth.RoleCompliance, auth.RoleLegal:
		return 4
	case auth.RoleHeadOffice:
		return 5
	}
	return 0
}

// Lifecycle is where a case stands and what the rules of its next steps
// need to remember.
type Lifecycle struct {
	Status string
	// Resume is the status a waiting or reviewed case goes back to.
	Resume string
	// AnsweredAt, AnsweredBy and AnsweredRank are of the latest answer.
	AnsweredAt   *time.Time
	AnsweredBy   string
	AnsweredRank int
	Reopens      int
}

// Compensation offered with an answer.
type Compensation struct {
	Kind       string `json:"kind"`
	AmountFen  int64  `json:"amountFen"`
	Tier       string `json:"tier,omitempty"`
	ApprovedBy string `json:"approvedBy,omitempty"`
}

// Step is an action with what it carries.
type Step struct {
	Action Action
	// Reason of withdraw, reopen, requestReview, awaitCustomer; the
	// decision of decideReview; the answer of answer.
	Text          string
	Finding       string
	Substantiated bool
	Departments   []string
	RootCause     string
	Compensation  *Compensation
	Satisfaction  int
	Reached       bool
	Upheld        bool
	// Survey: a recordReturnVisit that is the customer's own answer to the
	// return-visit survey sent when the case was closed (see SurveyActor).
	Survey bool
	// Severity is the new complexity of reclassify (SEVERITY_*).
	Severity string
	// Branch is the branch moveBranch moves the case to, as routing knows
	// it (the caller looks it up in the case's bank).
	Branch *Branch
}

// Transition is what a step did.
type Transition struct {
	Action   Action
	From, To string
	Actor    string
	At       time.Time
}

// NotAllowedError says a step does not apply in the case's state.
type NotAllowedError struct {
	Action  Action
	Current string
	Allowed []Action
}

func (e *NotAllowedError) Error() string {
	names := make([]string, len(e.Allowed))
	for i, a := range e.Allowed {
		names[i] = string(a)
	}
	return fmt.Sprintf("%s is not allowed while the case is %s; allowed now: %s", e.Action, e.Current, strings.Join(names, ", "))
}

// ErrNeedsHigherAuthority is a step only someone above may take.
var ErrNeedsHigherAuthority = errors.New("needs higher authority")

// AllowedFrom lists the actions a case in status allows, in API order.
func AllowedFrom(status string) []Action {
	var out []Action
	for _, a := range Actions {
		if slices.Contains(from[a], status) {
			out = append(out, a)
		}
	}
	return out
}

// Policy holds a bank's settings the lifecycle applies.
type Policy struct {
	// CompensationApprovalFen: compensation above this needs a branch head
	// or above (default ¥500).
	CompensationApprovalFen int64
	// OccurredHorizon is how long ago what a case reports may have
	// happened (default a year).
	OccurredHorizon time.Duration
}

// DefaultPolicy is used for banks that set none.
var DefaultPolicy = Policy{CompensationApprovalFen: 50_000, OccurredHorizon: OccurredHorizon}

// Apply takes step on a case in state l by caller at now. It checks the
// state, the rules of the step and its input; who may take which step at
// all (the role table) and the caller's scope are checked before.
func Apply(l Lifecycle, s Step, caller auth.Principal, pol Policy, now time.Time) (Lifecycle, Transition, error) {
	allowed := from[s.Action]
	if s.Action == ActRecordReturnVisit && s.Survey {
		allowed = surveyFrom
	}
	if !slices.Contains(allowed, l.Status) {
		return l, Transition{}, &NotAllowedError{Action: s.Action, Current: l.Status, Allowed: AllowedFrom(l.Status)}
	}
	if err := checkStep(s, caller, pol); err != nil {
		return l, Transition{}, err
	}
	next := l
	switch s.Action {
	case ActStartVerification:
		next.Status = StatusVerifying
	case ActRecordVerification:
		next.Status = StatusHandling
	case ActAnswer:
		next.Status = StatusAnswered
		at := now
		next.AnsweredAt, next.AnsweredBy, next.AnsweredRank = &at, caller.Subject, Rank(caller.Role)
	case ActRecordReturnVisit:
		if !s.Survey {
			next.Status = StatusFollowingUp
		} // a survey answer is recorded on the closed case, which stays closed
	case ActClose:
		next.Status = StatusClosed
	case ActWithdraw:
		next.Status, next.Resume = StatusWithdrawn, ""
	case ActReopen:
		next.Status = StatusHandling
		next.Reopens++
	case ActRequestReview:
		if l.AnsweredAt == nil || now.Sub(*l.AnsweredAt) > ReviewWindow {
			return l, Transition{}, &FieldError{"reason", "a review must be requested within 30 days of the answer"}
		}
		next.Status, next.Resume = StatusUnderReview, l.Status
	case ActDecideReview:
		if Rank(caller.Role) <= l.AnsweredRank || caller.Subject == l.AnsweredBy {
			return l, Transition{}, fmt.Errorf("%w: a review is decided by someone above the one who answered", ErrNeedsHigherAuthority)
		}
		if s.Upheld {
			next.Status = l.Resume // the answer stands
		} else {
			next.Status = StatusHandling // handled again, answered again
		}
		next.Resume = ""
	case ActAwaitCustomer:
		next.Status, next.Resume = StatusWaitingOnCus, l.Status
	case ActAwaitAppraisal:
		next.Status, next.Resume = StatusWaitingOnAppraisal, l.Status
	case ActResumeFromCustomer, ActResumeFromAppraisal:
		next.Status, next.Resume = l.Resume, ""
	case ActAcknowledge, ActReclassify, ActMoveBranch:
		// where it stands does not change (TakeStep changes the case)
	}
	return next, Transition{Action: s.Action, From: l.Status, To: next.Status, Actor: caller.Subject, At: now}, nil
}

// Severities are the complexities a case may be reclassified to.
var Severities = []string{"SEVERITY_NORMAL", "SEVERITY_COMPLEX", "SEVERITY_MAJOR"}

// TakeStep applies step s to case c (Apply), and what reclassify and
// moveBranch change of the case itself: its severity, or its branch (and
// with it its region, zone and calendar). A move is taken by head office,
// or by a regional supervisor of both the case's region and the new
// branch's; the new branch is one of the case's bank (the caller looked it
// up in that bank).
func TakeStep(c Case, s Step, caller auth.Principal, pol Policy, now time.Time) (Case, Transition, error) {
	life, tr, err := Apply(c.Life, s, caller, pol, now)
	if err != nil {
		return c, tr, err
	}
	switch s.Action {
	case ActReclassify:
		if s.Severity == c.Severity {
			return c, Transition{}, &FieldError{"severity", "is already the case's severity"}
		}
		c.Severity = s.Severity
	case ActMoveBranch:
		b := s.Branch
		if b.ID == c.Branch {
			return c, Transition{}, &FieldError{"branchId", "is already the case's branch"}
		}
		switch {
		case caller.Role == auth.RoleHeadOffice:
		case caller.Role == auth.RoleRegionalSupervisor && caller.Region != "" && caller.Region == c.Region && caller.Region == b.Region:
		default:
			return c, Transition{}, fmt.Errorf("%w: a case moves between branches by head office or a regional supervisor of both branches' region", ErrNeedsHigherAuthority)
		}
		c.Branch, c.Region = b.ID, b.Region
		if b.TimeZone != "" {
			c.TimeZone = b.TimeZone
		}
		if b.CalendarID != "" {
			c.CalendarID = b.CalendarID
		}
	}
	c.Life, c.Work = life, c.Work.Record(s, tr)
	return c, tr, nil
}

// RootCauses are the answer's root-cause categories.
var RootCauses = []string{"ROOT_CAUSE_MANUAL_ENTRY_ERROR", "ROOT_CAUSE_SYSTEM_OPERATION_ERROR",
	"ROOT_CAUSE_CUSTOMER_INFO_CHECK_LAPSE", "ROOT_CAUSE_SYSTEM_FAILURE", "ROOT_CAUSE_EQUIPMENT_FAILURE",
	"ROOT_CAUSE_SERVICE_ATTITUDE", "ROOT_CAUSE_PROCESS_DESIGN", "ROOT_CAUSE_FEE_RULE", "ROOT_CAUSE_EXTERNAL_FRAUD",
	"ROOT_CAUSE_CUSTOMER_MISUNDERSTANDING", "ROOT_CAUSE_OTHER"}

// CompensationKinds are what may be offered.
var CompensationKinds = []string{"COMPENSATION_KIND_GIFT", "COMPENSATION_KIND_FEE_REFUND", "COMPENSATION_KIND_PHONE_CREDIT",
	"COMPENSATION_KIND_ADVISER_SERVICE", "COMPENSATION_KIND_WEALTH_REVIEW", "COMPENSATION_KIND_CASH"}

func checkStep(s Step, caller auth.Principal, pol Policy) error {
	text := func(field, v string, required bool) error {
		if required && strings.TrimSpace(v) == "" {
			return &FieldError{field, "is required"}
		}
		if len(v) > 4000 {
			return &FieldError{field, "must be at most 4000 bytes"}
		}
		if hasControl(v, true) {
			return &FieldError{field, "must not contain control characters"}
		}
		return nil
	}
	switch s.Action {
	case ActRecordVerification:
		if err := text("finding", s.Finding, true); err != nil {
			return err
		}
		for i, d := range s.Departments {
			if err := text(fmt.Sprintf("departments[%d]", i), d, true); err != nil {
				return err
			}
		}
	case ActAnswer:
		if err := text("answer", s.Text, true); err != nil {
			return err
		}
		if !slices.Contains(RootCauses, s.RootCause) {
			return &FieldError{"rootCause", "is required: one of " + strings.Join(RootCauses, ", ")}
		}
		if c := s.Compensation; c != nil {
			if !slices.Contains(CompensationKinds, c.Kind) {
				return &FieldError{"compensation.kind", "must be one of " + strings.Join(CompensationKinds, ", ")}
			}
			if c.AmountFen < 0 {
				return &FieldError{"compensation.amountFen", "must not be negative"}
			}
			if c.AmountFen > pol.CompensationApprovalFen && Rank(caller.Role) < Rank(auth.RoleBranchHead) {
				return fmt.Errorf("%w: compensation above %d fen needs a branch head or above", ErrNeedsHigherAuthority, pol.CompensationApprovalFen)
			}
		}
	case ActRecordReturnVisit:
		if s.Satisfaction < 1 || s.Satisfaction > 5 {
			return &FieldError{"satisfaction", "must be 1 to 5"}
		}
		return text("comment", s.Text, false)
	case ActWithdraw, ActReopen, ActRequestReview, ActAwaitCustomer, ActAwaitAppraisal:
		return text("reason", s.Text, true)
	case ActReclassify:
		if !slices.Contains(Severities, s.Severity) {
			return &FieldError{"severity", "must be one of " + strings.Join(Severities, ", ")}
		}
		if Rank(caller.Role) < Rank(auth.RoleComplaintManager) || caller.Role == auth.RoleTechSupport {
			return fmt.Errorf("%w: a case is reclassified by a complaint manager, a branch head or above", ErrNeedsHigherAuthority)
		}
		return text("reason", s.Text, true)
	case ActMoveBranch:
		if s.Branch == nil || s.Branch.ID == "" {
			return &FieldError{"branchId", "is required"}
		}
		return text("reason", s.Text, true)
	case ActAcknowledge:
		return text("how", s.Text, true)
	case ActDecideReview:
		return text("decision", s.Text, true)
	}
	return nil
}

// Work is what was done on a case: kept sealed, because its text is what
// customers said.
type Work struct {
	Verification *VerificationRecord `json:"verification,omitempty"`
	Answer       *AnswerRecord       `json:"answer,omitempty"`
	ReturnVisit  *ReturnVisitRecord  `json:"returnVisit,omitempty"`
}

// VerificationRecord is the finding of the verification step (核实).
type VerificationRecord struct {
	Finding       string    `json:"finding"`
	Substantiated bool      `json:"substantiated"`
	Departments   []string  `json:"departments,omitempty"`
	By            string    `json:"by"`
	At            time.Time `json:"at"`
}

// AnswerRecord is what the customer was told.
type AnswerRecord struct {
	Text         string        `json:"text"`
	RootCause    string        `json:"rootCause"`
	Compensation *Compensation `json:"compensation,omitempty"`
	By           string        `json:"by"`
	At           time.Time     `json:"at"`
}

// ReturnVisitRecord is the latest return visit (回访).
type ReturnVisitRecord struct {
	Satisfaction int       `json:"satisfaction"`
	Comment      string    `json:"comment,omitempty"`
	Reached      bool      `json:"reached"`
	By           string    `json:"by"`
	At           time.Time `json:"at"`
}

// Record returns w with what step s (taken as tr) adds to it.
func (w Work) Record(s Step, tr Transition) Work {
	switch s.Action {
	case ActRecordVerification:
		w.Verification = &VerificationRecord{Finding: s.Finding, Substantiated: s.Substantiated, Departments: s.Departments, By: tr.Actor, At: tr.At}
	case ActAnswer:
		c := s.Compensation
		if c != nil && c.ApprovedBy == "" {
			cc := *c
			cc.ApprovedBy = tr.Actor
			c = &cc
		}
		w.Answer = &AnswerRecord{Text: s.Text, RootCause: s.RootCause, Compensation: c, By: tr.Actor, At: tr.At}
	case ActRecordReturnVisit:
		w.ReturnVisit = &ReturnVisitRecord{Satisfaction: s.Satisfaction, Comment: s.Text, Reached: s.Reached, By: tr.Actor, At: tr.At}
	}
	return w
}

// StepText is the text a step puts in the history: the reason, finding,
// answer, comment or decision.
func StepText(s Step) string {
	switch s.Action {
	case ActRecordVerification:
		return s.Finding
	case ActReclassify:
		return s.Severity + ": " + s.Text
	case ActMoveBranch:
		if s.Branch != nil {
			return "to branch " + s.Branch.ID + ": " + s.Text
		}
	}
	return s.Text
}

// Evidence is a reference to a file kept elsewhere.
type Evidence struct {
	Kind      string `json:"kind"`
	SHA256    string `json:"sha256"`
	Reference string `json:"reference"`
}

// History kinds.
const (
	HistoryRegistered = "registered"
	HistoryStep       = "step"
	HistoryNote       = "note"
	HistoryHandover   = "handover"
	HistoryDeadline   = "deadline"
)

// HistoryEntry is one thing that happened to a case.
type HistoryEntry struct {
	Seq      int
	At       time.Time
	Kind     string
	Action   string
	Actor    string
	From, To string
	Owner    string
	Text     string
	Evidence []Evidence
}

// CheckNote refuses a note a reader could be misled by.
func CheckNote(text string, ev []Evidence) error {
	if strings.TrimSpace(text) == "" {
		return &FieldError{"text", "is required"}
	}
	if hasControl(text, true) {
		return &FieldError{"text", "must not contain control characters"}
	}
	for i, e := range ev {
		for _, f := range []struct{ name, v string }{{"kind", e.Kind}, {"reference", e.Reference}} {
			if hasControl(f.v, false) {
				return &FieldError{fmt.Sprintf("evidence[%d].%s", i, f.name), "must not contain control characters"}
			}
		}
	}
	return nil
}
