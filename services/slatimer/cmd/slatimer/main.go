// Command slatimer keeps every case's clocks: it arms deadlines from the
// bank's SLA policy on its working-day calendar, fires warnings and breaches
// on time, and answers what is due.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/counterdesk/counterdesk/proto/gen/counterdesk/slatimer/v1"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/service"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timergrpc"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerkafka"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
)

type Config struct {
	config.Common
	// FireTick bounds how late a timer fires.
	FireTick time.Duration `env:"FIRE_TICK" envDefault:"1s"`
}

func main() { os.Exit(service.Main("slatimer", run)) }

func run(ctx context.Context, now service.Clock) error {
	var cfg Config
	china, err := calendar.China()
	if err != nil {
		return fmt.Errorf("load China calendar: %w", err)
	}
	calendars := func(id string) (*calendar.Calendar, bool) {
		if id == calendar.ChinaID || id == "" {
			return china, true
		}
		return nil, false
	}
	b, err := service.Boot(ctx, "slatimer", &cfg, migrations.FS)
	if err != nil {
		return err
	}
	defer b.Close()
	store := timerpg.New(b.Pool)
	slatimerv1.RegisterSlaTimerServiceServer(b.Server.GRPC, &timergrpc.Server{Store: store, Now: now})
	b.Server.AddGateway(slatimerv1.RegisterSlaTimerServiceHandlerFromEndpoint)
	h := &timerkafka.Handler{Store: store, Calendars: calendars}
	b.Consume("slatimer", []string{eventbus.TopicCaseEvents, eventbus.TopicNotificationEvents}, h.Handle, nil)
	b.Go("timer-firer", (&timerkafka.Firer{Store: store, Log: b.Log, Now: now, Tick: cfg.FireTick}).Run)
	return b.Run(ctx)
}
