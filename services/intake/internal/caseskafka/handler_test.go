// Protects intake's copy of the owner: AssignmentMade sets it with an audit entry, and an assignment for an unknown case is dead-lettered, not retried forever.
package caseskafka_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/caseskafka"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestHandlerAppliesAssignments(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sealer, err := pii.NewSealer(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cases.ParseMACKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	store := casespg.New(pool, sealer, casespg.WithMACKeys(keys))
	b := cases.Branch{ID: "br-1", Region: "rg-1", Staff: []string{"teller-1", "cm-1"}, ComplaintManager: "cm-1"}
	c, err := cases.Prepare(cases.New{Branch: "br-1", Channel: "CHANNEL_ON_SITE", Category: "CATEGORY_FEE_DISPUTE",
		Severity: "SEVERITY_NORMAL", Summary: "fee", OccurredAt: now.Add(-time.Hour), Customer: cases.Customer{Name: "张三"}},
		b, auth.Principal{Tenant: "bank-a", Subject: "core-banking", Role: auth.RoleBankSystem}, now)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err = store.Create(ctx, c, "k1", []byte("h1"), func(context.Context, pgx.Tx, cases.Case) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	assignment := func(caseID, owner string) *eventsv1.Envelope {
		return &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: caseID, Producer: "routing",
			Payload: &eventsv1.Envelope_AssignmentMade{AssignmentMade: &eventsv1.AssignmentMade{
				BranchId: "br-1", OwnerId: owner, Reason: "first_responder", AssignedAt: timestamppb.New(now.Add(time.Second))}}}
	}

	tests := []struct {
		name          string
		env           *eventsv1.Envelope
		wantPermanent bool
		wantOwner     string
		wantAudit     int
	}{
		{name: "an event that is not an assignment changes nothing",
			env: &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: c.ID,
				Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{}}},
			wantOwner: "", wantAudit: 1},
		{name: "an assignment sets the owner and is audited",
			env: assignment(c.ID, "teller-1"), wantOwner: "teller-1", wantAudit: 2},
		{name: "an assignment for a case intake does not have is permanent",
			env: assignment(uuid.NewString(), "teller-1"), wantPermanent: true, wantOwner: "teller-1", wantAudit: 2},
		{name: "a deadline warning goes into the history, not the owner",
			env: &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: c.ID, Producer: "slatimer", OccurredAt: timestamppb.New(now.Add(time.Hour)),
				Payload: &eventsv1.Envelope_DeadlineWarned{DeadlineWarned: &eventsv1.DeadlineWarned{Kind: "DEADLINE_KIND_FIRST_ANSWER", Level: "yellow", DueAt: timestamppb.New(now.Add(48 * time.Hour))}}},
			wantOwner: "teller-1", wantAudit: 2},
		{name: "a breach of a case intake does not have is permanent",
			env: &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: uuid.NewString(), Producer: "slatimer",
				Payload: &eventsv1.Envelope_DeadlineBreached{DeadlineBreached: &eventsv1.DeadlineBreached{Kind: "DEADLINE_KIND_ACKNOWLEDGE"}}},
			wantPermanent: true, wantOwner: "teller-1", wantAudit: 2},
	}
	h := caseskafka.Handler(store)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pgdb.InTx(ctx, pool, func(tx pgx.Tx) error { return h(ctx, tx, tt.env) })
			if eventbus.IsPermanent(err) != tt.wantPermanent {
				t.Fatalf("err = %v, permanent = %v, want permanent = %v", err, eventbus.IsPermanent(err), tt.wantPermanent)
			}
			if !tt.wantPermanent && err != nil {
				t.Fatal(err)
			}
			got, err := store.Get(ctx, "bank-a", c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.OwnerID != tt.wantOwner {
				t.Errorf("owner %q, want %q", got.OwnerID, tt.wantOwner)
			}
			recs, err := store.Audit(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.wantAudit {
				t.Errorf("%d audit entries, want %d", len(recs), tt.wantAudit)
			}
		})
	}
	hist, err := store.History(ctx, "bank-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, h := range hist {
		kinds = append(kinds, h.Kind+":"+h.Action)
	}
	if want := []string{"registered:", "handover:", "deadline:DEADLINE_KIND_FIRST_ANSWER:yellow"}; strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("history %v, want %v", kinds, want)
	}
}
