package notifygrpc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DeadLetters is what the operations on a bank's deliveries need: by
// status, their attempts, and the replay of a dead letter.
type DeadLetters interface {
	ListByStatus(ctx context.Context, tenantID string, status notify.Status, afterUpdated time.Time, afterID string, limit int) ([]notify.Delivery, error)
	Attempts(ctx context.Context, tenantID, id string) ([]notify.Attempt, error)
	Replay(ctx context.Context, tenantID, id, decision string, now time.Time) (notify.Delivery, error)
	Get(ctx context.Context, id string) (notify.Delivery, error)
}

// Operations serves ListNotifications, ListNotificationAttempts and
// RetryNotification for a bank's head office and SREs.
type Operations struct {
	Store DeadLetters
	Now   func() time.Time
	// Replayed is called after a replay, e.g. to wake the sender; optional.
	Replayed func()
}

const defaultPageSize = 50

// ListNotifications implements the RPC.
func (o *Operations) ListNotifications(ctx context.Context, req *notificationv1.ListNotificationsRequest) (*notificationv1.ListNotificationsResponse, error) {
	p, err := authorize(ctx, actOperateNotifications)
	if err != nil {
		return nil, err
	}
	st, ok := statusOf[req.GetStatus()]
	if !ok {
		return nil, grpcserver.FieldError("status", "must be one of DELIVERY_STATUS_PENDING, _SENT, _SKIPPED, _DEAD_LETTER")
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = defaultPageSize
	}
	afterAt, afterID, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, grpcserver.FieldError("pageToken", "is not a token this API gave out")
	}
	ds, err := o.Store.ListByStatus(ctx, p.Tenant, st, afterAt, afterID, size+1)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "list notifications: database unavailable")
	}
	resp := &notificationv1.ListNotificationsResponse{}
	if len(ds) > size {
		last := ds[size-1]
		resp.NextPageToken = encodePageToken(last.UpdatedAt, last.ID)
		ds = ds[:size]
	}
	for _, d := range ds {
		resp.Notifications = append(resp.Notifications, forCaller(p, toProto(d)))
	}
	return resp, nil
}

// ListNotificationAttempts implements the RPC.
func (o *Operations) ListNotificationAttempts(ctx context.Context, req *notificationv1.ListNotificationAttemptsRequest) (*notificationv1.ListNotificationAttemptsResponse, error) {
	p, err := authorize(ctx, actOperateNotifications)
	if err != nil {
		return nil, err
	}
	if _, err := o.owned(ctx, p, req.GetId()); err != nil {
		return nil, err
	}
	as, err := o.Store.Attempts(ctx, p.Tenant, req.GetId())
	if err != nil {
		return nil, status.Error(codes.Unavailable, "list attempts: database unavailable")
	}
	resp := &notificationv1.ListNotificationAttemptsResponse{Id: req.GetId()}
	for _, a := range as {
		pa := &notificationv1.NotificationAttempt{Attempt: int32(a.N), Channel: channels[a.Channel], Recipient: a.Recipient,
			Outcome: string(a.Outcome), Error: a.Error, At: timestamppb.New(a.At)}
		if p.Role == auth.RoleSRE {
			pa.Recipient = ""
		}
		resp.Attempts = append(resp.Attempts, pa)
	}
	return resp, nil
}

// RetryNotification implements the RPC: a dead letter of the caller's bank
// becomes pending again; anything else is refused and changes nothing.
func (o *Operations) RetryNotification(ctx context.Context, req *notificationv1.RetryNotificationRequest) (*notificationv1.RetryNotificationResponse, error) {
	p, err := authorize(ctx, actOperateNotifications)
	if err != nil {
		return nil, err
	}
	now := o.Now()
	d, err := o.Store.Replay(ctx, p.Tenant, req.GetId(), fmt.Sprintf("replayed by %s (%s) at %s", p.Subject, p.Role, now.UTC().Format(time.RFC3339)), now)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, status.Errorf(codes.NotFound, "notification %s not found", req.GetId())
	case errors.Is(err, notify.ErrNotDeadLetter):
		return nil, status.Errorf(codes.FailedPrecondition, "notification %s is not a dead letter: only a dead letter can be retried", req.GetId())
	case err != nil:
		return nil, status.Error(codes.Unavailable, "retry notification: database unavailable")
	}
	if o.Replayed != nil {
		o.Replayed()
	}
	return &notificationv1.RetryNotificationResponse{Notification: forCaller(p, toProto(d))}, nil
}

// owned returns delivery id when it is the caller's bank's; NotFound
// otherwise, so another bank's ids reveal nothing.
func (o *Operations) owned(ctx context.Context, p auth.Principal, id string) (notify.Delivery, error) {
	d, err := o.Store.Get(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && d.TenantID != p.Tenant) {
		return notify.Delivery{}, status.Errorf(codes.NotFound, "notification %s not found", id)
	}
	if err != nil {
		return notify.Delivery{}, status.Error(codes.Unavailable, "get notification: database unavailable")
	}
	return d, nil
}

// forCaller blanks what an SRE may not see: the masked address and the
// decision (which may name a channel the customer chose).
func forCaller(p auth.Principal, n *notificationv1.Notification) *notificationv1.Notification {
	if p.Role == auth.RoleSRE {
		n.Recipient = ""
	}
	return n
}

var statusOf = map[notificationv1.DeliveryStatus]notify.Status{
	notificationv1.DeliveryStatus_DELIVERY_STATUS_PENDING:     notify.StatusPending,
	notificationv1.DeliveryStatus_DELIVERY_STATUS_SENT:        notify.StatusSent,
	notificationv1.DeliveryStatus_DELIVERY_STATUS_SKIPPED:     notify.StatusSkipped,
	notificationv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTER: notify.StatusDeadLetter,
}

func encodePageToken(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodePageToken(tok string) (time.Time, string, error) {
	if tok == "" {
		return time.Time{}, "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", err
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || len(id) != 36 {
		return time.Time{}, "", errors.New("malformed page token")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", err
	}
	return at, id, nil
}
