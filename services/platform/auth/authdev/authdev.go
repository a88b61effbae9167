// Package authdev plays every identity provider of an installation for the
// dev stack and tests: one issuer per bank, the operators' issuer, one key
// per service and bank-system API keys, with the private keys that no
// production binary holds. Production code must not import it (a lint rule
// says so); it is how `make up` and the tests get real, asymmetric
// credentials to present.
package authdev

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is one identity provider with its private keys; the newest signs.
type Issuer struct {
	Issuer string            `json:"issuer"`
	Keys   []jose.JSONWebKey `json:"keys"` // private, oldest first
}

// APIKey is an issued bank-system API key, secret included.
type APIKey struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	Key     string `json:"key"` // cdk.<tenant>.<id>.<secret>
	Secret  string `json:"secret"`
}

// Installation is every party's keys.
type Installation struct {
	Banks     map[string]*Issuer         `json:"banks"` // by tenant
	APIKeys   map[string][]APIKey        `json:"apiKeys"`
	Operators *Issuer                    `json:"operators"`
	Services  map[string]jose.JSONWebKey `json:"services"` // private, kid = service name
}

// NewKey makes a P-256 signing key named kid.
func NewKey(kid string) (jose.JSONWebKey, error) {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	return jose.JSONWebKey{Key: pk, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// NewIssuer makes an issuer with one key.
func NewIssuer(iss string) (*Issuer, error) {
	i := &Issuer{Issuer: iss}
	return i, i.Rotate()
}

// Rotate adds a new key, which signs from now on; the old ones stay
// published until DropOldest, so tokens already out keep verifying.
func (i *Issuer) Rotate() error {
	k, err := NewKey(fmt.Sprintf("k%d-%s", len(i.Keys)+1, randomHex(4)))
	if err != nil {
		return err
	}
	i.Keys = append(i.Keys, k)
	return nil
}

// DropOldest stops publishing the oldest key.
func (i *Issuer) DropOldest() {
	if len(i.Keys) > 1 {
		i.Keys = i.Keys[1:]
	}
}

// JWKS is the issuer's published key set.
func (i *Issuer) JWKS() *jose.JSONWebKeySet {
	set := &jose.JSONWebKeySet{}
	for _, k := range i.Keys {
		set.Keys = append(set.Keys, k.Public())
	}
	return set
}

// Sign signs arbitrary claims with the newest key (tests build bad tokens
// with it).
func (i *Issuer) Sign(claims map[string]any) (string, error) {
	return signWith(i.Keys[len(i.Keys)-1], claims)
}

func signWith(key jose.JSONWebKey, claims map[string]any) (string, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(claims).Serialize()
}

// Claims are the claims of a token for p issued by iss at iat.
func Claims(iss, aud string, p auth.Principal, iat time.Time, ttl time.Duration) map[string]any {
	c := map[string]any{"iss": iss, "aud": []string{aud}, "sub": p.Subject, "iat": iat.Unix(),
		"nbf": iat.Add(-time.Second).Unix(), "exp": iat.Add(ttl).Unix(), "role": string(p.Role)}
	if p.Tenant != "" {
		c["tenant"] = p.Tenant
	}
	if p.Branch != "" {
		c["branch"] = p.Branch
	}
	if p.Region != "" {
		c["region"] = p.Region
	}
	return c
}

// New makes an installation with the given banks and services.
func New(tenants []string, services []string) (*Installation, error) {
	in := &Installation{Banks: map[string]*Issuer{}, APIKeys: map[string][]APIKey{}, Services: map[string]jose.JSONWebKey{}}
	var err error
	if in.Operators, err = NewIssuer("https://operators.counterdesk.invalid"); err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if err := in.AddBank(t); err != nil {
			return nil, err
		}
	}
	for _, s := range services {
		if in.Services[s], err = NewKey(s); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// AddBank gives tenant its own issuer.
func (in *Installation) AddBank(tenant string) error {
	i, err := NewIssuer("https://idp." + tenant + ".invalid")
	if err != nil {
		return err
	}
	in.Banks[tenant] = i
	return nil
}

// NewAPIKey issues a bank-system API key for tenant.
func (in *Installation) NewAPIKey(tenant, subject string) (string, error) {
	if in.Banks[tenant] == nil {
		return "", fmt.Errorf("no bank %q", tenant)
	}
	id, secret := randomHex(4), randomHex(32)
	k := APIKey{ID: id, Subject: subject, Secret: secret, Key: auth.APIKeyPrefix + tenant + "." + id + "." + secret}
	in.APIKeys[tenant] = append(in.APIKeys[tenant], k)
	return k.Key, nil
}

// Trust is the public side, as a service reads it.
func (in *Installation) Trust() auth.Trust {
	t := auth.Trust{Operators: &auth.Issuer{Issuer: in.Operators.Issuer, KeySet: auth.KeySet{JWKS: in.Operators.JWKS()}}}
	tenants := make([]string, 0, len(in.Banks))
	for t := range in.Banks {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	for _, tn := range tenants {
		b := auth.Bank{Tenant: tn, Issuer: auth.Issuer{Issuer: in.Banks[tn].Issuer, KeySet: auth.KeySet{JWKS: in.Banks[tn].JWKS()}}}
		for _, k := range in.APIKeys[tn] {
			b.APIKeys = append(b.APIKeys, auth.APIKey{ID: k.ID, Subject: k.Subject, SHA256: auth.HashAPIKeySecret(k.Secret)})
		}
		t.Banks = append(t.Banks, b)
	}
	svc := &jose.JSONWebKeySet{}
	names := make([]string, 0, len(in.Services))
	for n := range in.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k := in.Services[n]
		svc.Keys = append(svc.Keys, k.Public())
	}
	t.Services = auth.KeySet{JWKS: svc}
	return t
}

// Verifier verifies against the installation's trust with clock now.
func (in *Installation) Verifier(now func() time.Time) (*auth.Verifier, error) {
	return auth.NewVerifier(in.Trust(), now)
}

// Signer is service's own signer.
func (in *Installation) Signer(service string, now func() time.Time) (*auth.ServiceSigner, error) {
	k, ok := in.Services[service]
	if !ok {
		return nil, fmt.Errorf("no service key for %q", service)
	}
	return auth.NewServiceSigner(k, now)
}

// Mint signs a token for p, issued now (the real clock: the services check
// tokens against theirs) and valid for ttl, by whoever vouches for p: the
// bank's issuer, the operators' issuer, or the service's own key.
func (in *Installation) Mint(p auth.Principal, ttl time.Duration) (string, error) {
	return in.MintAt(p, time.Now(), ttl)
}

// MintAt is Mint with an explicit issue time.
func (in *Installation) MintAt(p auth.Principal, iat time.Time, ttl time.Duration) (string, error) {
	switch p.Role {
	case auth.RoleOperator:
		return in.Operators.Sign(Claims(in.Operators.Issuer, "counterdesk-api", p, iat, ttl))
	case auth.RoleService:
		k, ok := in.Services[p.Subject]
		if !ok {
			return "", fmt.Errorf("no service key for %q", p.Subject)
		}
		return signWith(k, Claims(auth.ServiceIssuer, auth.ServiceAudience, p, iat, ttl))
	}
	b, ok := in.Banks[p.Tenant]
	if !ok {
		return "", fmt.Errorf("no issuer for bank %q", p.Tenant)
	}
	return b.Sign(Claims(b.Issuer, "counterdesk-api", p, iat, ttl))
}

// Save writes the whole installation (private keys included) to path, 0600.
func (in *Installation) Save(path string) error {
	raw, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o600)
}

// Load reads what Save wrote.
func Load(path string) (*Installation, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var in Installation
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &in, nil
}

// WriteFiles writes what the services read: trust.json (public keys and API
// key digests) and one <service>.jwk (its private key, 0600) per service,
// into dir. It returns the trust file's path.
func (in *Installation) WriteFiles(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	raw, err := json.MarshalIndent(in.Trust(), "", "  ")
	if err != nil {
		return "", err
	}
	trust := filepath.Join(dir, "trust.json")
	if err := os.WriteFile(trust, raw, 0o644); err != nil {
		return "", err
	}
	for n, k := range in.Services {
		kr, err := json.Marshal(k)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, n+".jwk"), kr, 0o600); err != nil {
			return "", err
		}
	}
	return trust, nil
}
