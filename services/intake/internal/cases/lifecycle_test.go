package cases

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

var allStatuses = []string{StatusReported, StatusVerifying, StatusHandling, StatusAnswered, StatusFollowingUp,
	StatusClosed, StatusWithdrawn, StatusUnderReview, StatusWaitingOnCus, StatusWaitingOnAppraisal}

var (
	cmCaller   = auth.Principal{Tenant: "bank-a", Subject: "cm-1", Role: auth.RoleComplaintManager, Branch: "br-1"}
	headCaller = auth.Principal{Tenant: "bank-a", Subject: "head-1", Role: auth.RoleBranchHead, Branch: "br-1"}
)

// validStep is a step with the input its action requires.
func validStep(a Action) Step {
	s := Step{Action: a, Text: "原因/答复", Finding: "柜员录错一位", Substantiated: true, RootCause: "ROOT_CAUSE_MANUAL_ENTRY_ERROR",
		Satisfaction: 4, Reached: true, Upheld: true, Severity: "SEVERITY_COMPLEX", Branch: &Branch{ID: "br-2", Region: "rg-1"}}
	return s
}

// The whole table: every action from every status is either the one
// transition the lifecycle defines, or refused with the current status and
// what is allowed instead.
func TestEveryActionFromEveryStatus(t *testing.T) {
	answered := now.Add(-24 * time.Hour)
	want := map[Action]map[string]string{
		ActStartVerification:  {StatusReported: StatusVerifying},
		ActRecordVerification: {StatusVerifying: StatusHandling},
		ActAnswer:             {StatusHandling: StatusAnswered},
		ActRecordReturnVisit:  {StatusAnswered: StatusFollowingUp, StatusFollowingUp: StatusFollowingUp},
		ActClose:              {StatusFollowingUp: StatusClosed},
		ActWithdraw: {StatusReported: StatusWithdrawn, StatusVerifying: StatusWithdrawn, StatusHandling: StatusWithdrawn,
			StatusWaitingOnCus: StatusWithdrawn, StatusAnswered: StatusWithdrawn, StatusFollowingUp: StatusWithdrawn, StatusUnderReview: StatusWithdrawn},
		ActReopen:             {StatusClosed: StatusHandling},
		ActRequestReview:      {StatusAnswered: StatusUnderReview, StatusFollowingUp: StatusUnderReview, StatusClosed: StatusUnderReview},
		ActDecideReview:       {StatusUnderReview: StatusFollowingUp}, // upheld: back where it was (here: following up)
		ActAwaitCustomer:      {StatusReported: StatusWaitingOnCus, StatusVerifying: StatusWaitingOnCus, StatusHandling: StatusWaitingOnCus},
		ActResumeFromCustomer: {StatusWaitingOnCus: StatusHandling},
		ActAcknowledge: {StatusReported: StatusReported, StatusVerifying: StatusVerifying, StatusHandling: StatusHandling,
			StatusWaitingOnCus: StatusWaitingOnCus, StatusWaitingOnAppraisal: StatusWaitingOnAppraisal},
		ActAwaitAppraisal:      {StatusReported: StatusWaitingOnAppraisal, StatusVerifying: StatusWaitingOnAppraisal, StatusHandling: StatusWaitingOnAppraisal},
		ActResumeFromAppraisal: {StatusWaitingOnAppraisal: StatusHandling},
		ActReclassify: {StatusReported: StatusReported, StatusVerifying: StatusVerifying, StatusHandling: StatusHandling,
			StatusWaitingOnCus: StatusWaitingOnCus, StatusWaitingOnAppraisal: StatusWaitingOnAppraisal},
		ActMoveBranch: {StatusReported: StatusReported, StatusVerifying: StatusVerifying, StatusHandling: StatusHandling,
			StatusWaitingOnCus: StatusWaitingOnCus, StatusWaitingOnAppraisal: StatusWaitingOnAppraisal},
	}
	want[ActWithdraw][StatusWaitingOnAppraisal] = StatusWithdrawn

	for _, a := range Actions {
		for _, st := range allStatuses {
			l := Lifecycle{Status: st, AnsweredAt: &answered, AnsweredBy: "teller-1", AnsweredRank: 1, Resume: StatusHandling}
			if st == StatusUnderReview {
				l.Resume = StatusFollowingUp
			}
			to, ok := want[a][st]
			name := string(a) + " from " + st
			t.Run(name, func(t *testing.T) {
				next, tr, err := Apply(l, validStep(a), headCaller, DefaultPolicy, now)
				if !ok {
					var na *NotAllowedError
					if !errors.As(err, &na) || na.Current != st || !slices.Equal(na.Allowed, AllowedFrom(st)) {
						t.Fatalf("err = %v, want NotAllowedError naming %s and %v", err, st, AllowedFrom(st))
					}
					if next != l {
						t.Errorf("a refused step changed the lifecycle: %+v", next)
					}
					return
				}
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if next.Status != to || tr.From != st || tr.To != to || tr.Action != a || tr.Actor != "head-1" || !tr.At.Equal(now) {
					t.Errorf("got %s (%+v), want %s", next.Status, tr, to)
				}
			})
		}
	}
	if got := AllowedFrom(StatusClosed); !slices.Equal(got, []Action{ActReopen, ActRequestReview}) {
		t.Errorf("a closed case allows %v, want reopen and requestReview", got)
	}
	if got := AllowedFrom(StatusWithdrawn); len(got) != 0 {
		t.Errorf("a withdrawn case allows %v, want nothing", got)
	}
}

func TestAReviewIsDecidedBySomeoneAboveTheAnswererWithin30Days(t *testing.T) {
	handling := Lifecycle{Status: StatusHandling}
	answered, _, err := Apply(handling, validStep(ActAnswer), cmCaller, DefaultPolicy, now)
	if err != nil {
		t.Fatal(err)
	}
	if answered.AnsweredBy != "cm-1" || answered.AnsweredRank != Rank(auth.RoleComplaintManager) {
		t.Fatalf("answer not remembered: %+v", answered)
	}
	if _, _, err := Apply(answered, validStep(ActRequestReview), cmCaller, DefaultPolicy, now.Add(31*24*time.Hour)); err == nil {
		t.Error("a review 31 days after the answer was accepted")
	}
	review, _, err := Apply(answered, validStep(ActRequestReview), cmCaller, DefaultPolicy, now.Add(29*24*time.Hour))
	if err != nil || review.Status != StatusUnderReview || review.Resume != StatusAnswered {
		t.Fatalf("review within 29 days: %+v %v", review, err)
	}
	peer := auth.Principal{Tenant: "bank-a", Subject: "cm-2", Role: auth.RoleComplaintManager, Branch: "br-1"}
	for _, p := range []auth.Principal{cmCaller, peer} {
		if _, _, err := Apply(review, validStep(ActDecideReview), p, DefaultPolicy, now); !errors.Is(err, ErrNeedsHigherAuthority) {
			t.Errorf("%s deciding a review of a complaint manager's answer: %v, want ErrNeedsHigherAuthority", p.Subject, err)
		}
	}
	not := validStep(ActDecideReview)
	not.Upheld = false
	again, _, err := Apply(review, not, headCaller, DefaultPolicy, now)
	if err != nil || again.Status != StatusHandling {
		t.Errorf("a review not upheld: %+v %v, want handled again", again, err)
	}
	kept, _, err := Apply(review, validStep(ActDecideReview), headCaller, DefaultPolicy, now)
	if err != nil || kept.Status != StatusAnswered {
		t.Errorf("a review upheld: %+v %v, want back to answered", kept, err)
	}
}

func TestWaitingForTheCustomerResumesWhereItWas(t *testing.T) {
	for _, st := range []string{StatusReported, StatusVerifying, StatusHandling} {
		w, _, err := Apply(Lifecycle{Status: st}, validStep(ActAwaitCustomer), cmCaller, DefaultPolicy, now)
		if err != nil || w.Status != StatusWaitingOnCus {
			t.Fatalf("await from %s: %+v %v", st, w, err)
		}
		r, _, err := Apply(w, validStep(ActResumeFromCustomer), cmCaller, DefaultPolicy, now)
		if err != nil || r.Status != st || r.Resume != "" {
			t.Errorf("resume: %+v %v, want back to %s", r, err, st)
		}
	}
	reopened, _, err := Apply(Lifecycle{Status: StatusClosed}, validStep(ActReopen), cmCaller, DefaultPolicy, now)
	if err != nil || reopened.Reopens != 1 {
		t.Errorf("reopen: %+v %v", reopened, err)
	}
}

func TestAnAppraisalPausesAndResumesWhereItWas(t *testing.T) {
	for _, st := range []string{StatusReported, StatusVerifying, StatusHandling} {
		w, _, err := Apply(Lifecycle{Status: st}, validStep(ActAwaitAppraisal), cmCaller, DefaultPolicy, now)
		if err != nil || w.Status != StatusWaitingOnAppraisal {
			t.Fatalf("await appraisal from %s: %+v %v", st, w, err)
		}
		if _, _, err := Apply(w, validStep(ActResumeFromCustomer), cmCaller, DefaultPolicy, now); err == nil {
			t.Error("resumeFromCustomer ended an appraisal wait")
		}
		r, _, err := Apply(w, validStep(ActResumeFromAppraisal), cmCaller, DefaultPolicy, now)
		if err != nil || r.Status != st || r.Resume != "" {
			t.Errorf("resume: %+v %v, want back to %s", r, err, st)
		}
	}
	if _, _, err := Apply(Lifecycle{Status: StatusHandling}, Step{Action: ActAwaitAppraisal}, cmCaller, DefaultPolicy, now); err == nil {
		t.Error("an appraisal wait without a reason was accepted")
	}
}

func TestReclassifyChangesTheSeverityByAComplaintManagerOrAbove(t *testing.T) {
	c := Case{Severity: "SEVERITY_NORMAL", Branch: "br-1", Region: "rg-1", Life: Lifecycle{Status: StatusHandling}}
	step := Step{Action: ActReclassify, Severity: "SEVERITY_COMPLEX", Text: "涉及多个部门"}
	teller := auth.Principal{Tenant: "bank-a", Subject: "t-1", Role: auth.RoleTeller, Branch: "br-1"}
	tech := auth.Principal{Tenant: "bank-a", Subject: "ts-1", Role: auth.RoleTechSupport, Branch: "br-1"}
	for _, p := range []auth.Principal{teller, tech} {
		if _, _, err := TakeStep(c, step, p, DefaultPolicy, now); !errors.Is(err, ErrNeedsHigherAuthority) {
			t.Errorf("%s reclassifying: %v, want ErrNeedsHigherAuthority", p.Role, err)
		}
	}
	for _, p := range []auth.Principal{cmCaller, headCaller} {
		got, tr, err := TakeStep(c, step, p, DefaultPolicy, now)
		if err != nil || got.Severity != "SEVERITY_COMPLEX" || tr.Action != ActReclassify || got.Life.Status != StatusHandling {
			t.Errorf("%s reclassifying: %+v %v", p.Role, got, err)
		}
	}
	for _, bad := range []string{"", "SEVERITY_UNSPECIFIED", "SEVERITY_NORMAL"} {
		s := step
		s.Severity = bad
		var fe *FieldError
		if _, _, err := TakeStep(c, s, cmCaller, DefaultPolicy, now); !errors.As(err, &fe) || fe.Field != "severity" {
			t.Errorf("severity %q: %v, want a FieldError on severity", bad, err)
		}
	}
	for _, st := range []string{StatusAnswered, StatusFollowingUp, StatusClosed, StatusWithdrawn, StatusUnderReview} {
		a := c
		a.Life.Status = st
		var na *NotAllowedError
		if _, _, err := TakeStep(a, step, cmCaller, DefaultPolicy, now); !errors.As(err, &na) {
			t.Errorf("reclassifying a case %s: %v, want NotAllowedError", st, err)
		}
	}
}

func TestMoveBranchByHeadOfficeOrASupervisorOfBothRegions(t *testing.T) {
	c := Case{Severity: "SEVERITY_NORMAL", Branch: "br-1", Region: "rg-1", TimeZone: "Asia/Shanghai", CalendarID: "cn",
		Life: Lifecycle{Status: StatusHandling}}
	sameRegion := &Branch{ID: "br-2", Region: "rg-1", TimeZone: "Asia/Shanghai", CalendarID: "cn"}
	otherRegion := &Branch{ID: "br-7", Region: "rg-7", TimeZone: "Asia/Urumqi", CalendarID: "cn"}
	hq := auth.Principal{Tenant: "bank-a", Subject: "hq-1", Role: auth.RoleHeadOffice}
	sup := auth.Principal{Tenant: "bank-a", Subject: "sup-1", Role: auth.RoleRegionalSupervisor, Region: "rg-1"}
	tests := []struct {
		name   string
		p      auth.Principal
		to     *Branch
		status string
		ok     bool
	}{
		{"head office, same region", hq, sameRegion, StatusHandling, true},
		{"head office, other region", hq, otherRegion, StatusWaitingOnCus, true},
		{"supervisor of both", sup, sameRegion, StatusReported, true},
		{"supervisor, to another region", sup, otherRegion, StatusHandling, false},
		{"branch head", headCaller, sameRegion, StatusHandling, false},
		{"head office, answered case", hq, sameRegion, StatusAnswered, false},
		{"head office, closed case", hq, sameRegion, StatusClosed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := c
			in.Life.Status = tt.status
			got, _, err := TakeStep(in, Step{Action: ActMoveBranch, Branch: tt.to, Text: "客户开户网点"}, tt.p, DefaultPolicy, now)
			if !tt.ok {
				if err == nil {
					t.Fatalf("moved: %+v", got)
				}
				return
			}
			if err != nil || got.Branch != tt.to.ID || got.Region != tt.to.Region || got.TimeZone != tt.to.TimeZone || got.Life.Status != tt.status {
				t.Errorf("move: %+v %v", got, err)
			}
		})
	}
	var fe *FieldError
	if _, _, err := TakeStep(c, Step{Action: ActMoveBranch, Branch: &Branch{ID: "br-1", Region: "rg-1"}, Text: "x"}, hq, DefaultPolicy, now); !errors.As(err, &fe) {
		t.Errorf("moving to the same branch: %v, want a FieldError", err)
	}
}

func TestStepInputIsCheckedNamingTheField(t *testing.T) {
	big := &Compensation{Kind: "COMPENSATION_KIND_CASH", AmountFen: DefaultPolicy.CompensationApprovalFen + 1}
	tests := []struct {
		name   string
		status string
		step   Step
		caller auth.Principal
		field  string
		higher bool
	}{
		{"an answer without text", StatusHandling, Step{Action: ActAnswer, RootCause: "ROOT_CAUSE_OTHER"}, cmCaller, "answer", false},
		{"an answer without root cause", StatusHandling, Step{Action: ActAnswer, Text: "x"}, cmCaller, "rootCause", false},
		{"an unknown compensation kind", StatusHandling, Step{Action: ActAnswer, Text: "x", RootCause: "ROOT_CAUSE_OTHER", Compensation: &Compensation{Kind: "COMPENSATION_KIND_CAR"}}, cmCaller, "compensation.kind", false},
		{"compensation over the threshold by a complaint manager", StatusHandling, Step{Action: ActAnswer, Text: "x", RootCause: "ROOT_CAUSE_OTHER", Compensation: big}, cmCaller, "", true},
		{"satisfaction 6", StatusAnswered, Step{Action: ActRecordReturnVisit, Satisfaction: 6}, cmCaller, "satisfaction", false},
		{"a withdrawal without reason", StatusHandling, Step{Action: ActWithdraw}, cmCaller, "reason", false},
		{"a verification without finding", StatusVerifying, Step{Action: ActRecordVerification}, cmCaller, "finding", false},
		{"a NUL in a reason", StatusHandling, Step{Action: ActAwaitCustomer, Text: "a\x00b"}, cmCaller, "reason", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			l := Lifecycle{Status: tt.status}
			next, _, err := Apply(l, tt.step, tt.caller, DefaultPolicy, now)
			if next != l {
				t.Errorf("a refused step changed the lifecycle")
			}
			if tt.higher {
				if !errors.Is(err, ErrNeedsHigherAuthority) {
					t.Fatalf("err = %v, want ErrNeedsHigherAuthority", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
	ok := Step{Action: ActAnswer, Text: "x", RootCause: "ROOT_CAUSE_OTHER", Compensation: big}
	if _, _, err := Apply(Lifecycle{Status: StatusHandling}, ok, headCaller, DefaultPolicy, now); err != nil {
		t.Errorf("a branch head offering compensation over the threshold: %v", err)
	}
}

// The customer's answer to the survey sent at closure is recorded on the
// closed case, which stays closed; from any other status it is refused, and
// staff still record return visits only before closing.
func TestASurveyAnswerIsRecordedOnTheClosedCaseOnly(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	survey := Step{Action: ActRecordReturnVisit, Satisfaction: 4, Text: "满意", Reached: true, Survey: true}
	svc := auth.Principal{Tenant: "bank-a", Subject: SurveyActor, Role: auth.RoleService}
	for _, st := range allStatuses {
		next, tr, err := Apply(Lifecycle{Status: st}, survey, svc, DefaultPolicy, now)
		if st == StatusClosed {
			if err != nil || next.Status != StatusClosed || tr.From != StatusClosed || tr.To != StatusClosed || tr.Actor != SurveyActor {
				t.Errorf("closed: %+v %+v %v, want recorded and still closed, by %s", next, tr, err, SurveyActor)
			}
			continue
		}
		var na *NotAllowedError
		if !errors.As(err, &na) || na.Current != st {
			t.Errorf("%s: got %v, want a survey answer refused", st, err)
		}
	}
	staff := survey
	staff.Survey = false
	if _, _, err := Apply(Lifecycle{Status: StatusClosed}, staff, cmCaller, DefaultPolicy, now); err == nil {
		t.Error("a staff return visit on a closed case was accepted")
	}
	bad := survey
	bad.Satisfaction = 0
	if _, _, err := Apply(Lifecycle{Status: StatusClosed}, bad, svc, DefaultPolicy, now); err == nil {
		t.Error("a survey answer of 0 was accepted")
	}
	w := Work{}.Record(survey, Transition{Actor: SurveyActor, At: now})
	if w.ReturnVisit == nil || w.ReturnVisit.Satisfaction != 4 || w.ReturnVisit.Comment != "满意" || w.ReturnVisit.By != SurveyActor {
		t.Errorf("recorded %+v", w.ReturnVisit)
	}
}
