package reportpg_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportgrpc"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

var (
	t0  = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	now = t0.Add(24 * time.Hour)
)

// fixture is a fresh, migrated database with the store and handler on it.
type fixture struct {
	pool    *pgxpool.Pool
	store   *reportpg.Store
	handler *reportkafka.Handler
	reports *report.Reports
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	store := &reportpg.Store{Pool: pool}
	h, err := reportkafka.NewHandler(store, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pool: pool, store: store, handler: h,
		reports: &report.Reports{Store: store, Now: func() time.Time { return now }}}
}

// deliver hands env to the handler the way eventbus.Consumer does: in one
// transaction that first records the event id in processed_events and skips
// the event when it is already there. It reports whether env was a duplicate.
func (f *fixture) deliver(t *testing.T, env *eventsv1.Envelope) (duplicate bool) {
	t.Helper()
	ctx := context.Background()
	err := pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			reportkafka.Group, env.GetEventId())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			duplicate = true
			return nil
		}
		return f.handler.Handle(ctx, tx, env)
	})
	if err != nil {
		t.Fatalf("deliver %s: %v", env.GetType(), err)
	}
	return duplicate
}

func (f *fixture) summary(t *testing.T, caller auth.Principal, filter report.Filter) report.Summary {
	t.Helper()
	s, err := f.reports.Summary(context.Background(), caller, filter)
	if err != nil {
		t.Fatalf("summary for %s: %v", caller.Role, err)
	}
	return s
}

func envelope(tenant, caseID string, payload any) *eventsv1.Envelope {
	env := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: caseID,
		OccurredAt: timestamppb.New(t0), Producer: "test"}
	switch p := payload.(type) {
	case *eventsv1.CaseCreated:
		env.Type, env.Payload = "CaseCreated", &eventsv1.Envelope_CaseCreated{CaseCreated: p}
	case *eventsv1.AssignmentMade:
		env.Type, env.Payload = "AssignmentMade", &eventsv1.Envelope_AssignmentMade{AssignmentMade: p}
	case *eventsv1.NotificationSent:
		env.Type, env.Payload = "NotificationSent", &eventsv1.Envelope_NotificationSent{NotificationSent: p}
	case *eventsv1.DeadlineBreached:
		env.Type, env.Payload = "DeadlineBreached", &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: p}
	default:
		panic("unexpected payload")
	}
	return env
}

func created(branch, region string, category casesv1.Category, at time.Time) *eventsv1.CaseCreated {
	return &eventsv1.CaseCreated{
		CaseNumber: "C-" + branch, BranchId: branch, RegionId: region,
		Channel: casesv1.Channel_CHANNEL_ON_SITE, Category: category, Severity: casesv1.Severity_SEVERITY_NORMAL,
		CustomerTier: casesv1.CustomerTier_CUSTOMER_TIER_REGULAR, Status: casesv1.CaseStatus_CASE_STATUS_REPORTED,
		CreatedAt: timestamppb.New(at),
	}
}

func assigned(owner string, at time.Time) *eventsv1.AssignmentMade {
	return &eventsv1.AssignmentMade{BranchId: "b1", OwnerId: owner, Reason: "first_responder", AssignedAt: timestamppb.New(at)}
}

var headOffice = auth.Principal{Tenant: "bank-a", Subject: "ho", Role: auth.RoleHeadOffice}

func TestEventsArrivingBeforeTheCreationAreKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// Routing, notification and slatimer were faster than intake's relay.
	f.deliver(t, envelope("bank-a", "case-1", assigned("teller-1", t0.Add(time.Minute))))
	f.deliver(t, envelope("bank-a", "case-1", &eventsv1.NotificationSent{NotificationId: "n1", Channel: "sms",
		Template: report.AcknowledgmentTemplate, SentAt: timestamppb.New(t0.Add(2 * time.Minute))}))
	f.deliver(t, envelope("bank-a", "case-1", &eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_HANDOVER", DueAt: timestamppb.New(t0)}))

	if s := f.summary(t, headOffice, report.Filter{}); s.Total != 0 {
		t.Fatalf("a case whose creation is unknown was counted: %+v", s)
	}

	f.deliver(t, envelope("bank-a", "case-1", created("b1", "r1", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, t0)))

	rec, ok, err := f.store.Case(ctx, "bank-a", "case-1")
	if err != nil || !ok {
		t.Fatalf("Case() = %v, %v", ok, err)
	}
	want := report.CaseRecord{
		TenantID: "bank-a", CaseID: "case-1", CaseNumber: "C-b1", BranchID: "b1", RegionID: "r1",
		Channel: "CHANNEL_ON_SITE", Category: "CATEGORY_SERVICE_ATTITUDE", Severity: "SEVERITY_NORMAL",
		CustomerTier: "CUSTOMER_TIER_REGULAR", Status: "CASE_STATUS_REPORTED", CreatedAt: t0,
		OwnerID: "teller-1", FirstAssignedAt: t0.Add(time.Minute), LastAssignedAt: t0.Add(time.Minute),
		AcknowledgedAt: t0.Add(2 * time.Minute), Breaches: 1, Assignments: 1, ReceivedAt: t0,
		Deadlines: map[string]*report.Deadline{"DEADLINE_KIND_HANDOVER": {Kind: "DEADLINE_KIND_HANDOVER", DueAt: t0, Breached: true}},
	}
	if !reflect.DeepEqual(rec, want) {
		t.Fatalf("record =\n%+v\nwant\n%+v", rec, want)
	}

	s := f.summary(t, headOffice, report.Filter{})
	if s.Total != 1 || s.Unassigned != 0 || s.Acknowledged != 1 || s.Breaches != 1 ||
		s.ByCategory["CATEGORY_SERVICE_ATTITUDE"] != 1 || s.ByStatus["CASE_STATUS_REPORTED"] != 1 ||
		s.ByChannel["CHANNEL_ON_SITE"] != 1 || s.BySeverity["SEVERITY_NORMAL"] != 1 || s.ByBranch["b1"] != 1 ||
		!s.AsOf.Equal(now) {
		t.Fatalf("summary = %+v", s)
	}
}

func TestARedeliveredBreachCountsOnce(t *testing.T) {
	f := newFixture(t)
	f.deliver(t, envelope("bank-a", "case-1", created("b1", "r1", casesv1.Category_CATEGORY_FEE_DISPUTE, t0)))
	breach := envelope("bank-a", "case-1", &eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: timestamppb.New(t0)})
	if f.deliver(t, breach) {
		t.Fatal("first delivery was taken for a duplicate")
	}
	if !f.deliver(t, breach) {
		t.Fatal("redelivery was not recognised as a duplicate")
	}
	// A second, different breach of the same case does count.
	f.deliver(t, envelope("bank-a", "case-1", &eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_RESOLUTION", DueAt: timestamppb.New(t0)}))

	if s := f.summary(t, headOffice, report.Filter{}); s.Breaches != 2 || s.Unassigned != 1 {
		t.Fatalf("summary = %+v, want 2 breaches and 1 unassigned case", s)
	}
}

func TestTheLatestAssignmentNamesTheOwner(t *testing.T) {
	f := newFixture(t)
	f.deliver(t, envelope("bank-a", "case-1", created("b1", "r1", casesv1.Category_CATEGORY_FEE_DISPUTE, t0)))
	f.deliver(t, envelope("bank-a", "case-1", assigned("manager-1", t0.Add(10*time.Minute))))
	f.deliver(t, envelope("bank-a", "case-1", assigned("teller-1", t0.Add(time.Minute))))

	rec, _, err := f.store.Case(context.Background(), "bank-a", "case-1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.OwnerID != "manager-1" || !rec.FirstAssignedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("owner %s first assigned %s, want manager-1 first assigned at %s", rec.OwnerID, rec.FirstAssignedAt, t0.Add(time.Minute))
	}
}

// Two consumers may handle the first events of a new case from two topics
// at the same moment; neither fact may be lost, and neither may fail.
func TestConcurrentFirstEventsOfACaseBothLand(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	first, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Rollback(ctx) }()
	if err := f.handler.Handle(ctx, first, envelope("bank-a", "case-1", assigned("teller-1", t0.Add(time.Minute)))); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		done <- pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error {
			return f.handler.Handle(ctx, tx, envelope("bank-a", "case-1", created("b1", "r1", casesv1.Category_CATEGORY_FEE_DISPUTE, t0)))
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("the second transaction did not wait for the first: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("second transaction: %v", err)
	}
	rec, _, err := f.store.Case(ctx, "bank-a", "case-1")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Created() || rec.OwnerID != "teller-1" {
		t.Fatalf("record = %+v, want both the creation and the assignment", rec)
	}
}

func TestSummariesAreScopedToTheCaller(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		tenant, id, branch, region string
		category                   casesv1.Category
		at                         time.Time
	}{
		{"bank-a", "a1", "b1", "r1", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, t0},
		{"bank-a", "a2", "b1", "r1", casesv1.Category_CATEGORY_CASH_DISCREPANCY, t0.Add(2 * time.Hour)},
		{"bank-a", "a3", "b2", "r1", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, t0.Add(3 * time.Hour)},
		{"bank-a", "a4", "b3", "r2", casesv1.Category_CATEGORY_SYSTEM_FAILURE, t0},
		{"bank-b", "x1", "b1", "r1", casesv1.Category_CATEGORY_SERVICE_ATTITUDE, t0},
	}
	for _, c := range cases {
		f.deliver(t, envelope(c.tenant, c.id, created(c.branch, c.region, c.category, c.at)))
	}
	supervisorR1 := auth.Principal{Tenant: "bank-a", Subject: "s1", Role: auth.RoleRegionalSupervisor, Region: "r1"}

	tests := []struct {
		name     string
		caller   auth.Principal
		filter   report.Filter
		total    int64
		byBranch map[string]int64
	}{
		{"head office counts the whole bank and no other", headOffice, report.Filter{}, 4,
			map[string]int64{"b1": 2, "b2": 1, "b3": 1}},
		{"a regional supervisor counts their region", supervisorR1, report.Filter{}, 3,
			map[string]int64{"b1": 2, "b2": 1}},
		{"a regional supervisor may narrow to a branch of their region", supervisorR1, report.Filter{Branch: "b2"}, 1,
			map[string]int64{"b2": 1}},
		{"a branch head counts their branch, whatever their region", auth.Principal{Tenant: "bank-a", Subject: "h3",
			Role: auth.RoleBranchHead, Branch: "b3", Region: "r1"}, report.Filter{}, 1, map[string]int64{"b3": 1}},
		{"another bank's head office sees only its own case", auth.Principal{Tenant: "bank-b", Subject: "ho",
			Role: auth.RoleHeadOffice}, report.Filter{}, 1, map[string]int64{"b1": 1}},
		{"a time window counts creations from its start up to, not including, its end", headOffice,
			report.Filter{From: t0, To: t0.Add(3 * time.Hour)}, 3, map[string]int64{"b1": 2, "b3": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := f.summary(t, tt.caller, tt.filter)
			if s.Total != tt.total || !equal(s.ByBranch, tt.byBranch) {
				t.Fatalf("total %d by branch %v, want %d %v", s.Total, s.ByBranch, tt.total, tt.byBranch)
			}
			var sum int64
			for _, n := range s.ByCategory {
				sum += n
			}
			if sum != s.Total {
				t.Fatalf("categories add up to %d, total is %d", sum, s.Total)
			}
		})
	}

	t.Run("a regional supervisor asking for another region's branch is denied", func(t *testing.T) {
		_, err := f.reports.Summary(context.Background(), supervisorR1, report.Filter{Branch: "b3"})
		if !errors.Is(err, report.ErrPermissionDenied) {
			t.Fatalf("error = %v, want permission denied", err)
		}
	})
	t.Run("an SRE is denied through the API", func(t *testing.T) {
		srv := &reportgrpc.Server{Reports: f.reports, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		ctx := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "bank-a", Subject: "ops", Role: auth.RoleSRE})
		_, err := srv.GetSummary(ctx, &reportingv1.GetSummaryRequest{})
		if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "permission denied: SREs see operational metrics, not case data" {
			t.Fatalf("status = %v", st)
		}
	})
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
