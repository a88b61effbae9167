// Package notifygrpc is the notification service's gRPC side: the
// NotificationService API (also served as HTTP/JSON by the gateway) and the
// client of intake's APIs it depends on.
package notifygrpc

import (
	"context"

	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Deliveries lists a case's deliveries within one tenant.
type Deliveries interface {
	ListByCase(ctx context.Context, tenantID, caseID string) ([]notify.Delivery, error)
}

// CaseAccess decides whether the caller in ctx may see a case; it returns
// nil or a gRPC status error.
type CaseAccess interface {
	CheckCaseAccess(ctx context.Context, tenantID, caseID string) error
}

// Server implements NotificationService.
type Server struct {
	notificationv1.UnimplementedNotificationServiceServer
	deliveries Deliveries
	access     CaseAccess
}

// NewServer returns the API over deliveries, asking access about each case.
func NewServer(deliveries Deliveries, access CaseAccess) *Server {
	return &Server{deliveries: deliveries, access: access}
}

// ListCaseNotifications returns the case's deliveries. A case the caller
// may not see, including one of another bank, reads as having none, so the
// answer reveals nothing about whether it exists.
func (s *Server) ListCaseNotifications(ctx context.Context, req *notificationv1.ListCaseNotificationsRequest) (*notificationv1.ListCaseNotificationsResponse, error) {
	p, err := authorize(ctx, actReadNotifications)
	if err != nil {
		return nil, err
	}
	resp := &notificationv1.ListCaseNotificationsResponse{CaseId: req.GetCaseId()}
	if err := s.access.CheckCaseAccess(ctx, p.Tenant, req.GetCaseId()); err != nil {
		switch status.Code(err) {
		case codes.NotFound, codes.PermissionDenied, codes.Unauthenticated:
			// Another bank's case is not found: nothing, not even an echo
			// of its id, says it exists.
			return nil, err
		default:
			return nil, status.Errorf(codes.Unavailable, "cannot check access to case %s now; retry later", req.GetCaseId())
		}
	}
	ds, err := s.deliveries.ListByCase(ctx, p.Tenant, req.GetCaseId())
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "list notifications of case %s: database unavailable", req.GetCaseId())
	}
	for _, d := range ds {
		resp.Notifications = append(resp.Notifications, toProto(d))
	}
	return resp, nil
}

func toProto(d notify.Delivery) *notificationv1.Notification {
	n := &notificationv1.Notification{
		Id: d.ID, CaseId: d.CaseID, Channel: channels[d.Channel], Template: string(d.Template),
		Language: string(d.Language), Recipient: d.Recipient, Status: statuses[d.Status],
		Attempts: int32(d.Attempts), LastError: d.LastError, CreatedAt: timestamppb.New(d.CreatedAt),
	}
	if !d.SentAt.IsZero() {
		n.SentAt = timestamppb.New(d.SentAt)
	}
	return n
}

var channels = map[notify.Channel]notificationv1.NotificationChannel{
	notify.ChannelEmail:   notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_EMAIL,
	notify.ChannelSMS:     notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_SMS,
	notify.ChannelWebhook: notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_WEBHOOK,
}

var statuses = map[notify.Status]notificationv1.DeliveryStatus{
	notify.StatusPending: notificationv1.DeliveryStatus_DELIVERY_STATUS_PENDING,
	notify.StatusSent:    notificationv1.DeliveryStatus_DELIVERY_STATUS_SENT,
	notify.StatusFailed:  notificationv1.DeliveryStatus_DELIVERY_STATUS_FAILED,
	notify.StatusSkipped: notificationv1.DeliveryStatus_DELIVERY_STATUS_SKIPPED,
}
