package timergrpc

import (
	"context"
	"slices"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// action is something a caller asks slatimer to do.
type action string

const (
	actReadDeadlines action = "read a case's deadlines"
	actReadPolicy    action = "read the SLA policy"
	actPutPolicy     action = "set the SLA policy"
	actReadCalendar  action = "read a national calendar"
	actLoadYear      action = "load a national calendar year"
	actCloseBranch   action = "close a branch"
	actReadClosures  action = "read a branch's closures"
	actQueryCalendar action = "count on a branch's calendar"
	// A first regulatory extension (15 → 30 days) needs an approver of
	// branch authority; a second (the last) one of regional authority.
	// Scope (the case's branch or region) is checked on top.
	actExtendFirst  action = "grant a first extension of the regulatory decision limit"
	actExtendSecond action = "grant a second extension of the regulatory decision limit"
	// The due-soon and overdue lists are supervisors' (scoped like
	// reports: see dueScope).
	actListDue action = "list due-soon and overdue deadlines"
)

// actReadPolicyVersions: the policy's versions are its audit trail, who
// changed which limit when. Head office sets policy; regional supervisors
// answer for their branches' compliance with it.
const actReadPolicyVersions action = "read the SLA policy's versions"

// bankRoles are the roles that act for one bank.
var bankRoles = []auth.Role{
	auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
	auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance,
	auth.RoleLegal, auth.RoleBankSystem,
}

// roleTable is slatimer's one role table: which roles may do what. Scope
// (which bank, which branch) is checked on top of it: a bank's callers only
// ever see their own bank, and branch-level calls go through routing's
// branch scoping. SREs see no case data; the installation operator loads
// national calendars and sees no bank's data.
var roleTable = map[action][]auth.Role{
	actReadDeadlines: bankRoles,
	actReadPolicy:    bankRoles,
	actPutPolicy:     {auth.RoleHeadOffice},

	actReadPolicyVersions: {auth.RoleHeadOffice, auth.RoleRegionalSupervisor},

	actReadCalendar:  append(slices.Clone(bankRoles), auth.RoleOperator, auth.RoleSRE),
	actLoadYear:      {auth.RoleOperator},
	actCloseBranch:   {auth.RoleHeadOffice},
	actReadClosures:  bankRoles,
	actQueryCalendar: bankRoles,
	actExtendFirst:   {auth.RoleBranchHead, auth.RoleRegionalSupervisor, auth.RoleHeadOffice},
	actExtendSecond:  {auth.RoleRegionalSupervisor, auth.RoleHeadOffice},
	actListDue:       {auth.RoleBranchHead, auth.RoleComplaintManager, auth.RoleRegionalSupervisor, auth.RoleHeadOffice},
}

// authorize returns the caller when its role may do a; Unauthenticated
// without a caller, PermissionDenied otherwise.
func authorize(ctx context.Context, a action) (auth.Principal, error) {
	p, err := auth.RequireCaller(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if !permits(p.Role, a) {
		return auth.Principal{}, status.Errorf(codes.PermissionDenied, "the %s role may not %s", p.Role, a)
	}
	return p, nil
}

// permits reports whether the role table lets r do a.
func permits(r auth.Role, a action) bool { return slices.Contains(roleTable[a], r) }
