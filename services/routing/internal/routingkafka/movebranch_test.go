package routingkafka_test

import (
	"context"
	"testing"
	"time"

	casesv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/cases/v1"
	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A case intake moved to another branch is routed afresh there: the new
// branch's complaint manager owns it (kind reroute, reason branch_changed,
// to be picked up), the assignment belongs to the new branch and region,
// and the case leaves the old branch's queue for the new one's. Redelivered,
// the move changes nothing more.
func TestAMovedCaseIsRoutedAtTheNewBranchOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	caseID := uuid.NewString()
	f.assign(t, caseCreated(caseID, "br-2", "", t0)) // br-2 has no complaint manager
	if es := f.list(t, "br-2"); len(es) != 1 || es[0].CaseID != caseID {
		t.Fatalf("br-2 queue %v, want the case", es)
	}
	move := &eventsv1.Envelope{EventId: uuid.NewString(), TenantId: "bank-a", CaseId: caseID, Type: "CaseTransitioned", Producer: "intake",
		Payload: &eventsv1.Envelope_CaseTransitioned{CaseTransitioned: &eventsv1.CaseTransitioned{
			Action: "moveBranch", FromStatus: casesv1.CaseStatus_CASE_STATUS_HANDLING, ToStatus: casesv1.CaseStatus_CASE_STATUS_HANDLING,
			ActorId: "hq-1", At: timestamppb.New(t0.Add(time.Hour)), BranchId: "br-1", RegionId: "rg-1",
			Severity: casesv1.Severity_SEVERITY_NORMAL, Category: casesv1.Category_CATEGORY_FEE_DISPUTE}}}
	handovers := f.count(t, `SELECT count(*) FROM handovers WHERE case_id = $1`, caseID)
	for range 2 { // delivered, then redelivered
		f.assign(t, move)
		cur, err := f.store.Current(ctx, "bank-a", caseID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Branch != "br-1" || cur.Region != "rg-1" || cur.Owner.Staff != "cm-1" || !cur.PickupPending {
			t.Errorf("after the move: %+v, want br-1/rg-1 owned by cm-1, to be picked up", cur)
		}
		if es := f.list(t, "br-2"); len(es) != 0 {
			t.Errorf("the old branch still queues %v", es)
		}
		if es := f.list(t, "br-1"); len(es) != 1 || es[0].CaseID != caseID || es[0].Owner != (routing.Owner{Staff: "cm-1"}) {
			t.Errorf("br-1 queue %v, want the case under cm-1", es)
		}
		if n := f.count(t, `SELECT count(*) FROM handovers WHERE case_id = $1`, caseID); n != handovers+1 {
			t.Errorf("%d hand-overs, want %d", n, handovers+1)
		}
		var reroutes []*eventsv1.AssignmentMade
		for _, env := range f.outboxFor(t, caseID) {
			if a := env.GetAssignmentMade(); a != nil && a.GetKind() == routing.KindReroute {
				reroutes = append(reroutes, a)
			}
		}
		if len(reroutes) != 1 || reroutes[0].GetReason() != routing.ReasonBranchChanged || reroutes[0].GetBranchId() != "br-1" ||
			reroutes[0].GetOwnerId() != "cm-1" || reroutes[0].GetPreviousOwnerId() != "lobby-2" || !reroutes[0].GetPickupPending() {
			t.Errorf("AssignmentMade reroutes %v, want one to cm-1 at br-1 for branch_changed", reroutes)
		}
	}
	// A rebuild from the database puts it where it now belongs.
	if _, err := f.queues.EnsureBuilt(ctx, f.src, true); err != nil {
		t.Fatal(err)
	}
	if len(f.list(t, "br-2")) != 0 || len(f.list(t, "br-1")) != 1 {
		t.Errorf("after a rebuild br-2 %v, br-1 %v", f.list(t, "br-2"), f.list(t, "br-1"))
	}
}
