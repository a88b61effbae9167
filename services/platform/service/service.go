// Package service wires what every counterdesk service has in common —
// logging, telemetry, Postgres with migrations, the gRPC/HTTP server, the
// outbox relay and Kafka consumers — and runs them with one shutdown order:
// stop serving, drain, stop background workers, close clients, flush
// telemetry last. A service's main builds a Base, registers its own parts,
// and calls Run.
package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/config"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/grpcserver"
	"github.com/counterdesk/counterdesk/services/platform/logging"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/telemetry"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Base holds a service's shared dependencies.
type Base struct {
	Name     string
	Cfg      config.Common
	Log      *slog.Logger
	Tel      *telemetry.Telemetry
	Pool     *pgxpool.Pool
	Verifier *auth.Verifier
	// Signer is this service's own identity for calls to other services.
	Signer *auth.ServiceSigner
	Server *grpcserver.Server
	Writer *kafka.Writer

	workers []worker
	conns   []*grpc.ClientConn
}

type worker struct {
	name string
	run  func(context.Context) error
}

// Start builds the shared dependencies. fullCfg is the service's whole
// configuration, logged once with secrets masked.
//
// Credentials are checked and signed against the real clock, not the
// service's Clock: a token's other party checks it against its own clock,
// so a test that fixes the service's time must not make its tokens expire.
func Start(ctx context.Context, name string, common config.Common, fullCfg any, migrations fs.FS) (*Base, error) {
	if common.ServiceName == "" {
		common.ServiceName = name
	}
	log := logging.New(os.Stdout, common.ServiceName, common.LogLevel)
	log.InfoContext(ctx, "starting", "config", config.Masked(fullCfg))
	b := &Base{Name: name, Cfg: common, Log: log}
	var err error
	if b.Tel, err = telemetry.Setup(ctx, common.ServiceName, common.OTLPEndpoint); err != nil {
		return nil, err
	}
	realClock := time.Now //nolint:forbidigo // credentials live in real time (see above)
	if b.Verifier, err = auth.LoadVerifier(common.AuthTrustFile, realClock); err != nil {
		b.Close()
		return nil, err
	}
	if b.Signer, err = auth.LoadServiceSigner(common.ServiceKeyFile, realClock); err != nil {
		b.Close()
		return nil, err
	}
	if b.Signer.Name() != name {
		b.Close()
		return nil, fmt.Errorf("SERVICE_KEY_FILE holds the key of %q, not of %q", b.Signer.Name(), name)
	}
	// The service connects as its app role and runs no DDL: `<service>
	// migrate`, run as the owner, brought the schema up to date.
	if b.Pool, err = pgdb.Connect(ctx, common.DatabaseURL, migrations, 2*time.Minute, log); err != nil {
		b.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err = eventbus.EnsureTopics(ctx, common.KafkaBrokers, common.KafkaPartitions, eventbus.AllTopics()...); err != nil {
		b.Close()
		return nil, err
	}
	b.Writer = eventbus.NewWriter(common.KafkaBrokers)
	b.Server, err = grpcserver.New(grpcserver.Options{
		Service: name, GRPCAddr: common.GRPCAddr, HTTPAddr: common.HTTPAddr, Verifier: b.Verifier, Log: log,
		Metrics: b.Tel.Metrics, ShutdownTimeout: common.ShutdownTimeout, Reflection: common.GRPCReflection,
		Ready: func(ctx context.Context) error { return b.Pool.Ping(ctx) },
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	// Add wakes this process's relay; Poll finds what another replica wrote
	// while this one holds the relay lock.
	relay := &outbox.Relay{Pool: b.Pool, Writer: b.Writer, Log: log, Service: name, Poll: 100 * time.Millisecond}
	b.Go("outbox-relay", relay.Run)
	if common.PprofAddr != "" {
		b.Go("pprof", func(ctx context.Context) error { return b.servePprof(ctx, common.PprofAddr) })
	}
	return b, nil
}

// Go registers a background worker that runs until Run's context ends.
func (b *Base) Go(name string, run func(context.Context) error) {
	b.workers = append(b.workers, worker{name, run})
}

// Consume registers an idempotent Kafka consumer as a worker: partitions in
// parallel (KAFKA_CONSUMER_WORKERS), queued messages of a partition in one
// transaction (KAFKA_CONSUMER_BATCH), offsets committed every
// KAFKA_COMMIT_INTERVAL.
func (b *Base) Consume(group string, topics []string, h eventbus.Handler, after eventbus.AfterCommit) {
	b.ConsumeBatches(group, topics, h, nil, after)
}

// ConsumeBatches is Consume with a batch handler (eventbus.Consumer's
// HandleBatch; nil: none) applying each batch's events together.
func (b *Base) ConsumeBatches(group string, topics []string, h eventbus.Handler, hb eventbus.BatchHandler, after eventbus.AfterCommit) {
	c := &eventbus.Consumer{Group: group, Topics: topics, Brokers: b.Cfg.KafkaBrokers, Pool: b.Pool,
		Handle: h, HandleBatch: hb, AfterCommit: after, Log: b.Log, DeadLetters: b.Writer,
		Workers: b.Cfg.KafkaConsumerWorkers, MaxBatch: b.Cfg.KafkaConsumerBatch, CommitInterval: b.Cfg.KafkaCommitInterval}
	b.Go("consumer "+group, c.Run)
}

// Run serves and runs the workers until ctx ends or one of them fails, then
// shuts down in order.
func (b *Base) Run(ctx context.Context) error {
	// Background work (outbox relay, consumers, timers) acts for every
	// bank; request handlers act for their caller's (pgdb.TenantOf).
	wctx, stopWorkers := context.WithCancel(pgdb.WithTenant(context.WithoutCancel(ctx), pgdb.AllTenants))
	defer stopWorkers()
	failed := make(chan error, len(b.workers)+1)
	var wg sync.WaitGroup
	for _, w := range b.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(wctx); err != nil && wctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", w.name, err)
			}
		}()
	}
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	go func() {
		select {
		case err := <-failed:
			b.Log.Error("worker failed; shutting down", "err", err)
			failed <- err
			stopServer()
		case <-sctx.Done():
		}
	}()
	serveErr := b.Server.Serve(sctx)
	b.Log.Info("server stopped; stopping workers")
	stopWorkers()
	wg.Wait()
	var workerErr error
	select {
	case workerErr = <-failed:
	default:
	}
	return errors.Join(serveErr, workerErr)
}

// Dial opens a traced gRPC connection to another counterdesk service (W3C
// trace context goes with every call), every call carrying this service's
// own token in the counterdesk-service header beside whatever caller token
// the call forwards; Close closes it.
func (b *Base) Dial(target string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithPerRPCCredentials(auth.ServiceCredentials{Signer: b.Signer}))
	if err != nil {
		return nil, fmt.Errorf("gRPC client for %s: %w", target, err)
	}
	b.conns = append(b.conns, conn)
	return conn, nil
}

// Close releases clients and flushes telemetry, in that order.
func (b *Base) Close() {
	for _, c := range b.conns {
		_ = c.Close()
	}
	if b.Writer != nil {
		_ = b.Writer.Close()
	}
	if b.Pool != nil {
		b.Pool.Close()
	}
	if b.Tel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Tel.Shutdown(ctx)
	}
}
