// Package auditanchor runs intake's audit anchoring: every interval it
// anchors the chain head of each case whose audit trail grew since its last
// anchor, and announces each bank's batch as an AuditAnchored event through
// the outbox. An anchor is what makes deleting the newest audit records
// detectable; the event is its witness outside intake's database.
package auditanchor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultInterval bounds how long the newest records of a trail go
// unanchored, i.e. how far back a deletion of the tail can go unnoticed.
const DefaultInterval = 30 * time.Second

// Worker anchors periodically. Store must have been built with the MAC keys
// (casespg.WithMACKeys).
type Worker struct {
	Store *casespg.Store
	// Interval between rounds; DefaultInterval when zero.
	Interval time.Duration
	// Now stamps the anchors.
	Now func() time.Time
	// Log reports rounds that failed; slog.Default() when nil.
	Log *slog.Logger
}

// Run anchors at once and then every interval until ctx ends. A failed round
// is logged and retried at the next tick rather than ending the worker: the
// service stays up, and the next round catches up on everything due.
func (w *Worker) Run(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	log := w.Log
	if log == nil {
		log = slog.Default()
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := w.Once(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "audit anchoring failed; will retry", "err", err, "interval", interval.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Once runs one anchoring round and returns how many chains it anchored.
func (w *Worker) Once(ctx context.Context) (int, error) {
	n, err := w.Store.AnchorHeads(ctx, w.Now(), Publish)
	if err != nil {
		return 0, fmt.Errorf("anchor audit chains: %w", err)
	}
	return n, nil
}

// Publish puts a bank's anchor batch into the outbox as AuditAnchored, on
// audit-events. The event concerns no single case, so it has no case id and
// no key; its anchored_at and anchor ids, not its partition, say in which
// order batches were made.
func Publish(ctx context.Context, tx pgx.Tx, b cases.AnchorBatch) error {
	at := timestamppb.New(b.AnchoredAt)
	return outbox.Add(ctx, tx, "intake", eventbus.TopicAuditEvents, &eventsv1.Envelope{
		TenantId: b.Tenant, OccurredAt: at,
		Payload: &eventsv1.Envelope_AuditAnchored{AuditAnchored: &eventsv1.AuditAnchored{
			AnchoredAt: at, CaseCount: int32(len(b.Heads)), Digest: b.Digest, MacKeyId: b.KeyID,
			FirstAnchorId: b.FirstID, LastAnchorId: b.LastID,
		}},
	})
}
