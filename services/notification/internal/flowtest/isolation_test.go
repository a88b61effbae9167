// Protects the wall between banks in notification's database: connected as
// its app role, a query that forgets its bank filter sees only the caller's
// bank's deliveries, the store's own lookups of another bank's delivery
// find nothing, and the role cannot run DDL.
package flowtest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/notification/internal/answers"
	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifykafka"
	"github.com/counterdesk/counterdesk/services/notification/internal/notifypg"
	"github.com/counterdesk/counterdesk/services/notification/internal/survey/surveypg"
	"github.com/counterdesk/counterdesk/services/notification/internal/templatepg"
	"github.com/counterdesk/counterdesk/services/notification/migrations"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestNotificationDatabaseKeepsBanksApart(t *testing.T) {
	now := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	firstAnswer := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // Monday 17:00 in Shanghai
	cases := map[string]string{}                                 // tenant → its case's id
	pool := testinfra.CheckTenantIsolation(t, migrations.FS, func(ctx context.Context, pool *pgxpool.Pool, tenant string) {
		store := notifypg.New(pool)
		h := &notifykafka.Handler{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
		caseID := uuid.Must(uuid.NewV7()).String()
		handle := func(env *eventsv1.Envelope) {
			t.Helper()
			if err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return h.Handle(ctx, tx, env) }); err != nil {
				t.Fatalf("%s of %s: %v", env.GetType(), tenant, err)
			}
		}
		// intake registered the case: staff alerts will name its number.
		handle(&eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: caseID,
			Type: "CaseCreated", OccurredAt: timestamppb.New(now), Producer: "intake",
			Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{CaseNumber: "CD-" + tenant,
				TimeZone: "Asia/Shanghai", CreatedAt: timestamppb.New(now)}}})
		// slatimer armed the case: the acknowledgment is queued.
		handle(&eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: caseID,
			Type: "DeadlinesArmed", OccurredAt: timestamppb.New(now), Producer: "slatimer",
			Payload: &eventsv1.Envelope_DeadlinesArmed{DeadlinesArmed: &eventsv1.DeadlinesArmed{TimeZone: "Asia/Shanghai",
				Deadlines: []*eventsv1.ArmedDeadline{{Kind: notify.KindFirstAnswer, DueAt: timestamppb.New(firstAnswer)}}}}})
		// The branch closed on Monday: the customer is told the new date.
		handle(&eventsv1.Envelope{EventId: uuid.Must(uuid.NewV7()).String(), TenantId: tenant, CaseId: caseID,
			Type: "DeadlineRecomputed", OccurredAt: timestamppb.New(now), Producer: "slatimer",
			Payload: &eventsv1.Envelope_DeadlineRecomputed{DeadlineRecomputed: &eventsv1.DeadlineRecomputed{
				Kind: notify.KindFirstAnswer, OldDueAt: timestamppb.New(firstAnswer), NewDueAt: timestamppb.New(firstAnswer.Add(24 * time.Hour)),
				Reason: notify.ChangeBranchClosure, TimeZone: "Asia/Shanghai", CalendarVersion: 1}}})
		ds, err := store.ListByCase(ctx, tenant, caseID)
		if err != nil || len(ds) != 2 {
			t.Fatalf("case of %s has %d deliveries (%v), want the acknowledgment and the moved date", tenant, len(ds), err)
		}
		// An attempt at the acknowledgment: its row in delivery_attempts.
		ack, prev := ds[0], ds[0].Attempts
		ack.Via = notify.ChannelEmail
		if err := ack.MarkFailed(now, notify.LanguageZhCN, "smtp connect: connection refused", false, 0.5); err != nil {
			t.Fatal(err)
		}
		if err := store.Record(ctx, ack, prev); err != nil {
			t.Fatalf("record an attempt of %s: %v", tenant, err)
		}
		// The case was closed: the return-visit survey is queued, and the
		// customer answers it.
		closeID := uuid.Must(uuid.NewV7()).String()
		handle(&eventsv1.Envelope{EventId: closeID, TenantId: tenant, CaseId: caseID,
			Type: "CaseTransitioned", OccurredAt: timestamppb.New(now), Producer: "intake",
			Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
				Action: "close", ActorId: "bh-1", At: timestamppb.New(now)}}})
		if err := surveypg.New(pool).Answer(ctx, tenant, caseID, notifykafka.SurveyID(tenant, closeID), now,
			func(context.Context) error { return nil }); err != nil {
			t.Fatalf("answer the survey of %s: %v", tenant, err)
		}
		// The bank's own wording, rules and standard answers.
		templates := templatepg.New(pool)
		if err := templates.PutBankTemplate(ctx, tenant, notify.BankTemplate{Key: notify.TemplateKey{Template: notify.TemplateCaseAcknowledgment,
			Channel: notify.ChannelSMS, Language: notify.LanguageZhCN}, Source: `{{define "sms"}}{{.CaseNumber}}{{end}}`, UpdatedBy: "ho-1", UpdatedAt: now}); err != nil {
			t.Fatalf("keep a wording of %s: %v", tenant, err)
		}
		if err := templates.PutRules(ctx, tenant, []notify.Rule{{Template: notify.TemplateCaseHandedOver}}, "ho-1", now); err != nil {
			t.Fatalf("keep rules of %s: %v", tenant, err)
		}
		if err := templates.Put(ctx, tenant, answers.Entry{Answer: answers.Answer{ID: "own-" + tenant, Category: "CATEGORY_FEE_DISPUTE",
			Language: "zh-CN", Title: "t", Body: "b", UpdatedBy: "ho-1", UpdatedAt: now}}); err != nil {
			t.Fatalf("keep a standard answer of %s: %v", tenant, err)
		}
		cases[tenant] = caseID
	})

	// The store's own queries, asked by bank-a for bank-b's rows, find nothing.
	store := notifypg.New(pool)
	ctxB := pgdb.WithTenant(context.Background(), "bank-b")
	theirs, err := store.ListByCase(ctxB, "bank-b", cases["bank-b"])
	if err != nil || len(theirs) == 0 {
		t.Fatalf("bank-b reads %d deliveries of its own case (err %v), want some", len(theirs), err)
	}
	a := pgdb.WithTenant(context.Background(), "bank-a")
	if ds, err := store.ListByCase(a, "bank-b", cases["bank-b"]); err != nil || len(ds) != 0 {
		t.Errorf("bank-a's connection listed %d deliveries of bank-b's case (err %v), want none", len(ds), err)
	}
	if d, err := store.Get(a, theirs[0].ID); err == nil {
		t.Errorf("bank-a's connection read bank-b's delivery %s of case %s", d.ID, d.CaseID)
	}
	if _, found, err := store.Acknowledgment(a, nil, "bank-b", cases["bank-b"]); err != nil || found {
		t.Errorf("bank-a's connection found bank-b's acknowledgment (found %v, err %v), want none", found, err)
	}
	if _, found, err := store.Case(a, nil, "bank-b", cases["bank-b"]); err != nil || found {
		t.Errorf("bank-a's connection found bank-b's case record (found %v, err %v), want none", found, err)
	}
	// Bank-a still reads its own.
	if ds, err := store.ListByCase(a, "bank-a", cases["bank-a"]); err != nil || len(ds) == 0 {
		t.Errorf("bank-a reads %d deliveries of its own case (err %v), want some", len(ds), err)
	}
}
