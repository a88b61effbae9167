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
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectify"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifygrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/rectifypg"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatory"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatorygrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/regulatorypg"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/google/uuid"
)

// Config is the reporting service's whole configuration.
type Config struct {
	config.Common
	// RectificationReminderLead is how long before a rectification notice's
	// due time its branch is reminded (RectificationNoticeDue "due_soon").
	RectificationReminderLead time.Duration `env:"RECTIFICATION_REMINDER_LEAD" envDefault:"72h"`
	// RectificationReminderInterval is how often the reminder loop looks
	// for notices due soon or overdue.
	RectificationReminderInterval time.Duration `env:"RECTIFICATION_REMINDER_INTERVAL" envDefault:"1m"`
	// IntakeAddr is intake's gRPC address: a case's printable forms are
	// filled from intake, read on the caller's behalf.
	IntakeAddr string `env:"INTAKE_ADDR,required,notEmpty"`
	// FormsFontFile is the TrueType CJK font embedded in PDF forms (Debian's
	// fonts-wqy-microhei). Without it the service runs and PDF forms answer
	// Unavailable.
	FormsFontFile string `env:"FORMS_FONT_FILE" envDefault:"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"`
	// RollupInterval is how often the rollups take in changed cases.
	RollupInterval time.Duration `env:"REPORTING_ROLLUP_INTERVAL" envDefault:"1s"`
	// TimeZone is the zone months, days and hours of day are counted in.
	TimeZone string `env:"REPORTING_TIME_ZONE" envDefault:"Asia/Shanghai"`
}

func main() {
	// `reporting rebuild` replays the topics into fresh read-model tables.
	if len(os.Args) > 1 && os.Args[1] == "rebuild" {
		os.Exit(rebuildMain())
	}
	os.Exit(service.Main("reporting", migrations.FS, run))
}

func run(ctx context.Context, now service.Clock) error {
	var cfg Config
	b, err := service.Boot(ctx, "reporting", &cfg, migrations.FS)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer b.Close()

	zone, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return fmt.Errorf("REPORTING_TIME_ZONE: %w", err)
	}
	store := &reportpg.Store{Pool: b.Pool, Zone: zone}
	utc := func() time.Time { return now().UTC() }

	reportingv1.RegisterReportingServiceServer(b.Server.GRPC, &reportgrpc.Server{
		Reports: &report.Reports{Store: store, Figures: store, Now: utc},
		Log:     b.Log,
		Zone:    zone,
	})
	b.Go("rollups", func(ctx context.Context) error {
		store.RunRollups(ctx, cfg.RollupInterval, func(err error) { b.Log.ErrorContext(ctx, "refresh rollups", "err", err) })
		return nil
	})
	b.Server.AddGateway(reportingv1.RegisterReportingServiceHandlerFromEndpoint)

	// Rectification notices: reporting's own records (their events on
	// rectification-events, which Boot ensures with every topic), and the
	// loop that reminds branches of due ones.
	notices := &rectifypg.Store{Pool: b.Pool}
	rectification := &rectifygrpc.Server{
		Notices: &rectify.Notices{Store: notices, Now: utc, NewID: newNoticeID},
		Log:     b.Log,
	}
	reportingv1.RegisterRectificationServiceServer(b.Server.GRPC, rectification)
	b.Server.AddGateway(reportingv1.RegisterRectificationServiceHandlerFromEndpoint)
	b.Go("rectification reminders", (&rectify.Reminders{Store: notices, Now: utc, Lead: cfg.RectificationReminderLead,
		Interval: cfg.RectificationReminderInterval, Log: b.Log}).Run)

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
		Cases: intakev1.NewIntakeServiceClient(intakeConn), Notices: rectification, Renderer: renderer, Now: now, Log: b.Log,
	})
	b.Server.AddGateway(reportingv1.RegisterFormsServiceHandlerFromEndpoint)
	b.Server.HandlePages(dashboard.Prefix, dashboard.Handler())

	// Regulatory statistics, as JSON and as CSV and XLSX files.
	regulatoryReports := &regulatory.Reports{Store: &regulatorypg.Store{Pool: b.Pool}, Now: utc}
	reportingv1.RegisterRegulatoryServiceServer(b.Server.GRPC, &regulatorygrpc.Server{Reports: regulatoryReports, Log: b.Log})
	b.Server.AddGateway(reportingv1.RegisterRegulatoryServiceHandlerFromEndpoint)
	b.Server.AddGateway((&regulatorygrpc.Downloads{Reports: regulatoryReports, Verifier: b.Verifier, Log: b.Log}).Register)

	h, err := reportkafka.NewHandler(store, utc)
	if err != nil {
		return err
	}
	b.ConsumeBatches(reportkafka.Group, reportkafka.Topics, h.Handle, h.HandleBatch, h.AfterCommit)

	return b.Run(ctx)
}

func newNoticeID() (string, error) {
	id, err := uuid.NewV7()
	return id.String(), err
}
