package routinggrpc

import (
	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ChangeSnapshot is the change of a watch's first message: no entry, the
// queue's total when the watch began. Every later message is a "put" or a
// "removed" with the total after it.
const ChangeSnapshot = "snapshot"

// Over HTTP a watch is a stream of server-sent events: "snapshot" first,
// then one "change" per change.
func init() {
	grpcserver.NameEvents(func(m *routingv1.WatchQueueResponse) string {
		if m.GetChange() == ChangeSnapshot {
			return "snapshot"
		}
		return "change"
	})
}

// WatchQueue streams a branch queue's changes, for wall boards, to a caller
// who may read that queue (as GetQueue decides), until the caller goes
// away. It subscribes before reading the total, so the snapshot and the
// changes after it miss nothing; when the subscription is lost it ends with
// Unavailable, and the caller watches again (an EventSource reconnects by
// itself) and gets a fresh snapshot.
func (s *Server) WatchQueue(req *routingv1.WatchQueueRequest, stream routingv1.RoutingService_WatchQueueServer) error {
	ctx := stream.Context()
	p, err := authorize(ctx, actReadQueue)
	if err != nil {
		return err
	}
	b, err := s.visibleBranch(ctx, p, req.GetBranchId())
	if err != nil {
		return err
	}
	changes, err := s.Queues.Subscribe(ctx, p.Tenant, b.ID)
	if err != nil {
		return status.Error(codes.Unavailable, "live queue unavailable")
	}
	_, total, _, err := s.Queues.Page(ctx, p.Tenant, b.ID, nil, routingredis.Cursor{}, 1)
	if err != nil {
		return status.Error(codes.Unavailable, "live queue unavailable")
	}
	if err := stream.Send(&routingv1.WatchQueueResponse{Change: ChangeSnapshot, Total: int32(total)}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case c, ok := <-changes:
			if !ok {
				if ctx.Err() != nil {
					return status.FromContextError(ctx.Err()).Err()
				}
				return status.Error(codes.Unavailable, "live queue watch interrupted: changes may have been missed; watch again")
			}
			if err := stream.Send(c); err != nil {
				return err
			}
		}
	}
}
