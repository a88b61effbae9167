// Shared fixture for slatimer's integration tests on a real Postgres (and the broker, for consuming): arming, meeting and firing timers.
package timerkafka

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendar"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/calendars"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg"
	"github.com/counterdesk/counterdesk/services/slatimer/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Kafka)) }

var shanghai = calendar.DefaultLocation()

// at parses a wall-clock time in Asia/Shanghai.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, shanghai)
	if err != nil {
		v, err = time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func chinaCalendar(t *testing.T) *calendar.Calendar {
	t.Helper()
	c, err := calendar.China()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixture is a fresh, migrated slatimer database with the handler and a
// firer (whose publish is the production one) on it.
type fixture struct {
	dsn     string
	pool    *pgxpool.Pool
	store   *timerpg.Store
	handler *Handler
	firer   *Firer
	china   *calendar.Calendar
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dsn := testinfra.NewDatabase(t)
	f := &fixture{dsn: dsn, china: chinaCalendar(t)}
	f.open(t)
	return f
}

// open (re)connects the fixture to its database, as a restarted process
// would: migrations run again (a no-op) and a new store is built.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), f.dsn, migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	f.pool = pool
	f.store = timerpg.New(pool)
	f.handler = &Handler{Store: f.store, Calendars: &calendars.Registry{Store: f.store, Base: calendars.ChinaBase}}
	f.firer = &Firer{Store: f.store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Tick: 50 * time.Millisecond}
}

// handle applies env in one transaction, as eventbus.Consumer does; the
// transaction rolls back when the handler fails.
func (f *fixture) handle(t *testing.T, env *eventsv1.Envelope) error {
	t.Helper()
	return pgdb.InTx(context.Background(), f.pool, func(tx pgx.Tx) error {
		return f.handler.Handle(context.Background(), tx, env)
	})
}

// mustHandle is handle for events that must apply.
func (f *fixture) mustHandle(t *testing.T, env *eventsv1.Envelope) {
	t.Helper()
	if err := f.handle(t, env); err != nil {
		t.Fatalf("handle %T: %v", env.GetPayload(), err)
	}
}

// fireDue runs one FireDue pass at now with the production publish.
func (f *fixture) fireDue(t *testing.T, now time.Time) int {
	t.Helper()
	n, err := f.store.FireDue(context.Background(), now, 100, f.firer.publish)
	if err != nil {
		t.Fatalf("FireDue(%v): %v", now, err)
	}
	return n
}

// newCase describes a case for caseCreated.
type newCase struct {
	id, tenant, branch, region string
	category                   casesv1.Category
	severity                   casesv1.Severity
	createdAt                  time.Time
	timeZone, calendarID       string
}

// normalCase is a normal system failure received Friday 2026-11-20 10:00
// in Shanghai: acknowledge, first answer and resolution, nothing else.
func normalCase(t *testing.T) newCase {
	return newCase{
		id: uuid.NewString(), tenant: "bank-a", branch: "br-1", region: "rg-1",
		category: casesv1.Category_CATEGORY_SYSTEM_FAILURE, severity: casesv1.Severity_SEVERITY_NORMAL,
		createdAt: at(t, "2026-11-20 10:00"), timeZone: "Asia/Shanghai", calendarID: calendar.ChinaID,
	}
}

func (c newCase) envelope() *eventsv1.Envelope {
	return &eventsv1.Envelope{
		EventId: uuid.NewString(), TenantId: c.tenant, CaseId: c.id, Type: "CaseCreated", Producer: "intake",
		OccurredAt: timestamppb.New(c.createdAt),
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{
			CaseNumber: "C-1", BranchId: c.branch, RegionId: c.region,
			Channel: casesv1.Channel_CHANNEL_ON_SITE, Category: c.category, Severity: c.severity,
			Status: casesv1.CaseStatus_CASE_STATUS_REPORTED, CreatedAt: timestamppb.New(c.createdAt),
			TimeZone: c.timeZone, CalendarId: c.calendarID,
		}},
	}
}

// facts are the sla facts of c in location loc, for computing expectations.
func (c newCase) facts(loc *time.Location) sla.CaseFacts {
	return sla.CaseFacts{Category: c.category.String(), Severity: c.severity.String(),
		Channel: casesv1.Channel_CHANNEL_ON_SITE.String(), StartedAt: c.createdAt, Location: loc}
}

// expected is what sla.ArmAtCreation computes for c under policy p.
func (f *fixture) expected(t *testing.T, p sla.Policy, c newCase) []sla.Deadline {
	t.Helper()
	loc, err := time.LoadLocation(c.timeZone)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := sla.ArmAtCreation(p, f.china, c.facts(loc))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// outboxRow is one stored event, decoded.
type outboxRow struct {
	topic, key string
	env        *eventsv1.Envelope
}

// outbox returns every outbox row in creation order.
func (f *fixture) outbox(t *testing.T) []outboxRow {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT topic, msg_key, payload FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var payload []byte
		if err := rows.Scan(&r.topic, &r.key, &payload); err != nil {
			t.Fatal(err)
		}
		r.env = &eventsv1.Envelope{}
		if err := proto.Unmarshal(payload, r.env); err != nil {
			t.Fatalf("outbox payload is not an events.v1.Envelope: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// count runs a SELECT count(*) query.
func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// fireRow is a stored timer fire.
type fireRow struct {
	kind, level string
	fireAt      time.Time
	fired       bool
	cancelled   bool
}

func (f *fixture) fires(t *testing.T, caseID string) []fireRow {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT kind, level, fire_at, fired_at IS NOT NULL, cancelled
		FROM timer_fires WHERE case_id = $1 ORDER BY fire_at, kind, level`, caseID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []fireRow
	for rows.Next() {
		var r fireRow
		if err := rows.Scan(&r.kind, &r.level, &r.fireAt, &r.fired, &r.cancelled); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// deadline returns one stored deadline of a case.
func (f *fixture) deadline(t *testing.T, c newCase, kind sla.Kind) timerpg.Deadline {
	t.Helper()
	ds, err := f.store.Deadlines(context.Background(), c.tenant, c.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Kind == string(kind) {
			return d
		}
	}
	t.Fatalf("case %s has no %s deadline (has %d deadlines)", c.id, kind, len(ds))
	return timerpg.Deadline{}
}
