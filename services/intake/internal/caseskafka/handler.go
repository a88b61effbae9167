// Package caseskafka applies other services' events to intake's copy of the
// facts it shows with a case (today: the owner routing assigned).
package caseskafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/jackc/pgx/v5"
)

// Handler returns the consumer handler for assignment-events.
func Handler(store *casespg.Store) eventbus.Handler {
	return func(ctx context.Context, tx pgx.Tx, env *eventsv1.Envelope) error {
		a := env.GetAssignmentMade()
		if a == nil {
			return nil // other assignment facts do not change intake's record
		}
		err := store.SetOwner(ctx, tx, env.GetCaseId(), a.GetOwnerId(), a.GetReason(), env.GetProducer(), a.GetAssignedAt().AsTime())
		if errors.Is(err, cases.ErrNotFound) {
			return eventbus.Permanent(fmt.Errorf("assignment for unknown case %s", env.GetCaseId()))
		}
		return err
	}
}
