package reportkafka_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	reportingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/reporting/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
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
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// published is one event with the topic its producer writes it to.
type published struct {
	topic string
	env   *eventsv1.Envelope
}

// history generates the events of n cases of one bank over three months
// (seeded, so the same every run): creations, deadlines, assignments,
// hand-overs, escalations, acknowledgments, warnings, breaches, answers with
// root cause and compensation, return visits, closures and withdrawals.
func history(n int) []published {
	rng := rand.New(rand.NewPCG(7, 12))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cats := []casesv1.Category{casesv1.Category_CATEGORY_SERVICE_ATTITUDE, casesv1.Category_CATEGORY_FEE_DISPUTE, casesv1.Category_CATEGORY_CASH_DISCREPANCY}
	chans := []casesv1.Channel{casesv1.Channel_CHANNEL_ON_SITE, casesv1.Channel_CHANNEL_PHONE, casesv1.Channel_CHANNEL_ONLINE}
	causes := []casesv1.RootCause{casesv1.RootCause_ROOT_CAUSE_MANUAL_ENTRY_ERROR, casesv1.RootCause_ROOT_CAUSE_SYSTEM_OPERATION_ERROR, casesv1.RootCause_ROOT_CAUSE_OTHER}
	var out []published
	for i := range n {
		id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "case-%d", i)).String()
		at := base.Add(time.Duration(rng.IntN(90*24*60)) * time.Minute)
		env := func(topic string, p proto.Message, when time.Time) {
			e := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: id,
				OccurredAt: timestamppb.New(when), Producer: "test"}
			switch p := p.(type) {
			case *eventsv1.CaseCreated:
				e.Type, e.Payload = "CaseCreated", &eventsv1.Envelope_CaseCreated{CaseCreated: p}
			case *eventsv1.CaseTransitioned:
				e.Type, e.Payload = "CaseTransitioned", &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: p}
			case *eventsv1.AssignmentMade:
				e.Type, e.Payload = "AssignmentMade", &eventsv1.Envelope_AssignmentMade{AssignmentMade: p}
			case *eventsv1.DeadlinesArmed:
				e.Type, e.Payload = "DeadlinesArmed", &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: p}
			case *eventsv1.DeadlineWarned:
				e.Type, e.Payload = "DeadlineWarned", &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: p}
			case *eventsv1.DeadlineBreached:
				e.Type, e.Payload = "DeadlineBreached", &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: p}
			case *eventsv1.NotificationSent:
				e.Type, e.Payload = "NotificationSent", &eventsv1.Envelope_NotificationSent{NotificationSent: p}
			}
			out = append(out, published{topic, e})
		}
		branch := rng.IntN(4)
		env(eventbus.TopicCaseEvents, &eventsv1.CaseCreated{BranchId: fmt.Sprintf("b%d", branch), RegionId: fmt.Sprintf("r%d", branch/2),
			Channel: chans[rng.IntN(3)], Category: cats[rng.IntN(3)], Severity: casesv1.Severity(1 + rng.IntN(3)),
			CustomerTier: casesv1.CustomerTier(1 + rng.IntN(3)), Status: casesv1.CaseStatus_CASE_STATUS_REPORTED,
			CreatedAt: timestamppb.New(at), ReceivedAt: timestamppb.New(at), Repeat: rng.IntN(5) == 0}, at)
		env(eventbus.TopicSLAEvents, &eventsv1.DeadlinesArmed{Deadlines: []*eventsv1.ArmedDeadline{
			{Kind: report.KindAcknowledge, DueAt: timestamppb.New(at.Add(time.Hour))},
			{Kind: report.KindFirstAnswer, DueAt: timestamppb.New(at.Add(24 * time.Hour))},
			{Kind: report.KindResolution, DueAt: timestamppb.New(at.Add(7 * 24 * time.Hour))}}}, at)
		env(eventbus.TopicAssignmentEvents, &eventsv1.AssignmentMade{OwnerId: "t", Kind: "assign", Level: "first_receiver", AssignedAt: timestamppb.New(at)}, at)
		if rng.IntN(4) > 0 {
			d := time.Duration(rng.IntN(120)) * time.Minute
			env(eventbus.TopicNotificationEvents, &eventsv1.NotificationSent{Template: report.AcknowledgmentTemplate, SentAt: timestamppb.New(at.Add(d))}, at.Add(d))
			if d > time.Hour {
				env(eventbus.TopicSLAEvents, &eventsv1.DeadlineBreached{Kind: report.KindAcknowledge}, at.Add(time.Hour))
			}
		}
		if rng.IntN(3) == 0 {
			env(eventbus.TopicAssignmentEvents, &eventsv1.AssignmentMade{OwnerId: "cm", Kind: "transfer", Level: "complaint_manager", AssignedAt: timestamppb.New(at.Add(time.Hour))}, at)
			env(eventbus.TopicSLAEvents, &eventsv1.DeadlineWarned{Kind: report.KindFirstAnswer, Level: "yellow"}, at)
		}
		if rng.IntN(5) == 0 {
			env(eventbus.TopicAssignmentEvents, &eventsv1.AssignmentMade{OwnerId: "rs", Kind: "escalate", Level: "regional", AssignedAt: timestamppb.New(at.Add(2 * time.Hour))}, at)
		}
		switch rng.IntN(5) {
		case 0: // left open
		case 1:
			env(eventbus.TopicCaseEvents, &eventsv1.CaseTransitioned{Action: "withdraw", ToStatus: casesv1.CaseStatus_CASE_STATUS_WITHDRAWN, At: timestamppb.New(at.Add(time.Hour))}, at)
		default:
			ans := at.Add(time.Duration(1+rng.IntN(60)) * time.Hour)
			if ans.After(at.Add(24 * time.Hour)) {
				env(eventbus.TopicSLAEvents, &eventsv1.DeadlineBreached{Kind: report.KindFirstAnswer}, at.Add(24*time.Hour))
			}
			a := &eventsv1.CaseTransitioned{Action: "answer", ToStatus: casesv1.CaseStatus_CASE_STATUS_ANSWERED, At: timestamppb.New(ans), RootCause: causes[rng.IntN(3)]}
			if rng.IntN(3) == 0 {
				a.CompensationKind, a.CompensationAmountFen, a.CompensationTier = casesv1.CompensationKind_COMPENSATION_KIND_GIFT, int64(100*rng.IntN(100)), "regular"
			}
			env(eventbus.TopicCaseEvents, a, ans)
			env(eventbus.TopicCaseEvents, &eventsv1.CaseTransitioned{Action: "recordReturnVisit", ToStatus: casesv1.CaseStatus_CASE_STATUS_FOLLOWING_UP,
				At: timestamppb.New(ans.Add(time.Hour)), Satisfaction: int32(1 + rng.IntN(5))}, ans)
			if rng.IntN(2) == 0 {
				env(eventbus.TopicCaseEvents, &eventsv1.CaseTransitioned{Action: "close", ToStatus: casesv1.CaseStatus_CASE_STATUS_CLOSED, At: timestamppb.New(ans.Add(2 * time.Hour))}, ans)
			}
		}
	}
	return out
}

// snapshot is every figure of the API for a few filters.
func snapshot(t *testing.T, store *reportpg.Store) []proto.Message {
	t.Helper()
	srv := &reportgrpc.Server{
		Reports: &report.Reports{Store: store, Figures: store, Now: func() time.Time { return t0 }},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Zone:    time.FixedZone("CST", 8*3600),
	}
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "bank-a", Subject: "ho", Role: auth.RoleHeadOffice})
	feb := &reportingv1.ReportFilter{From: timestamppb.New(time.Date(2025, 1, 31, 16, 0, 0, 0, time.UTC)), To: timestamppb.New(time.Date(2025, 2, 28, 16, 0, 0, 0, time.UTC))}
	var out []proto.Message
	must := func(m proto.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	for _, f := range []*reportingv1.ReportFilter{nil, feb, {RegionId: "r1"}, {Category: casesv1.Category_CATEGORY_FEE_DISPUTE}} {
		must(srv.GetOverview(ctx, &reportingv1.GetOverviewRequest{Filter: f}))
		for d := range 6 {
			must(srv.GetBreakdown(ctx, &reportingv1.GetBreakdownRequest{Dimension: reportingv1.Dimension(d + 1), Filter: f}))
		}
		must(srv.GetCompliance(ctx, &reportingv1.GetComplianceRequest{Filter: f}))
		must(srv.GetRootCauses(ctx, &reportingv1.GetRootCausesRequest{Filter: f}))
		must(srv.GetHeatmap(ctx, &reportingv1.GetHeatmapRequest{Filter: f}))
		must(srv.GetTrends(ctx, &reportingv1.GetTrendsRequest{Filter: f}))
		must(srv.GetCompensation(ctx, &reportingv1.GetCompensationRequest{Filter: f}))
		must(srv.ListCases(ctx, &reportingv1.ListCasesRequest{Filter: f, PageSize: 500}))
	}
	return out
}

func waitProcessed(t *testing.T, pool *pgxpool.Pool, group string, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM processed_events WHERE consumer = $1`, group).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events processed", n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The rebuild replays the topics from the start into fresh tables and ends
// with the same numbers as the read model built event by event — even when
// the live tables were damaged — while the live consumer keeps running and
// keeps writing into the swapped-in tables.
func TestARebuildFromTheTopicsEndsWithTheSameNumbers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	url := testinfra.NewDatabase(t)
	pool, err := pgdb.Open(ctx, url, migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	brokers := []string{testinfra.Brokers(t)}
	topic := map[string]string{}
	var topics []string
	for _, base := range reportkafka.Topics {
		topic[base] = testinfra.NewTopicName(t, base)
		topics = append(topics, topic[base])
	}
	if err := eventbus.EnsureTopics(ctx, brokers, testinfra.KafkaPartitions, topics...); err != nil {
		t.Fatal(err)
	}
	if err := eventbus.EnsureTopics(ctx, brokers, 1, eventbus.DeadLetterTopic(topic[eventbus.TopicCaseEvents])); err != nil {
		t.Fatal(err)
	}
	store := &reportpg.Store{Pool: pool}
	h, err := reportkafka.NewHandler(store, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	writer := eventbus.NewWriter(brokers)
	consumer := &eventbus.Consumer{Group: testinfra.NewTopicName(t, reportkafka.Group), Topics: topics, Brokers: brokers,
		Pool: pool, Handle: h.Handle, HandleBatch: h.HandleBatch, AfterCommit: h.AfterCommit, Log: log, DeadLetters: writer}
	stopped := make(chan error, 1)
	go func() { stopped <- consumer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("consumer: %v", err)
		}
		_ = writer.Close()
	})
	publish := func(evs []published) {
		t.Helper()
		msgs := make([]kafka.Message, len(evs))
		for i, e := range evs {
			v, err := proto.Marshal(e.env)
			if err != nil {
				t.Fatal(err)
			}
			msgs[i] = kafka.Message{Topic: topic[e.topic], Key: []byte(e.env.GetCaseId()), Value: v}
		}
		// A topic just created may not be known to every metadata answer yet.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := writer.WriteMessages(ctx, msgs...)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	evs := history(150)
	publish(evs)
	// A poison event the live consumer dead-letters: the rebuild skips it too.
	poison := &eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: "bank-a", CaseId: uuid.NewString(), Type: "CaseCreated",
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{}}}
	publish([]published{{eventbus.TopicCaseEvents, poison}})
	waitProcessed(t, pool, consumer.Group, len(evs))
	if _, err := store.RefreshRollups(ctx, 10000); err != nil {
		t.Fatal(err)
	}
	incremental := snapshot(t, store)

	// Damage the live read model: a lost case and a wrong rollup.
	if _, err := pool.Exec(ctx, `DELETE FROM case_facts WHERE case_id = (SELECT min(case_id) FROM case_facts)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE rollup_month SET received = received + 100`); err != nil {
		t.Fatal(err)
	}
	if damaged := snapshot(t, store); proto.Equal(damaged[0], incremental[0]) {
		t.Fatal("the damage did not show")
	}

	if err := reportpg.PrepareRebuild(ctx, pool); err != nil {
		t.Fatal(err)
	}
	fresh, err := reportpg.RebuildPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	rb := &reportkafka.Rebuilder{Brokers: brokers, Topics: topics, Handler: h, Fresh: fresh, Batch: 100, Log: log, Group: consumer.Group,
		Recompute: func(ctx context.Context, tx pgx.Tx) error { return reportpg.RecomputeAllIn(ctx, tx, "") },
		Refresh:   reportpg.RefreshRollupsIn,
		Swap: func(ctx context.Context, catchUp func(pgx.Tx) error) error {
			return reportpg.SwapRebuild(ctx, fresh, consumer.Group, catchUp)
		}}
	n, err := rb.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(evs)+1 {
		t.Errorf("replayed %d events, want %d", n, len(evs)+1)
	}
	fresh.Close()
	if err := pgdb.Secure(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	if err := reportpg.DropOld(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rebuilt := snapshot(t, store)
	for i := range incremental {
		if !proto.Equal(incremental[i], rebuilt[i]) {
			t.Errorf("figure %d differs after the rebuild:\nincremental %v\nrebuilt     %v", i, incremental[i], rebuilt[i])
		}
	}

	// The live consumer goes on into the swapped-in tables.
	more := history(160)[len(evs):]
	publish(more)
	waitProcessed(t, pool, consumer.Group, len(evs)+len(more))
}
