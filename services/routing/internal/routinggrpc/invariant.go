package routinggrpc

import (
	"context"
	"log/slog"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// CheckOwners is the periodic invariant check: it counts, per bank with
// open cases, the open cases without a valid owner (owner gone, off duty, or a role queue
// nobody of the role is on duty for), then routes each of them again by
// the same rules (a case nobody can take goes to the branch head with an
// alert). It returns the counts found before repair: the metric
// counterdesk_routing_unowned_cases shows them and an alert fires when it
// is not zero, because every path that can leave a case unowned (duty
// changes, deactivation) re-routes at once and this should find nothing.
func (s *Server) CheckOwners(ctx context.Context) (map[string]int, error) {
	ctx = pgdb.WithTenant(ctx, pgdb.AllTenants)
	found, err := s.Store.CountUnowned(ctx)
	if err != nil {
		return nil, err
	}
	for tenant, n := range found {
		if n == 0 {
			continue
		}
		ids, err := s.Store.Unowned(ctx, tenant)
		if err != nil {
			return found, err
		}
		err = s.Store.InTx(ctx, func(tx routing.Tx) error {
			_, err := s.svc.Reroute(ctx, tx, tenant, ids, routing.ReasonOwnerMissing, s.now())
			return err
		})
		if err != nil {
			return found, err
		}
		for _, id := range ids {
			s.sync(ctx, tenant, id)
		}
	}
	return found, nil
}

// WatchOwners runs CheckOwners every interval and publishes the counts as
// the gauge counterdesk_routing_unowned_cases{tenant}.
func (s *Server) WatchOwners(ctx context.Context, meter metric.Meter, every time.Duration, log *slog.Logger) error {
	gauge, err := meter.Int64Gauge("counterdesk_routing_unowned_cases",
		metric.WithDescription("Open cases found without a valid owner by the last invariant check (then re-routed); should always be 0"))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		found, err := s.CheckOwners(ctx)
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "ownership check failed", "err", err)
		}
		for tenant := range seen {
			if _, ok := found[tenant]; !ok {
				gauge.Record(ctx, 0, metric.WithAttributes(tenantAttr(tenant)))
			}
		}
		for tenant, n := range found {
			seen[tenant] = true
			gauge.Record(ctx, int64(n), metric.WithAttributes(tenantAttr(tenant)))
			if n > 0 {
				log.WarnContext(ctx, "cases without a valid owner re-routed", "tenant", tenant, "cases", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func tenantAttr(t string) attribute.KeyValue { return attribute.String("tenant", t) }
