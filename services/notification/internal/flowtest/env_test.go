package flowtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	intakev1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/intake/v1"
	notificationv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/notification/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/dispatch"
	"github.com/counterdesk/counterdesk/services/notification/internal/intakefake"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifygrpc"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifykafka"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifypg"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifysmtp"
	"github.com/counterdesk/counterdesk/services/notification/internal/routingfake"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/counterdesk/counterdesk/services/platform/localinfra"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) {
	// The platform's telemetry installs the W3C propagator in production.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	os.Exit(testinfra.Run(m, testinfra.Postgres))
}

// clock is the time every part of the test sees.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

type env struct {
	t        *testing.T
	ctx      context.Context
	pool     *pgxpool.Pool
	store    *notifypg.Store
	clock    *clock
	sink     *localinfra.MailSink
	mailer   *notifysmtp.Mailer
	intake   *intakefake.Server
	routing  *routingfake.Server
	handler  *notifykafka.Handler
	disp     *dispatch.Dispatcher
	api      notificationv1.NotificationServiceClient
	verifier *auth.Verifier
	keys     *authdev.Installation
}

var start = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sink, err := localinfra.StartMailSink(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	keys, err := authdev.New([]string{"bank-a", "bank-b"}, []string{"notification", "intake"})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := keys.Verifier(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.Signer("notification", time.Now)
	if err != nil {
		t.Fatal(err)
	}

	e := &env{t: t, ctx: ctx, pool: pool, store: notifypg.New(pool), clock: &clock{now: start}, sink: sink,
		mailer: &notifysmtp.Mailer{Addr: sink.Addr(), From: "counterdesk@localhost"},
		intake: intakefake.New(), routing: routingfake.New(), verifier: verifier, keys: keys}

	// One gRPC server plays intake and routing and serves notification's
	// API; all are authenticated the way the platform's server does it.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.UnaryInterceptor(auth.UnaryServerInterceptor(verifier)))
	e.intake.Register(srv)
	e.routing.Register(srv)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
	if err != nil {
		t.Fatal(err)
	}
	intake := notifygrpc.NewIntake(conn, auth.ServiceCredentials{Signer: signer})
	notificationv1.RegisterNotificationServiceServer(srv, notifygrpc.NewServer(e.store, intake))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { conn.Close(); srv.Stop() })
	e.api = notificationv1.NewNotificationServiceClient(conn)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.handler = &notifykafka.Handler{Store: e.store, Contacts: notifygrpc.NewRouting(conn, auth.ServiceCredentials{Signer: signer}),
		Log: log, Now: e.clock.Now}
	e.disp, err = dispatch.New(e.store, intake, e.mailer, log, dispatch.Options{Now: e.clock.Now, AttemptTimeout: 5 * time.Second,
		// Retries wait their whole back-off step (1s, 2s, 4s, …): no spread.
		Jitter: func() float64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// addCase registers a case at the intake stand-in and returns its id.
func (e *env) addCase(tenant, branch, email, name, language string) string {
	id := uuid.Must(uuid.NewV7()).String()
	e.intake.Add(id, intakefake.Case{Tenant: tenant, Branch: branch, Region: "r1", Contact: &intakev1.GetCaseContactResponse{
		CaseId: id, CaseNumber: "CD-20261122-" + id[len(id)-6:], TenantId: tenant,
		CustomerName: name, Email: email, Phone: "13812345678", Language: language,
	}})
	return id
}

func (e *env) caseNumber(id string) string {
	return e.intake.Case(id).Contact.GetCaseNumber()
}

// armed handles a DeadlinesArmed event as the consumer would: in one
// transaction with its processed-event record.
func (e *env) armed(ctx context.Context, tenant, caseID string, deadlines map[string]time.Time) {
	e.t.Helper()
	ev := &eventsv1.DeadlinesArmed{TimeZone: "Asia/Shanghai"}
	for kind, due := range deadlines {
		ev.Deadlines = append(ev.Deadlines, &eventsv1.ArmedDeadline{Kind: kind, DueAt: timestamppb.New(due)})
	}
	env := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: caseID,
		Type: "DeadlinesArmed", OccurredAt: timestamppb.New(e.clock.Now()), Producer: "slatimer",
		Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: ev}}
	err := pgdb.InTx(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)`,
			notifykafka.Group, env.EventId); err != nil {
			return err
		}
		return e.handler.Handle(ctx, tx, env)
	})
	if err != nil {
		e.t.Fatalf("handle DeadlinesArmed: %v", err)
	}
}

// recomputed handles a DeadlineRecomputed event as the consumer would and
// returns it, for a test to hand it to the handler again.
func (e *env) recomputed(tenant, caseID, kind string, from, to time.Time, provisional bool, reason string) *eventsv1.Envelope {
	e.t.Helper()
	env := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: caseID,
		Type: "DeadlineRecomputed", OccurredAt: timestamppb.New(e.clock.Now()), Producer: "slatimer",
		Payload: &eventsv1.Envelope_DeadlineRecomputed{DeadlineRecomputed: &eventsv1.DeadlineRecomputed{
			Kind: kind, OldDueAt: timestamppb.New(from), NewDueAt: timestamppb.New(to), Provisional: provisional,
			Reason: reason, TimeZone: "Asia/Shanghai", CalendarVersion: 3,
		}}}
	err := pgdb.InTx(e.ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(e.ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)`,
			notifykafka.Group, env.EventId); err != nil {
			return err
		}
		return e.handler.Handle(e.ctx, tx, env)
	})
	if err != nil {
		e.t.Fatalf("handle DeadlineRecomputed: %v", err)
	}
	return env
}

// handleBypassingTheConsumer hands env to the handler in a transaction of
// its own, as if the consumer's processed-event guard had been lost (e.g.
// an event replayed under the same id after the record was purged).
func (e *env) handleBypassingTheConsumer(env *eventsv1.Envelope) {
	e.t.Helper()
	if err := pgdb.InTx(e.ctx, e.pool, func(tx pgx.Tx) error { return e.handler.Handle(e.ctx, tx, env) }); err != nil {
		e.t.Fatalf("handle %s again: %v", env.GetType(), err)
	}
}

func (e *env) deliveriesOf(caseID string) []string {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT id::text FROM deliveries WHERE case_id = $1`, caseID)
	if err != nil {
		e.t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

func (e *env) runOnce() int {
	e.t.Helper()
	n, err := e.disp.RunOnce(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) mails() []localinfra.Message {
	e.t.Helper()
	msgs, err := e.sink.Messages()
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

// outboxEvents returns the NotificationSent envelopes waiting in the outbox.
func (e *env) outboxEvents() []*eventsv1.Envelope {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT payload FROM outbox WHERE topic = 'notification-events' ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*eventsv1.Envelope
	for _, p := range payloads {
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(p, env); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

// as returns ctx carrying a bearer token for p.
func (e *env) as(p auth.Principal) context.Context {
	e.t.Helper()
	tok, err := e.keys.Mint(p, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(e.ctx, "authorization", "Bearer "+tok)
}
