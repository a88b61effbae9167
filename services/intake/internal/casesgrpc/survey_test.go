package casesgrpc_test

import (
	"testing"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc/codes"
)

// The notification service records a customer's survey answer on a closed
// case, as the customer, and may do nothing else: no other step, no open
// case, no other service.
func TestNotificationRecordsASurveyAnswerOnAClosedCaseOnly(t *testing.T) {
	f := newFixture(t)
	closed := f.walk(t, "survey-closed", cases.StatusClosed)
	answered := f.walk(t, "survey-answered", cases.StatusAnswered)
	reporting := auth.Principal{Tenant: auth.AllTenants, Subject: "reporting", Role: auth.RoleService}
	answer := func(p auth.Principal, id string) (*intakev1.Case, error) {
		resp, err := f.server.RecordReturnVisit(as(p, ""), &intakev1.RecordReturnVisitRequest{CaseId: id, Satisfaction: 4,
			Comment: "柜员态度很好，我的手机13812345678"})
		return resp.GetCase(), err
	}

	before := f.count(t, "case_history")
	_, err := answer(reporting, closed)
	wantCode(t, err, codes.PermissionDenied)
	_, err = answer(notifier, answered)
	wantCode(t, err, codes.FailedPrecondition)
	_, err = answer(notifier, "0190d6a4-6b59-7000-8000-0000000000aa")
	wantCode(t, err, codes.NotFound)
	if n := f.count(t, "case_history"); n != before {
		t.Fatalf("refused survey answers left %d history entries", n-before)
	}
	// Notification is no staff member: every other step is refused.
	for _, a := range []cases.Action{cases.ActClose, cases.ActReopen, cases.ActAnswer} {
		_, err := f.take(notifier, answered, a)
		wantCode(t, err, codes.PermissionDenied)
	}

	got, err := answer(notifier, closed)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStatus() != casesv1.CaseStatus_CASE_STATUS_CLOSED || got.GetReturnVisit().GetSatisfaction() != 4 ||
		got.GetReturnVisit().GetVisitedBy() != cases.SurveyActor || !got.GetReturnVisit().GetReached() {
		t.Errorf("recorded %v, want the closed case with the customer's 4", got)
	}
	if got.GetReturnVisit().GetComment() != "" || got.GetCustomer() != nil || got.GetSummary() != "" {
		t.Errorf("the service got back personal data or the comment: %v", got)
	}
	// The complaint manager reads it on the case, masked as free text is.
	c, err := f.server.GetCase(as(cm, ""), &intakev1.GetCaseRequest{CaseId: closed})
	if err != nil {
		t.Fatal(err)
	}
	if rv := c.GetCase().GetReturnVisit(); rv.GetSatisfaction() != 4 || rv.GetComment() != "柜员态度很好，我的手机13812345678" {
		t.Errorf("the case shows return visit %v", rv)
	}
	// Published for reports, with the score, closed to closed, by the customer.
	var saw bool
	for _, env := range f.outboxEvents(t, closed) {
		if ct := env.GetCaseTransitioned(); ct.GetAction() == "recordReturnVisit" && ct.GetActorId() == cases.SurveyActor {
			saw = true
			if ct.GetSatisfaction() != 4 || ct.GetFromStatus() != casesv1.CaseStatus_CASE_STATUS_CLOSED || ct.GetToStatus() != casesv1.CaseStatus_CASE_STATUS_CLOSED {
				t.Errorf("event %v", ct)
			}
		}
	}
	if !saw {
		t.Error("no CaseTransitioned for the survey answer")
	}
	if n := f.countWhere(t, "case_history", "action = 'recordReturnVisit' AND actor = '"+cases.SurveyActor+"'"); n != 1 {
		t.Errorf("%d history entries of the survey answer, want 1", n)
	}
}
