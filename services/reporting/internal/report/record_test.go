package report_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/reporting/internal/report"
)

var (
	t0      = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	created = report.CaseOpened{
		CaseNumber: "C-1", BranchID: "b1", RegionID: "r1", Channel: "CHANNEL_ON_SITE",
		Category: "CATEGORY_SERVICE_ATTITUDE", Severity: "SEVERITY_NORMAL",
		CustomerTier: "CUSTOMER_TIER_GOLD", Status: "CASE_STATUS_REPORTED", CreatedAt: t0,
	}
	firstOwner  = report.OwnerAssigned{OwnerID: "teller-1", At: t0.Add(time.Minute)}
	secondOwner = report.OwnerAssigned{OwnerID: "manager-1", At: t0.Add(10 * time.Minute)}
	ack         = report.CustomerAcknowledged{At: t0.Add(5 * time.Minute)}
	lateAck     = report.CustomerAcknowledged{At: t0.Add(50 * time.Minute)}
	breach      = report.DeadlineMissed{Kind: "DEADLINE_KIND_ACKNOWLEDGE", DueAt: t0.Add(time.Hour)}
)

func TestApplyGivesTheSameRecordInAnyOrder(t *testing.T) {
	want := report.CaseRecord{
		TenantID: "bank-a", CaseID: "case-1",
		CaseNumber: "C-1", BranchID: "b1", RegionID: "r1", Channel: "CHANNEL_ON_SITE",
		Category: "CATEGORY_SERVICE_ATTITUDE", Severity: "SEVERITY_NORMAL",
		CustomerTier: "CUSTOMER_TIER_GOLD", Status: "CASE_STATUS_REPORTED", CreatedAt: t0,
		OwnerID: "manager-1", FirstAssignedAt: firstOwner.At, LastAssignedAt: secondOwner.At,
		AcknowledgedAt: ack.At, Breaches: 1, Assignments: 2, ReceivedAt: t0,
		Deadlines: map[string]*report.Deadline{breach.Kind: {Kind: breach.Kind, DueAt: breach.DueAt, Breached: true}},
	}
	tests := []struct {
		name  string
		facts []report.Fact
	}{
		{"in the order things happened", []report.Fact{created, firstOwner, ack, secondOwner, lateAck, breach}},
		{"with assignments before the creation", []report.Fact{firstOwner, secondOwner, created, ack, lateAck, breach}},
		{"with the later assignment first", []report.Fact{secondOwner, firstOwner, breach, created, lateAck, ack}},
		{"with the creation last", []report.Fact{breach, lateAck, ack, secondOwner, firstOwner, created}},
		{"with the creation delivered twice under different ids", []report.Fact{created, firstOwner, secondOwner, ack, lateAck, breach,
			report.CaseOpened{BranchID: "b2", RegionID: "r2", CreatedAt: t0.Add(time.Hour)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := report.CaseRecord{TenantID: "bank-a", CaseID: "case-1"}
			for _, f := range tt.facts {
				if err := r.Apply(f); err != nil {
					t.Fatalf("Apply(%T) error = %v", f, err)
				}
			}
			if !reflect.DeepEqual(r, want) {
				t.Fatalf("record =\n%+v\nwant\n%+v", r, want)
			}
		})
	}
}

func TestARecordIsPartialUntilItsCreationArrives(t *testing.T) {
	r := report.CaseRecord{TenantID: "bank-a", CaseID: "case-1"}
	if err := r.Apply(firstOwner); err != nil {
		t.Fatal(err)
	}
	if r.Created() {
		t.Fatal("an assignment alone made the case created")
	}
	if err := r.Apply(created); err != nil {
		t.Fatal(err)
	}
	if !r.Created() || r.OwnerID != "teller-1" {
		t.Fatalf("record = %+v, want created and still owned by teller-1", r)
	}
}

func TestEachBreachCounts(t *testing.T) {
	r := report.CaseRecord{}
	for range 3 {
		if err := r.Apply(breach); err != nil {
			t.Fatal(err)
		}
	}
	if r.Breaches != 3 {
		t.Fatalf("breaches = %d, want 3", r.Breaches)
	}
}

func TestMalformedFactsAreRefused(t *testing.T) {
	tests := []struct {
		name string
		fact report.Fact
	}{
		{"a creation without a branch", report.CaseOpened{CreatedAt: t0}},
		{"a creation without a time", report.CaseOpened{BranchID: "b1"}},
		{"an assignment without a time", report.OwnerAssigned{OwnerID: "teller-1"}},
		{"an acknowledgment without a time", report.CustomerAcknowledged{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := report.CaseRecord{CaseID: "case-1"}
			before := r
			if err := r.Apply(tt.fact); !errors.Is(err, report.ErrInvalidFact) {
				t.Fatalf("Apply() error = %v, want ErrInvalidFact", err)
			}
			if !reflect.DeepEqual(r, before) {
				t.Fatalf("a refused fact changed the record: %+v", r)
			}
		})
	}
}

// Lifecycle steps may arrive before the creation, or out of order: the
// status is the latest step's, whatever the order.
func TestTheStatusIsTheLatestStepsInAnyOrder(t *testing.T) {
	answered := report.StatusChanged{Status: "CASE_STATUS_ANSWERED", At: t0.Add(2 * time.Hour)}
	handling := report.StatusChanged{Status: "CASE_STATUS_HANDLING", At: t0.Add(time.Hour)}
	orders := map[string][]report.Fact{
		"created, handling, answered": {created, handling, answered},
		"answered, handling, created": {answered, handling, created},
		"handling, created, answered": {handling, created, answered},
	}
	for name, facts := range orders {
		t.Run(name, func(t *testing.T) {
			r := report.CaseRecord{TenantID: "bank-a", CaseID: "case-1"}
			for _, f := range facts {
				if err := r.Apply(f); err != nil {
					t.Fatal(err)
				}
			}
			if r.Status != "CASE_STATUS_ANSWERED" || !r.StatusAt.Equal(answered.At) {
				t.Errorf("status %s at %v, want answered at %v", r.Status, r.StatusAt, answered.At)
			}
		})
	}
	r := report.CaseRecord{}
	if err := r.Apply(report.StatusChanged{Status: "CASE_STATUS_CLOSED"}); !errors.Is(err, report.ErrInvalidFact) {
		t.Errorf("a step without a time: %v, want ErrInvalidFact", err)
	}
}
