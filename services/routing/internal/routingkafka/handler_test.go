// Protects case ownership: every new case gets exactly one owner with one AssignmentMade in the outbox, redeliveries change nothing, and the Redis queues rebuild from Postgres alone (invariant 4).
package routingkafka_test

import (
	"context"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingkafka"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"github.com/counterdesk/counterdesk/services/routing/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Redis)) }

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

type fixture struct {
	pool    *pgxpool.Pool
	rdb     *redis.Client
	store   *routingpg.Store
	queues  *routingredis.Queues
	handler *routingkafka.Handler
	// src lists every bank's open assignments, as routing's start-up does.
	src routingredis.Source
}

// list returns a branch's whole queue in order.
func (f *fixture) list(t *testing.T, branch string) []routing.Queued {
	t.Helper()
	es, _, _, err := f.queues.Page(context.Background(), "bank-a", branch, nil, routingredis.Cursor{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// newFixture is a routing database holding bank-a's org tree: br-1 with a
// teller and a complaint manager, br-2 with a teller and a lobby manager
// (no complaint manager), br-3 with nobody active.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	opts, err := redis.ParseURL(testinfra.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	store := routingpg.New(pool)
	err = store.ImportOrg(ctx, "bank-a",
		[]routingpg.Region{{ID: "rg-1", Name: "East"}, {ID: "rg-2", Name: "West"}},
		[]routing.Branch{
			{ID: "br-1", Region: "rg-1", Name: "One", TimeZone: "Asia/Shanghai", CalendarID: "cn"},
			{ID: "br-2", Region: "rg-2", Name: "Two", TimeZone: "Asia/Shanghai", CalendarID: "cn"},
			{ID: "br-3", Region: "rg-2", Name: "Three", TimeZone: "Asia/Shanghai", CalendarID: "cn"},
		},
		[]routing.Staff{
			{ID: "teller-1", Name: "Li", Role: routing.RoleTeller, Branch: "br-1", Region: "rg-1", AuthorityLevel: 1, Active: true, OnDuty: true},
			{ID: "cm-1", Name: "Wang", Role: routing.RoleComplaintManager, Branch: "br-1", Region: "rg-1", AuthorityLevel: 2, Active: true, OnDuty: true},
			{ID: "teller-2", Name: "Zhao", Role: routing.RoleTeller, Branch: "br-2", Region: "rg-2", AuthorityLevel: 1, Active: true, OnDuty: true},
			{ID: "lobby-2", Name: "Qian", Role: routing.RoleLobbyManager, Branch: "br-2", Region: "rg-2", AuthorityLevel: 2, Active: true, OnDuty: true},
			{ID: "gone-3", Name: "Sun", Role: routing.RoleComplaintManager, Branch: "br-3", Region: "rg-2", AuthorityLevel: 2, Active: true, OnDuty: true},
		})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE staff SET active = false WHERE id = 'gone-3'`); err != nil {
		t.Fatal(err)
	}
	queues := routingredis.New(rdb)
	return &fixture{pool: pool, rdb: rdb, store: store, queues: queues,
		handler: &routingkafka.Handler{Store: store, Queues: queues},
		src: func(ctx context.Context, fn func(routing.Queued) error) error {
			return store.OpenAssignments(ctx, pgdb.AllTenants, fn)
		}}
}

func caseCreated(caseID, branch, reporter string, at time.Time) *eventsv1.Envelope {
	return &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: caseID, Type: "CaseCreated", Producer: "intake",
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{
			CaseNumber: "CD-20261122-000001", BranchId: branch, RegionId: "rg-1", ReportedBy: reporter,
			CreatedAt: timestamppb.New(at), TimeZone: "Asia/Shanghai", CalendarId: "cn"}}}
}

// handle runs the handler in its own transaction, as the consumer does.
func (f *fixture) handle(t *testing.T, env *eventsv1.Envelope) error {
	t.Helper()
	ctx := context.Background()
	return pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error { return f.handler.Handle(ctx, tx, env) })
}

// assign handles env and runs its after-commit effect, failing on any error.
func (f *fixture) assign(t *testing.T, env *eventsv1.Envelope) {
	t.Helper()
	if err := f.handle(t, env); err != nil {
		t.Fatalf("handle: %v", err)
	}
	if err := f.handler.AfterCommit(context.Background(), env); err != nil {
		t.Fatalf("after commit: %v", err)
	}
}

func (f *fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// outboxFor decodes the outbox events of a case.
func (f *fixture) outboxFor(t *testing.T, caseID string) []*eventsv1.Envelope {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT topic, payload FROM outbox WHERE msg_key = $1 ORDER BY id`, caseID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*eventsv1.Envelope
	for rows.Next() {
		var topic string
		var payload []byte
		if err := rows.Scan(&topic, &payload); err != nil {
			t.Fatal(err)
		}
		if topic != eventbus.TopicAssignmentEvents {
			t.Errorf("event on topic %q, want %q", topic, eventbus.TopicAssignmentEvents)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(payload, env); err != nil {
			t.Fatalf("outbox payload is not an Envelope: %v", err)
		}
		out = append(out, env)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewCaseGetsExactlyOneOwner(t *testing.T) {
	tests := []struct {
		name       string
		branch     string
		reporter   string
		wantOwner  string
		wantReason string
		// The first receiver, recorded truthfully: the reporter, or the
		// channel when a bank system registered the case alone.
		wantFirst string
	}{
		{"a case reported by a teller of the branch is the teller's", "br-1", "teller-1", "teller-1", routing.ReasonFirstResponder, "teller-1"},
		{"a case reported by the complaint manager is theirs", "br-1", "cm-1", "cm-1", routing.ReasonFirstResponder, "cm-1"},
		{"a case nobody reported goes to the complaint manager", "br-1", "", "cm-1", routing.ReasonComplaintManager, "channel:CHANNEL_UNSPECIFIED"},
		{"a case reported by staff of another branch goes to the complaint manager", "br-1", "teller-2", "cm-1", routing.ReasonComplaintManager, "teller-2"},
		{"a branch without a complaint manager falls back to the lobby manager", "br-2", "", "lobby-2", routing.ReasonComplaintManager, "channel:CHANNEL_UNSPECIFIED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			caseID := uuid.NewString()
			env := caseCreated(caseID, tt.branch, tt.reporter, t0)
			if err := f.handle(t, env); err != nil {
				t.Fatal(err)
			}

			v, err := f.store.Assignment(ctx, "bank-a", caseID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Owner.Staff != tt.wantOwner || v.FirstResponder != tt.wantFirst || v.Branch != tt.branch || !v.EnqueuedAt.Equal(t0) {
				t.Errorf("assignment %+v, want owner %s, first responder %s at %s since %s", v, tt.wantOwner, tt.wantFirst, tt.branch, t0)
			}
			if len(v.Handovers) != 1 || v.Handovers[0].From != "" || v.Handovers[0].To != tt.wantOwner || v.Handovers[0].Reason != tt.wantReason {
				t.Errorf("hand-overs %+v, want one from nobody to %s for %s", v.Handovers, tt.wantOwner, tt.wantReason)
			}
			events := f.outboxFor(t, caseID)
			if len(events) != 1 {
				t.Fatalf("%d outbox events, want 1", len(events))
			}
			e, a := events[0], events[0].GetAssignmentMade()
			if a == nil || e.GetType() != "AssignmentMade" || e.GetCaseId() != caseID || e.GetTenantId() != "bank-a" || e.GetEventId() == "" {
				t.Fatalf("outbox event %v, want AssignmentMade of case %s", e, caseID)
			}
			if a.GetOwnerId() != tt.wantOwner || a.GetReason() != tt.wantReason || a.GetBranchId() != tt.branch || !a.GetAssignedAt().AsTime().Equal(t0) ||
				a.GetFirstResponderId() != tt.wantFirst || a.GetKind() != "assign" || a.GetSeq() != 1 || a.GetPickupPending() {
				t.Errorf("AssignmentMade %v, want owner %s for %s", a, tt.wantOwner, tt.wantReason)
			}

			// A redelivery that got past the processed-events check, with a new event id.
			again := caseCreated(caseID, tt.branch, "teller-1", t0.Add(time.Hour))
			if err := f.handle(t, again); err != nil {
				t.Fatalf("second delivery: %v", err)
			}
			for what, n := range map[string]int{
				"assignments": f.count(t, `SELECT count(*) FROM assignments WHERE case_id = $1`, caseID),
				"hand-overs":  f.count(t, `SELECT count(*) FROM handovers WHERE case_id = $1`, caseID),
				"events":      f.count(t, `SELECT count(*) FROM outbox WHERE msg_key = $1`, caseID),
			} {
				if n != 1 {
					t.Errorf("%d %s after a second delivery, want 1", n, what)
				}
			}
			if v2, err := f.store.Assignment(ctx, "bank-a", caseID); err != nil || v2.Owner.Staff != tt.wantOwner || !v2.EnqueuedAt.Equal(t0) {
				t.Errorf("second delivery changed the assignment: %+v, %v", v2, err)
			}
		})
	}
}

func TestCaseThatCannotBeAssignedIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		env  *eventsv1.Envelope
	}{
		{"a branch routing does not know", caseCreated(uuid.NewString(), "br-unknown", "", t0)},
		{"a branch of another bank", func() *eventsv1.Envelope {
			e := caseCreated(uuid.NewString(), "br-1", "", t0)
			e.TenantId = "bank-b"
			return e
		}()},
		{"a branch with nobody active to own it", caseCreated(uuid.NewString(), "br-3", "", t0)},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.handle(t, tt.env); !eventbus.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
		})
	}
	for table, n := range map[string]int{
		"assignments": f.count(t, `SELECT count(*) FROM assignments`),
		"outbox":      f.count(t, `SELECT count(*) FROM outbox`),
	} {
		if n != 0 {
			t.Errorf("%s has %d rows", table, n)
		}
	}
}

func TestEventsOtherThanCaseCreatedChangeNothing(t *testing.T) {
	f := newFixture(t)
	env := &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: uuid.NewString(),
		Payload: &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{Kind: "resolve"}}}
	if err := f.handle(t, env); err != nil {
		t.Fatal(err)
	}
	if err := f.handler.AfterCommit(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM assignments`) + f.count(t, `SELECT count(*) FROM outbox`); n != 0 {
		t.Errorf("%d rows written", n)
	}
}

func TestAfterCommitQueuesTheCase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	caseID := uuid.NewString()
	at := t0.Add(1500 * time.Millisecond)
	f.assign(t, caseCreated(caseID, "br-1", "teller-1", at))
	got := f.list(t, "br-1")
	want := []routing.Queued{{CaseID: caseID, Tenant: "bank-a", Branch: "br-1", Owner: routing.Owner{Staff: "teller-1"},
		Severity: "SEVERITY_UNSPECIFIED", EnqueuedAt: at}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("queue %v, want %v", got, want)
	}
	if mine, _, _, err := f.queues.Page(ctx, "bank-a", "br-1", &routing.Owner{Staff: "teller-1"}, routingredis.Cursor{}, 10); err != nil || !reflect.DeepEqual(mine, want) {
		t.Errorf("teller-1's own queue %v, %v; want %v", mine, err, want)
	}
	// A redelivered event's after-commit effect leaves one entry.
	f.assign(t, caseCreated(caseID, "br-1", "teller-1", at.Add(time.Hour)))
	if got := f.list(t, "br-1"); !reflect.DeepEqual(got, want) {
		t.Errorf("queue after redelivery %v, want %v", got, want)
	}
}

// TestQueuesRebuildFromTheDatabaseAlone is invariant 4: Redis holds nothing
// that cannot be rebuilt from the routing database.
func TestQueuesRebuildFromTheDatabaseAlone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.assign(t, caseCreated(uuid.NewString(), "br-1", "teller-1", t0.Add(2*time.Minute)))
	f.assign(t, caseCreated(uuid.NewString(), "br-2", "", t0.Add(time.Minute)))
	f.assign(t, caseCreated(uuid.NewString(), "br-1", "", t0))

	snapshot := func() map[string][]routing.Queued {
		t.Helper()
		out := map[string][]routing.Queued{}
		for _, b := range []string{"br-1", "br-2"} {
			out[b] = f.list(t, b)
		}
		return out
	}
	before := snapshot()
	if len(before["br-1"]) != 2 || len(before["br-2"]) != 1 {
		t.Fatalf("queues before the loss %v, want 2 cases in br-1 and 1 in br-2", before)
	}
	if before["br-1"][0].Owner.Staff != "cm-1" || before["br-1"][1].Owner.Staff != "teller-1" || before["br-2"][0].Owner.Staff != "lobby-2" {
		t.Fatalf("queues before the loss %v: wrong order or owners", before)
	}

	if err := f.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if lost := snapshot(); len(lost["br-1"])+len(lost["br-2"]) != 0 {
		t.Fatalf("queues survived FLUSHDB: %v", lost)
	}

	rebuild := func(fn func(routing.Queued) error) error { return f.src(ctx, fn) }
	for i := 1; i <= 2; i++ {
		n, err := f.queues.Rebuild(ctx, rebuild)
		if err != nil {
			t.Fatalf("rebuild %d: %v", i, err)
		}
		if n != 3 {
			t.Errorf("rebuild %d put %d entries, want 3", i, n)
		}
		if after := snapshot(); !reflect.DeepEqual(after, before) {
			t.Errorf("after rebuild %d queues are %v, want %v", i, after, before)
		}
		keys, err := f.rdb.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		// Per branch a queue, an entries hash, a loads hash and one queue per
		// owner (br-1: cm-1 and teller-1; br-2: lobby-2).
		if len(keys) != 9 {
			t.Errorf("after rebuild %d Redis holds keys %v, want 9", i, keys)
		}
	}
}

// TestWatchRebuildsQueuesAfterRedisLosesThem: a Redis restart without
// persistence empties the queues while routing keeps running; the watcher
// notices the missing marker and puts them back without a routing restart.
func TestWatchRebuildsQueuesAfterRedisLosesThem(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := uuid.NewString()
	f.assign(t, caseCreated(id, "br-1", "teller-1", t0))
	if n, err := f.queues.EnsureBuilt(ctx, f.src, false); err != nil || n != 1 {
		t.Fatalf("first EnsureBuilt = %d, %v; want 1 entry put back", n, err)
	}
	if n, err := f.queues.EnsureBuilt(ctx, f.src, false); err != nil || n != 0 {
		t.Fatalf("EnsureBuilt with the marker present = %d, %v; want nothing to do", n, err)
	}
	done := make(chan error, 1)
	go func() {
		done <- f.queues.Watch(ctx, f.src, 20*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	if err := f.rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		q := f.list(t, "br-1")
		if len(q) == 1 && q[0].CaseID == id && q[0].Owner.Staff == "teller-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not rebuilt after Redis lost it: %v", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch returned %v after cancel", err)
	}
}

// After a failed queue write the entry may be missing while the marker
// remains; Invalidate makes the next check rebuild it.
func TestInvalidateMakesTheNextCheckRebuild(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := uuid.NewString()
	f.assign(t, caseCreated(id, "br-1", "teller-1", t0))
	if _, err := f.queues.EnsureBuilt(ctx, f.src, true); err != nil {
		t.Fatal(err)
	}
	// The entry vanishes (its write failed) but the marker stays.
	if err := f.rdb.Del(ctx, "cd:{bank-a:br-1}:queue").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.queues.EnsureBuilt(ctx, f.src, false); n != 0 {
		t.Fatalf("rebuilt %d entries with the marker present", n)
	}
	f.queues.Invalidate(ctx)
	if n, err := f.queues.EnsureBuilt(ctx, f.src, false); err != nil || n != 1 {
		t.Fatalf("EnsureBuilt after Invalidate = %d, %v; want the entry put back", n, err)
	}
	if q := f.list(t, "br-1"); len(q) != 1 || q[0].CaseID != id {
		t.Fatalf("queue %v", q)
	}
}

// A closed or withdrawn case leaves its queue, for good (a rebuild does
// not bring it back); a reopened one comes back.
func TestClosedCasesLeaveTheQueueAndReopenedOnesReturn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	caseID := uuid.NewString()
	f.assign(t, caseCreated(caseID, "br-1", "teller-1", t0))
	step := func(action, to string) {
		f.assign(t, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: caseID,
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: action, ToStatus: casesv1.CaseStatus(casesv1.CaseStatus_value[to]), At: timestamppb.New(t0.Add(time.Hour))}}})
	}
	queued := func() bool {
		es := f.list(t, "br-1")
		return len(es) == 1 && es[0].CaseID == caseID
	}
	step("answer", "CASE_STATUS_ANSWERED")
	if queued() {
		t.Fatal("an answered case is still in the open queue")
	}
	step("customerDisagrees", "CASE_STATUS_HANDLING")
	if !queued() {
		t.Fatal("a case worked again after its answer is not queued")
	}
	step("close", "CASE_STATUS_CLOSED")
	if queued() {
		t.Fatal("a closed case is still queued")
	}
	if _, err := f.queues.EnsureBuilt(ctx, f.src, true); err != nil {
		t.Fatal(err)
	}
	if queued() {
		t.Fatal("a rebuild brought the closed case back")
	}
	step("reopen", "CASE_STATUS_HANDLING")
	if !queued() {
		t.Fatal("a reopened case is not queued")
	}
	step("withdraw", "CASE_STATUS_WITHDRAWN")
	if queued() {
		t.Fatal("a withdrawn case is still queued")
	}
}

// A breached deadline moves the case one rung up its branch's ladder
// (teller → complaint manager → branch head), recorded as a hand-over,
// announced and re-queued; with nobody higher, or once closed, it stays.
func TestABreachEscalatesTheCaseUpTheLadder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	caseID := uuid.NewString()
	f.assign(t, caseCreated(caseID, "br-1", "teller-1", t0))
	breach := func(at time.Time) *eventsv1.Envelope {
		return &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: caseID, Producer: "slatimer", OccurredAt: timestamppb.New(at),
			Payload: &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: timestamppb.New(at)}}}
	}
	owner := func() string {
		v, err := f.store.Assignment(ctx, "bank-a", caseID)
		if err != nil {
			t.Fatal(err)
		}
		return v.Owner.Staff
	}
	f.assign(t, breach(t0.Add(time.Hour)))
	if got := owner(); got != "cm-1" {
		t.Fatalf("after the breach the owner is %s, want the complaint manager cm-1", got)
	}
	v, _ := f.store.Assignment(ctx, "bank-a", caseID)
	if last := v.Handovers[len(v.Handovers)-1]; last.From != "teller-1" || last.To != "cm-1" || last.Reason != "escalated_on_breach:DEADLINE_KIND_FIRST_ANSWER" {
		t.Errorf("hand-over %+v, want teller-1 -> cm-1 on breach", last)
	}
	var announced int
	for _, e := range f.outboxFor(t, caseID) {
		if a := e.GetAssignmentMade(); a != nil && a.GetOwnerId() == "cm-1" && a.GetPreviousOwnerId() == "teller-1" {
			announced++
		}
	}
	if announced != 1 {
		t.Errorf("%d AssignmentMade to cm-1, want 1", announced)
	}
	if es := f.list(t, "br-1"); len(es) != 1 || es[0].Owner.Staff != "cm-1" {
		t.Errorf("queue %v, want the case under cm-1", es)
	}
	// Nobody above the complaint manager at br-1: it stays.
	f.assign(t, breach(t0.Add(2*time.Hour)))
	if got := owner(); got != "cm-1" {
		t.Errorf("with nobody higher the owner became %s", got)
	}
}

// One breach escalates once, even when the same event comes again (past
// the consumer's processed-events check, e.g. replayed from the
// dead-letter topic); a second, different breach escalates again.
func TestABreachEscalatesExactlyOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	caseID := uuid.NewString()
	f.assign(t, caseCreated(caseID, "br-1", "teller-1", t0))
	breach := &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: caseID, Producer: "slatimer", OccurredAt: timestamppb.New(t0.Add(time.Hour)),
		Payload: &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_ACKNOWLEDGE", DueAt: timestamppb.New(t0.Add(time.Hour))}}}
	for range 3 {
		f.assign(t, breach)
	}
	v, err := f.store.Assignment(ctx, "bank-a", caseID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Owner.Staff != "cm-1" || len(v.Handovers) != 2 {
		t.Fatalf("after one breach delivered three times: owner %v, %d hand-overs; want cm-1 and 2", v.Owner, len(v.Handovers))
	}
}

// Deadlines order the queue: the answer deadline from DeadlinesArmed, and a
// recount moves it.
func TestDeadlinesOrderTheQueue(t *testing.T) {
	f := newFixture(t)
	a, b := uuid.NewString(), uuid.NewString()
	f.assign(t, caseCreated(a, "br-1", "teller-1", t0))
	f.assign(t, caseCreated(b, "br-1", "teller-1", t0.Add(time.Minute)))
	armed := func(id string, due time.Time) *eventsv1.Envelope {
		return &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: id,
			Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: &eventsv1.DeadlinesArmed{Deadlines: []*eventsv1.ArmedDeadline{
				{Kind: "DEADLINE_KIND_ACKNOWLEDGE", DueAt: timestamppb.New(due.Add(-time.Hour))},
				{Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: timestamppb.New(due)}}}}}
	}
	f.assign(t, armed(a, t0.Add(48*time.Hour)))
	f.assign(t, armed(b, t0.Add(24*time.Hour)))
	if got := f.list(t, "br-1"); len(got) != 2 || got[0].CaseID != b || !got[0].DueAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("queue %+v, want b (due sooner) first", got)
	}
	f.assign(t, &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: a,
		Payload: &eventsv1.Envelope_DeadlineRecomputed{DeadlineRecomputed: &eventsv1.DeadlineRecomputed{Kind: "DEADLINE_KIND_FIRST_ANSWER",
			NewDueAt: timestamppb.New(t0.Add(2 * time.Hour))}}})
	if got := f.list(t, "br-1"); got[0].CaseID != a {
		t.Errorf("queue %+v, want a first after its deadline moved nearer", got)
	}
}
