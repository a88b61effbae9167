package casesgrpc

import (
	"context"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// recordSurveyAnswer records the customer's answer to the return-visit
// survey, which the notification service received through a link it signed
// and checked: on the closed case (the domain refuses any other status), as
// the customer (cases.SurveyActor), reached. The case's bank is the case's
// own: the service token names every bank, and the link names the case.
// The answer goes in the history and the CaseTransitioned event like any
// return visit, so reports count the satisfaction. The service gets back
// the case's id, status and the visit's score and time only: nothing
// personal, not even the comment it sent.
func (s *Server) recordSurveyAnswer(ctx context.Context, r *intakev1.RecordReturnVisitRequest) (*intakev1.RecordReturnVisitResponse, error) {
	caller, err := authorizeSurveyAnswer(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.GetAnyTenant(ctx, r.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	caller.Tenant, caller.Subject = c.Tenant, cases.SurveyActor
	stored, err := s.stepAs(ctx, caller, r.GetCaseId(), cases.Step{Action: cases.ActRecordReturnVisit,
		Satisfaction: int(r.GetSatisfaction()), Text: r.GetComment(), Reached: true, Survey: true})
	if err != nil {
		return nil, err
	}
	out := &intakev1.Case{Id: stored.ID, TenantId: stored.Tenant, Status: casesv1.CaseStatus(casesv1.CaseStatus_value[stored.Status])}
	if v := stored.Work.ReturnVisit; v != nil {
		out.ReturnVisit = &intakev1.ReturnVisit{Satisfaction: int32(v.Satisfaction), Reached: v.Reached, VisitedBy: v.By,
			VisitedAt: timestamppb.New(v.At)}
	}
	return &intakev1.RecordReturnVisitResponse{Case: out}, nil
}
