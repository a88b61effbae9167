// Package routingkafka turns case-events into ownership: each new case gets
// exactly one owner, recorded with the outbox event AssignmentMade in one
// transaction, then queued in Redis.
package routingkafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler assigns new cases.
type Handler struct {
	Store  *routingpg.Store
	Queues *routingredis.Queues
}

// Handle is the eventbus.Handler for case-events.
func (h *Handler) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	if b := env.GetDeadlineBreached(); b != nil {
		return h.escalate(ctx, tx, env, b)
	}
	if t := env.GetCaseTransitioned(); t != nil {
		if open, ok := queuedAfter(t); ok {
			_, err := h.Store.SetOpen(ctx, tx, env.GetTenantId(), env.GetCaseId(), open, t.GetAt().AsTime())
			return err
		}
		return nil
	}
	cc := env.GetCaseCreated()
	if cc == nil {
		return nil
	}
	b, err := h.Store.Branch(ctx, tx, env.GetTenantId(), cc.GetBranchId())
	if errors.Is(err, routingpg.ErrNotFound) {
		return eventbus.Permanent(fmt.Errorf("case %s: branch %s unknown to routing", env.GetCaseId(), cc.GetBranchId()))
	}
	if err != nil {
		return err
	}
	a, err := routing.AssignNew(b, env.GetCaseId(), env.GetTenantId(), cc.GetReportedBy(), cc.GetCreatedAt().AsTime())
	if errors.Is(err, routing.ErrNoOwner) {
		return eventbus.Permanent(err)
	}
	if err != nil {
		return err
	}
	saved, err := h.Store.SaveNew(ctx, tx, a)
	if err != nil || !saved {
		return err
	}
	return outbox.Add(ctx, tx, "routing", eventbus.TopicAssignmentEvents, &eventsv1.Envelope{
		TenantId: a.Tenant, CaseId: a.CaseID,
		Payload: &eventsv1.Envelope_AssignmentMade{AssignmentMade: &eventsv1.AssignmentMade{
			BranchId: a.Branch, OwnerId: a.Owner, Reason: a.Reason, AssignedAt: timestamppb.New(a.At),
		}},
	})
}

// AfterCommit queues the case in Redis once its assignment is committed. If
// this fails or the process dies first, the start-up rebuild restores it.
func (h *Handler) AfterCommit(ctx context.Context, env *eventsv1.Envelope) error {
	switch {
	case env.GetDeadlineBreached() != nil, env.GetCaseCreated() != nil:
	case env.GetCaseTransitioned() != nil:
		if _, changes := queuedAfter(env.GetCaseTransitioned()); !changes {
			return nil
		}
	default:
		return nil
	}
	v, err := h.Store.Assignment(ctx, env.GetTenantId(), env.GetCaseId())
	if errors.Is(err, routingpg.ErrNotFound) && env.GetCaseCreated() == nil {
		return nil // a case routing never assigned has nothing queued
	}
	if err != nil {
		return err
	}
	return h.syncQueue(ctx, v)
}

// syncQueue makes the case's queue entry what its committed assignment
// says: queued under its owner while open, gone once closed. If Redis
// fails, the watcher rebuilds from the database once it answers again.
func (h *Handler) syncQueue(ctx context.Context, v routingpg.AssignmentView) error {
	var err error
	if v.Open {
		err = h.Queues.Put(ctx, routing.Assignment{CaseID: v.CaseID, Tenant: v.Tenant, Branch: v.Branch, Owner: v.Owner, At: v.EnqueuedAt})
	} else {
		err = h.Queues.Remove(ctx, v.Tenant, v.Branch, v.CaseID)
	}
	if err != nil {
		h.Queues.Invalidate(ctx)
	}
	return err
}

// queuedAfter says whether a step leaves the case in its branch queue:
// closing or withdrawing takes it off, reopening puts it back.
func queuedAfter(t *eventsv1.CaseTransitioned) (open, changes bool) {
	switch t.GetToStatus().String() {
	case "CASE_STATUS_CLOSED", "CASE_STATUS_WITHDRAWN":
		return false, true
	}
	if t.GetAction() == "reopen" {
		return true, true
	}
	return false, false
}

// escalate moves a case whose deadline breached one rung up its branch's
// ladder, records the hand-over and announces it (notification and intake
// follow AssignmentMade). A case already at the top, closed, or unknown to
// routing stays as it is.
func (h *Handler) escalate(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope, b *eventsv1.DeadlineBreached) error {
	v, err := h.Store.Assignment(ctx, env.GetTenantId(), env.GetCaseId())
	if errors.Is(err, routingpg.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	br, err := h.Store.Branch(ctx, tx, env.GetTenantId(), v.Branch)
	if err != nil {
		return err
	}
	next, ok := routing.EscalateOnBreach(br, v.Owner)
	if !ok {
		return nil
	}
	at := env.GetOccurredAt().AsTime()
	if env.GetOccurredAt() == nil {
		at = b.GetDueAt().AsTime()
	}
	prev, moved, err := h.Store.Reassign(ctx, tx, env.GetTenantId(), env.GetCaseId(), next.ID, routing.ReasonBreachEscalation+":"+b.GetKind(), at)
	if err != nil || !moved {
		return err
	}
	return outbox.Add(ctx, tx, "routing", eventbus.TopicAssignmentEvents, &eventsv1.Envelope{
		TenantId: env.GetTenantId(), CaseId: env.GetCaseId(),
		Payload: &eventsv1.Envelope_AssignmentMade{AssignmentMade: &eventsv1.AssignmentMade{
			BranchId: prev.Branch, OwnerId: next.ID, PreviousOwnerId: prev.Owner,
			Reason: routing.ReasonBreachEscalation, AssignedAt: timestamppb.New(at),
		}},
	})
}
