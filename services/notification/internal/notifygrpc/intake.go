package notifygrpc

import (
	"context"
	"fmt"
	"strings"

	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Intake calls the intake service. The connection carries no credentials of
// its own; each call says whose they are, so the service credential used to
// read contacts can never ride along on a call made for a user.
type Intake struct {
	internal intakev1.IntakeInternalServiceClient
	public   intakev1.IntakeServiceClient
	service  credentials.PerRPCCredentials
}

// NewIntake uses conn for both intake APIs and, when not nil, service for
// GetCaseContact (nil when conn itself carries the service's credentials).
func NewIntake(conn grpc.ClientConnInterface, service credentials.PerRPCCredentials) *Intake {
	return &Intake{
		internal: intakev1.NewIntakeInternalServiceClient(conn),
		public:   intakev1.NewIntakeServiceClient(conn),
		service:  service,
	}
}

var _ dispatch.Contacts = (*Intake)(nil)

// ContactError is a failed contact look-up. It keeps intake's status code
// and drops its message, which this service does not control.
type ContactError struct{ Code codes.Code }

func (e *ContactError) Error() string { return "intake GetCaseContact: " + e.Code.String() }

// Permanent reports whether asking again cannot help.
func (e *ContactError) Permanent() bool { return e.Code == codes.InvalidArgument }

// CaseContact implements dispatch.Contacts with the service credential.
func (i *Intake) CaseContact(ctx context.Context, caseID string) (dispatch.Contact, error) {
	var opts []grpc.CallOption
	if i.service != nil {
		opts = append(opts, grpc.PerRPCCredentials(i.service))
	}
	resp, err := i.internal.GetCaseContact(ctx, &intakev1.GetCaseContactRequest{CaseId: caseID}, opts...)
	if err != nil {
		return dispatch.Contact{}, &ContactError{Code: status.Code(err)}
	}
	return dispatch.Contact{
		TenantID: resp.GetTenantId(), CaseNumber: resp.GetCaseNumber(), CustomerName: resp.GetCustomerName(),
		Email: resp.GetEmail(), Phone: resp.GetPhone(), Language: resp.GetLanguage(), Answer: resp.GetAnswer(),
		PreferredChannel: preferred[resp.GetPreferredChannel()],
	}, nil
}

// preferred maps intake's ContactChannel to a notification channel: the
// bank's app is reached through the bank's webhook.
var preferred = map[intakev1.ContactChannel]notify.Channel{
	intakev1.ContactChannel_CONTACT_CHANNEL_SMS:      notify.ChannelSMS,
	intakev1.ContactChannel_CONTACT_CHANNEL_EMAIL:    notify.ChannelEmail,
	intakev1.ContactChannel_CONTACT_CHANNEL_BANK_APP: notify.ChannelWebhook,
}

// CheckCaseAccess asks intake, as the caller, whether the caller may see the
// case: intake owns the case's branch and region and the rules on them. The
// caller's own bearer token is passed on. It returns nil, or a gRPC status
// error: NotFound when the case does not exist for this caller.
func (i *Intake) CheckCaseAccess(ctx context.Context, tenantID, caseID string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	tokens := md.Get("authorization")
	if len(tokens) == 0 || strings.TrimSpace(tokens[0]) == "" {
		return status.Error(codes.Unauthenticated, "unauthenticated")
	}
	out := metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", tokens[0]))
	resp, err := i.public.GetCase(out, &intakev1.GetCaseRequest{CaseId: caseID})
	if err != nil {
		return status.Error(status.Code(err), fmt.Sprintf("check access to case %s at intake: %s", caseID, status.Code(err)))
	}
	if resp.GetCase().GetTenantId() != tenantID {
		return status.Errorf(codes.NotFound, "case %s not found", caseID)
	}
	return nil
}
