package notifykafka

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type recorder struct{ queued []notify.Delivery }

func (r *recorder) Enqueue(_ context.Context, _ pgx.Tx, d notify.Delivery) (bool, error) {
	r.queued = append(r.queued, d)
	return true, nil
}

const caseID = "0194f0c1-0000-7000-8000-0000000000c1"

var due = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func armed(tenant, caseID, zone string, kinds ...string) *eventsv1.Envelope {
	ev := &eventsv1.DeadlinesArmed{TimeZone: zone}
	for _, k := range kinds {
		ev.Deadlines = append(ev.Deadlines, &eventsv1.ArmedDeadline{Kind: k, DueAt: timestamppb.New(due)})
	}
	return &eventsv1.Envelope{EventId: "e1", TenantId: tenant, CaseId: caseID,
		Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: ev}}
}

func TestHandle(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		env           *eventsv1.Envelope
		wantQueued    int
		wantPermanent bool
	}{
		{"armed deadlines queue one acknowledgment", armed("bank-a", caseID, "Asia/Shanghai", notify.KindFirstAnswer), 1, false},
		{"deadlines the customer is not promised queue nothing", armed("bank-a", caseID, "", "DEADLINE_KIND_HANDOVER_PICKUP"), 0, false},
		{"other events are ignored", &eventsv1.Envelope{EventId: "e2", TenantId: "bank-a", CaseId: caseID,
			Payload: &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: &eventsv1.DeadlineWarned{}}}, 0, false},
		{"an event without a tenant is dead-lettered", armed("", caseID, "", notify.KindFirstAnswer), 0, true},
		{"an event with a bad case id is dead-lettered", armed("bank-a", "c-1", "", notify.KindFirstAnswer), 0, true},
		{"an unknown zone is dead-lettered", armed("bank-a", caseID, "Mars/Olympus", notify.KindFirstAnswer), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			h := &Handler{Store: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
			err := h.Handle(context.Background(), nil, tt.env)
			if tt.wantPermanent != eventbus.IsPermanent(err) || (!tt.wantPermanent && err != nil) {
				t.Fatalf("err = %v, want permanent %v", err, tt.wantPermanent)
			}
			if len(rec.queued) != tt.wantQueued {
				t.Fatalf("queued %d, want %d", len(rec.queued), tt.wantQueued)
			}
			if tt.wantQueued == 1 {
				d := rec.queued[0]
				if d.Status != notify.StatusPending || d.Channel != notify.ChannelEmail || d.Template != notify.TemplateCaseAcknowledgment ||
					d.TenantID != "bank-a" || d.CaseID != caseID || !d.ExpectedAnswerAt.Equal(due) || d.TimeZone != "Asia/Shanghai" ||
					!d.NextAttemptAt.Equal(now) || !d.CreatedAt.Equal(now) || d.ID == "" {
					t.Errorf("queued %+v", d)
				}
			}
		})
	}
}
