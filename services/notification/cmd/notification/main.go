// Command notification runs the notification service: it turns facts about
// cases into messages to customers and alerts to staff (deadline warnings
// and breaches), sends them, and answers what was sent.
package main

import (
	"context"
	"fmt"
	"os"

	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/answers"
	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifygrpc"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifykafka"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifypg"
	"github.com/counterdesk/counterdesk/services/notification/internal/templatepg"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/service"
)

// Config is the whole configuration, read once from the environment.
type Config struct {
	config.Common
	// ChannelConfig is SMTP, SMS, webhooks and quiet hours (channels.go).
	ChannelConfig
	IntakeAddr string `env:"INTAKE_ADDR,required,notEmpty"`
	// RoutingAddr is routing's gRPC address: whom to alert about a deadline.
	RoutingAddr string `env:"ROUTING_ADDR,required,notEmpty"`
	// StaffAlertLanguage is the language of staff alerts: zh-CN or en.
	StaffAlertLanguage string `env:"STAFF_ALERT_LANGUAGE" envDefault:"zh-CN"`
	// SurveyConfig is the return-visit survey (survey.go).
	SurveyConfig
}

func main() { os.Exit(service.Main("notification", migrations.FS, run)) }

func run(ctx context.Context, now service.Clock) error {
	var cfg Config
	b, err := service.Boot(ctx, "notification", &cfg, migrations.FS)
	if err != nil {
		return err
	}
	defer b.Close() // runs last: clients closed, telemetry flushed

	conn, err := b.Dial(cfg.IntakeAddr)
	if err != nil {
		return err
	}
	intake := notifygrpc.NewIntake(conn, nil) // the connection carries the service's own credentials
	routingConn, err := b.Dial(cfg.RoutingAddr)
	if err != nil {
		return err
	}
	routing := notifygrpc.NewRouting(routingConn, nil)
	staffLang := notify.Language(cfg.StaffAlertLanguage)
	if staffLang != notify.LanguageZhCN && staffLang != notify.LanguageEn {
		return fmt.Errorf("STAFF_ALERT_LANGUAGE %q: want zh-CN or en", cfg.StaffAlertLanguage)
	}

	store := notifypg.New(b.Pool)
	templates := templatepg.New(b.Pool)
	renderer := &notify.BankRenderer{Store: templates}
	rules := &templatepg.RuleCache{Store: templates}
	opts := dispatch.Options{Now: now, StaffLanguage: staffLang, Renderer: renderer, Rules: rules.Rules}
	mailer, err := cfg.channels(now, &opts)
	if err != nil {
		return err
	}
	if err := cfg.surveys(b, conn, now, &opts); err != nil {
		return err
	}
	sender, err := dispatch.New(store, intake, mailer, b.Log, opts)
	if err != nil {
		return err
	}
	handler := &notifykafka.Handler{Store: store, Contacts: routing, Log: b.Log, Now: now, Rules: rules}
	b.Consume(notifykafka.Group, notifykafka.Topics, handler.Handle, notifykafka.WakeAfterCommit(sender.Wake))
	b.Go("sender", sender.Run)

	api := notifygrpc.NewServer(store, intake)
	api.Ops = &notifygrpc.Operations{Store: store, Now: now, Replayed: sender.Wake}
	notificationv1.RegisterNotificationServiceServer(b.Server.GRPC, api)
	b.Server.AddGateway(notificationv1.RegisterNotificationServiceHandlerFromEndpoint)
	notificationv1.RegisterMessageTemplateServiceServer(b.Server.GRPC, &notifygrpc.TemplateServer{Store: templates,
		Answers: answers.Service{Store: templates, Categories: notifygrpc.Categories()}, Renderer: renderer,
		Rules: templates, Forget: rules.Forget, Now: now})
	b.Server.AddGateway(notificationv1.RegisterMessageTemplateServiceHandlerFromEndpoint)
	return b.Run(ctx)
}
