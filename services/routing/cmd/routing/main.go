// Command routing owns who handles each case: it gives every new case its
// first-responder owner, keeps the hand-over record and the org tree, and
// serves the live branch queues from Redis.
package main

import (
	"context"
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // branch time zones are checked on import

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/service"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routinggrpc"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingkafka"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"github.com/counterdesk/counterdesk/services/routing/migrations"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
)

type Config struct {
	config.Common
	RedisURL string `env:"REDIS_URL,required,notEmpty" secret:"true"`
}

func main() { os.Exit(service.Main("routing", migrations.FS, run)) }

func run(ctx context.Context, now service.Clock) error {
	var cfg Config
	b, err := service.Boot(ctx, "routing", &cfg, migrations.FS)
	if err != nil {
		return err
	}
	defer b.Close()
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("parse REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	if err := redisotel.InstrumentTracing(rdb); err != nil {
		return fmt.Errorf("trace redis: %w", err)
	}

	store := routingpg.New(b.Pool)
	queues := routingredis.New(rdb)
	// Redis may have lost everything (restart, failover): put back what the
	// database says is open before taking traffic, and whenever it happens again.
	// It reads every bank's assignments: background work, across banks.
	src := func(ctx context.Context, fn func(routing.Queued) error) error {
		return store.OpenAssignments(ctx, pgdb.AllTenants, fn)
	}
	n, err := queues.EnsureBuilt(pgdb.WithTenant(ctx, pgdb.AllTenants), src, true)
	if err != nil {
		return err
	}
	b.Log.InfoContext(ctx, "live queues rebuilt", "entries", n)
	b.Go("queue-watch", func(ctx context.Context) error { return queues.Watch(ctx, src, 2*time.Second, b.Log) })

	srv := &routinggrpc.Server{Store: store, Queues: queues, Now: now}
	routingv1.RegisterRoutingServiceServer(b.Server.GRPC, srv)
	// The invariant check: no open case without a valid owner.
	b.Go("owner-check", func(ctx context.Context) error {
		return srv.WatchOwners(ctx, otel.Meter("counterdesk/routing"), 30*time.Second, b.Log)
	})
	b.Server.AddGateway(routingv1.RegisterRoutingServiceHandlerFromEndpoint)
	h := &routingkafka.Handler{Store: store, Queues: queues}
	b.Consume("routing", []string{eventbus.TopicCaseEvents, eventbus.TopicSLAEvents}, h.Handle, h.AfterCommit)
	return b.Run(ctx)
}
