package cases

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

var allStatuses = []string{StatusReported, StatusVerifying, StatusHandling, StatusAnswered, StatusFollowingUp,
	StatusClosed, StatusWithdrawn, StatusUnderReview, StatusWaitingOnCus}

var (
	cmCaller   = auth.Principal{Tenant: "bank-a", Subject: "cm-1", Role: auth.RoleComplaintManager, Branch: "br-1"}
	headCaller = auth.Principal{Tenant: "bank-a", Subject: "head-1", Role: auth.RoleBranchHead, Branch: "br-1"}
)

// validStep is a step with the input its action requires.
func validStep(a Action) Step {
	s := Step{Action: a, Text: "原因/答复", Finding: "柜员录错一位", Substantiated: true, RootCause: "ROOT_CAUSE_MANUAL_ENTRY_ERROR",
		Satisfaction: 4, Reached: true, Upheld: true}
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
			StatusWaitingOnCus: StatusWaitingOnCus},
	}
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
