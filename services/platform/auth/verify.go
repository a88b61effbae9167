package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Verifier checks the credentials callers present against the Trust:
//   - a JWT signed (RS256, ES256 or EdDSA; never a shared secret) by a bank's
//     issuer is a person or system of that bank, and only of that bank;
//   - a JWT of the operators' issuer is an installation operator;
//   - a JWT signed by a service's own key is that service, and only that one;
//   - "cdk.<tenant>.<id>.<secret>" is a bank system's API key.
type Verifier struct {
	trust     Trust
	now       func() time.Time
	banks     map[string]*bankTrust // by issuer
	byTenant  map[string]*bankTrust
	operators *issuerTrust
	services  keySource

	cacheMu sync.Mutex
	cache   map[string]cached // verified service tokens, reused for 4 minutes by their holder
}

type bankTrust struct {
	Bank
	keys keySource
}

type issuerTrust struct {
	Issuer
	keys keySource
}

type cached struct {
	p   Principal
	exp time.Time
}

var signatureAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// NewVerifier builds a verifier for t; now is the service's clock.
func NewVerifier(t Trust, now func() time.Time) (*Verifier, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if t.MaxTokenLifetime == 0 {
		t.MaxTokenLifetime = Duration(12 * time.Hour)
	}
	if t.ClockSkew == 0 {
		t.ClockSkew = Duration(time.Minute)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	v := &Verifier{trust: t, now: now, banks: map[string]*bankTrust{}, byTenant: map[string]*bankTrust{},
		services: newKeySource(t.Services, "services", client), cache: map[string]cached{}}
	for _, b := range t.Banks {
		if b.Audience == "" {
			b.Audience = defaultAudience
		}
		bt := &bankTrust{Bank: b, keys: newKeySource(b.KeySet, "bank "+b.Tenant, client)}
		v.banks[b.Issuer.Issuer] = bt
		v.byTenant[b.Tenant] = bt
	}
	if t.Operators != nil {
		o := *t.Operators
		if o.Audience == "" {
			o.Audience = defaultAudience
		}
		v.operators = &issuerTrust{Issuer: o, keys: newKeySource(o.KeySet, "operators", client)}
	}
	return v, nil
}

// LoadVerifier reads the trust file at path.
func LoadVerifier(path string, now func() time.Time) (*Verifier, error) {
	t, err := ReadTrust(path)
	if err != nil {
		return nil, err
	}
	return NewVerifier(t, now)
}

// tokenClaims are the claims counterdesk reads besides the registered ones.
type tokenClaims struct {
	Tenant string `json:"tenant,omitempty"`
	Role   string `json:"role"`
	Branch string `json:"branch,omitempty"`
	Region string `json:"region,omitempty"`
}

func unauthenticated(why string) error { return fmt.Errorf("%w: %s", ErrUnauthenticated, why) }

// Verify checks a bearer credential ("Bearer xyz" or "xyz"). Its errors
// never include the credential.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	token = strings.TrimSpace(token)
	if t, ok := strings.CutPrefix(token, "Bearer "); ok {
		token = strings.TrimSpace(t)
	}
	if token == "" {
		return Principal{}, unauthenticated("no bearer token")
	}
	if strings.HasPrefix(token, APIKeyPrefix) {
		return v.verifyAPIKey(token)
	}
	tok, err := jwt.ParseSigned(token, signatureAlgs)
	if err != nil {
		return Principal{}, unauthenticated("invalid token")
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return Principal{}, unauthenticated("token names no key (kid)")
	}
	kid := tok.Headers[0].KeyID
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Principal{}, unauthenticated("invalid token")
	}
	now := v.now()
	switch {
	case unverified.Issuer == ServiceIssuer:
		return v.verifyService(ctx, tok, kid, token, now)
	case v.operators != nil && unverified.Issuer == v.operators.Issuer.Issuer:
		key, ok := v.operators.keys.key(ctx, kid, now)
		if !ok {
			return Principal{}, unauthenticated("unknown signing key")
		}
		std, c, err := v.claims(tok, key, v.operators.Issuer.Issuer, v.operators.Audience, time.Duration(v.trust.MaxTokenLifetime), now)
		if err != nil {
			return Principal{}, err
		}
		if c.Role != string(RoleOperator) || (c.Tenant != "" && c.Tenant != AllTenants) {
			return Principal{}, unauthenticated("the operators' issuer only vouches for operators")
		}
		return Principal{Tenant: AllTenants, Subject: std.Subject, Role: RoleOperator}, nil
	}
	b, ok := v.banks[unverified.Issuer]
	if !ok {
		return Principal{}, unauthenticated("unknown issuer")
	}
	key, ok := b.keys.key(ctx, kid, now)
	if !ok {
		return Principal{}, unauthenticated("unknown signing key")
	}
	std, c, err := v.claims(tok, key, b.Issuer.Issuer, b.Audience, time.Duration(v.trust.MaxTokenLifetime), now)
	if err != nil {
		return Principal{}, err
	}
	// A bank's issuer vouches for its own people and systems only: never
	// another bank, never the services or the operators.
	if c.Tenant != "" && c.Tenant != b.Tenant {
		return Principal{}, unauthenticated("token names another bank than its issuer's")
	}
	r := Role(c.Role)
	if !knownRoles[r] || installationWide(r) {
		return Principal{}, unauthenticated("token lacks a bank role")
	}
	return Principal{Tenant: b.Tenant, Subject: std.Subject, Role: r, Branch: c.Branch, Region: c.Region}, nil
}

// claims verifies the signature and the registered claims: issuer,
// audience, a subject, exp and iat both present, iat not in the future, nbf
// passed, and a lifetime no longer than maxLife.
func (v *Verifier) claims(tok *jwt.JSONWebToken, key *jose.JSONWebKey, iss, aud string, maxLife time.Duration, now time.Time) (jwt.Claims, tokenClaims, error) {
	var std jwt.Claims
	var c tokenClaims
	if err := tok.Claims(key.Key, &std, &c); err != nil {
		return std, c, unauthenticated("bad signature")
	}
	skew := time.Duration(v.trust.ClockSkew)
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: iss, AnyAudience: jwt.Audience{aud}, Time: now}, skew); err != nil {
		return std, c, unauthenticated("token expired, not yet valid, or for another issuer or audience")
	}
	if std.Subject == "" || std.Expiry == nil || std.IssuedAt == nil {
		return std, c, unauthenticated("token lacks sub, exp or iat")
	}
	iat, exp := std.IssuedAt.Time(), std.Expiry.Time()
	if iat.After(now.Add(skew)) {
		return std, c, unauthenticated("token issued in the future")
	}
	if exp.Sub(iat) > maxLife {
		return std, c, unauthenticated(fmt.Sprintf("token lives longer than the allowed %s", maxLife))
	}
	return std, c, nil
}

func (v *Verifier) verifyService(ctx context.Context, tok *jwt.JSONWebToken, kid, raw string, now time.Time) (Principal, error) {
	v.cacheMu.Lock()
	if c, ok := v.cache[raw]; ok && now.Before(c.exp) {
		v.cacheMu.Unlock()
		return c.p, nil
	}
	v.cacheMu.Unlock()
	key, ok := v.services.key(ctx, kid, now)
	if !ok {
		return Principal{}, unauthenticated("unknown service key")
	}
	std, c, err := v.claims(tok, key, ServiceIssuer, ServiceAudience, MaxServiceTokenLifetime, now)
	if err != nil {
		return Principal{}, err
	}
	// The key is the identity: a service's key signs for that service only.
	if std.Subject != kid || c.Role != string(RoleService) || (c.Tenant != "" && c.Tenant != AllTenants) {
		return Principal{}, unauthenticated("a service key signs only for its own service")
	}
	p := Principal{Tenant: AllTenants, Subject: std.Subject, Role: RoleService}
	v.cacheMu.Lock()
	if len(v.cache) > 4096 {
		clear(v.cache)
	}
	v.cache[raw] = cached{p: p, exp: std.Expiry.Time()}
	v.cacheMu.Unlock()
	return p, nil
}

// verifyAPIKey checks "cdk.<tenant>.<id>.<secret>".
func (v *Verifier) verifyAPIKey(token string) (Principal, error) {
	parts := strings.Split(strings.TrimPrefix(token, APIKeyPrefix), ".")
	if len(parts) != 3 {
		return Principal{}, unauthenticated("malformed API key")
	}
	b, ok := v.byTenant[parts[0]]
	if !ok {
		return Principal{}, unauthenticated("unknown API key")
	}
	sum := sha256.Sum256([]byte(parts[2]))
	for _, k := range b.APIKeys {
		if k.ID != parts[1] {
			continue
		}
		want, err := hex.DecodeString(k.SHA256)
		if err != nil || subtle.ConstantTimeCompare(want, sum[:]) != 1 {
			break
		}
		if k.NotAfter != nil && !v.now().Before(*k.NotAfter) {
			return Principal{}, unauthenticated("API key expired")
		}
		return Principal{Tenant: b.Tenant, Subject: k.Subject, Role: RoleBankSystem}, nil
	}
	return Principal{}, unauthenticated("unknown API key")
}

// HashAPIKeySecret is how an API key's secret is stored in the trust file.
func HashAPIKeySecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
