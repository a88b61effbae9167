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

// recorder keeps deliveries the way the Postgres store does: one per case,
// template, channel and dedup key.
type recorder struct {
	queued []notify.Delivery
	// acks are acknowledgments queued before the test, by case id.
	acks map[string]notify.Delivery
}

func (r *recorder) Enqueue(_ context.Context, _ pgx.Tx, d notify.Delivery) (bool, error) {
	for _, q := range r.queued {
		if q.CaseID == d.CaseID && q.Template == d.Template && q.Channel == d.Channel && q.DedupKey == d.DedupKey {
			return false, nil
		}
	}
	r.queued = append(r.queued, d)
	return true, nil
}

func (r *recorder) Acknowledgment(_ context.Context, _ pgx.Tx, tenantID, caseID string) (notify.Delivery, bool, error) {
	for _, q := range r.queued {
		if q.TenantID == tenantID && q.CaseID == caseID && q.Template == notify.TemplateCaseAcknowledgment {
			return q, true, nil
		}
	}
	d, ok := r.acks[caseID]
	return d, ok && d.TenantID == tenantID, nil
}

func (r *recorder) RecordCase(context.Context, pgx.Tx, notify.CaseRecord) error { return nil }

func (r *recorder) Case(context.Context, pgx.Tx, string, string) (notify.CaseRecord, bool, error) {
	return notify.CaseRecord{}, false, nil
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
			Payload: &eventsv1.Envelope_NotificationSent{NotificationSent: &eventsv1.NotificationSent{}}}, 0, false},
		{"a warning without a due time is dead-lettered", &eventsv1.Envelope{EventId: "e3", TenantId: "bank-a", CaseId: caseID,
			Payload: &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: &eventsv1.DeadlineWarned{Kind: notify.KindFirstAnswer, Level: "red"}}}, 0, true},
		{"a breach without an event id is dead-lettered", &eventsv1.Envelope{TenantId: "bank-a", CaseId: caseID,
			Payload: &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{Kind: notify.KindFirstAnswer,
				DueAt: timestamppb.New(due)}}}, 0, true},
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

func TestArmingRecordsWhichDeadlineWasPromisedAndWhetherItIsProvisional(t *testing.T) {
	env := armed("bank-a", caseID, "Asia/Shanghai", notify.KindResolution)
	env.GetDeadlinesArmed().Deadlines[0].Provisional = true
	rec := &recorder{}
	h := &Handler{Store: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return due }}
	if err := h.Handle(context.Background(), nil, env); err != nil {
		t.Fatal(err)
	}
	if len(rec.queued) != 1 || rec.queued[0].DeadlineKind != notify.KindResolution || !rec.queued[0].Provisional {
		t.Fatalf("queued %+v", rec.queued)
	}
}

var (
	movedFrom = due                     // 17:00 on 23 Nov in Shanghai
	movedTo   = due.Add(24 * time.Hour) // a day later
)

func recomputed(eventID, tenant, caseID, kind, zone string, from, to time.Time) *eventsv1.Envelope {
	return &eventsv1.Envelope{EventId: eventID, TenantId: tenant, CaseId: caseID,
		Payload: &eventsv1.Envelope_DeadlineRecomputed{DeadlineRecomputed: &eventsv1.DeadlineRecomputed{
			Kind: kind, OldDueAt: timestamppb.New(from), NewDueAt: timestamppb.New(to), Provisional: true,
			Reason: notify.ChangeCalendarYearLoaded, TimeZone: zone, CalendarVersion: 7,
		}}}
}

// acknowledged returns a recorder holding the case's acknowledgment, which
// promised a deadline of kind at movedFrom.
func acknowledged(kind string, status notify.Status) *recorder {
	ack := notify.NewDelivery("0194f0c1-0000-7000-8000-0000000000a1", "bank-a", caseID, notify.ChannelEmail,
		notify.TemplateCaseAcknowledgment, notify.Acknowledgment{Kind: kind, ExpectedAnswerAt: movedFrom, TimeZone: "Asia/Shanghai"},
		nil, due.Add(-48*time.Hour))
	ack.Status = status
	return &recorder{acks: map[string]notify.Delivery{caseID: ack}}
}

func TestHandleDeadlineRecomputed(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name          string
		store         *recorder
		env           *eventsv1.Envelope
		wantQueued    int
		wantPermanent bool
	}{
		{"the promised first answer moved: one message", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 1, false},
		{"the promised resolution moved: one message", acknowledged(notify.KindResolution, notify.StatusSent),
			recomputed("e1", "bank-a", caseID, notify.KindResolution, "Asia/Shanghai", movedFrom, movedTo), 1, false},
		{"a pending acknowledgment still promises: the move waits behind it", acknowledged(notify.KindFirstAnswer, notify.StatusPending),
			recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 1, false},
		{"a resolution moved while the first answer was promised: nothing", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-a", caseID, notify.KindResolution, "Asia/Shanghai", movedFrom, movedTo), 0, false},
		{"a deadline never promised moved: nothing", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-a", caseID, "DEADLINE_KIND_HANDOVER_PICKUP", "Asia/Shanghai", movedFrom, movedTo), 0, false},
		{"a move within the same local minute: nothing", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedFrom.Add(30*time.Second)), 0, false},
		{"a case never acknowledged: nothing", &recorder{},
			recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 0, false},
		{"an acknowledgment given up: nothing", acknowledged(notify.KindFirstAnswer, notify.StatusSkipped),
			recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 0, false},
		{"another bank's case of the same id: nothing", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-b", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 0, false},
		{"no tenant is dead-lettered", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 0, true},
		{"a bad case id is dead-lettered", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-a", "c-1", notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 0, true},
		{"an unknown zone is dead-lettered", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Mars/Olympus", movedFrom, movedTo), 0, true},
		{"an unknown zone is dead-lettered even for a kind never promised", &recorder{},
			recomputed("e1", "bank-a", caseID, "DEADLINE_KIND_HANDOVER_PICKUP", "Mars/Olympus", movedFrom, movedTo), 0, true},
		{"no deadline kind is dead-lettered", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("e1", "bank-a", caseID, "", "Asia/Shanghai", movedFrom, movedTo), 0, true},
		{"no event id is dead-lettered", acknowledged(notify.KindFirstAnswer, notify.StatusSent),
			recomputed("", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo), 0, true},
		{"no new due time is dead-lettered", acknowledged(notify.KindFirstAnswer, notify.StatusSent), func() *eventsv1.Envelope {
			env := recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo)
			env.GetDeadlineRecomputed().NewDueAt = nil
			return env
		}(), 0, true},
		{"no old due time is dead-lettered", acknowledged(notify.KindFirstAnswer, notify.StatusSent), func() *eventsv1.Envelope {
			env := recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo)
			env.GetDeadlineRecomputed().OldDueAt = nil
			return env
		}(), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Store: tt.store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
			err := h.Handle(context.Background(), nil, tt.env)
			if tt.wantPermanent != eventbus.IsPermanent(err) || (!tt.wantPermanent && err != nil) {
				t.Fatalf("err = %v, want permanent %v", err, tt.wantPermanent)
			}
			if len(tt.store.queued) != tt.wantQueued {
				t.Fatalf("queued %d, want %d", len(tt.store.queued), tt.wantQueued)
			}
			if tt.wantQueued == 1 {
				d := tt.store.queued[0]
				ev := tt.env.GetDeadlineRecomputed()
				if d.Status != notify.StatusPending || d.Channel != notify.ChannelEmail || d.Template != notify.TemplateCaseDateMoved ||
					d.TenantID != "bank-a" || d.CaseID != caseID || !d.ExpectedAnswerAt.Equal(movedTo) ||
					!d.PreviousAnswerAt.Equal(movedFrom) || !d.Provisional || d.ChangeReason != notify.ChangeCalendarYearLoaded ||
					d.DeadlineKind != ev.GetKind() || d.TimeZone != "Asia/Shanghai" || d.DedupKey != "e1" ||
					d.ID != DateMovedID("bank-a", "e1") || !d.NextAttemptAt.Equal(now) || !d.CreatedAt.Equal(now) {
					t.Errorf("queued %+v", d)
				}
			}
		})
	}
}

func TestARedeliveredRecountQueuesOneMessage(t *testing.T) {
	rec := acknowledged(notify.KindFirstAnswer, notify.StatusSent)
	h := &Handler{Store: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return due }}
	env := recomputed("e1", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai", movedFrom, movedTo)
	for range 3 {
		if err := h.Handle(context.Background(), nil, env); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.queued) != 1 {
		t.Fatalf("queued %d after three deliveries of one event, want 1", len(rec.queued))
	}
	// A later move of the same deadline is news again.
	if err := h.Handle(context.Background(), nil, recomputed("e2", "bank-a", caseID, notify.KindFirstAnswer, "Asia/Shanghai",
		movedTo, movedTo.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if len(rec.queued) != 2 || rec.queued[0].ID == rec.queued[1].ID {
		t.Fatalf("queued %+v, want two messages with their own ids", rec.queued)
	}
}

func TestADateMovedIDDependsOnlyOnTheEvent(t *testing.T) {
	a := DateMovedID("bank-a", "0194f0c1-0000-7000-8000-0000000000e1")
	if a != DateMovedID("bank-a", "0194f0c1-0000-7000-8000-0000000000e1") {
		t.Error("the same event gave two ids")
	}
	if a == DateMovedID("bank-a", "0194f0c1-0000-7000-8000-0000000000e2") || a == DateMovedID("bank-b", "0194f0c1-0000-7000-8000-0000000000e1") {
		t.Error("different events share an id")
	}
}

// An answer becomes one message to the customer per answer (redeliveries
// included); other steps tell the customer nothing.
func TestAnAnswerQueuesOneMessagePerAnswer(t *testing.T) {
	rec := &recorder{}
	h := &Handler{Store: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return due }}
	step := func(eventID, action string) *eventsv1.Envelope {
		return &eventsv1.Envelope{EventId: eventID, TenantId: "bank-a", CaseId: caseID,
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: action, ActorId: "cm-1", At: timestamppb.New(due)}}}
	}
	for _, env := range []*eventsv1.Envelope{step("s1", "startVerification"), step("s2", "answer"), step("s2", "answer"), step("s3", "recordReturnVisit")} {
		if err := h.Handle(context.Background(), nil, env); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.queued) != 1 {
		t.Fatalf("queued %d, want the one answer", len(rec.queued))
	}
	d := rec.queued[0]
	if d.Template != notify.TemplateCaseAnswer || d.ID != AnswerID("bank-a", "s2") || d.DedupKey != "s2" || d.Status != notify.StatusPending {
		t.Errorf("queued %+v", d)
	}
	// Answered again after a reopen: news again.
	if err := h.Handle(context.Background(), nil, step("s9", "answer")); err != nil {
		t.Fatal(err)
	}
	if len(rec.queued) != 2 {
		t.Fatalf("a second answer queued %d messages in all, want 2", len(rec.queued))
	}
	if err := h.Handle(context.Background(), nil, &eventsv1.Envelope{TenantId: "bank-a", CaseId: caseID,
		Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{Action: "answer"}}}); !eventbus.IsPermanent(err) {
		t.Errorf("an answer event without id or time: %v, want permanent", err)
	}
}
