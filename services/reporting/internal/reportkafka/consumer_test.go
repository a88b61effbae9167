package reportkafka_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportpg"
	"github.com/counterdesk/counterdesk/services/reporting/migrations"
	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres|testinfra.Kafka)) }

// The whole path as deployed: events published to the four topics, read by
// the platform's idempotent consumer, folded by this handler and store.
func TestEventsFromKafkaReachTheSummaryOnceEach(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
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

	publish := func(base string, env *eventsv1.Envelope) {
		t.Helper()
		value, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := writer.WriteMessages(ctx, kafka.Message{Topic: topic[base], Key: []byte(env.GetCaseId()), Value: value}); err != nil {
			t.Fatalf("publish %s: %v", env.GetType(), err)
		}
	}
	caseID := uuid.NewString()
	withID := func(env *eventsv1.Envelope) *eventsv1.Envelope {
		env.EventId, env.TenantId, env.CaseId = uuid.Must(uuid.NewV7()).String(), "bank-a", caseID
		return env
	}

	publish(eventbus.TopicAssignmentEvents, withID(envelope(&eventsv1.AssignmentMade{OwnerId: "teller-1", AssignedAt: timestamppb.New(t0.Add(time.Minute))})))
	publish(eventbus.TopicNotificationEvents, withID(envelope(&eventsv1.NotificationSent{Template: report.AcknowledgmentTemplate, SentAt: timestamppb.New(t0.Add(2 * time.Minute))})))
	breach := withID(envelope(&eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_HANDOVER", DueAt: timestamppb.New(t0)}))
	publish(eventbus.TopicSLAEvents, breach)
	publish(eventbus.TopicSLAEvents, breach) // the relay published it twice
	// Same key, same partition, so once this one is applied the duplicate has been seen.
	publish(eventbus.TopicSLAEvents, withID(envelope(&eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: timestamppb.New(t0)})))
	publish(eventbus.TopicCaseEvents, withID(envelope(&eventsv1.CaseCreated{BranchId: "b1", RegionId: "r1",
		Category: casesv1.Category_CATEGORY_SERVICE_ATTITUDE, Severity: casesv1.Severity_SEVERITY_NORMAL, CreatedAt: timestamppb.New(t0)})))

	reports := &report.Reports{Store: store, Now: func() time.Time { return t0.Add(time.Hour) }}
	headOffice := auth.Principal{Tenant: "bank-a", Subject: "ho", Role: auth.RoleHeadOffice}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := reports.Summary(ctx, headOffice, report.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Total == 1 && s.Breaches >= 2 && s.Acknowledged == 1 && s.Unassigned == 0 {
			if s.Breaches != 2 {
				t.Fatalf("breaches = %d, want 2: the redelivered breach was counted", s.Breaches)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("summary never showed every event: %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
