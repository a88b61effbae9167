package report

import (
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
)

// ErrPermissionDenied is returned when the caller may not see what they
// asked for. Its wrapping text says why, and never names another tenant's or
// region's data.
var ErrPermissionDenied = errors.New("permission denied")

// FieldError is a request filter that cannot be used as given.
type FieldError struct {
	Field       string // as named in the API's JSON, e.g. "to"
	Description string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Description }

// Scope is the part of one tenant's cases a caller may count. An empty
// Region or Branch means no restriction on it.
type Scope struct {
	Tenant string
	Region string
	Branch string
}

// ScopeFor returns what caller may see in reports:
//   - head office, bank systems, compliance and legal: the whole bank;
//   - a regional supervisor: the cases of their region;
//   - branch staff (teller, lobby manager, complaint manager, branch head):
//     the cases of their branch;
//   - SREs, other services and any role not named here: nothing. Reports
//     are case data, and new roles start without access until someone
//     decides they need it.
func ScopeFor(caller auth.Principal) (Scope, error) {
	if caller.Tenant == "" || caller.Tenant == "*" {
		// "*" is the tenant of service tokens: never a bank.
		return Scope{}, fmt.Errorf("%w: reports are read on behalf of one bank", ErrPermissionDenied)
	}
	s := Scope{Tenant: caller.Tenant}
	switch caller.Role {
	case auth.RoleHeadOffice, auth.RoleBankSystem, auth.RoleCompliance, auth.RoleLegal:
		return s, nil
	case auth.RoleRegionalSupervisor:
		if caller.Region == "" {
			return Scope{}, fmt.Errorf("%w: regional supervisor's token names no region", ErrPermissionDenied)
		}
		s.Region = caller.Region
		return s, nil
	case auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead:
		if caller.Branch == "" {
			return Scope{}, fmt.Errorf("%w: branch staff token names no branch", ErrPermissionDenied)
		}
		s.Branch = caller.Branch
		return s, nil
	case auth.RoleSRE:
		return Scope{}, fmt.Errorf("%w: SREs see operational metrics, not case data", ErrPermissionDenied)
	default:
		return Scope{}, fmt.Errorf("%w: role %q does not read case reports", ErrPermissionDenied, caller.Role)
	}
}

// Filter narrows a report. Zero values mean no restriction.
type Filter struct {
	// From and To bound the case's receipt time: From <= received < To.
	From, To time.Time
	Region   string
	Branch   string
	// Dimensions, as proto enum names.
	Category, Channel, Severity, Tier string
}

// Query is a scope narrowed by a filter: exactly the cases a report counts.
type Query struct {
	Scope
	From, To                          time.Time
	Category, Channel, Severity, Tier string
}

// Validate checks the filter on its own, before any scope applies.
func (f Filter) Validate() error {
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return &FieldError{Field: "to", Description: "must be after from"}
	}
	return nil
}

// Narrow applies f to s. branchRegion is the region of f.Branch as far as
// the read model knows it (known is false for a branch without any case
// yet). A branch or region outside the scope is refused rather than
// answered with zeros, so that a caller learns their request was wrong.
func (s Scope) Narrow(f Filter, branchRegion string, known bool) (Query, error) {
	if err := f.Validate(); err != nil {
		return Query{}, err
	}
	q := Query{Scope: s, From: f.From, To: f.To, Category: f.Category, Channel: f.Channel, Severity: f.Severity, Tier: f.Tier}
	switch {
	case f.Region == "":
	case s.Region != "" && f.Region != s.Region:
		return Query{}, fmt.Errorf("%w: region %s is outside your region", ErrPermissionDenied, f.Region)
	case s.Branch != "":
		// Branch staff naming a region: the branch condition stays, so
		// nothing outside their branch can appear.
		q.Region = f.Region
	default:
		q.Region = f.Region
	}
	if f.Branch == "" {
		return q, nil
	}
	switch {
	case s.Branch != "" && f.Branch != s.Branch:
		return Query{}, fmt.Errorf("%w: branch %s is outside your branch", ErrPermissionDenied, f.Branch)
	case s.Region != "" && known && branchRegion != s.Region:
		return Query{}, fmt.Errorf("%w: branch %s is outside your region", ErrPermissionDenied, f.Branch)
	}
	// A branch not yet seen is still counted within the region: the query
	// keeps the region condition, so nothing outside the scope can appear.
	q.Branch = f.Branch
	return q, nil
}

// Allows reports whether a case at branch/region lies within s.
func (s Scope) Allows(branch, region string) bool {
	return (s.Branch == "" || s.Branch == branch) && (s.Region == "" || s.Region == region)
}
