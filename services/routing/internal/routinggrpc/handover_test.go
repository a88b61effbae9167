// Protects hand-overs through routing's API on real Postgres and Redis:
// claim from a role queue (50 at once, exactly one wins), transfer,
// escalation up the whole ladder to head office, return, duty changes that
// re-route open cases, the invariant check, and who may do each.
package routinggrpc_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routinggrpc"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingpg"
	"github.com/counterdesk/counterdesk/services/routing/internal/routingredis"
	"github.com/counterdesk/counterdesk/services/routing/migrations"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const claimers = 50

type ladder struct {
	t      testing.TB
	pool   *pgxpool.Pool
	srv    *routinggrpc.Server
	queues *routingredis.Queues
	now    time.Time
}

func staffP(id, role, branch, region string) auth.Principal {
	return auth.Principal{Tenant: "bank-a", Subject: id, Role: auth.Role(role), Branch: branch, Region: region}
}

// newLadder: bank-a with branch br-1 (region rg-1): two tellers, 50
// complaint managers, a branch head; the region's supervisor, head office,
// compliance.
func newLadder(t testing.TB) *ladder {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, testinfra.NewDatabase(t), migrations.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	opts, err := redis.ParseURL(testinfra.NewRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	l := &ladder{t: t, pool: pool, queues: routingredis.New(rdb), now: t0}
	l.srv = &routinggrpc.Server{Store: routingpg.New(pool), Queues: l.queues, Now: func() time.Time { return l.now }}
	org := &routingv1.ImportOrgRequest{
		Regions:  []*routingv1.Region{{Id: "rg-1", Name: "East"}},
		Branches: []*routingv1.Branch{{Id: "br-1", RegionId: "rg-1", Name: "One"}},
		Staff: []*routingv1.Staff{
			{Id: "teller-1", DisplayName: "Li", Role: routingv1.Role_ROLE_TELLER, BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 1},
			{Id: "teller-2", DisplayName: "Zhou", Role: routingv1.Role_ROLE_TELLER, BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 1},
			{Id: "bh-1", DisplayName: "Head", Role: routingv1.Role_ROLE_BRANCH_HEAD, BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 2},
			{Id: "sup-1", DisplayName: "Qian", Role: routingv1.Role_ROLE_REGIONAL_SUPERVISOR, RegionId: "rg-1", AuthorityLevel: 3},
			{Id: "ho-1", DisplayName: "HO", Role: routingv1.Role_ROLE_HEAD_OFFICE, AuthorityLevel: 4},
			{Id: "comp-1", DisplayName: "Compliance", Role: routingv1.Role_ROLE_COMPLIANCE, AuthorityLevel: 3},
		},
	}
	for i := range claimers {
		org.Staff = append(org.Staff, &routingv1.Staff{Id: fmt.Sprintf("cm-%02d", i), DisplayName: "CM", Role: routingv1.Role_ROLE_COMPLAINT_MANAGER,
			BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 2})
	}
	if _, err := l.srv.ImportOrg(as(headOffice), org); err != nil {
		t.Fatal(err)
	}
	return l
}

// register assigns a new case as routing does for CaseCreated.
func (l *ladder) register(reporter, category, severity string) string {
	l.t.Helper()
	id := uuid.NewString()
	ctx := context.Background()
	err := l.srv.Store.InTx(ctx, func(tx routing.Tx) error {
		_, _, err := routing.Service{}.New(ctx, tx, routing.Case{ID: id, Tenant: "bank-a", Branch: "br-1", Region: "rg-1",
			Category: category, Severity: severity, ReportedBy: reporter}, l.now)
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
	v, err := l.srv.Store.Assignment(ctx, "bank-a", id)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := l.queues.Sync(ctx, v.Queued, v.Open); err != nil {
		l.t.Fatal(err)
	}
	return id
}

func (l *ladder) assignment(id string) *routingv1.GetAssignmentResponse {
	l.t.Helper()
	a, err := l.srv.GetAssignment(as(headOffice), &routingv1.GetAssignmentRequest{CaseId: id})
	if err != nil {
		l.t.Fatal(err)
	}
	return a
}

// events returns the AssignmentMade events of a case in the outbox.
func (l *ladder) events(id string) []*eventsv1.AssignmentMade {
	l.t.Helper()
	rows, err := l.pool.Query(context.Background(), `SELECT payload FROM outbox WHERE msg_key = $1 ORDER BY id`, id)
	if err != nil {
		l.t.Fatal(err)
	}
	defer rows.Close()
	var out []*eventsv1.AssignmentMade
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			l.t.Fatal(err)
		}
		env := &eventsv1.Envelope{}
		if err := proto.Unmarshal(b, env); err != nil {
			l.t.Fatal(err)
		}
		if a := env.GetAssignmentMade(); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// queueOf returns the case's queue entry and which owner queue holds it.
func (l *ladder) queueEntry(id string) *routingv1.QueueEntry {
	l.t.Helper()
	q, err := l.srv.GetQueue(as(headOffice), &routingv1.GetQueueRequest{BranchId: "br-1", PageSize: 1000})
	if err != nil {
		l.t.Fatal(err)
	}
	for _, e := range q.GetEntries() {
		if e.GetCaseId() == id {
			return e
		}
	}
	return nil
}

func (l *ladder) unowned() int {
	l.t.Helper()
	// The per-staff open counts the trigger keeps match the assignments.
	var drift int
	if err := l.pool.QueryRow(context.Background(), `SELECT count(*) FROM staff s WHERE open_cases <> (SELECT count(*)
		FROM assignments a WHERE a.tenant_id = s.tenant_id AND a.owner_id = s.id AND a.open)`).Scan(&drift); err != nil || drift != 0 {
		l.t.Fatalf("%d staff open counts drifted from the assignments (%v)", drift, err)
	}
	n, err := l.srv.Store.CountUnowned(pgdb.WithTenant(context.Background(), pgdb.AllTenants))
	if err != nil {
		l.t.Fatal(err)
	}
	return n["bank-a"]
}

func TestFiftySimultaneousClaimsOneWins(t *testing.T) {
	l := newLadder(t)
	id := l.register("teller-1", "CATEGORY_PROCESSING_DELAY", "SEVERITY_NORMAL")
	teller := staffP("teller-1", "teller", "br-1", "rg-1")
	if _, err := l.srv.TransferCase(as(teller), &routingv1.TransferCaseRequest{CaseId: id, ToRole: routingv1.Role_ROLE_COMPLAINT_MANAGER, Reason: "beyond teller authority"}); err != nil {
		t.Fatal(err)
	}
	a := l.assignment(id)
	if a.GetOwnerId() != "" || a.GetOwnerRole() != routingv1.Role_ROLE_COMPLAINT_MANAGER || !a.GetPickupPending() {
		t.Fatalf("after the transfer to the role queue: %v", a)
	}
	if e := l.queueEntry(id); e == nil || e.GetOwnerRole() != routingv1.Role_ROLE_COMPLAINT_MANAGER || !e.GetPickupPending() {
		t.Fatalf("queue entry %v, want it visibly in the complaint managers' queue", e)
	}
	if n := l.unowned(); n != 0 {
		t.Fatalf("%d unowned while in the role queue", n)
	}

	var wg sync.WaitGroup
	type outcome struct {
		role auth.Role
		code codes.Code
	}
	codesSeen := make(chan outcome, claimers+2)
	start := make(chan struct{})
	claim := func(p auth.Principal) {
		defer wg.Done()
		<-start
		_, err := l.srv.ClaimCase(as(p), &routingv1.ClaimCaseRequest{CaseId: id})
		codesSeen <- outcome{p.Role, status.Code(err)}
	}
	for i := range claimers {
		wg.Add(1)
		go claim(staffP(fmt.Sprintf("cm-%02d", i), "complaint_manager", "br-1", "rg-1"))
	}
	wg.Add(2)
	go claim(staffP("teller-2", "teller", "br-1", "rg-1"))
	go claim(auth.Principal{Tenant: "bank-a", Subject: "terminal", Role: auth.RoleBankSystem})
	close(start)
	wg.Wait()
	close(codesSeen)
	count := map[outcome]int{}
	for c := range codesSeen {
		count[c]++
	}
	// Every complaint manager but one gets 409; the bank system 403; the
	// teller 403 while the case waits in a queue their role may not take
	// from, 409 once somebody has it.
	cm := auth.RoleComplaintManager
	tellerOK := count[outcome{auth.RoleTeller, codes.PermissionDenied}]+count[outcome{auth.RoleTeller, codes.FailedPrecondition}] == 1
	if count[outcome{cm, codes.OK}] != 1 || count[outcome{cm, codes.FailedPrecondition}] != claimers-1 ||
		count[outcome{auth.RoleBankSystem, codes.PermissionDenied}] != 1 || !tellerOK {
		t.Fatalf("claim outcomes %v, want 1 OK and %d FailedPrecondition (409) among complaint managers, 403 for the bank system, 403 or 409 for the teller", count, claimers-1)
	}
	a = l.assignment(id)
	if a.GetOwnerId() == "" || a.GetPickupPending() || a.GetOwnerRole() != routingv1.Role_ROLE_UNSPECIFIED {
		t.Fatalf("after the claims: %v", a)
	}
	last := a.GetHandovers()[len(a.GetHandovers())-1]
	if last.GetKind() != "claim" || last.GetActorId() != a.GetOwnerId() || last.GetToStaffId() != a.GetOwnerId() {
		t.Errorf("last hand-over %v, want the winner's claim", last)
	}
	claims := 0
	for _, e := range l.events(id) {
		if e.GetKind() == "claim" {
			claims++
		}
	}
	if claims != 1 {
		t.Errorf("%d claim events, want 1", claims)
	}
	if e := l.queueEntry(id); e == nil || e.GetOwnerId() != a.GetOwnerId() || e.GetPickupPending() {
		t.Errorf("queue entry %v, want it under the winner", e)
	}
	if n := l.unowned(); n != 0 {
		t.Errorf("%d unowned after the claim", n)
	}
}

// One complaint walks up the whole ladder by explicit escalation; at each
// step the owner, the pick-up, the queue and the history say so.
func TestEscalationWalksTheLadderToHeadOffice(t *testing.T) {
	l := newLadder(t)
	id := l.register("teller-1", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL")
	steps := []struct {
		actor     auth.Principal
		wantOwner string
		wantLevel string
	}{
		{staffP("teller-1", "teller", "br-1", "rg-1"), "cm-00", "complaint_manager"},
		{staffP("cm-00", "complaint_manager", "br-1", "rg-1"), "bh-1", "branch_head"},
		{staffP("bh-1", "branch_head", "br-1", "rg-1"), "sup-1", "regional"},
		{staffP("sup-1", "regional_supervisor", "", "rg-1"), "ho-1", "head_office"},
	}
	for i, s := range steps {
		l.now = t0.Add(time.Duration(i+1) * time.Hour)
		resp, err := l.srv.EscalateCase(as(s.actor), &routingv1.EscalateCaseRequest{CaseId: id, Reason: "超出权限 step " + fmt.Sprint(i)})
		if err != nil {
			t.Fatalf("escalate by %s: %v", s.actor.Subject, err)
		}
		a := resp.GetAssignment()
		if a.GetOwnerId() != s.wantOwner || a.GetLevel() != s.wantLevel || !a.GetPickupPending() {
			t.Fatalf("after escalation by %s: %v, want %s at %s, pick-up pending", s.actor.Subject, a, s.wantOwner, s.wantLevel)
		}
		h := a.GetHandovers()[len(a.GetHandovers())-1]
		if h.GetKind() != "escalate" || h.GetFromStaffId() != s.actor.Subject || h.GetToStaffId() != s.wantOwner ||
			h.GetActorId() != s.actor.Subject || !h.GetAt().AsTime().Equal(l.now) || h.GetNote() == "" {
			t.Errorf("hand-over %v", h)
		}
		if e := l.queueEntry(id); e == nil || e.GetOwnerId() != s.wantOwner || !e.GetPickupPending() {
			t.Errorf("queue entry %v", e)
		}
		evs := l.events(id)
		if ev := evs[len(evs)-1]; ev.GetOwnerId() != s.wantOwner || ev.GetPreviousOwnerId() != s.actor.Subject || !ev.GetPickupPending() ||
			ev.GetKind() != "escalate" || ev.GetActorId() != s.actor.Subject || ev.GetLevel() != s.wantLevel || ev.GetFirstResponderId() != "teller-1" {
			t.Errorf("event %v", ev)
		}
		// The new owner picks it up.
		who := staffP(s.wantOwner, map[string]string{"complaint_manager": "complaint_manager", "branch_head": "branch_head",
			"regional": "regional_supervisor", "head_office": "head_office"}[s.wantLevel], "br-1", "rg-1")
		if _, err := l.srv.ClaimCase(as(who), &routingv1.ClaimCaseRequest{CaseId: id}); err != nil {
			t.Fatalf("%s picks up: %v", s.wantOwner, err)
		}
		if a := l.assignment(id); a.GetPickupPending() || a.GetOwnerId() != s.wantOwner {
			t.Errorf("after the pick-up: %v", a)
		}
		if n := l.unowned(); n != 0 {
			t.Fatalf("%d unowned", n)
		}
	}
	if _, err := l.srv.EscalateCase(as(staffP("ho-1", "head_office", "", "")), &routingv1.EscalateCaseRequest{CaseId: id, Reason: "higher"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("escalate from head office: %v, want FailedPrecondition", err)
	}
	a := l.assignment(id)
	if a.GetFirstResponderId() != "teller-1" || len(a.GetHandovers()) != 1+2*len(steps) {
		t.Errorf("history %v", a)
	}
}

func TestTransferReturnAndWhoMayDoThem(t *testing.T) {
	l := newLadder(t)
	id := l.register("teller-1", "CATEGORY_PROCESSING_DELAY", "SEVERITY_NORMAL")
	teller := staffP("teller-1", "teller", "br-1", "rg-1")
	other := staffP("teller-2", "teller", "br-1", "rg-1")
	if _, err := l.srv.TransferCase(as(other), &routingv1.TransferCaseRequest{CaseId: id, ToStaffId: "cm-01", Reason: "not mine"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("transfer by a non-owner: %v", err)
	}
	if _, err := l.srv.TransferCase(as(teller), &routingv1.TransferCaseRequest{CaseId: id, Reason: "nobody"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("transfer to nobody: %v", err)
	}
	if _, err := l.srv.TransferCase(as(teller), &routingv1.TransferCaseRequest{CaseId: id, ToStaffId: "ghost", Reason: "x?"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("transfer to an unknown person: %v", err)
	}
	if _, err := l.srv.EscalateCase(as(teller), &routingv1.EscalateCaseRequest{CaseId: id, Reason: "suspected fraud", ToDepartment: routingv1.Role_ROLE_COMPLIANCE}); err != nil {
		t.Fatal(err)
	}
	comp := staffP("comp-1", "compliance", "", "")
	if _, err := l.srv.ClaimCase(as(comp), &routingv1.ClaimCaseRequest{CaseId: id}); err != nil {
		t.Fatal(err)
	}
	resp, err := l.srv.ReturnCase(as(comp), &routingv1.ReturnCaseRequest{CaseId: id, Reason: "no fraud found, back to the branch"})
	if err != nil || resp.GetAssignment().GetOwnerId() != "teller-1" || !resp.GetAssignment().GetPickupPending() {
		t.Fatalf("return: %v %v", resp, err)
	}
	if _, err := l.srv.ReturnCase(as(teller), &routingv1.ReturnCaseRequest{CaseId: id, Reason: "again"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("return of a case returned to its first owner: %v", err)
	}
	// The reason is stored masked of personal data.
	if _, err := l.srv.TransferCase(as(teller), &routingv1.TransferCaseRequest{CaseId: id, ToStaffId: "bh-1", Reason: "客户手机 13812345678 要求行长处理"}); err != nil {
		t.Fatal(err)
	}
	hs := l.assignment(id).GetHandovers()
	if note := hs[len(hs)-1].GetNote(); note == "" || contains(note, "13812345678") {
		t.Errorf("note %q: want the phone number masked", note)
	}
	// Another bank's staff do not even see the case.
	if _, err := l.srv.ClaimCase(as(auth.Principal{Tenant: "bank-b", Subject: "bh-1", Role: auth.RoleBranchHead, Branch: "br-1"}), &routingv1.ClaimCaseRequest{CaseId: id}); status.Code(err) != codes.NotFound {
		t.Errorf("another bank's claim: %v", err)
	}
}

func contains(s, sub string) bool { return len(sub) > 0 && len(s) >= len(sub) && indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// Going off duty or leaving the bank re-routes open cases by the same
// rules; the last of a role leaving duty empties its role queue; a case
// nobody can take goes to the branch head with an alert; the invariant
// check finds nothing unowned at any point.
func TestDutyChangesReRouteOpenCases(t *testing.T) {
	l := newLadder(t)
	a := l.register("teller-1", "CATEGORY_PROCESSING_DELAY", "SEVERITY_NORMAL")
	b := l.register("teller-1", "CATEGORY_PROCESSING_DELAY", "SEVERITY_NORMAL")
	teller := staffP("teller-1", "teller", "br-1", "rg-1")
	if _, err := l.srv.SetDuty(as(staffP("teller-2", "teller", "br-1", "rg-1")), &routingv1.SetDutyRequest{StaffId: "teller-1"}); status.Code(err) != codes.NotFound {
		t.Errorf("a teller put a colleague off duty: %v", err)
	}
	resp, err := l.srv.SetDuty(as(teller), &routingv1.SetDutyRequest{StaffId: "teller-1", OnDuty: false})
	if err != nil || resp.GetRerouted() != 2 || resp.GetStaff().GetOnDuty() {
		t.Fatalf("off duty: %v %v", resp, err)
	}
	for _, id := range []string{a, b} {
		if got := l.assignment(id); got.GetOwnerId() != "teller-2" || !got.GetPickupPending() {
			t.Errorf("case %s after teller-1 left duty: %v, want teller-2", id, got)
		}
	}
	if n := l.unowned(); n != 0 {
		t.Fatalf("%d unowned", n)
	}
	// teller-2 leaves the bank: nobody of the role is left, the branch head takes them, with an alert.
	resp2, err := l.srv.DeactivateStaff(as(headOffice), &routingv1.DeactivateStaffRequest{StaffId: "teller-2"})
	if err != nil || resp2.GetRerouted() != 2 || resp2.GetStaff().GetActive() {
		t.Fatalf("deactivate: %v %v", resp2, err)
	}
	if got := l.assignment(a); got.GetOwnerId() != "bh-1" {
		t.Errorf("after teller-2 left: %v, want the branch head", got)
	}
	var alerts int
	rows, err := l.pool.Query(context.Background(), `SELECT payload FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b []byte
		env := &eventsv1.Envelope{}
		if err := rows.Scan(&b); err != nil || proto.Unmarshal(b, env) != nil {
			t.Fatal(err)
		}
		if al := env.GetOwnershipAlert(); al != nil && al.GetKind() == "owner_missing" && al.GetNewOwnerId() == "bh-1" {
			alerts++
		}
	}
	rows.Close()
	if alerts != 2 {
		t.Errorf("%d ownership alerts, want 2", alerts)
	}
	if _, err := l.srv.DeactivateStaff(as(system), &routingv1.DeactivateStaffRequest{StaffId: "bh-1"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a bank system deactivated staff: %v", err)
	}
	// A case in the complaint managers' queue when the last of them goes off duty.
	c := l.register("bh-1", "CATEGORY_PROCESSING_DELAY", "SEVERITY_NORMAL")
	if _, err := l.srv.TransferCase(as(staffP("bh-1", "branch_head", "br-1", "rg-1")), &routingv1.TransferCaseRequest{CaseId: c, ToRole: routingv1.Role_ROLE_COMPLAINT_MANAGER, Reason: "please"}); err != nil {
		t.Fatal(err)
	}
	for i := range claimers {
		id := fmt.Sprintf("cm-%02d", i)
		if _, err := l.srv.SetDuty(as(headOffice), &routingv1.SetDutyRequest{StaffId: id, OnDuty: false}); err != nil {
			t.Fatal(err)
		}
		if n := l.unowned(); n != 0 {
			t.Fatalf("%d unowned after %s left duty", n, id)
		}
	}
	if got := l.assignment(c); got.GetOwnerId() != "bh-1" {
		t.Errorf("the role-queue case after the last complaint manager left: %v", got)
	}
	// The periodic check finds nothing; made stale behind routing's back, it repairs.
	if _, err := l.pool.Exec(context.Background(), `UPDATE staff SET active = false WHERE id = 'bh-1'`); err != nil {
		t.Fatal(err)
	}
	if n := l.unowned(); n != 3 {
		t.Fatalf("%d unowned after the branch head vanished behind routing's back, want 3", n)
	}
	found, err := l.srv.CheckOwners(context.Background())
	if err != nil || found["bank-a"] != 3 {
		t.Fatalf("check found %v %v", found, err)
	}
	if n := l.unowned(); n != 0 {
		t.Errorf("%d unowned after the check repaired them", n)
	}
}

func TestRoutingRulesArePerBankAndHeadOfficeOnly(t *testing.T) {
	l := newLadder(t)
	got, err := l.srv.GetRoutingRules(as(system), &routingv1.GetRoutingRulesRequest{})
	if err != nil || !got.GetDefaults() || len(got.GetRules()) != 3 {
		t.Fatalf("defaults: %v %v", got, err)
	}
	rules := &routingv1.PutRoutingRulesRequest{Rules: []*routingv1.RoutingRule{{Name: "private-banking",
		CustomerTiers: []string{"CUSTOMER_TIER_PRIVATE"}, OwnerRole: routingv1.Role_ROLE_BRANCH_HEAD,
		NotifyRoles: []routingv1.Role{routingv1.Role_ROLE_REGIONAL_SUPERVISOR}}}}
	if _, err := l.srv.PutRoutingRules(as(system), rules); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a bank system replaced the rules: %v", err)
	}
	bad := &routingv1.PutRoutingRulesRequest{Rules: []*routingv1.RoutingRule{{Name: "x", Categories: []string{"CATEGORY_NOPE"}}}}
	if _, err := l.srv.PutRoutingRules(as(headOffice), bad); status.Code(err) != codes.InvalidArgument || fields(err)[0] != "rules[0].categories[0]" {
		t.Errorf("bad rule: %v %v", err, fields(err))
	}
	if _, err := l.srv.PutRoutingRules(as(headOffice), rules); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	ctx := context.Background()
	err = l.srv.Store.InTx(ctx, func(tx routing.Tx) error {
		_, _, err := routing.Service{}.New(ctx, tx, routing.Case{ID: id, Tenant: "bank-a", Branch: "br-1", Tier: "CUSTOMER_TIER_PRIVATE", ReportedBy: "teller-1"}, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := l.assignment(id); a.GetOwnerId() != "bh-1" || a.GetFirstResponderId() != "teller-1" {
		t.Errorf("private-banking case: %v", a)
	}
	evs := l.events(id)
	if len(evs) != 1 || len(evs[0].GetNotify()) != 1 || evs[0].GetNotify()[0].GetRole() != "ROLE_REGIONAL_SUPERVISOR" || evs[0].GetNotify()[0].GetStaffIds()[0] != "sup-1" {
		t.Errorf("events %v, want the regional supervisor told", evs)
	}
}

func TestQueueFiltersAndCounts(t *testing.T) {
	l := newLadder(t)
	a := l.register("teller-1", "CATEGORY_PROCESSING_DELAY", "SEVERITY_NORMAL")
	l.register("teller-1", "CATEGORY_PROCESSING_DELAY", "SEVERITY_MAJOR") // the branch head's by rule
	if _, err := l.srv.TransferCase(as(staffP("teller-1", "teller", "br-1", "rg-1")), &routingv1.TransferCaseRequest{CaseId: a, ToRole: routingv1.Role_ROLE_COMPLAINT_MANAGER, Reason: "please"}); err != nil {
		t.Fatal(err)
	}
	q, err := l.srv.GetQueue(as(headOffice), &routingv1.GetQueueRequest{BranchId: "br-1"})
	if err != nil {
		t.Fatal(err)
	}
	if q.GetTotal() != 2 || q.GetEntries()[0].GetPriority() != 0 || q.GetOpenByOwner()["bh-1"] != 1 || q.GetOpenByOwner()["ROLE_COMPLAINT_MANAGER"] != 1 {
		t.Errorf("queue %v", q)
	}
	rq, err := l.srv.GetQueue(as(headOffice), &routingv1.GetQueueRequest{BranchId: "br-1", Role: routingv1.Role_ROLE_COMPLAINT_MANAGER})
	if err != nil || rq.GetTotal() != 1 || rq.GetEntries()[0].GetCaseId() != a {
		t.Errorf("role queue %v %v", rq, err)
	}
	if _, err := l.srv.GetQueue(as(headOffice), &routingv1.GetQueueRequest{BranchId: "br-1", Role: routingv1.Role_ROLE_TELLER, OwnerId: "x"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("both filters: %v", err)
	}
	mine, err := l.srv.GetQueue(as(headOffice), &routingv1.GetQueueRequest{BranchId: "br-1", OwnerId: "teller-1"})
	if err != nil || mine.GetTotal() != 0 {
		t.Errorf("teller-1's own queue %v %v", mine, err)
	}
	ls, err := l.srv.ListStaff(as(staffP("teller-1", "teller", "br-1", "rg-1")), &routingv1.ListStaffRequest{BranchId: "br-1"})
	if err != nil || len(ls.GetStaff()) != 3+claimers {
		t.Errorf("staff list %d %v", len(ls.GetStaff()), err)
	}
}
