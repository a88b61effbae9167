package service

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/logging"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
)

// Config is a service's whole configuration: a struct embedding config.Common.
type Config interface{ Base() config.Common }

// Clock tells the time. Services take one so that tests own time: domain code
// gets `now` as a parameter, and everything a service decides by the time of
// day (is an acknowledgment still worth sending, is a timer due) reads it from
// the clock its run function was given — time.Now in production, a fixed or
// stepped clock in tests.
type Clock func() time.Time

// Main runs run with a context cancelled on SIGINT or SIGTERM and the real
// clock, and returns the process exit code, so that only main calls os.Exit:
//
//	func main() { os.Exit(service.Main("intake", migrations.FS, run)) }
//
// `<service> migrate` instead applies the service's migrations as the
// database owner (DATABASE_URL) and grants the app role (APP_DB_ROLE) the
// DML the service needs, then exits: the service itself runs no DDL.
func Main(name string, migrations fs.FS, run func(context.Context, Clock) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		if err := migrate(ctx, name, migrations); err != nil {
			fmt.Fprintf(os.Stderr, "%s migrate: %v\n", name, err)
			return 1
		}
		return 0
	}
	if err := run(ctx, time.Now); err != nil { //nolint:forbidigo // the one place the real clock enters a service
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// Boot reads cfg (a pointer to the service's configuration) from the
// environment once, then starts the shared dependencies.
func Boot(ctx context.Context, name string, cfg Config, migrations fs.FS) (*Base, error) {
	if err := config.Load(cfg); err != nil {
		return nil, err
	}
	return Start(ctx, name, cfg.Base(), cfg, migrations)
}

// MigrateConfig is what `migrate` reads.
type MigrateConfig struct {
	OwnerURL string `env:"DATABASE_URL,required,notEmpty" secret:"true"`
	AppRole  string `env:"APP_DB_ROLE"`
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
}

func migrate(ctx context.Context, name string, migrations fs.FS) error {
	var cfg MigrateConfig
	if err := config.Load(&cfg); err != nil {
		return err
	}
	log := logging.New(os.Stdout, name, cfg.LogLevel)
	if err := pgdb.MigrateAndSecure(ctx, cfg.OwnerURL, migrations, cfg.AppRole, log); err != nil {
		return err
	}
	log.InfoContext(ctx, "schema migrated and secured", "app_role", cfg.AppRole)
	return nil
}
