// Package caseskafka applies other services' events to intake's copy of the
// facts it shows with a case (today: the owner routing assigned).
package caseskafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/jackc/pgx/v5"
)

// Handler returns the consumer handler for assignment-events and
// sla-events: hand-overs set the owner, and the deadline warnings, breaches
// and recounts go into the case's history, so whoever reads it sees the
// clocks too.
func Handler(store *casespg.Store) eventbus.Handler {
	return func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		if h, ok := deadlineEntry(env); ok {
			err := store.AddSystemEntry(ctx, tx, env.GetTenantId(), env.GetCaseId(), h)
			if errors.Is(err, cases.ErrNotFound) {
				return eventbus.Permanent(fmt.Errorf("deadline event for unknown case %s", env.GetCaseId()))
			}
			return err
		}
		a := env.GetAssignmentMade()
		if a == nil {
			return nil // other facts do not change intake's record
		}
		reason := a.GetReason()
		if a.GetOwnerRole() != "" {
			reason += " (queue " + a.GetOwnerRole() + ")"
		}
		err := store.SetOwner(ctx, tx, env.GetCaseId(), a.GetOwnerId(), reason, env.GetProducer(), a.GetAssignedAt().AsTime())
		if errors.Is(err, cases.ErrNotFound) {
			return eventbus.Permanent(fmt.Errorf("assignment for unknown case %s", env.GetCaseId()))
		}
		return err
	}
}

// deadlineEntry is the history entry of a deadline event: the kind and
// level (or "breached", "moved") as the action, slatimer as the actor.
func deadlineEntry(env *eventsv1.Envelope) (cases.HistoryEntry, bool) {
	at := env.GetOccurredAt().AsTime()
	switch p := env.GetPayload().(type) {
	case *eventsv1.Envelope_DeadlineWarned:
		return cases.HistoryEntry{At: at, Kind: cases.HistoryDeadline, Action: p.DeadlineWarned.GetKind() + ":" + p.DeadlineWarned.GetLevel(),
			Actor: env.GetProducer(), Text: "due " + p.DeadlineWarned.GetDueAt().AsTime().UTC().Format(time.RFC3339)}, true
	case *eventsv1.Envelope_DeadlineBreached:
		return cases.HistoryEntry{At: at, Kind: cases.HistoryDeadline, Action: p.DeadlineBreached.GetKind() + ":breached",
			Actor: env.GetProducer(), Text: "was due " + p.DeadlineBreached.GetDueAt().AsTime().UTC().Format(time.RFC3339)}, true
	case *eventsv1.Envelope_DeadlineRecomputed:
		r := p.DeadlineRecomputed
		return cases.HistoryEntry{At: at, Kind: cases.HistoryDeadline, Action: r.GetKind() + ":moved", Actor: env.GetProducer(),
			Text: r.GetOldDueAt().AsTime().UTC().Format(time.RFC3339) + " -> " + r.GetNewDueAt().AsTime().UTC().Format(time.RFC3339) + " (" + r.GetReason() + ")"}, true
	}
	return cases.HistoryEntry{}, false
}
