package rectify

import (
	"fmt"
	"slices"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// actRead is reading notices (get, list).
const actRead Action = "read"

// roleTable is the one table of which role may do what with notices; which
// notice is decided by scope (CanSee, authorizeOn). SREs, bank systems and
// the operator appear nowhere: notices are about case handling, done by
// people of the bank.
var roleTable = map[Action][]auth.Role{
	ActionIssue:          {auth.RoleHeadOffice, auth.RoleRegionalSupervisor},
	actRead:              {auth.RoleHeadOffice, auth.RoleRegionalSupervisor, auth.RoleBranchHead},
	ActionRecordMeasures: {auth.RoleBranchHead, auth.RoleHeadOffice},
	ActionClose:          {auth.RoleHeadOffice, auth.RoleRegionalSupervisor},
}

var actionNames = map[Action]string{
	ActionIssue: "issue rectification notices", actRead: "read rectification notices",
	ActionRecordMeasures: "record rectification measures", ActionClose: "close rectification notices",
}

func authorize(caller auth.Principal, a Action) error {
	if caller.Tenant == "" || caller.Tenant == auth.AllTenants {
		return fmt.Errorf("%w: rectification notices are handled on behalf of one bank", ErrPermissionDenied)
	}
	if !slices.Contains(roleTable[a], caller.Role) {
		return fmt.Errorf("%w: the %s role may not %s", ErrPermissionDenied, caller.Role, actionNames[a])
	}
	return nil
}

// CanSee reports whether caller may read n: head office every notice of the
// bank, a regional supervisor those of their region's branches, a branch
// head those of their branch.
func CanSee(caller auth.Principal, n Notice) bool {
	if authorize(caller, actRead) != nil || caller.Tenant != n.TenantID {
		return false
	}
	switch caller.Role {
	case auth.RoleHeadOffice:
		return true
	case auth.RoleRegionalSupervisor:
		return n.BranchID != "" && caller.Region != "" && n.RegionID == caller.Region
	case auth.RoleBranchHead:
		return n.BranchID != "" && caller.Branch != "" && n.BranchID == caller.Branch
	}
	return false
}

// View checks that caller may read n; a notice outside their scope is not
// found, so that its existence is not disclosed.
func View(caller auth.Principal, n Notice) error {
	if err := authorize(caller, actRead); err != nil {
		return err
	}
	if !CanSee(caller, n) {
		return ErrNotFound
	}
	return nil
}

// authorizeOn checks that caller may take action a on n. A notice the
// caller cannot see is not found; one they see but may not act on is
// refused with the reason.
func authorizeOn(caller auth.Principal, a Action, n Notice) error {
	if err := authorize(caller, a); err != nil {
		return err
	}
	if !CanSee(caller, n) {
		return ErrNotFound
	}
	switch a {
	case ActionRecordMeasures:
		// The branch records its own measures; a department's are recorded
		// by head office, to which it belongs.
		if n.BranchID != "" && caller.Role != auth.RoleBranchHead {
			return fmt.Errorf("%w: the branch head of %s records its measures", ErrPermissionDenied, n.BranchID)
		}
		if n.Department != "" && caller.Role != auth.RoleHeadOffice {
			return fmt.Errorf("%w: head office records a department's measures", ErrPermissionDenied)
		}
	case ActionClose:
		// CanSee already confines a regional supervisor to their region.
	}
	return nil
}

// Filter selects notices by status.
type Filter string

const (
	FilterAll     Filter = ""
	FilterOpen    Filter = "open"
	FilterOverdue Filter = "overdue"
	FilterClosed  Filter = "closed"
)

// ListRequest is what a caller asks to list.
type ListRequest struct {
	Status   Filter
	BranchID string
	RegionID string
	PageSize int
	// After continues a list after this notice (from a page token).
	After *Cursor
}

// Cursor is a position in the list order (due time, then id).
type Cursor struct {
	DueAt string // RFC 3339 with nanoseconds
	ID    string
}

// Query is exactly the notices one list page reads: the caller's scope
// narrowed by their filter. Empty Region or Branch: no restriction.
type Query struct {
	Tenant string
	Region string
	Branch string
	Status Filter
	Limit  int
	After  *Cursor
}

// DefaultPageSize and MaxPageSize bound a list page.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ListQuery turns caller and req into the query a store runs. A branch or
// region filter outside the caller's scope is refused rather than answered
// with nothing, so the caller learns their request was wrong.
func ListQuery(caller auth.Principal, req ListRequest) (Query, error) {
	if err := authorize(caller, actRead); err != nil {
		return Query{}, err
	}
	switch req.Status {
	case FilterAll, FilterOpen, FilterOverdue, FilterClosed:
	default:
		return Query{}, &FieldError{"status", "unknown status filter"}
	}
	q := Query{Tenant: caller.Tenant, Status: req.Status, Limit: req.PageSize, After: req.After}
	if q.Limit <= 0 {
		q.Limit = DefaultPageSize
	}
	q.Limit = min(q.Limit, MaxPageSize)
	switch caller.Role {
	case auth.RoleRegionalSupervisor:
		if caller.Region == "" {
			return Query{}, fmt.Errorf("%w: regional supervisor's token names no region", ErrPermissionDenied)
		}
		q.Region = caller.Region
	case auth.RoleBranchHead:
		if caller.Branch == "" {
			return Query{}, fmt.Errorf("%w: branch head's token names no branch", ErrPermissionDenied)
		}
		q.Branch = caller.Branch
	}
	if req.RegionID != "" {
		if q.Region != "" && req.RegionID != q.Region {
			return Query{}, fmt.Errorf("%w: region %s is outside your region", ErrPermissionDenied, req.RegionID)
		}
		if q.Branch != "" {
			return Query{}, fmt.Errorf("%w: a branch head lists their own branch's notices only", ErrPermissionDenied)
		}
		q.Region = req.RegionID
	}
	if req.BranchID != "" {
		if q.Branch != "" && req.BranchID != q.Branch {
			return Query{}, fmt.Errorf("%w: branch %s is outside your branch", ErrPermissionDenied, req.BranchID)
		}
		// Within a region the region condition stays: a branch of another
		// region simply has no notices here.
		q.Branch = req.BranchID
	}
	return q, nil
}
