package service

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/counterdesk/counterdesk/services/platform/config"
)

// Config is a service's whole configuration: a struct embedding config.Common.
type Config interface{ Base() config.Common }

// Main runs run with a context cancelled on SIGINT or SIGTERM and returns
// the process exit code, so that only main calls os.Exit:
//
//	func main() { os.Exit(service.Main("intake", run)) }
func Main(name string, run func(context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
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
