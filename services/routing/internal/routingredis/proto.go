package routingredis

import (
	"strings"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// RoleProto is a routing role as the API's enum.
func RoleProto(role string) routingv1.Role {
	if role == "" {
		return routingv1.Role_ROLE_UNSPECIFIED
	}
	return routingv1.Role(routingv1.Role_value["ROLE_"+strings.ToUpper(role)])
}

// EntryProto is a queued case as the API shows it.
func EntryProto(c routing.Queued) *routingv1.QueueEntry {
	e := &routingv1.QueueEntry{CaseId: c.CaseID, OwnerId: c.Owner.Staff, OwnerRole: RoleProto(c.Owner.Role),
		PickupPending: c.PickupPending, Priority: int32(c.Priority())}
	if !c.EnqueuedAt.IsZero() {
		e.EnqueuedAt = timestamppb.New(c.EnqueuedAt)
	}
	if !c.DueAt.IsZero() {
		e.DueAt = timestamppb.New(c.DueAt)
	}
	return e
}

func change(kind string, c routing.Queued, total int) *routingv1.WatchQueueResponse {
	ch := &routingv1.WatchQueueResponse{Change: kind, Total: int32(total)}
	if kind == "removed" {
		ch.Entry = &routingv1.QueueEntry{CaseId: c.CaseID}
	} else {
		ch.Entry = EntryProto(c)
	}
	return ch
}
