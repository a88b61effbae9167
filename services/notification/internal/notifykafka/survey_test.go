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
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A closure becomes one survey message to the customer per closure
// (redeliveries included), counted from the time the case was closed.
func TestAClosureQueuesOneSurveyPerClosure(t *testing.T) {
	rec := &recorder{}
	h := &Handler{Store: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return due.Add(time.Minute) }}
	step := func(eventID, action string) *eventsv1.Envelope {
		return &eventsv1.Envelope{EventId: eventID, TenantId: "bank-a", CaseId: caseID,
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: action, ActorId: "head-1", At: timestamppb.New(due), TimeZone: "Asia/Urumqi"}}}
	}
	for _, env := range []*eventsv1.Envelope{step("s1", "recordReturnVisit"), step("s2", "close"), step("s2", "close"), step("s3", "reopen")} {
		if err := h.Handle(context.Background(), nil, env); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.queued) != 1 {
		t.Fatalf("queued %d, want the one survey", len(rec.queued))
	}
	d := rec.queued[0]
	if d.Template != notify.TemplateCaseSurvey || d.ID != SurveyID("bank-a", "s2") || d.DedupKey != "s2" ||
		!d.ExpectedAnswerAt.Equal(due) || d.TimeZone != "Asia/Urumqi" || d.Status != notify.StatusPending || d.TenantID != "bank-a" {
		t.Errorf("queued %+v", d)
	}
	if err := h.Handle(context.Background(), nil, step("s4", "close")); err != nil {
		t.Fatal(err)
	}
	if len(rec.queued) != 2 || rec.queued[1].ID == d.ID {
		t.Fatalf("closed again after the reopening: %d surveys, want a second with its own id", len(rec.queued))
	}
	if err := h.Handle(context.Background(), nil, &eventsv1.Envelope{TenantId: "bank-a", CaseId: caseID,
		Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{Action: "close"}}}); !eventbus.IsPermanent(err) {
		t.Errorf("a closure without id or time: %v, want permanent", err)
	}
}
