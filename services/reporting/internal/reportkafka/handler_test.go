package reportkafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
	"github.com/counterdesk/counterdesk/services/reporting/internal/reportkafka"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func envelope(payload any) *eventsv1.Envelope {
	env := &eventsv1.Envelope{EventId: "e1", TenantId: "bank-a", CaseId: "case-1", OccurredAt: timestamppb.New(t0.Add(time.Second))}
	switch p := payload.(type) {
	case *eventsv1.CaseCreated:
		env.Type, env.Payload = "CaseCreated", &eventsv1.Envelope_CaseCreated{CaseCreated: p}
	case *eventsv1.AssignmentMade:
		env.Type, env.Payload = "AssignmentMade", &eventsv1.Envelope_AssignmentMade{AssignmentMade: p}
	case *eventsv1.NotificationSent:
		env.Type, env.Payload = "NotificationSent", &eventsv1.Envelope_NotificationSent{NotificationSent: p}
	case *eventsv1.DeadlineBreached:
		env.Type, env.Payload = "DeadlineBreached", &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: p}
	case *eventsv1.DeadlineWarned:
		env.Type, env.Payload = "DeadlineWarned", &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: p}
	}
	return env
}

func TestFactFrom(t *testing.T) {
	tests := []struct {
		name   string
		env    *eventsv1.Envelope
		want   report.Fact
		ignore bool
	}{
		{"a creation keeps enum names as dimension values",
			envelope(&eventsv1.CaseCreated{CaseNumber: "C-1", BranchId: "b1", RegionId: "r1",
				Channel: casesv1.Channel_CHANNEL_PHONE, Category: casesv1.Category_CATEGORY_FEE_DISPUTE,
				Severity: casesv1.Severity_SEVERITY_COMPLEX, CustomerTier: casesv1.CustomerTier_CUSTOMER_TIER_PRIVATE,
				Status: casesv1.CaseStatus_CASE_STATUS_VERIFYING, CreatedAt: timestamppb.New(t0)}),
			report.CaseOpened{CaseNumber: "C-1", BranchID: "b1", RegionID: "r1", Channel: "CHANNEL_PHONE",
				Category: "CATEGORY_FEE_DISPUTE", Severity: "SEVERITY_COMPLEX", CustomerTier: "CUSTOMER_TIER_PRIVATE",
				Status: "CASE_STATUS_VERIFYING", CreatedAt: t0}, false},
		{"a creation without a status is a reported case, timed by the envelope when it has no time",
			envelope(&eventsv1.CaseCreated{BranchId: "b1"}),
			report.CaseOpened{BranchID: "b1", Channel: "CHANNEL_UNSPECIFIED", Category: "CATEGORY_UNSPECIFIED",
				Severity: "SEVERITY_UNSPECIFIED", CustomerTier: "CUSTOMER_TIER_UNSPECIFIED",
				Status: "CASE_STATUS_REPORTED", CreatedAt: t0.Add(time.Second)}, false},
		{"an assignment names the new owner",
			envelope(&eventsv1.AssignmentMade{OwnerId: "teller-1", PreviousOwnerId: "x", AssignedAt: timestamppb.New(t0)}),
			report.OwnerAssigned{OwnerID: "teller-1", At: t0}, false},
		{"the acknowledgment notification is an acknowledgment",
			envelope(&eventsv1.NotificationSent{Template: "case_acknowledgment", SentAt: timestamppb.New(t0)}),
			report.CustomerAcknowledged{At: t0}, false},
		{"other notifications are ignored",
			envelope(&eventsv1.NotificationSent{Template: "case_progress", SentAt: timestamppb.New(t0)}),
			nil, true},
		{"a breach counts",
			envelope(&eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: timestamppb.New(t0)}),
			report.DeadlineMissed{Kind: "DEADLINE_KIND_FIRST_ANSWER", DueAt: t0}, false},
		{"a warning counts for its deadline",
			envelope(&eventsv1.DeadlineWarned{Kind: "DEADLINE_KIND_FIRST_ANSWER", Level: "red"}),
			report.DeadlineWarned{Kind: "DEADLINE_KIND_FIRST_ANSWER", Level: "red"}, false},

		{"an envelope without a payload is ignored", envelope(nil), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := reportkafka.FactFrom(tt.env)
			if ok == tt.ignore {
				t.Fatalf("FactFrom() used = %v, want %v", ok, !tt.ignore)
			}
			if got != tt.want {
				t.Fatalf("FactFrom() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

type recorder struct {
	calls int
	err   error
}

func (r *recorder) Record(context.Context, pgx.Tx, string, string, report.Fact, report.HistoryEntry, time.Time) error {
	r.calls++
	return r.err
}

func (r *recorder) RecordBatch(_ context.Context, _ pgx.Tx, items []report.Item, _ time.Time) error {
	r.calls += len(items)
	return r.err
}

func TestHandleSendsUnusableEventsToTheDeadLetterTopic(t *testing.T) {
	now := func() time.Time { return t0 }
	t.Run("an event without a case id", func(t *testing.T) {
		rec := &recorder{}
		h, err := reportkafka.NewHandler(rec, now)
		if err != nil {
			t.Fatal(err)
		}
		env := envelope(&eventsv1.AssignmentMade{OwnerId: "teller-1", AssignedAt: timestamppb.New(t0)})
		env.CaseId = ""
		if err := h.Handle(context.Background(), nil, env); !eventbus.IsPermanent(err) {
			t.Fatalf("Handle() error = %v, want permanent", err)
		}
		if rec.calls != 0 {
			t.Fatal("the store was called")
		}
	})
	t.Run("a fact the domain refuses", func(t *testing.T) {
		h, err := reportkafka.NewHandler(&recorder{err: report.ErrInvalidFact}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Handle(context.Background(), nil, envelope(&eventsv1.AssignmentMade{})); !eventbus.IsPermanent(err) {
			t.Fatalf("Handle() error = %v, want permanent", err)
		}
	})
	t.Run("but a store failure is retried", func(t *testing.T) {
		h, err := reportkafka.NewHandler(&recorder{err: errors.New("connection reset")}, now)
		if err != nil {
			t.Fatal(err)
		}
		err = h.Handle(context.Background(), nil, envelope(&eventsv1.AssignmentMade{OwnerId: "o", AssignedAt: timestamppb.New(t0)}))
		if err == nil || eventbus.IsPermanent(err) {
			t.Fatalf("Handle() error = %v, want a retryable error", err)
		}
	})
}

func TestRecordedCasesAreCountedByCategoryAndSeverityOnly(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	t.Cleanup(func() { otel.SetMeterProvider(prev) })

	h, err := reportkafka.NewHandler(&recorder{}, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	created := envelope(&eventsv1.CaseCreated{BranchId: "b1", RegionId: "r1", Category: casesv1.Category_CATEGORY_FEE_DISPUTE,
		Severity: casesv1.Severity_SEVERITY_MAJOR, CreatedAt: timestamppb.New(t0)})
	for _, env := range []*eventsv1.Envelope{created, envelope(&eventsv1.AssignmentMade{OwnerId: "o", AssignedAt: timestamppb.New(t0)})} {
		if err := h.AfterCommit(ctx, env); err != nil {
			t.Fatal(err)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	var points []metricdata.DataPoint[int64]
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "counterdesk_cases_recorded_total" {
				points = m.Data.(metricdata.Sum[int64]).DataPoints
			}
		}
	}
	if len(points) != 1 || points[0].Value != 1 {
		t.Fatalf("points = %+v, want one case counted", points)
	}
	want := attribute.NewSet(attribute.String("category", "CATEGORY_FEE_DISPUTE"), attribute.String("severity", "SEVERITY_MAJOR"))
	if !points[0].Attributes.Equals(&want) {
		t.Fatalf("labels = %v, want only category and severity", points[0].Attributes.ToSlice())
	}
}

// An acknowledgment by a person counts like a sent one; other steps set
// the status.
func TestStepsBecomeStatusOrAcknowledgment(t *testing.T) {
	at := time.Date(2026, 11, 20, 2, 15, 0, 0, time.UTC)
	step := func(action string, to casesv1.CaseStatus) *eventsv1.Envelope {
		return &eventsv1.Envelope{TenantId: "bank-a", CaseId: "c1", Payload: &eventsv1.Envelope_CaseTransitioned{
			CaseTransitioned: &eventsv1.CaseTransitioned{Action: action, ToStatus: to, At: timestamppb.New(at)}}}
	}
	f, ok := reportkafka.FactFrom(step("acknowledge", casesv1.CaseStatus_CASE_STATUS_REPORTED))
	if a, isAck := f.(report.CustomerAcknowledged); !ok || !isAck || !a.At.Equal(at) {
		t.Errorf("acknowledge became %#v, want CustomerAcknowledged at %v", f, at)
	}
	f, ok = reportkafka.FactFrom(step("close", casesv1.CaseStatus_CASE_STATUS_CLOSED))
	if s, isStatus := f.(report.StatusChanged); !ok || !isStatus || s.Status != "CASE_STATUS_CLOSED" {
		t.Errorf("close became %#v, want StatusChanged to closed", f)
	}
}
