// Command reporting runs the reporting service: it folds every service's
// events into a read model of cases and answers supervisors' summaries over
// gRPC and HTTP/JSON.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/service"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
)

// Config is the reporting service's whole configuration. It has nothing of
// its own yet beyond what every service needs.
type Config struct {
	config.Common
}

func main() { os.Exit(service.Main("reporting", migrations.FS, run)) }

func run(ctx context.Context, now service.Clock) error {
	var cfg Config
	b, err := service.Boot(ctx, "reporting", &cfg, migrations.FS)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer b.Close()

	store := &reportpg.Store{Pool: b.Pool}
	utc := func() time.Time { return now().UTC() }

	reportingv1.RegisterReportingServiceServer(b.Server.GRPC, &reportgrpc.Server{
		Reports: &report.Reports{Store: store, Now: utc},
		Log:     b.Log,
	})
	b.Server.AddGateway(reportingv1.RegisterReportingServiceHandlerFromEndpoint)

	h, err := reportkafka.NewHandler(store, utc)
	if err != nil {
		return err
	}
	b.Consume(reportkafka.Group, reportkafka.Topics, h.Handle, h.AfterCommit)

	return b.Run(ctx)
}
