package notifygrpc

import (
	"context"
	"slices"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// action is something a caller asks notification to do.
type action string

const actReadNotifications action = "read a case's notifications"

// roleTable is notification's one role table; which case the caller may see
// is intake's decision on top of it (CheckCaseAccess). SREs see no case
// data; the operator belongs to no bank.
var roleTable = map[action][]auth.Role{
	actReadNotifications: {
		auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
		auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance,
		auth.RoleLegal, auth.RoleBankSystem,
	},
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
