package routinggrpc

import (
	"context"
	"slices"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// action is something a caller asks routing to do.
type action string

const (
	actReadBranch     action = "read a branch"
	actReadQueue      action = "read a branch's queue"
	actReadAssignment action = "read a case's assignment"
	actImportOrg      action = "change the organisation"
	actRebuildQueues  action = "rebuild the live queues"
	actHandOver       action = "claim, transfer, escalate or return a case"
	actSetDuty        action = "put staff on or off duty"
	actDeactivate     action = "deactivate staff"
	actListStaff      action = "list a branch's staff"
	actReadRules      action = "read the routing rules"
	actPutRules       action = "change the routing rules"
)

// staffRoles are the people who own cases. A bank system (a teller
// terminal, the app) registers cases on their behalf but is nobody who can
// pick one up.
var staffRoles = []auth.Role{
	auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
	auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance, auth.RoleLegal,
}

var bankRoles = []auth.Role{
	auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
	auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance,
	auth.RoleLegal, auth.RoleBankSystem,
}

// roleTable is routing's one role table; branch and region scope
// (Principal.CanSeeBranch) is applied on top of it. Head office administers
// the bank: a bank-system credential (a teller terminal) is not an
// administrator. SREs see no bank data; the operator belongs to no bank.
var roleTable = map[action][]auth.Role{
	actReadBranch:     bankRoles,
	actReadQueue:      bankRoles,
	actReadAssignment: bankRoles,
	actImportOrg:      {auth.RoleHeadOffice},
	// SREs rebuild the queues (a cache holding no case data) of the bank
	// whose token they hold.
	actRebuildQueues: {auth.RoleHeadOffice, auth.RoleSRE},
	actHandOver:      staffRoles,
	// Staff put themselves on or off duty; their branch head and head
	// office may do it for them (checked on the staff member's scope).
	actSetDuty:    staffRoles,
	actDeactivate: {auth.RoleHeadOffice},
	actListStaff:  bankRoles,
	actReadRules:  bankRoles,
	actPutRules:   {auth.RoleHeadOffice},
}

func authorize(ctx context.Context, a action) (auth.Principal, error) {
	p, err := auth.RequireTenant(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if !slices.Contains(roleTable[a], p.Role) {
		return auth.Principal{}, status.Errorf(codes.PermissionDenied, "the %s role may not %s", p.Role, a)
	}
	return p, nil
}
