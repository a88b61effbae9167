// Command devstack runs counterdesk on one machine without a cluster.
//
//	devstack up      start everything (idempotent), seed the demo bank, write .devstack/endpoints.env
//	devstack down    stop everything it started, by PID
//	devstack token   mint a token: devstack token <staffId>, or devstack token --role teller --subject st-x --branch br-y [--tenant demo-bank-2]
//	devstack staff   list a branch's demo staff ids: devstack staff --branch br-sh-pudong
//
// The demo banks' organisations are the files deploy/demo/org-demo-bank.yaml
// and org-demo-bank-2.yaml (stack.DemoOrgFiles), read at run time from the
// repository around the working directory (or --repo): `up` seeds them, and
// `staff` and `token <staffId>` answer from them, so every staff member of the
// files has a token with their role, branch and region.
//
// The serve-* subcommands are the stack's own helper processes (broker, mail,
// SMS and webhook sinks, traces, gateway); `up` starts them in the background.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/tools/devstack/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: devstack up|down|token|staff|serve-broker|serve-mail|serve-sms|serve-webhooks|serve-traces|serve-gateway [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", ".devstack", "stack directory (data, logs, PIDs)")
	bin := fs.String("bin", "bin", "directory of the service binaries")
	values := fs.String("values", "charts/counterdesk/values.yaml", "umbrella chart values (Ingress routes)")
	repo := fs.String("repo", "", "repository root, holding the demo org files deploy/demo/*.yaml (default: found from the working directory)")
	basePort := fs.Int("base-port", 18080, "first of the stack's fixed ports (a taken port is replaced by a free one)")
	port := fs.Int("port", 0, "port (serve-broker)")
	partitions := fs.Int("partitions", 3, "partitions per topic (serve-broker)")
	listen := fs.String("listen", "127.0.0.1:0", "listen address (serve-*)")
	file := fs.String("file", "", "span file (serve-traces)")
	sinkToken := fs.String("token", "", "bearer credential the SMS sink requires (serve-sms)")
	var backends multi
	fs.Var(&backends, "backend", "service=host:port (serve-gateway), repeatable")
	role := fs.String("role", "teller", "token role")
	tenant := fs.String("tenant", stack.DemoTenant, "token bank")
	subject := fs.String("subject", "demo-cli", "token subject")
	branch := fs.String("branch", "", "token branch")
	region := fs.String("region", "", "token region")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg := stack.Config{Dir: *dir, BinDir: *bin, ValuesFile: *values, RepoDir: *repo, BasePort: *basePort, Log: os.Stdout}
	switch args[0] {
	case "up":
		return up(ctx, cfg)
	case "down":
		if err := stack.Down(cfg); err != nil {
			return err
		}
		fmt.Println("counterdesk dev stack stopped")
		return nil
	case "token":
		if id := fs.Arg(0); id != "" {
			// devstack token <staffId>: a token for that demo staff member,
			// with their bank, role, branch and region.
			banks, err := stack.LoadDemoBanks(cfg.RepoDir)
			if err != nil {
				return err
			}
			p, ok := banks.Principal(id)
			if !ok {
				return fmt.Errorf("no demo staff member %q (see bin/devstack staff --branch <branchId>)", id)
			}
			return token(cfg, p)
		}
		return token(cfg, auth.Principal{Tenant: *tenant, Subject: *subject, Role: auth.Role(*role), Branch: *branch, Region: *region})
	case "staff":
		banks, err := stack.LoadDemoBanks(cfg.RepoDir)
		if err != nil {
			return err
		}
		ids, err := banks.StaffOf(*branch)
		if err != nil {
			return err
		}
		for _, id := range ids {
			fmt.Println(id)
		}
		return nil
	case "serve-broker":
		b, err := localinfra.StartBroker(*dir, *port, *partitions)
		if err != nil {
			return err
		}
		defer b.Close()
		fmt.Println("kafka-protocol broker (kfake) on", b.Addr(), "data", *dir)
		<-ctx.Done()
		return nil
	case "serve-mail":
		m, err := localinfra.StartMailSink(*dir, *listen)
		if err != nil {
			return err
		}
		defer m.Close()
		fmt.Println("SMTP sink on", m.Addr(), "writing", *dir)
		<-ctx.Done()
		return nil
	case "serve-sms":
		m, err := localinfra.StartSMSSink(*dir, *listen, *sinkToken)
		if err != nil {
			return err
		}
		defer m.Close()
		fmt.Println("SMS gateway sink on", m.URL(), "writing", *dir)
		<-ctx.Done()
		return nil
	case "serve-webhooks":
		m, err := localinfra.StartWebhookSink(*dir, *listen)
		if err != nil {
			return err
		}
		defer m.Close()
		fmt.Println("webhook sink on", m.URL(), "writing", *dir)
		<-ctx.Done()
		return nil
	case "serve-traces":
		t, err := localinfra.StartTraceSink(*listen, *file)
		if err != nil {
			return err
		}
		defer t.Close()
		fmt.Println("trace viewer and OTLP/HTTP receiver on", t.URL())
		<-ctx.Done()
		return nil
	case "serve-gateway":
		return serveGateway(ctx, *listen, *values, backends)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func up(ctx context.Context, cfg stack.Config) error {
	start := time.Now()
	// A mistake in a demo org file is reported before anything starts.
	if _, err := stack.LoadDemoBanks(cfg.RepoDir); err != nil {
		return err
	}
	fmt.Println("starting the counterdesk dev stack in", cfg.Dir)
	s, err := stack.Up(ctx, cfg)
	if err != nil {
		return fmt.Errorf("%w\n(logs in %s/logs; `make down` stops what started)", err, cfg.Dir)
	}
	toks, err := s.MintTokens()
	if err != nil {
		return err
	}
	if err := s.Seed(ctx, toks); err != nil {
		return err
	}
	e, err := s.WriteEndpoints(toks)
	if err != nil {
		return err
	}
	fmt.Printf("\nseeded demo bank %q (%s: staff in every role, default SLA policy, China calendar) and %q (%s: its own issuer and keys)\n",
		stack.DemoTenant, stack.DemoOrgFiles[0].Path, stack.OtherTenant, stack.DemoOrgFiles[1].Path)
	fmt.Printf("ready in %.1fs\n\n", time.Since(start).Seconds())
	for _, k := range []string{"GATEWAY_URL", "TRACES_URL", "MAIL_DIR", "REDIS_URL", "KAFKA_BROKERS", "POSTGRES_URL"} {
		fmt.Printf("  %-14s %s\n", k, e[k])
	}
	fmt.Printf("\ndashboard, signed in as the demo regional supervisor (%s, region %s):\n  %s\n", stack.DemoSupervisor, stack.DemoRegion, e["DASHBOARD_URL"])
	fmt.Printf("\nendpoints and demo tokens: %s/endpoints.env   (set -a; . %s/endpoints.env; set +a)\n", cfg.Dir, cfg.Dir)
	fmt.Printf("logs: %s/logs/   stop: make down\n", cfg.Dir)
	return nil
}

// token mints a token for p with the stack's own identity providers: the
// bank's issuer for its staff (and client-credential systems), the
// operators' issuer for an operator.
func token(cfg stack.Config, p auth.Principal) error {
	in, err := authdev.Load(cfg.Dir + "/keys/installation.json")
	if err != nil {
		return fmt.Errorf("no stack keys (run make up first): %w", err)
	}
	if p.Role == auth.RoleOperator {
		p.Tenant = auth.AllTenants
	}
	if p.Role == auth.RoleService {
		return errors.New("service tokens are signed by each service's own key; devstack does not mint them")
	}
	t, err := in.Mint(p, stack.TokenTTL)
	if err != nil {
		return err
	}
	fmt.Println(t)
	return nil
}

func serveGateway(ctx context.Context, listen, values string, backends []string) error {
	routes, err := stack.LoadRoutes(values)
	if err != nil {
		return err
	}
	m := map[string]string{}
	for _, b := range backends {
		k, v, ok := strings.Cut(b, "=")
		if !ok {
			return fmt.Errorf("--backend %q: want service=host:port", b)
		}
		m[k] = v
	}
	h, err := stack.Gateway(routes, m)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Println("gateway on", listen, "routing to", strings.Join(names, ", "))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
