package casesgrpc

import (
	"context"
	"slices"

	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// action is something a caller asks intake to do.
type action string

const (
	actCreateCase   action = "register a case"
	actReadCase     action = "read cases"
	actVerifyAudit  action = "verify a case's audit trail"
	actAddNote      action = "add a note to a case"
	actVerify       action = "verify a case"
	actWork         action = "work a case"
	actClose        action = "close a case"
	actDecide       action = "decide a review"
	actReadSettings action = "read the bank's case settings"
	actPutSettings  action = "set the bank's case settings"
	actReclassify   action = "reclassify a case"
	actMoveBranch   action = "move a case to another branch"
)

// stepActions maps each lifecycle step to its row of the role table.
var stepActions = map[cases.Action]action{
	cases.ActStartVerification: actVerify, cases.ActRecordVerification: actVerify,
	cases.ActAnswer: actWork, cases.ActRecordReturnVisit: actWork, cases.ActWithdraw: actWork, cases.ActReopen: actWork,
	cases.ActRequestReview: actWork, cases.ActAwaitCustomer: actWork, cases.ActResumeFromCustomer: actWork,
	cases.ActClose: actClose, cases.ActDecideReview: actDecide, cases.ActAcknowledge: actWork,
	cases.ActAwaitAppraisal: actWork, cases.ActResumeFromAppraisal: actWork,
	cases.ActReclassify: actReclassify, cases.ActMoveBranch: actMoveBranch,
}

// staff are the people who work cases (each within their scope). Bank
// systems register and read cases; the steps are taken by people, so the
// audit trail names who took them.
var staff = []auth.Role{auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
	auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance, auth.RoleLegal}

// superiors verify (核实 is done by a superior, with other departments),
// close and decide reviews (the domain also requires the decider to rank
// above whoever answered).
var superiors = []auth.Role{auth.RoleComplaintManager, auth.RoleBranchHead, auth.RoleRegionalSupervisor,
	auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance, auth.RoleLegal}

// readers are the bank roles that read cases (each within its scope, which
// cases.View and the list filters apply on top of this table).
var readers = []auth.Role{
	auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
	auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance,
	auth.RoleLegal, auth.RoleBankSystem,
}

// roleTable is intake's one role table. Bank systems create and read cases
// and do nothing else; SREs see no case; the operator belongs to no bank.
// The internal API (GetCaseContact) is not here: it names the services that
// may call it (auth.RequireService), never a role a bank could hold.
var roleTable = map[action][]auth.Role{
	actCreateCase: {auth.RoleBankSystem, auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager,
		auth.RoleBranchHead, auth.RoleHeadOffice},
	actReadCase:     readers,
	actVerifyAudit:  readers,
	actAddNote:      staff,
	actVerify:       superiors,
	actWork:         staff,
	actClose:        superiors,
	actDecide:       superiors,
	actReadSettings: readers,
	// Head office administers the bank; a bank system is not an administrator.
	actPutSettings: {auth.RoleHeadOffice},
	// The complexity is decided by a complaint manager, a branch head or
	// above in the line.
	actReclassify: {auth.RoleComplaintManager, auth.RoleBranchHead, auth.RoleRegionalSupervisor, auth.RoleHeadOffice},
	// A case moves between branches by head office, or a regional
	// supervisor of both branches' region (the domain checks the regions).
	actMoveBranch: {auth.RoleHeadOffice, auth.RoleRegionalSupervisor},
}

// contactReaders are the services that may read a customer's contact
// details: only notification writes to customers.
var contactReaders = []string{"notification"}

// surveyRecorders are the services that may record a customer's own answer
// to the return-visit survey (RecordReturnVisit on a closed case, as the
// customer): only notification, which sends the signed survey links and
// checks them. It is the one bank API step a service may take, and the
// only thing of a bank's API it may do.
var surveyRecorders = []string{"notification"}

// authorizeSurveyAnswer returns the calling service when it may record a
// survey answer; PermissionDenied for any other caller.
func authorizeSurveyAnswer(ctx context.Context) (auth.Principal, error) {
	return auth.RequireService(ctx, surveyRecorders...)
}

// isServiceCall reports whether a counterdesk service calls for itself (not
// on behalf of a caller, whose own token would make them the principal).
func isServiceCall(ctx context.Context) bool {
	p, ok := auth.FromContext(ctx)
	return ok && p.Role == auth.RoleService
}

// authorize returns the caller of a bank API when its role may do a:
// Unauthenticated without a caller, PermissionDenied for the operator and
// for a role the table does not list.
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
