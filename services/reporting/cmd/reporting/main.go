// Command reporting runs the reporting service: it folds every service's
// events into a read model of cases and answers supervisors' summaries over
// gRPC and HTTP/JSON.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/service"
	"github.com/counterdesk/counterdesk/services/reporting/internal/dashboard"
	"github.com/counterdesk/counterdesk/services/reporting/internal/forms"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
)

// Config is the reporting service's whole configuration.
type Config struct {
	config.Common
	// IntakeAddr is intake's gRPC address: a case's printable forms are
	// filled from intake, read on the caller's behalf.
	IntakeAddr string `env:"INTAKE_ADDR,required,notEmpty"`
	// FormsFontFile is the TrueType CJK font embedded in PDF forms (Debian's
	// fonts-wqy-microhei). Without it the service runs and PDF forms answer
	// Unavailable.
	FormsFontFile string `env:"FORMS_FONT_FILE" envDefault:"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"`
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

	// Printable forms and the supervisors' dashboard.
	intakeConn, err := b.Dial(cfg.IntakeAddr)
	if err != nil {
		return err
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return fmt.Errorf("forms time zone: %w", err)
	}
	renderer, err := forms.NewRenderer(cfg.FormsFontFile, shanghai)
	if err != nil {
		b.Log.WarnContext(ctx, "PDF forms unavailable", "err", err)
		renderer = nil
	}
	reportingv1.RegisterFormsServiceServer(b.Server.GRPC, &reportgrpc.Forms{
		Cases: intakev1.NewIntakeServiceClient(intakeConn), Renderer: renderer, Now: now, Log: b.Log,
	})
	b.Server.AddGateway(reportingv1.RegisterFormsServiceHandlerFromEndpoint)
	b.Server.HandlePages(dashboard.Prefix, dashboard.Handler())

	h, err := reportkafka.NewHandler(store, utc)
	if err != nil {
		return err
	}
	b.Consume(reportkafka.Group, reportkafka.Topics, h.Handle, h.AfterCommit)

	return b.Run(ctx)
}
