// Package routingkafka turns events into ownership: each new case gets
// exactly one owner by the bank's routing rules, recorded with the outbox
// event AssignmentMade in one transaction and then queued in Redis; a
// breached deadline escalates the case one level; lifecycle steps take it
// off the open queues or put it back; deadlines order the queues.
package routingkafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"github.com/jackc/pgx/v5"
)

// Handler applies case-events and sla-events.
type Handler struct {
	Store  *routingpg.Store
	Queues *routingredis.Queues
	svc    routing.Service
}

// Handle is the eventbus.Handler for case-events and sla-events.
func (h *Handler) Handle(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	tenant, caseID := env.GetTenantId(), env.GetCaseId()
	switch {
	case env.GetCaseCreated() != nil:
		return h.created(ctx, tx, env)
	case env.GetDeadlineBreached() != nil:
		b := env.GetDeadlineBreached()
		at := b.GetDueAt().AsTime()
		if env.GetOccurredAt() != nil {
			at = env.GetOccurredAt().AsTime()
		}
		_, err := h.svc.Breached(ctx, h.Store.On(tx), tenant, caseID, b.GetKind(), env.GetEventId(), at)
		return err
	case env.GetCaseTransitioned() != nil:
		t := env.GetCaseTransitioned()
		if t.GetAction() == "moveBranch" {
			if err := h.movedBranch(ctx, tx, env); err != nil {
				return err
			}
		}
		if _, err := h.Store.SetOpen(ctx, tx, tenant, caseID, openAfter(t), t.GetAt().AsTime()); err != nil {
			return err
		}
		return h.Store.SetSeverity(ctx, tx, tenant, caseID, t.GetSeverity().String(), t.GetCategory().String())
	case env.GetDeadlinesArmed() != nil:
		var answer, pickup *time.Time
		for _, d := range env.GetDeadlinesArmed().GetDeadlines() {
			due := d.GetDueAt().AsTime()
			switch d.GetKind() {
			case "DEADLINE_KIND_FIRST_ANSWER":
				answer = &due
			case "DEADLINE_KIND_HANDOVER_PICKUP":
				pickup = &due
			}
		}
		return h.Store.SetDue(ctx, tx, tenant, caseID, answer, pickup)
	case env.GetDeadlineRecomputed() != nil && env.GetDeadlineRecomputed().GetKind() == "DEADLINE_KIND_FIRST_ANSWER":
		due := env.GetDeadlineRecomputed().GetNewDueAt().AsTime()
		return h.Store.SetDue(ctx, tx, tenant, caseID, &due, nil)
	}
	return nil
}

func (h *Handler) created(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	cc := env.GetCaseCreated()
	c := routing.Case{ID: env.GetCaseId(), Tenant: env.GetTenantId(), Branch: cc.GetBranchId(), Region: cc.GetRegionId(),
		Category: cc.GetCategory().String(), Severity: cc.GetSeverity().String(), Channel: cc.GetChannel().String(),
		Tier: cc.GetCustomerTier().String(), Skill: cc.GetRequiredSkill(), ReportedBy: cc.GetReportedBy()}
	_, _, err := h.svc.New(ctx, h.Store.On(tx), c, cc.GetCreatedAt().AsTime())
	switch {
	case errors.Is(err, routing.ErrNotFound):
		return eventbus.Permanent(fmt.Errorf("case %s: branch %s unknown to routing", c.ID, c.Branch))
	case errors.Is(err, routing.ErrNoOwner):
		return eventbus.Permanent(err)
	}
	return err
}

// movedBranch routes a case intake moved to another branch afresh there
// (kind reroute, reason branch_changed), once per event.
func (h *Handler) movedBranch(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
	t := env.GetCaseTransitioned()
	c := routing.Case{ID: env.GetCaseId(), Tenant: env.GetTenantId(), Branch: t.GetBranchId(), Region: t.GetRegionId(),
		Category: t.GetCategory().String(), Severity: t.GetSeverity().String(), Channel: t.GetChannel().String(),
		Tier: t.GetCustomerTier().String()}
	_, err := h.svc.MovedBranch(ctx, h.Store.On(tx), c, env.GetEventId(), t.GetAt().AsTime())
	switch {
	case errors.Is(err, routing.ErrNotFound):
		return eventbus.Permanent(fmt.Errorf("case %s: branch %s unknown to routing", c.ID, c.Branch))
	case errors.Is(err, routing.ErrNoOwner):
		return eventbus.Permanent(err)
	case errors.Is(err, routing.ErrClosed):
		return nil // answered, closed or withdrawn here: intake moves only open cases, so a late event
	}
	return err
}

// AfterCommit makes the case's queue entries what its committed assignment
// says. If this fails or the process dies first, the start-up rebuild (and
// the periodic one) restores it.
func (h *Handler) AfterCommit(ctx context.Context, env *eventsv1.Envelope) error {
	switch {
	case env.GetCaseCreated() != nil, env.GetDeadlineBreached() != nil, env.GetCaseTransitioned() != nil,
		env.GetDeadlinesArmed() != nil, env.GetDeadlineRecomputed() != nil:
	default:
		return nil
	}
	if t := env.GetCaseTransitioned(); t.GetAction() == "moveBranch" {
		// The branch the case left loses it from its queues.
		from, moved, err := h.Store.MovedFromBranch(ctx, env.GetCaseId(), env.GetEventId())
		if err != nil {
			return err
		}
		if moved && from != t.GetBranchId() {
			if err := h.Queues.Remove(ctx, env.GetTenantId(), from, env.GetCaseId()); err != nil {
				h.Queues.Invalidate(ctx)
				return err
			}
		}
	}
	q, open, err := h.Store.Queued(ctx, env.GetTenantId(), env.GetCaseId())
	if errors.Is(err, routing.ErrNotFound) && env.GetCaseCreated() == nil {
		return nil // a case routing never assigned has nothing queued
	}
	if err != nil {
		return err
	}
	return h.Queues.Sync(ctx, q, open)
}

// openAfter says whether a case is in the open queues after a step: an
// answered case waits for the customer's word off the queues; closed and
// withdrawn ones are done; anything else (a reopened case included) is
// being worked.
func openAfter(t *eventsv1.CaseTransitioned) bool {
	switch t.GetToStatus().String() {
	case "CASE_STATUS_CLOSED", "CASE_STATUS_WITHDRAWN", "CASE_STATUS_ANSWERED":
		return false
	}
	return true
}
