// Package auth verifies the credentials callers present and carries the
// caller (tenant, role, branch, region) through the request context, so every
// service decides what a caller may see the same way. Each bank has its own
// issuer (its identity provider's public keys, by kid) and its own API keys
// for its systems; the operators have theirs; each counterdesk service signs
// its own calls with a key no bank holds (see Trust). Nothing here mints a
// token for anyone else: that lives in authdev, for the dev stack and tests.
package auth

import (
	"context"
	"errors"
)

// Role is what the caller is, as named in the domain.
type Role string

const (
	RoleTeller             Role = "teller"
	RoleLobbyManager       Role = "lobby_manager"
	RoleComplaintManager   Role = "complaint_manager"
	RoleBranchHead         Role = "branch_head"
	RoleRegionalSupervisor Role = "regional_supervisor"
	RoleHeadOffice         Role = "head_office"
	RoleTechSupport        Role = "tech_support"
	RoleCompliance         Role = "compliance"
	RoleLegal              Role = "legal"
	RoleBankSystem         Role = "bank_system"
	RoleSRE                Role = "sre"
	// RoleService is another counterdesk service calling internal APIs.
	RoleService Role = "service"
	// RoleOperator runs the installation: national calendars and other
	// installation-wide settings. It belongs to no bank and sees no case or
	// personal data.
	RoleOperator Role = "operator"
)

var knownRoles = map[Role]bool{
	RoleTeller: true, RoleLobbyManager: true, RoleComplaintManager: true, RoleBranchHead: true,
	RoleRegionalSupervisor: true, RoleHeadOffice: true, RoleTechSupport: true, RoleCompliance: true,
	RoleLegal: true, RoleBankSystem: true, RoleSRE: true, RoleService: true, RoleOperator: true,
}

// installationWide reports whether a role acts for the whole installation
// rather than for one bank: such tokens carry the all-banks tenant, and no
// other token may.
func installationWide(r Role) bool { return r == RoleService || r == RoleOperator }

// AllTenants is the tenant of service-to-service tokens.
const AllTenants = "*"

// Principal is the authenticated caller.
type Principal struct {
	Tenant  string
	Subject string // staff id, bank-system client id or service name
	Role    Role
	Branch  string
	Region  string
}

// IsStaff reports whether the caller is a person working for the bank.
func (p Principal) IsStaff() bool {
	switch p.Role {
	case RoleBankSystem, RoleSRE, RoleService, RoleOperator:
		return false
	}
	return true
}

// SeesPersonalData reports whether the caller's role may see customer data
// unmasked. Tellers and lobby managers see it masked: they have the customer
// in front of them and do not need it from the system.
func (p Principal) SeesPersonalData() bool {
	switch p.Role {
	case RoleComplaintManager, RoleBranchHead, RoleCompliance, RoleLegal, RoleService:
		return true
	}
	return false
}

// CanSeeBranch reports whether the caller may see cases of branch in region.
// SREs see no case data at all.
func (p Principal) CanSeeBranch(branch, region string) bool {
	switch p.Role {
	case RoleSRE, RoleOperator:
		return false
	case RoleBankSystem, RoleHeadOffice, RoleService, RoleCompliance, RoleLegal, RoleTechSupport:
		return true
	case RoleRegionalSupervisor:
		return p.Region != "" && p.Region == region
	default:
		return p.Branch != "" && p.Branch == branch
	}
}

// ErrUnauthenticated is returned for a missing, malformed, expired or badly
// signed credential. Its text never includes the credential.
var ErrUnauthenticated = errors.New("unauthenticated")

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller, if authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
