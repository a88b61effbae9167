// Protects GetEscalationContacts on real Postgres and Redis: whom
// notification tells about a case's deadline (its owner, a role queue's
// available staff, the level above at each rung of the ladder, nobody above
// head office), with their work e-mails; the same answer before and after
// routing escalated on the breach being told about; and nobody but the
// notification service may ask.
package routinggrpc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	routingv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/routing/v1"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/counterdesk/counterdesk/services/routing/internal/routinggrpc"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// withEmails gives the ladder's staff work e-mails, as an org import
// does; teller-2 has none.
func (l *ladder) withEmails() {
	l.t.Helper()
	req := &routingv1.ImportOrgRequest{Staff: []*routingv1.Staff{
		{Id: "teller-1", DisplayName: "Li", Role: routingv1.Role_ROLE_TELLER, BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 1, Email: "teller-1@bank-a.example"},
		{Id: "bh-1", DisplayName: "Head", Role: routingv1.Role_ROLE_BRANCH_HEAD, BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 2, Email: "bh-1@bank-a.example"},
		{Id: "sup-1", DisplayName: "Qian", Role: routingv1.Role_ROLE_REGIONAL_SUPERVISOR, RegionId: "rg-1", AuthorityLevel: 3, Email: "sup-1@bank-a.example"},
		{Id: "ho-1", DisplayName: "HO", Role: routingv1.Role_ROLE_HEAD_OFFICE, AuthorityLevel: 4, Email: "ho-1@bank-a.example"},
		{Id: "comp-1", DisplayName: "Compliance", Role: routingv1.Role_ROLE_COMPLIANCE, AuthorityLevel: 3, Email: "comp-1@bank-a.example"},
	}}
	for i := range claimers {
		id := fmt.Sprintf("cm-%02d", i)
		req.Staff = append(req.Staff, &routingv1.Staff{Id: id, DisplayName: "CM", Role: routingv1.Role_ROLE_COMPLAINT_MANAGER,
			BranchId: "br-1", RegionId: "rg-1", AuthorityLevel: 2, Email: id + "@bank-a.example"})
	}
	if _, err := l.srv.ImportOrg(as(headOffice), req); err != nil {
		l.t.Fatal(err)
	}
}

// notificationCalls is the notification service calling for itself, with
// metadata md (pairs).
func notificationCalls(md ...string) context.Context {
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: auth.AllTenants, Subject: "notification", Role: auth.RoleService})
	ctx = auth.WithCallingService(ctx, "notification")
	if len(md) > 0 {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(md...))
	}
	return ctx
}

// contacts asks as ctx and returns owners and above as "id <email>".
func (l *ladder) contacts(ctx context.Context, id string) (owners, above []string) {
	l.t.Helper()
	resp, err := l.srv.GetEscalationContacts(ctx, &routingv1.GetEscalationContactsRequest{CaseId: id})
	if err != nil {
		l.t.Fatalf("GetEscalationContacts: %v", err)
	}
	if resp.GetCaseId() != id || resp.GetBranchId() != "br-1" {
		l.t.Errorf("response names case %s at %s, want %s at br-1", resp.GetCaseId(), resp.GetBranchId(), id)
	}
	show := func(cs []*routingv1.StaffContact) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.GetStaffId()+" <"+c.GetEmail()+">")
		}
		return out
	}
	return show(resp.GetOwners()), show(resp.GetAbove())
}

func wantContacts(t *testing.T, what string, got, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

func TestEscalationContactsClimbTheLadderWithTheCase(t *testing.T) {
	l := newLadder(t)
	l.withEmails()
	id := l.register("teller-1", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL")

	owners, above := l.contacts(notificationCalls(), id)
	wantContacts(t, "first receiver: owners", owners, []string{"teller-1 <teller-1@bank-a.example>"})
	wantContacts(t, "first receiver: above (the least-loaded complaint manager)", above, []string{"cm-00 <cm-00@bank-a.example>"})
	resp, err := l.srv.GetEscalationContacts(notificationCalls(), &routingv1.GetEscalationContactsRequest{CaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	if o := resp.GetOwners()[0]; !proto.Equal(o, &routingv1.StaffContact{StaffId: "teller-1", DisplayName: "Li",
		Role: routingv1.Role_ROLE_TELLER, Email: "teller-1@bank-a.example"}) {
		t.Errorf("owner contact %v", o)
	}

	steps := []struct {
		actor        auth.Principal
		owner, above string
	}{
		{staffP("teller-1", "teller", "br-1", "rg-1"), "cm-00", "bh-1"},
		{staffP("cm-00", "complaint_manager", "br-1", "rg-1"), "bh-1", "sup-1"},
		{staffP("bh-1", "branch_head", "br-1", "rg-1"), "sup-1", "ho-1"},
		{staffP("sup-1", "regional_supervisor", "", "rg-1"), "ho-1", ""},
	}
	for i, s := range steps {
		l.now = t0.Add(time.Duration(i+1) * time.Hour)
		r, err := l.srv.EscalateCase(as(s.actor), &routingv1.EscalateCaseRequest{CaseId: id, Reason: "超出权限"})
		if err != nil || r.GetAssignment().GetOwnerId() != s.owner {
			t.Fatalf("escalate by %s: %v %v, want %s", s.actor.Subject, r, err, s.owner)
		}
		owners, above := l.contacts(notificationCalls(), id)
		wantContacts(t, s.owner+" owns it: owners", owners, []string{s.owner + " <" + s.owner + "@bank-a.example>"})
		var wantAbove []string
		if s.above != "" {
			wantAbove = []string{s.above + " <" + s.above + "@bank-a.example>"}
		}
		wantContacts(t, s.owner+" owns it: above", above, wantAbove)
	}
}

func TestEscalationContactsOfARoleQueueADepartmentAndStaffWithoutEmail(t *testing.T) {
	l := newLadder(t)
	l.withEmails()

	// teller-2 has no e-mail: the contact says so with an empty address.
	id := l.register("teller-2", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL")
	owners, _ := l.contacts(notificationCalls(), id)
	wantContacts(t, "owner without e-mail", owners, []string{"teller-2 <>"})

	// In the complaint managers' queue: its available staff own it, the
	// branch head is above.
	if _, err := l.srv.SetDuty(as(staffP("cm-07", "complaint_manager", "br-1", "rg-1")),
		&routingv1.SetDutyRequest{StaffId: "cm-07", OnDuty: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.srv.TransferCase(as(staffP("teller-2", "teller", "br-1", "rg-1")),
		&routingv1.TransferCaseRequest{CaseId: id, ToRole: routingv1.Role_ROLE_COMPLAINT_MANAGER, Reason: "超出柜员权限"}); err != nil {
		t.Fatal(err)
	}
	owners, above := l.contacts(notificationCalls(), id)
	var want []string
	for i := range claimers {
		if i != 7 { // off duty
			want = append(want, fmt.Sprintf("cm-%02d <cm-%02d@bank-a.example>", i, i))
		}
	}
	wantContacts(t, "role queue: owners (its on-duty staff)", owners, want)
	wantContacts(t, "role queue: above", above, []string{"bh-1 <bh-1@bank-a.example>"})

	// A department stands beside the branch head: above it is the region.
	dept := l.register("teller-1", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL")
	if _, err := l.srv.EscalateCase(as(staffP("teller-1", "teller", "br-1", "rg-1")),
		&routingv1.EscalateCaseRequest{CaseId: dept, Reason: "疑似诈骗", ToDepartment: routingv1.Role_ROLE_COMPLIANCE}); err != nil {
		t.Fatal(err)
	}
	owners, above = l.contacts(notificationCalls(), dept)
	wantContacts(t, "department: owners", owners, []string{"comp-1 <comp-1@bank-a.example>"})
	wantContacts(t, "department: above", above, []string{"sup-1 <sup-1@bank-a.example>"})

	// Nobody above on duty: nobody to name.
	for _, who := range []auth.Principal{staffP("sup-1", "regional_supervisor", "", "rg-1"), staffP("ho-1", "head_office", "", "")} {
		if _, err := l.srv.SetDuty(as(who), &routingv1.SetDutyRequest{StaffId: who.Subject, OnDuty: false}); err != nil {
			t.Fatal(err)
		}
	}
	_, above = l.contacts(notificationCalls(), dept)
	wantContacts(t, "department, region and head office off duty: above", above, nil)

	// ListStaff shows the e-mails the import stored.
	ls, err := l.srv.ListStaff(as(headOffice), &routingv1.ListStaffRequest{BranchId: "br-1"})
	if err != nil {
		t.Fatal(err)
	}
	emails := map[string]string{}
	for _, m := range ls.GetStaff() {
		emails[m.GetId()] = m.GetEmail()
	}
	if emails["teller-1"] != "teller-1@bank-a.example" || emails["bh-1"] != "bh-1@bank-a.example" || emails["teller-2"] != "" {
		t.Errorf("ListStaff e-mails %v", emails)
	}
}

// routing and notification both act on a DeadlineBreached: whichever comes
// first, naming the event gets the owner it breached with and whom routing
// gave the case to.
func TestEscalationContactsOfABreachReadTheSameBeforeAndAfterRoutingEscalated(t *testing.T) {
	l := newLadder(t)
	l.withEmails()
	id := l.register("teller-1", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL")
	breach := uuid.Must(uuid.NewV7()).String()
	asked := notificationCalls(routinggrpc.CauseHeader, breach)

	owners, above := l.contacts(asked, id)
	wantContacts(t, "before routing escalated: owners", owners, []string{"teller-1 <teller-1@bank-a.example>"})
	wantContacts(t, "before routing escalated: above", above, []string{"cm-00 <cm-00@bank-a.example>"})

	ctx := context.Background()
	err := l.srv.Store.InTx(ctx, func(tx routing.Tx) error {
		moved, err := routing.Service{}.Breached(ctx, tx, "bank-a", id, "DEADLINE_KIND_FIRST_ANSWER", breach, t0.Add(time.Hour))
		if err == nil && !moved {
			err = fmt.Errorf("the breach moved nothing")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := l.assignment(id); a.GetOwnerId() != "cm-00" {
		t.Fatalf("after the breach %v, want cm-00", a)
	}
	owners, above = l.contacts(asked, id)
	wantContacts(t, "after routing escalated, for the breach: owners", owners, []string{"teller-1 <teller-1@bank-a.example>"})
	wantContacts(t, "after routing escalated, for the breach: above", above, []string{"cm-00 <cm-00@bank-a.example>"})

	// Asked for anything else, the case stands where it is now.
	for name, ctx := range map[string]context.Context{"no event": notificationCalls(),
		"another event": notificationCalls(routinggrpc.CauseHeader, uuid.NewString())} {
		owners, above = l.contacts(ctx, id)
		wantContacts(t, name+": owners", owners, []string{"cm-00 <cm-00@bank-a.example>"})
		wantContacts(t, name+": above", above, []string{"bh-1 <bh-1@bank-a.example>"})
	}

	// A breach while the case waits in a role queue: its staff were the owners.
	queued := l.register("teller-1", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL")
	if _, err := l.srv.TransferCase(as(staffP("teller-1", "teller", "br-1", "rg-1")),
		&routingv1.TransferCaseRequest{CaseId: queued, ToRole: routingv1.Role_ROLE_COMPLAINT_MANAGER, Reason: "超出柜员权限"}); err != nil {
		t.Fatal(err)
	}
	pickup := uuid.Must(uuid.NewV7()).String()
	err = l.srv.Store.InTx(ctx, func(tx routing.Tx) error {
		_, err := routing.Service{}.Breached(ctx, tx, "bank-a", queued, "DEADLINE_KIND_HANDOVER_PICKUP", pickup, t0.Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	owners, above = l.contacts(notificationCalls(routinggrpc.CauseHeader, pickup), queued)
	if len(owners) != claimers || !strings.HasPrefix(owners[0], "cm-00 ") {
		t.Errorf("breach in the queue: owners %v, want the %d complaint managers", owners, claimers)
	}
	wantContacts(t, "breach in the queue: above", above, []string{"bh-1 <bh-1@bank-a.example>"})
}

func TestEscalationContactsAreForTheNotificationServiceOnly(t *testing.T) {
	l := newLadder(t)
	id := l.register("teller-1", "CATEGORY_SERVICE_ATTITUDE", "SEVERITY_NORMAL")
	service := func(name string) context.Context {
		ctx := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: auth.AllTenants, Subject: name, Role: auth.RoleService})
		return auth.WithCallingService(ctx, name)
	}
	forwarded := func(p auth.Principal) context.Context {
		return auth.WithCallingService(auth.WithPrincipal(context.Background(), p), "notification")
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want codes.Code
	}{
		{"the notification service", notificationCalls(), codes.OK},
		{"notification for a caller of the case's bank", forwarded(headOffice), codes.OK},
		{"notification for a caller of another bank", forwarded(auth.Principal{Tenant: "bank-b", Subject: "ho-b", Role: auth.RoleHeadOffice}), codes.NotFound},
		{"another service", service("intake"), codes.PermissionDenied},
		{"another service for a caller", auth.WithCallingService(as(headOffice), "reporting"), codes.PermissionDenied},
		{"the bank's head office itself", as(headOffice), codes.PermissionDenied},
		{"a bank system", as(system), codes.PermissionDenied},
		{"the operator", as(auth.Principal{Tenant: auth.AllTenants, Subject: "op", Role: auth.RoleOperator}), codes.PermissionDenied},
		{"nobody", context.Background(), codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := l.srv.GetEscalationContacts(tc.ctx, &routingv1.GetEscalationContactsRequest{CaseId: id})
			wantCode(t, err, tc.want)
			if tc.want == codes.OK && len(resp.GetOwners()) != 1 {
				t.Errorf("owners %v", resp.GetOwners())
			}
		})
	}
	_, err := l.srv.GetEscalationContacts(notificationCalls(), &routingv1.GetEscalationContactsRequest{CaseId: uuid.NewString()})
	if status.Code(err) != codes.NotFound {
		t.Errorf("a case routing never assigned: %v, want NotFound", err)
	}
}

func TestStaffContactsNameActiveStaffOfTheBankForNotificationOnly(t *testing.T) {
	l := newLadder(t)
	l.withEmails()
	if _, err := l.srv.DeactivateStaff(as(headOffice), &routingv1.DeactivateStaffRequest{StaffId: "sup-1"}); err != nil {
		t.Fatal(err)
	}
	resp, err := l.srv.GetStaffContacts(notificationCalls(), &routingv1.GetStaffContactsRequest{TenantId: "bank-a",
		StaffIds: []string{"bh-1", "nobody", "sup-1", "teller-1", "bh-1"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range resp.GetContacts() {
		got = append(got, c.GetStaffId()+" <"+c.GetEmail()+"> "+c.GetRole().String())
	}
	wantContacts(t, "contacts", got, []string{"bh-1 <bh-1@bank-a.example> ROLE_BRANCH_HEAD", "teller-1 <teller-1@bank-a.example> ROLE_TELLER"})
	// The branch heads of a branch (a rectification notice is for them).
	resp, err = l.srv.GetStaffContacts(notificationCalls(), &routingv1.GetStaffContactsRequest{TenantId: "bank-a",
		BranchId: "br-1", Role: routingv1.Role_ROLE_BRANCH_HEAD})
	if err != nil || len(resp.GetContacts()) != 1 || resp.GetContacts()[0].GetStaffId() != "bh-1" {
		t.Errorf("branch heads of br-1: %v %v, want bh-1", resp.GetContacts(), err)
	}
	for _, bad := range []*routingv1.GetStaffContactsRequest{
		{TenantId: "bank-a"},
		{TenantId: "bank-a", BranchId: "br-1"},
		{TenantId: "bank-a", StaffIds: []string{"bh-1"}, BranchId: "br-1", Role: routingv1.Role_ROLE_BRANCH_HEAD},
	} {
		if _, err := l.srv.GetStaffContacts(notificationCalls(), bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: %v, want InvalidArgument", bad, err)
		}
	}
	// Another bank's ids name nobody of this one.
	resp, err = l.srv.GetStaffContacts(notificationCalls(), &routingv1.GetStaffContactsRequest{TenantId: "bank-b", StaffIds: []string{"bh-1"}})
	if err != nil || len(resp.GetContacts()) != 0 {
		t.Errorf("bank-b's bh-1: %v %v, want nobody", resp.GetContacts(), err)
	}
	for name, ctx := range map[string]context.Context{
		"the bank's head office": as(headOffice),
		"intake":                 auth.WithCallingService(auth.WithPrincipal(context.Background(), auth.Principal{Tenant: auth.AllTenants, Subject: "intake", Role: auth.RoleService}), "intake"),
	} {
		_, err := l.srv.GetStaffContacts(ctx, &routingv1.GetStaffContactsRequest{TenantId: "bank-a", StaffIds: []string{"bh-1"}})
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s: %v, want PermissionDenied", name, err)
		}
	}
}
