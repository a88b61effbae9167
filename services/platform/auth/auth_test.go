// Protects who a caller is: each bank's issuer vouches only for that bank, the operators' issuer only for operators, a service key only for its own service, API keys only as their bank's systems; expired, future, over-long, unsigned, symmetric or forged credentials are refused without being echoed; keys rotate without a restart; and each role sees the branches and personal data it may.
package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/auth/authdev"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// t0 is the clock of every verifier here: tokens are issued relative to it.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func installation(t *testing.T) *authdev.Installation {
	t.Helper()
	in, err := authdev.New([]string{"bank-a", "bank-b"}, []string{"intake", "notification"})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func verifier(t *testing.T, in *authdev.Installation) *auth.Verifier {
	t.Helper()
	v, err := in.Verifier(fixed(t0))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func mint(t *testing.T, in *authdev.Installation, p auth.Principal, iat time.Time, ttl time.Duration) string {
	t.Helper()
	tok, err := in.MintAt(p, iat, ttl)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

func sign(t *testing.T, i *authdev.Issuer, c map[string]any) string {
	t.Helper()
	tok, err := i.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var teller = auth.Principal{Tenant: "bank-a", Subject: "staff-1", Role: auth.RoleTeller, Branch: "b1", Region: "r1"}

// tellerClaims are what bank-a's issuer puts in a teller's token.
func tellerClaims(in *authdev.Installation) map[string]any {
	return authdev.Claims(in.Banks["bank-a"].Issuer, "counterdesk-api", teller, t0, time.Hour)
}

func with(c map[string]any, k string, v any) map[string]any { c[k] = v; return c }

func without(c map[string]any, k string) map[string]any { delete(c, k); return c }

func TestEachIssuerVouchesForItsOwnPrincipals(t *testing.T) {
	in := installation(t)
	v := verifier(t, in)
	apiKey, err := in.NewAPIKey("bank-b", "teller-terminals")
	if err != nil {
		t.Fatal(err)
	}
	v = verifier(t, in) // the key's digest is in the trust now
	tests := []struct {
		name  string
		token string
		want  auth.Principal
	}{
		{name: "a teller's token from bank-a's issuer is bank-a's teller with branch and region",
			token: mint(t, in, teller, t0, time.Hour), want: teller},
		{name: "a token without a tenant claim takes its issuer's bank",
			token: sign(t, in.Banks["bank-b"], without(authdev.Claims(in.Banks["bank-b"].Issuer, "counterdesk-api", auth.Principal{Subject: "ho", Role: auth.RoleHeadOffice}, t0, time.Hour), "tenant")),
			want:  auth.Principal{Tenant: "bank-b", Subject: "ho", Role: auth.RoleHeadOffice}},
		{name: "a client-credential token of bank-b's issuer is bank-b's system",
			token: mint(t, in, auth.Principal{Tenant: "bank-b", Subject: "app", Role: auth.RoleBankSystem}, t0, time.Hour),
			want:  auth.Principal{Tenant: "bank-b", Subject: "app", Role: auth.RoleBankSystem}},
		{name: "bank-b's API key is bank-b's system",
			token: apiKey, want: auth.Principal{Tenant: "bank-b", Subject: "teller-terminals", Role: auth.RoleBankSystem}},
		{name: "an operator's token is an operator of no bank",
			token: mint(t, in, auth.Principal{Subject: "op-1", Role: auth.RoleOperator}, t0, time.Hour),
			want:  auth.Principal{Tenant: auth.AllTenants, Subject: "op-1", Role: auth.RoleOperator}},
		{name: "the notification service's token is that service",
			token: mint(t, in, auth.Principal{Tenant: auth.AllTenants, Subject: "notification", Role: auth.RoleService}, t0, 5*time.Minute),
			want:  auth.Principal{Tenant: auth.AllTenants, Subject: "notification", Role: auth.RoleService}},
		{name: "a token given as an Authorization header value with spaces verifies",
			token: "  Bearer   " + mint(t, in, teller, t0, time.Hour) + " ", want: teller},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.want {
				t.Errorf("Verify = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// hs256 builds a token signed with a shared secret, as the old installation
// key (or any key a service or IdP might hold) would.
func hs256(t *testing.T, secret string, c map[string]any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(c)).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRefusesEveryForgeryWithoutEchoingIt(t *testing.T) {
	in := installation(t)
	apiKey, err := in.NewAPIKey("bank-a", "terminals")
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, in)
	bankA, bankB := in.Banks["bank-a"], in.Banks["bank-b"]
	valid := mint(t, in, teller, t0, time.Hour)
	parts := strings.Split(valid, ".")
	richer := strings.Split(sign(t, bankB, with(tellerClaims(in), "role", "head_office")), ".")
	stranger, err := authdev.NewIssuer(bankA.Issuer) // same iss, keys nobody trusts
	if err != nil {
		t.Fatal(err)
	}
	svc := func(sub string, iat time.Time, ttl time.Duration) map[string]any {
		return authdev.Claims(auth.ServiceIssuer, auth.ServiceAudience, auth.Principal{Tenant: auth.AllTenants, Subject: sub, Role: auth.RoleService}, iat, ttl)
	}
	signSvc := func(key string, c map[string]any) string {
		i := &authdev.Issuer{Keys: []jose.JSONWebKey{in.Services[key]}}
		return sign(t, i, c)
	}
	keyParts := strings.Split(apiKey, ".")
	expiredKeyIn := installation(t)
	expiredKey, _ := expiredKeyIn.NewAPIKey("bank-a", "old")
	trust := expiredKeyIn.Trust()
	past := t0.Add(-time.Hour)
	trust.Banks[0].APIKeys[0].NotAfter = &past
	expiredV, err := auth.NewVerifier(trust, fixed(t0))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		v     *auth.Verifier
		token string
	}{
		{name: "an empty token", token: ""},
		{name: "a bare Bearer prefix", token: "Bearer "},
		{name: "a malformed token", token: "not-a-jwt-at-all"},
		{name: "an HS256 token signed with a shared secret", token: hs256(t, "0123456789abcdef0123456789abcdef-old-key", tellerClaims(in))},
		{name: "an HS256 token claiming the service role", token: hs256(t, "0123456789abcdef0123456789abcdef-old-key", svc("notification", t0, time.Minute))},
		{name: "a token signed by keys nobody trusts under bank-a's iss", token: sign(t, stranger, tellerClaims(in))},
		{name: "bank-b's issuer signing a token that names bank-a", token: sign(t, bankB, with(authdev.Claims(bankB.Issuer, "counterdesk-api", teller, t0, time.Hour), "tenant", "bank-a"))},
		{name: "bank-b's issuer signing a token under bank-a's iss", token: sign(t, bankB, tellerClaims(in))},
		{name: "a payload swapped for a head office one under the teller's signature", token: parts[0] + "." + richer[1] + "." + parts[2]},
		{name: "a bank's issuer claiming the service role", token: sign(t, bankA, with(tellerClaims(in), "role", "service"))},
		{name: "a bank's issuer claiming the operator role", token: sign(t, bankA, with(tellerClaims(in), "role", "operator"))},
		{name: "a bank's issuer claiming all banks", token: sign(t, bankA, with(tellerClaims(in), "tenant", "*"))},
		{name: "a bank's issuer signing with the services' issuer", token: sign(t, bankA, svc("notification", t0, time.Minute))},
		{name: "the operators' issuer vouching for a head office", token: sign(t, in.Operators, authdev.Claims(in.Operators.Issuer, "counterdesk-api", auth.Principal{Tenant: "bank-a", Subject: "x", Role: auth.RoleHeadOffice}, t0, time.Hour))},
		{name: "intake's key signing as notification", token: signSvc("intake", svc("notification", t0, time.Minute))},
		{name: "a service token living an hour", token: signSvc("notification", svc("notification", t0, time.Hour))},
		{name: "a service token for the public audience", token: signSvc("notification", with(svc("notification", t0, time.Minute), "aud", []string{"counterdesk-api"}))},
		{name: "an expired token", token: mint(t, in, teller, t0.Add(-2*time.Hour), time.Hour)},
		{name: "a token issued in the future", token: mint(t, in, teller, t0.Add(10*time.Minute), time.Hour)},
		{name: "a token not yet valid", token: sign(t, bankA, with(tellerClaims(in), "nbf", t0.Add(time.Hour).Unix()))},
		{name: "a token living a year", token: mint(t, in, teller, t0, 365*24*time.Hour)},
		{name: "a token without iat", token: sign(t, bankA, without(tellerClaims(in), "iat"))},
		{name: "a token without exp", token: sign(t, bankA, without(tellerClaims(in), "exp"))},
		{name: "a token without subject", token: sign(t, bankA, without(tellerClaims(in), "sub"))},
		{name: "a token without role", token: sign(t, bankA, without(tellerClaims(in), "role"))},
		{name: "a token with an unknown role", token: sign(t, bankA, with(tellerClaims(in), "role", "admin"))},
		{name: "a token with a role in the wrong case", token: sign(t, bankA, with(tellerClaims(in), "role", "Teller"))},
		{name: "a token for another audience", token: sign(t, bankA, with(tellerClaims(in), "aud", []string{"other-api"}))},
		{name: "a token from an unknown issuer", token: sign(t, bankA, with(tellerClaims(in), "iss", "https://evil.invalid"))},
		{name: "an unsigned token (alg none)", token: parts[0][:0] + "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."},
		{name: "an API key with a wrong secret", token: strings.Join(keyParts[:3], ".") + "." + strings.Repeat("0", 64)},
		{name: "an API key presented for another bank", token: "cdk.bank-b." + keyParts[2] + "." + keyParts[3]},
		{name: "an API key of an unknown id", token: "cdk.bank-a.nosuch." + keyParts[3]},
		{name: "a malformed API key", token: "cdk.bank-a"},
		{name: "an API key past its notAfter", v: expiredV, token: expiredKey},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			vv := v
			if tt.v != nil {
				vv = tt.v
			}
			p, err := vv.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatalf("Verify accepted the token as %+v", p)
			}
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("error %v is not ErrUnauthenticated", err)
			}
			if p != (auth.Principal{}) {
				t.Errorf("Verify returned principal %+v with its error", p)
			}
			for _, part := range strings.FieldsFunc(tt.token, func(r rune) bool { return r == '.' || r == ' ' }) {
				if len(part) >= 8 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q contains part of the token", err)
				}
			}
		})
	}
	// The controls: the untouched credentials verify, so each refusal above
	// is about what its case changed.
	for _, tok := range []string{valid, apiKey, sign(t, bankA, tellerClaims(in)), signSvc("notification", svc("notification", t0, time.Minute))} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("an unaltered credential was refused: %v", err)
		}
	}
}

// A bank rotates its IdP's keys without anyone restarting: the new key is
// published next to the old (file or URL), tokens of both verify, and once
// the old key is withdrawn its tokens stop verifying.
func TestKeysRotateWithoutARestart(t *testing.T) {
	in := installation(t)
	bank := in.Banks["bank-a"]
	dir := t.TempDir()
	jwksFile := filepath.Join(dir, "bank-a.jwks")
	var served atomic.Value
	publish := func() {
		raw, err := json.Marshal(bank.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jwksFile, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		served.Store(raw)
	}
	publish()
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(served.Load().([]byte))
	}))
	defer srv.Close()

	for _, source := range []struct {
		name string
		ks   auth.KeySet
	}{{"file", auth.KeySet{JWKSFile: jwksFile}}, {"url", auth.KeySet{JWKSURL: srv.URL}}} {
		t.Run("from a JWKS "+source.name, func(t *testing.T) {
			trust := in.Trust()
			trust.Banks[0].KeySet = source.ks
			now := t0
			v, err := auth.NewVerifier(trust, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			old := mint(t, in, teller, now, time.Hour)
			if _, err := v.Verify(context.Background(), old); err != nil {
				t.Fatalf("token of the first key: %v", err)
			}
			if err := bank.Rotate(); err != nil {
				t.Fatal(err)
			}
			publish()
			now = now.Add(6 * time.Second) // past the retry floor
			fresh := mint(t, in, teller, now, time.Hour)
			if _, err := v.Verify(context.Background(), fresh); err != nil {
				t.Fatalf("token of the rotated-in key: %v", err)
			}
			if _, err := v.Verify(context.Background(), old); err != nil {
				t.Fatalf("token of the old key during the overlap: %v", err)
			}
			bank.DropOldest()
			publish()
			now = now.Add(6 * time.Minute) // the regular refresh
			if _, err := v.Verify(context.Background(), old); err == nil {
				t.Fatal("a token of the withdrawn key still verifies")
			}
			if _, err := v.Verify(context.Background(), mint(t, in, teller, now, time.Hour)); err != nil {
				t.Fatalf("token of the current key after withdrawal: %v", err)
			}
		})
	}
	// Made-up kids do not each cost a fetch.
	trust := in.Trust()
	trust.Banks[0].KeySet = auth.KeySet{JWKSURL: srv.URL}
	v, err := auth.NewVerifier(trust, fixed(t0))
	if err != nil {
		t.Fatal(err)
	}
	before := fetches.Load()
	stranger, _ := authdev.NewIssuer(bank.Issuer)
	for range 20 {
		_, _ = v.Verify(context.Background(), sign(t, stranger, tellerClaims(in)))
	}
	if n := fetches.Load() - before; n > 1 {
		t.Errorf("20 tokens with unknown kids caused %d JWKS fetches, want at most 1", n)
	}
}

func TestTrustRefusesConfusableOrSecretKeys(t *testing.T) {
	in := installation(t)
	good := in.Trust()
	if err := good.Check(); err != nil {
		t.Fatalf("the generated trust is refused: %v", err)
	}
	priv := in.Banks["bank-a"].Keys[0]
	tests := []struct {
		name   string
		change func(*auth.Trust)
	}{
		{"two banks sharing one issuer", func(tr *auth.Trust) { tr.Banks[1].Issuer.Issuer = tr.Banks[0].Issuer.Issuer }},
		{"a bank using the operators' issuer", func(tr *auth.Trust) { tr.Banks[0].Issuer.Issuer = tr.Operators.Issuer }},
		{"a bank using the services' issuer", func(tr *auth.Trust) { tr.Banks[0].Issuer.Issuer = auth.ServiceIssuer }},
		{"one tenant twice", func(tr *auth.Trust) { tr.Banks[1].Tenant = tr.Banks[0].Tenant }},
		{"the all-banks tenant as a bank", func(tr *auth.Trust) { tr.Banks[0].Tenant = "*" }},
		{"a private key in the published set", func(tr *auth.Trust) { tr.Banks[0].JWKS = &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{priv}} }},
		{"a symmetric key", func(tr *auth.Trust) {
			tr.Banks[0].JWKS = &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hs", Algorithm: "HS256"}}}
		}},
		{"a key without kid", func(tr *auth.Trust) { tr.Banks[0].JWKS.Keys[0].KeyID = "" }},
		{"both a JWKS and a JWKS URL", func(tr *auth.Trust) { tr.Banks[0].JWKSURL = "https://idp.invalid/jwks" }},
		{"an API key without digest", func(tr *auth.Trust) { tr.Banks[0].APIKeys = []auth.APIKey{{ID: "k", Subject: "s"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			tr := in.Trust()
			tt.change(&tr)
			if err := tr.Check(); err == nil {
				t.Fatal("Check accepted it")
			}
			if _, err := auth.NewVerifier(tr, fixed(t0)); err == nil {
				t.Fatal("NewVerifier accepted it")
			}
		})
	}
}

// The service signer signs only for its own service, and reuses its token
// rather than signing every call.
func TestServiceSignerSignsOnlyForItself(t *testing.T) {
	in := installation(t)
	now := t0
	s, err := in.Signer("notification", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, in)
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil || p != (auth.Principal{Tenant: auth.AllTenants, Subject: "notification", Role: auth.RoleService}) {
		t.Fatalf("Verify(service token) = %+v, %v", p, err)
	}
	now = now.Add(time.Minute)
	if again, _ := s.Token(); again != tok {
		t.Error("the signer re-signed a token that had four minutes left")
	}
	now = now.Add(4 * time.Minute)
	if again, _ := s.Token(); again == tok {
		t.Error("the signer reused a token about to expire")
	}
	intakeKey := in.Services["intake"]
	if _, err := auth.NewServiceSigner(intakeKey.Public(), fixed(t0)); err == nil {
		t.Error("a public key was accepted as a signing key")
	}
}

var allRoles = []auth.Role{
	auth.RoleTeller, auth.RoleLobbyManager, auth.RoleComplaintManager, auth.RoleBranchHead,
	auth.RoleRegionalSupervisor, auth.RoleHeadOffice, auth.RoleTechSupport, auth.RoleCompliance,
	auth.RoleLegal, auth.RoleBankSystem, auth.RoleSRE, auth.RoleService, auth.RoleOperator,
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
