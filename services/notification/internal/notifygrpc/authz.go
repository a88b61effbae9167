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

// actOperateNotifications: list the bank's dead letters, read attempts and
// replay a dead letter.
const actOperateNotifications action = "list, inspect and retry the bank's notifications"

// The bank's message wordings and standard answers.
const (
	actReadTemplates  action = "read the bank's message templates"
	actWriteTemplates action = "change the bank's message templates"
	actReadAnswers    action = "read the bank's standard answers"
	actWriteAnswers   action = "change the bank's standard answers"
)

// roleTable is notification's one role table; which case the caller may see
// is intake's decision on top of it (CheckCaseAccess). SREs see no case
// data; the operator belongs to no bank.
var roleTable = map[action][]auth.Role{
	actReadNotifications: {
		auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
		auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance,
		auth.RoleLegal, auth.RoleBankSystem,
	},
	// The bank's head office and its SREs; SREs see no addresses.
	actOperateNotifications: {auth.RoleHeadOffice, auth.RoleSRE},
	// Head office words what the bank sends; compliance reviews it.
	actReadTemplates:  {auth.RoleHeadOffice, auth.RoleCompliance},
	actWriteTemplates: {auth.RoleHeadOffice},
	// Every member of staff answers customers, through the bank's systems
	// too; head office and compliance keep the texts.
	actReadAnswers: {
		auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
		auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleCompliance, auth.RoleLegal, auth.RoleBankSystem,
	},
	actWriteAnswers: {auth.RoleHeadOffice, auth.RoleCompliance},
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
