// Command intake serves the case API: it registers cases (idempotently, with
// the customer's personal data sealed), answers reads, and announces each new
// case on Kafka through its outbox.
package main

import (
	"context"
	"crypto/sha256"
	"os"
	"time"
	_ "time/tzdata" // branch time zones must resolve in minimal images

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/auditanchor"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casesgrpc"
	"github.com/counterdesk/counterdesk/services/intake/internal/caseskafka"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/counterdesk/counterdesk/services/platform/service"
)

type Config struct {
	config.Common
	PIIKey      string `env:"PII_ENCRYPTION_KEY,required,notEmpty" secret:"true"`
	RoutingAddr string `env:"ROUTING_ADDR,required,notEmpty"`
	// AuditMACKeys keys the audit MAC chain: "keyid:base64key,..." (at least
	// 32 bytes each); the first seals, all verify.
	AuditMACKeys string `env:"AUDIT_MAC_KEYS,required,notEmpty" secret:"true"`
}

func main() { os.Exit(service.Main("intake", migrations.FS, run)) }

func run(ctx context.Context, now service.Clock) error {
	var cfg Config
	b, err := service.Boot(ctx, "intake", &cfg, migrations.FS)
	if err != nil {
		return err
	}
	defer b.Close()
	sealer, err := pii.NewSealer(cfg.PIIKey)
	if err != nil {
		return err
	}

	conn, err := b.Dial(cfg.RoutingAddr)
	if err != nil {
		return err
	}

	macKeys, err := cases.ParseMACKeys(cfg.AuditMACKeys)
	if err != nil {
		return err
	}
	store := casespg.New(b.Pool, sealer, casespg.WithMACKeys(macKeys))
	hashKey := sha256.Sum256([]byte("idempotency/" + cfg.PIIKey))
	intakev1.RegisterIntakeServiceServer(b.Server.GRPC, &casesgrpc.Server{
		Store: store, HashKey: hashKey[:], Now: now,
		Branches: &casesgrpc.Branches{Client: routingv1.NewRoutingServiceClient(conn), Fresh: time.Minute, Stale: time.Hour, Now: now},
		Owners:   &casesgrpc.Owners{Client: routingv1.NewRoutingServiceClient(conn)},
	})
	intakev1.RegisterIntakeInternalServiceServer(b.Server.GRPC, &casesgrpc.Internal{Store: store, Now: now})
	b.Server.AddGateway(intakev1.RegisterIntakeServiceHandlerFromEndpoint)
	b.Consume("intake", []string{eventbus.TopicAssignmentEvents, eventbus.TopicSLAEvents}, caseskafka.Handler(store), nil)
	b.Go("audit-anchor", (&auditanchor.Worker{Store: store, Interval: auditanchor.DefaultInterval, Now: now, Log: b.Log}).Run)
	return b.Run(ctx)
}
