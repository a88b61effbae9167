// Protects who a caller is: only well-signed, unexpired counterdesk tokens pass, and each role sees the branches and personal data it may.
package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	signingKey = "0123456789abcdef0123456789abcdef-test-key"
	otherKey   = "fedcba9876543210fedcba9876543210-other-key"
)

func newVerifier(t *testing.T, key string) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(key)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// sign builds a token by hand, for the shapes Mint refuses to make.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign test token: %v", err)
	}
	return s
}

// validClaims are what Mint would put in a token for a teller of bank-a.
func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": "counterdesk", "aud": []string{"counterdesk-api"}, "sub": "staff-1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"tenant": "bank-a", "role": "teller", "branch": "b1", "region": "r1",
	}
}

func without(c jwt.MapClaims, key string) jwt.MapClaims {
	delete(c, key)
	return c
}

func with(c jwt.MapClaims, key string, value any) jwt.MapClaims {
	c[key] = value
	return c
}

func TestNewVerifierRefusesShortKeys(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantErr bool
	}{
		{name: "an empty key is refused", key: "", wantErr: true},
		{name: "a 31-character key is refused", key: strings.Repeat("k", 31), wantErr: true},
		{name: "a 32-character key is accepted", key: strings.Repeat("k", 32), wantErr: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.NewVerifier(tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewVerifier(%d chars) error = %v, want error %v", len(tt.key), err, tt.wantErr)
			}
			if err != nil && tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
}

func TestMintedTokensVerifyToTheSamePrincipal(t *testing.T) {
	v := newVerifier(t, signingKey)
	tests := []struct {
		name   string
		p      auth.Principal
		prefix string
	}{
		{name: "a teller's token round-trips with branch and region", p: auth.Principal{Tenant: "bank-a", Subject: "staff-1", Role: auth.RoleTeller, Branch: "b1", Region: "r1"}},
		{name: "a regional supervisor's token round-trips without a branch", p: auth.Principal{Tenant: "bank-a", Subject: "sup-1", Role: auth.RoleRegionalSupervisor, Region: "r1"}},
		{name: "a service token for every tenant round-trips", p: auth.Principal{Tenant: "*", Subject: "intake", Role: auth.RoleService}},
		{name: "a token given as an Authorization header value verifies", p: auth.Principal{Tenant: "bank-b", Subject: "ho-1", Role: auth.RoleHeadOffice}, prefix: "Bearer "},
		{name: "a token with surrounding spaces verifies", p: auth.Principal{Tenant: "bank-b", Subject: "sre-1", Role: auth.RoleSRE}, prefix: "  Bearer   "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := v.Mint(tt.p, time.Minute)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			got, err := v.Verify(tt.prefix + tok + " ")
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.p {
				t.Errorf("Verify = %+v, want %+v", got, tt.p)
			}
		})
	}
}

func TestVerifyRejectsBadTokensWithoutEchoingThem(t *testing.T) {
	v := newVerifier(t, signingKey)
	other := newVerifier(t, otherKey)
	teller := auth.Principal{Tenant: "bank-a", Subject: "staff-1", Role: auth.RoleTeller, Branch: "b1"}
	mint := func(v *auth.Verifier, p auth.Principal, ttl time.Duration) string {
		tok, err := v.Mint(p, ttl)
		if err != nil {
			t.Fatalf("Mint: %v", err)
		}
		return tok
	}
	valid := mint(v, teller, time.Hour)
	parts := strings.Split(valid, ".")
	// Same header, a payload granting more, and the teller token's signature.
	forged := strings.Split(sign(t, jwt.SigningMethodHS256, []byte(otherKey), with(validClaims(), "role", "head_office")), ".")

	tests := []struct {
		name  string
		token string
	}{
		{name: "an empty token is rejected", token: ""},
		{name: "a bare Bearer prefix is rejected", token: "Bearer "},
		{name: "a malformed token is rejected", token: "not-a-jwt-at-all"},
		{name: "an expired token is rejected", token: mint(v, teller, -time.Minute)},
		{name: "a token signed with another key is rejected", token: mint(other, teller, time.Hour)},
		{name: "a token whose payload was swapped for a head office one is rejected", token: parts[0] + "." + forged[1] + "." + parts[2]},
		{name: "an unsigned token (alg none) is rejected", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims())},
		{name: "a token signed with HS512 and the right key is rejected", token: sign(t, jwt.SigningMethodHS512, []byte(signingKey), validClaims())},
		{name: "a token signed with HS384 and the right key is rejected", token: sign(t, jwt.SigningMethodHS384, []byte(signingKey), validClaims())},
		{name: "a token without expiry is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), without(validClaims(), "exp"))},
		{name: "a token from another issuer is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), with(validClaims(), "iss", "someone-else"))},
		{name: "a token for another audience is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), with(validClaims(), "aud", []string{"other-api"}))},
		{name: "a token without tenant is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), without(validClaims(), "tenant"))},
		{name: "a token without subject is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), without(validClaims(), "sub"))},
		{name: "a token without role is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), without(validClaims(), "role"))},
		{name: "a token with an unknown role is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), with(validClaims(), "role", "admin"))},
		{name: "a token with a role in the wrong case is rejected", token: sign(t, jwt.SigningMethodHS256, []byte(signingKey), with(validClaims(), "role", "Teller"))},
		{name: "a minted token without tenant is rejected", token: mint(v, auth.Principal{Subject: "staff-1", Role: auth.RoleTeller}, time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(tt.token)
			if err == nil {
				t.Fatalf("Verify accepted the token as %+v", p)
			}
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("error %v is not ErrUnauthenticated", err)
			}
			if p != (auth.Principal{}) {
				t.Errorf("Verify returned principal %+v with its error", p)
			}
			for _, part := range strings.Split(strings.TrimPrefix(strings.TrimSpace(tt.token), "Bearer "), ".") {
				if len(part) >= 8 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q contains part of the token", err)
				}
			}
		})
	}

	// The control: the untouched token verifies, so the rejections above
	// are about what each case changed.
	if _, err := v.Verify(valid); err != nil {
		t.Fatalf("the unaltered token was rejected: %v", err)
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, []byte(signingKey), validClaims())); err != nil {
		t.Fatalf("the hand-built valid token was rejected: %v", err)
	}
}

var allRoles = []auth.Role{
	auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
	auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance,
	auth.RoleLegal, auth.RoleBankSystem, auth.RoleSRE, auth.RoleService, auth.RoleOperator,
}

func TestEveryRoleVerifies(t *testing.T) {
	v := newVerifier(t, signingKey)
	for _, role := range allRoles {
		t.Run("a "+string(role)+" token is accepted", func(t *testing.T) {
			p := auth.Principal{Tenant: "bank-a", Subject: "x", Role: role}
			if role == auth.RoleService || role == auth.RoleOperator {
				p.Tenant = auth.AllTenants
			}
			tok, err := v.Mint(p, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := v.Verify(tok); err != nil || got.Role != role {
				t.Fatalf("Verify = %+v, %v", got, err)
			}
		})
	}
}

// A bank's token cannot claim the service role (which reads any bank's
// customer contacts), and no person can act for all banks.
func TestServiceRoleAndAllBanksTenantGoTogether(t *testing.T) {
	v := newVerifier(t, signingKey)
	for _, p := range []auth.Principal{
		{Tenant: "bank-a", Subject: "notification", Role: auth.RoleService},
		{Tenant: auth.AllTenants, Subject: "x", Role: auth.RoleHeadOffice},
		{Tenant: auth.AllTenants, Subject: "x", Role: auth.RoleBankSystem},
		{Tenant: "bank-a", Subject: "op", Role: auth.RoleOperator},
	} {
		tok, err := v.Mint(p, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%+v accepted: %v", p, err)
		}
	}
}

func TestCanSeeBranchFollowsTheRole(t *testing.T) {
	type view struct{ ownBranch, otherBranchSameRegion, otherRegion bool }
	branchOnly := view{ownBranch: true}
	regionWide := view{ownBranch: true, otherBranchSameRegion: true}
	everywhere := view{ownBranch: true, otherBranchSameRegion: true, otherRegion: true}
	tests := []struct {
		name string
		role auth.Role
		want view
	}{
		{name: "a teller sees only their branch", role: auth.RoleTeller, want: branchOnly},
		{name: "a lobby manager sees only their branch", role: auth.RoleLobbyManager, want: branchOnly},
		{name: "a complaint manager sees only their branch", role: auth.RoleComplaintManager, want: branchOnly},
		{name: "a branch head sees only their branch", role: auth.RoleBranchHead, want: branchOnly},
		{name: "a regional supervisor sees every branch of their region", role: auth.RoleRegionalSupervisor, want: regionWide},
		{name: "head office sees every branch", role: auth.RoleHeadOffice, want: everywhere},
		{name: "tech support sees every branch", role: auth.RoleTechSupport, want: everywhere},
		{name: "compliance sees every branch", role: auth.RoleCompliance, want: everywhere},
		{name: "legal sees every branch", role: auth.RoleLegal, want: everywhere},
		{name: "a bank system sees every branch", role: auth.RoleBankSystem, want: everywhere},
		{name: "another counterdesk service sees every branch", role: auth.RoleService, want: everywhere},
		{name: "an SRE sees no branch at all", role: auth.RoleSRE, want: view{}},
		{name: "the installation operator sees no branch at all", role: auth.RoleOperator, want: view{}},
	}
	if len(tests) != len(allRoles) {
		t.Fatalf("table covers %d roles, there are %d", len(tests), len(allRoles))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := auth.Principal{Tenant: "bank-a", Subject: "x", Role: tt.role, Branch: "b1", Region: "r1"}
			got := view{
				ownBranch:             p.CanSeeBranch("b1", "r1"),
				otherBranchSameRegion: p.CanSeeBranch("b2", "r1"),
				otherRegion:           p.CanSeeBranch("b9", "r9"),
			}
			if got != tt.want {
				t.Errorf("CanSeeBranch = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCanSeeBranchNeedsTheCallersOwnBranchOrRegion(t *testing.T) {
	tests := []struct {
		name           string
		p              auth.Principal
		branch, region string
	}{
		{name: "a teller without a branch in the token sees no branch, not even an empty one", p: auth.Principal{Role: auth.RoleTeller}, branch: "", region: ""},
		{name: "a branch head without a branch sees no branch", p: auth.Principal{Role: auth.RoleBranchHead, Region: "r1"}, branch: "b1", region: "r1"},
		{name: "a regional supervisor without a region sees no region, not even an empty one", p: auth.Principal{Role: auth.RoleRegionalSupervisor}, branch: "b1", region: ""},
		{name: "a regional supervisor does not see another region's branch of the same id", p: auth.Principal{Role: auth.RoleRegionalSupervisor, Branch: "b1", Region: "r1"}, branch: "b1", region: "r2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.p.CanSeeBranch(tt.branch, tt.region) {
				t.Errorf("%+v can see branch %q in region %q", tt.p, tt.branch, tt.region)
			}
		})
	}
}

func TestSeesPersonalDataFollowsTheRole(t *testing.T) {
	tests := []struct {
		name string
		role auth.Role
		want bool
	}{
		{name: "a teller sees personal data masked", role: auth.RoleTeller, want: false},
		{name: "a lobby manager sees personal data masked", role: auth.RoleLobbyManager, want: false},
		{name: "a complaint manager sees personal data", role: auth.RoleComplaintManager, want: true},
		{name: "a branch head sees personal data", role: auth.RoleBranchHead, want: true},
		{name: "a regional supervisor sees personal data masked", role: auth.RoleRegionalSupervisor, want: false},
		{name: "head office sees personal data masked", role: auth.RoleHeadOffice, want: false},
		{name: "tech support sees personal data masked", role: auth.RoleTechSupport, want: false},
		{name: "compliance sees personal data", role: auth.RoleCompliance, want: true},
		{name: "legal sees personal data", role: auth.RoleLegal, want: true},
		{name: "a bank system sees personal data masked", role: auth.RoleBankSystem, want: false},
		{name: "another counterdesk service sees personal data", role: auth.RoleService, want: true},
		{name: "an SRE never sees personal data", role: auth.RoleSRE, want: false},
		{name: "the installation operator never sees personal data", role: auth.RoleOperator, want: false},
		{name: "an unknown role never sees personal data", role: auth.Role("admin"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := auth.Principal{Tenant: "bank-a", Subject: "x", Role: tt.role}
			if got := p.SeesPersonalData(); got != tt.want {
				t.Errorf("SeesPersonalData = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsStaffOnlyForPeopleOfTheBank(t *testing.T) {
	notStaff := map[auth.Role]bool{auth.RoleBankSystem: true, auth.RoleSRE: true, auth.RoleService: true, auth.RoleOperator: true}
	for _, role := range allRoles {
		want := !notStaff[role]
		name := "a " + string(role) + " is staff"
		if !want {
			name = "a " + string(role) + " is not staff"
		}
		t.Run(name, func(t *testing.T) {
			if got := (auth.Principal{Role: role}).IsStaff(); got != want {
				t.Errorf("IsStaff = %v, want %v", got, want)
			}
		})
	}
}

// The operator runs the installation (national calendars) and belongs to no
// bank: every API of a bank's data refuses it, while installation-wide APIs
// see it as a caller.
func TestTheOperatorIsRefusedByBankAPIs(t *testing.T) {
	op := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: auth.AllTenants, Subject: "op", Role: auth.RoleOperator})
	if _, err := auth.RequireTenant(op); status.Code(err) != codes.PermissionDenied {
		t.Errorf("RequireTenant(operator) = %v, want PermissionDenied", err)
	}
	if p, err := auth.RequireCaller(op); err != nil || p.Role != auth.RoleOperator {
		t.Errorf("RequireCaller(operator) = %+v, %v", p, err)
	}
	if _, err := auth.RequireCaller(context.Background()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("RequireCaller(nobody) = %v, want Unauthenticated", err)
	}
	bank := auth.WithPrincipal(context.Background(), auth.Principal{Tenant: "bank-a", Subject: "t", Role: auth.RoleTeller})
	if _, err := auth.RequireTenant(bank); err != nil {
		t.Errorf("RequireTenant(teller) = %v", err)
	}
}
