package notifygrpc

import (
	"context"
	"fmt"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifykafka"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// CauseHeader is the metadata naming the event a GetEscalationContacts call
// alerts about; routing's routinggrpc.CauseHeader.
const CauseHeader = "counterdesk-cause-event"

// Routing calls the routing service's GetEscalationContacts, as this
// service (never for a user: it runs on events).
type Routing struct {
	client  routingv1.RoutingServiceClient
	service credentials.PerRPCCredentials
}

// NewRouting uses conn and, when not nil, service as the per-call
// credentials (nil when conn itself carries the service's credentials).
func NewRouting(conn grpc.ClientConnInterface, service credentials.PerRPCCredentials) *Routing {
	return &Routing{client: routingv1.NewRoutingServiceClient(conn), service: service}
}

var _ notifykafka.StaffContacts = (*Routing)(nil)

// RoutingError is a failed contact look-up at routing. It keeps the status
// code and drops routing's message.
type RoutingError struct{ Code codes.Code }

func (e *RoutingError) Error() string { return "routing GetEscalationContacts: " + e.Code.String() }

// Permanent reports whether asking again cannot help.
func (e *RoutingError) Permanent() bool { return e.Code == codes.InvalidArgument }

// EscalationContacts implements notifykafka.StaffContacts. A case routing
// does not know is notifykafka.ErrNotAssigned; a request routing refuses as
// malformed cannot succeed on retry.
func (r *Routing) EscalationContacts(ctx context.Context, caseID, cause string) (owners, above []notify.StaffRecipient, err error) {
	var opts []grpc.CallOption
	if r.service != nil {
		opts = append(opts, grpc.PerRPCCredentials(r.service))
	}
	// Nothing of an incoming call rides along: the call is this service's.
	md := metadata.MD{}
	if cause != "" {
		md.Set(CauseHeader, cause)
	}
	ctx = metadata.NewOutgoingContext(ctx, md)
	resp, err := r.client.GetEscalationContacts(ctx, &routingv1.GetEscalationContactsRequest{CaseId: caseID}, opts...)
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		return nil, nil, notifykafka.ErrNotAssigned
	default:
		return nil, nil, &RoutingError{Code: status.Code(err)}
	}
	if resp.GetCaseId() != "" && resp.GetCaseId() != caseID {
		return nil, nil, fmt.Errorf("routing answered for case %s, asked for %s", resp.GetCaseId(), caseID)
	}
	return recipients(resp.GetOwners()), recipients(resp.GetAbove()), nil
}

// StaffByID implements notifykafka.StaffContacts.
func (r *Routing) StaffByID(ctx context.Context, tenantID string, ids []string) ([]notify.StaffRecipient, error) {
	var opts []grpc.CallOption
	if r.service != nil {
		opts = append(opts, grpc.PerRPCCredentials(r.service))
	}
	ctx = metadata.NewOutgoingContext(ctx, metadata.MD{})
	resp, err := r.client.GetStaffContacts(ctx, &routingv1.GetStaffContactsRequest{TenantId: tenantID, StaffIds: ids}, opts...)
	if err != nil {
		return nil, &RoutingError{Code: status.Code(err)}
	}
	return recipients(resp.GetContacts()), nil
}

// BranchStaff implements notifykafka.StaffContacts.
func (r *Routing) BranchStaff(ctx context.Context, tenantID, branchID, role string) ([]notify.StaffRecipient, error) {
	var opts []grpc.CallOption
	if r.service != nil {
		opts = append(opts, grpc.PerRPCCredentials(r.service))
	}
	ctx = metadata.NewOutgoingContext(ctx, metadata.MD{})
	resp, err := r.client.GetStaffContacts(ctx, &routingv1.GetStaffContactsRequest{TenantId: tenantID, BranchId: branchID,
		Role: routingv1.Role(routingv1.Role_value[role])}, opts...)
	if err != nil {
		return nil, &RoutingError{Code: status.Code(err)}
	}
	return recipients(resp.GetContacts()), nil
}

func recipients(cs []*routingv1.StaffContact) []notify.StaffRecipient {
	out := make([]notify.StaffRecipient, 0, len(cs))
	for _, c := range cs {
		out = append(out, notify.StaffRecipient{ID: c.GetStaffId(), Name: c.GetDisplayName(), Email: c.GetEmail()})
	}
	return out
}
