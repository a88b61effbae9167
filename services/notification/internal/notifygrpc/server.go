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
	// Ops serves the bank-wide RPCs (dead letters, attempts, replays);
	// nil: they answer Unimplemented.
	Ops        *Operations
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

// toProto shows d as it is: channel is the one the last attempt used,
// requested_channel the one asked for (the customer's choice, or one
// channel), decision why.
func toProto(d notify.Delivery) *notificationv1.Notification {
	n := &notificationv1.Notification{
		Id: d.ID, CaseId: d.CaseID, Channel: channels[d.Via], RequestedChannel: channels[d.Channel], Template: string(d.Template),
		Language: string(d.Language), Recipient: d.Recipient, Status: statuses[d.Status],
		Attempts: int32(d.Attempts), LastError: d.LastError, CreatedAt: timestamppb.New(d.CreatedAt),
		Decision: d.Decision, Late: d.Late,
	}
	if !d.SentAt.IsZero() {
		n.SentAt = timestamppb.New(d.SentAt)
	}
	if d.Status == notify.StatusPending {
		n.NextAttemptAt = timestamppb.New(d.NextAttemptAt)
	}
	return n
}

var channels = map[notify.Channel]notificationv1.NotificationChannel{
	notify.ChannelEmail:    notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_EMAIL,
	notify.ChannelSMS:      notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_SMS,
	notify.ChannelWebhook:  notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_WEBHOOK,
	notify.ChannelCustomer: notificationv1.NotificationChannel_NOTIFICATION_CHANNEL_CUSTOMER,
}

var statuses = map[notify.Status]notificationv1.DeliveryStatus{
	notify.StatusPending:    notificationv1.DeliveryStatus_DELIVERY_STATUS_PENDING,
	notify.StatusSent:       notificationv1.DeliveryStatus_DELIVERY_STATUS_SENT,
	notify.StatusFailed:     notificationv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTER,
	notify.StatusSkipped:    notificationv1.DeliveryStatus_DELIVERY_STATUS_SKIPPED,
	notify.StatusDeadLetter: notificationv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTER,
}

// ListNotifications implements NotificationService (see Operations).
func (s *Server) ListNotifications(ctx context.Context, req *notificationv1.ListNotificationsRequest) (*notificationv1.ListNotificationsResponse, error) {
	if s.Ops == nil {
		return s.UnimplementedNotificationServiceServer.ListNotifications(ctx, req)
	}
	return s.Ops.ListNotifications(ctx, req)
}

// ListNotificationAttempts implements NotificationService (see Operations).
func (s *Server) ListNotificationAttempts(ctx context.Context, req *notificationv1.ListNotificationAttemptsRequest) (*notificationv1.ListNotificationAttemptsResponse, error) {
	if s.Ops == nil {
		return s.UnimplementedNotificationServiceServer.ListNotificationAttempts(ctx, req)
	}
	return s.Ops.ListNotificationAttempts(ctx, req)
}

// RetryNotification implements NotificationService (see Operations).
func (s *Server) RetryNotification(ctx context.Context, req *notificationv1.RetryNotificationRequest) (*notificationv1.RetryNotificationResponse, error) {
	if s.Ops == nil {
		return s.UnimplementedNotificationServiceServer.RetryNotification(ctx, req)
	}
	return s.Ops.RetryNotification(ctx, req)
}
