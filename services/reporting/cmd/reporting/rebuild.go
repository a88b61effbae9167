package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/logging"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/jackc/pgx/v5"
)

// RebuildConfig is what `reporting rebuild` reads: the schema owner (it
// creates and swaps tables) and the brokers.
type RebuildConfig struct {
	OwnerURL     string   `env:"DATABASE_URL,required,notEmpty" secret:"true"`
	AppRole      string   `env:"APP_DB_ROLE"`
	KafkaBrokers []string `env:"KAFKA_BROKERS,required,notEmpty" envSeparator:","`
	TimeZone     string   `env:"REPORTING_TIME_ZONE" envDefault:"Asia/Shanghai"`
	LogLevel     string   `env:"LOG_LEVEL" envDefault:"info"`
}

// rebuildMain is `reporting rebuild`: it replays the topics from the start
// into fresh read-model tables, recomputes the rollups and swaps the fresh
// tables in, while the service keeps running.
func rebuildMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rebuild(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "reporting rebuild: %v\n", err)
		return 1
	}
	return 0
}

func rebuild(ctx context.Context) error {
	var cfg RebuildConfig
	if err := config.Load(&cfg); err != nil {
		return err
	}
	log := logging.New(os.Stdout, "reporting", cfg.LogLevel)
	zone, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return fmt.Errorf("REPORTING_TIME_ZONE: %w", err)
	}
	owner, err := pgdb.Open(ctx, cfg.OwnerURL, migrations.FS, log)
	if err != nil {
		return err
	}
	defer owner.Close()
	if err := reportpg.PrepareRebuild(ctx, owner); err != nil {
		return err
	}
	fresh, err := reportpg.RebuildPool(ctx, cfg.OwnerURL)
	if err != nil {
		return err
	}
	defer fresh.Close()
	h, err := reportkafka.NewHandler(&reportpg.Store{Pool: fresh, Zone: zone}, func() time.Time { return time.Now().UTC() })
	if err != nil {
		return err
	}
	rb := &reportkafka.Rebuilder{Brokers: cfg.KafkaBrokers, Topics: reportkafka.Topics, Handler: h, Fresh: fresh, Log: log,
		Recompute: func(ctx context.Context, tx pgx.Tx) error { return reportpg.RecomputeAllIn(ctx, tx, "") },
		Refresh:   reportpg.RefreshRollupsIn,
		Swap: func(ctx context.Context, catchUp func(pgx.Tx) error) error {
			return reportpg.SwapRebuild(ctx, fresh, reportkafka.Group, catchUp)
		}}
	start := time.Now()
	n, err := rb.Rebuild(ctx)
	if err != nil {
		return err
	}
	fresh.Close()
	if err := pgdb.Secure(ctx, owner, cfg.AppRole); err != nil {
		return fmt.Errorf("secure the rebuilt tables: %w", err)
	}
	if err := reportpg.DropOld(ctx, owner); err != nil {
		return err
	}
	log.InfoContext(ctx, "read model rebuilt", "events", n, "seconds", time.Since(start).Seconds())
	return nil
}
