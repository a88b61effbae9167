// Command slatimer keeps every case's clocks: it arms deadlines from the
// bank's SLA policy on its working-day calendar, fires warnings and breaches
// on time, and answers what is due.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	slatimerv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/service"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerkafka"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

type Config struct {
	config.Common
	// FireTick is the longest the firing loop sleeps without looking; it
	// otherwise sleeps until the next pending fire is due (see
	// timerkafka.Firer).
	FireTick time.Duration `env:"FIRE_TICK" envDefault:"200ms"`
	// FireBatch is the most fires one firing transaction claims.
	FireBatch int `env:"FIRE_BATCH" envDefault:"256"`
	// FireWorkers is how many firing transactions run at once while a
	// backlog (after downtime, a burst) drains.
	FireWorkers int `env:"FIRE_WORKERS" envDefault:"2"`
	// RoutingAddr is routing's gRPC address: the branch directory (a
	// branch's zone and calendar, scoped to the caller's bank).
	RoutingAddr string `env:"ROUTING_ADDR,required,notEmpty"`
}

func main() { os.Exit(service.Main("slatimer", migrations.FS, run)) }

func run(ctx context.Context, now service.Clock) error {
	var cfg Config
	if _, err := calendar.China(); err != nil {
		return fmt.Errorf("load China calendar: %w", err)
	}
	b, err := service.Boot(ctx, "slatimer", &cfg, migrations.FS)
	if err != nil {
		return err
	}
	defer b.Close()
	conn, err := b.Dial(cfg.RoutingAddr)
	if err != nil {
		return err
	}
	store := timerpg.New(b.Pool)
	registry := &calendars.Registry{Store: store, Base: calendars.ChinaBase, Log: b.Log}
	meter := otel.Meter("counterdesk/slatimer")
	armed, err := meter.Int64Counter("counterdesk_deadlines_armed_total",
		metric.WithDescription("Deadlines armed, by kind and whether they were counted over days without official holiday data (provisional)."))
	if err != nil {
		return err
	}
	if err := timerkafka.RegisterCalendarMetrics(meter, store, registry, now); err != nil {
		return err
	}

	slatimerv1.RegisterSlaTimerServiceServer(b.Server.GRPC, &timergrpc.Server{Store: store, Now: now, Calendars: registry, Recounted: timerkafka.PublishRecounted})
	slatimerv1.RegisterCalendarServiceServer(b.Server.GRPC, &timergrpc.Calendar{
		Store: store, Calendars: registry, Now: now, Recounted: timerkafka.PublishRecounted,
		Branches: timergrpc.RoutingBranches(routingv1.NewRoutingServiceClient(conn)),
	})
	b.Server.AddGateway(slatimerv1.RegisterSlaTimerServiceHandlerFromEndpoint)
	b.Server.AddGateway(slatimerv1.RegisterCalendarServiceHandlerFromEndpoint)
	h := &timerkafka.Handler{Store: store, Calendars: registry, Armed: armed}
	b.Consume("slatimer", []string{eventbus.TopicCaseEvents, eventbus.TopicAssignmentEvents, eventbus.TopicNotificationEvents}, h.Handle, nil)
	fireLag, err := meter.Float64Histogram("counterdesk_timer_fire_lag_seconds",
		metric.WithDescription("How late a warning or breach fired: the firing pass's clock minus the fire's due time."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
	if err != nil {
		return err
	}
	b.Go("timer-firer", (&timerkafka.Firer{Store: store, Log: b.Log, Now: now,
		Tick: cfg.FireTick, Batch: cfg.FireBatch, Workers: cfg.FireWorkers, Lag: fireLag}).Run)
	return b.Run(ctx)
}
