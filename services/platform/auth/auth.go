// Package auth verifies the bearer tokens callers present and carries the
// caller (tenant, role, branch, region) through the request context, so every
// service decides what a caller may see the same way. Tokens are HS256 JWTs
// signed with a key the services share; a bank's identity provider mints them
// in production, the dev stack mints them locally.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

type claims struct {
	jwt.RegisteredClaims
	Tenant string `json:"tenant"`
	Role   string `json:"role"`
	Branch string `json:"branch,omitempty"`
	Region string `json:"region,omitempty"`
}

const (
	issuer   = "counterdesk"
	audience = "counterdesk-api"
)

// ErrUnauthenticated is returned for a missing, malformed, expired or badly
// signed token. Its text never includes the token.
var ErrUnauthenticated = errors.New("unauthenticated")

// Verifier checks tokens signed with one shared key.
type Verifier struct{ key []byte }

// NewVerifier returns a verifier for key, which must be at least 32 bytes.
func NewVerifier(key string) (*Verifier, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("AUTH_SIGNING_KEY must be at least 32 characters, got %d", len(key))
	}
	return &Verifier{key: []byte(key)}, nil
}

// Verify parses a bearer token ("Bearer xyz" or "xyz").
func (v *Verifier) Verify(token string) (Principal, error) {
	token = strings.TrimSpace(token)
	if t, ok := strings.CutPrefix(token, "Bearer "); ok {
		token = strings.TrimSpace(t)
	}
	if token == "" {
		return Principal{}, fmt.Errorf("%w: no bearer token", ErrUnauthenticated)
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired())
	if err != nil {
		return Principal{}, fmt.Errorf("%w: invalid token", ErrUnauthenticated)
	}
	p := Principal{Tenant: c.Tenant, Subject: c.Subject, Role: Role(c.Role), Branch: c.Branch, Region: c.Region}
	if p.Tenant == "" || p.Subject == "" || !knownRoles[p.Role] {
		return Principal{}, fmt.Errorf("%w: token lacks tenant, subject or a known role", ErrUnauthenticated)
	}
	// Only counterdesk's own services and the installation operator act
	// across banks, and they only do so.
	if installationWide(p.Role) != (p.Tenant == AllTenants) {
		return Principal{}, fmt.Errorf("%w: the service and operator roles and the all-banks tenant go together", ErrUnauthenticated)
	}
	return p, nil
}

// Mint signs a token for p valid for ttl.
func (v *Verifier) Mint(p Principal, ttl time.Duration) (string, error) {
	now := time.Now() //nolint:forbidigo // a token is valid from the moment it is signed; the verifier checks it against the real clock too
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Audience: jwt.ClaimStrings{audience}, Subject: p.Subject,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Tenant: p.Tenant, Role: string(p.Role), Branch: p.Branch, Region: p.Region,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(v.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

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
