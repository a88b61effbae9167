// Package surveygrpc records survey answers at intake (survey.Recorder):
// RecordReturnVisit with notification's own service credential, which
// intake accepts from notification for exactly this step on a closed case.
package surveygrpc

import (
	"context"
	"fmt"

	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Intake implements survey.Recorder.
type Intake struct {
	client intakev1.IntakeServiceClient
}

// NewIntake records through conn, which carries the service's own
// credentials (service.Base.Dial).
func NewIntake(conn grpc.ClientConnInterface) *Intake {
	return &Intake{client: intakev1.NewIntakeServiceClient(conn)}
}

// RecordReturnVisit implements survey.Recorder. The call carries no caller
// token: notification calls for itself, as the customer's messenger.
// Errors name the status code only, never what the customer wrote.
func (i *Intake) RecordReturnVisit(ctx context.Context, tenantID, caseID string, a survey.Answer) error {
	resp, err := i.client.RecordReturnVisit(ctx, &intakev1.RecordReturnVisitRequest{CaseId: caseID,
		Satisfaction: int32(a.Satisfaction), Comment: a.Comment, Reached: true})
	switch status.Code(err) {
	case codes.OK:
	case codes.FailedPrecondition:
		return survey.ErrClosed
	case codes.NotFound:
		return survey.ErrNotFound
	default:
		return fmt.Errorf("intake RecordReturnVisit for case %s: %s", caseID, status.Code(err))
	}
	if got := resp.GetCase().GetTenantId(); got != tenantID {
		// Case ids are unique across banks; a different bank means the
		// link and intake disagree: refuse rather than confirm.
		return fmt.Errorf("intake recorded case %s for another bank", caseID)
	}
	return nil
}
