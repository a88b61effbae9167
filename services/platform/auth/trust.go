package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Trust is who the installation believes: each bank's own issuer (its
// identity provider's keys) and API keys, the installation operators'
// issuer, and the public keys of counterdesk's own services. No bank holds
// the keys of another bank, of the operators or of the services, so no bank
// can mint a token that acts for anyone but its own people and systems.
//
// It is read from a JSON file (AUTH_TRUST_FILE) that holds only public
// material: JWKS or JWKS URLs and SHA-256 digests of API keys.
type Trust struct {
	// MaxTokenLifetime bounds exp-iat of a bank's or the operators' tokens
	// (default 12h): a token minted to live for ever is refused.
	MaxTokenLifetime Duration `json:"maxTokenLifetime,omitempty"`
	// ClockSkew tolerated on iat, nbf and exp (default 60s).
	ClockSkew Duration `json:"clockSkew,omitempty"`
	Banks     []Bank   `json:"banks"`
	// Operators is the issuer of the installation operators' tokens.
	Operators *Issuer `json:"operators,omitempty"`
	// Services are the public keys of counterdesk's services, each key's
	// kid the name of the service that holds the private half.
	Services KeySet `json:"services"`
}

// Bank is one tenant's trust: its issuer and its bank-system API keys.
type Bank struct {
	Tenant string `json:"tenant"`
	Issuer
	APIKeys []APIKey `json:"apiKeys,omitempty"`
}

// Issuer is an identity provider: its iss, the audience it must name, and
// where its signing keys are published.
type Issuer struct {
	Issuer   string `json:"issuer"`
	Audience string `json:"audience,omitempty"` // default counterdesk-api
	KeySet
}

// KeySet says where public keys come from: inline, a file (re-read when it
// changes, so a mounted Secret or ConfigMap rotates without a restart) or a
// URL (an IdP's jwks_uri, re-fetched when a token names an unknown kid and
// every refresh interval).
type KeySet struct {
	JWKS     *jose.JSONWebKeySet `json:"jwks,omitempty"`
	JWKSFile string              `json:"jwksFile,omitempty"`
	JWKSURL  string              `json:"jwksUrl,omitempty"`
}

// APIKey is a bank system's credential, stored as the SHA-256 of its secret
// part (the secret is 32 random bytes, so a fast digest is not guessable).
// A key is presented as "cdk.<tenant>.<id>.<secret>".
type APIKey struct {
	ID      string `json:"id"`
	Subject string `json:"subject"` // e.g. the terminal fleet it was issued to
	SHA256  string `json:"sha256"`  // hex of sha256(secret)
	// NotAfter, when set, ends the key's validity (rotation: issue the new
	// key, then set the old one's NotAfter).
	NotAfter *time.Time `json:"notAfter,omitempty"`
}

// Duration is a time.Duration written as "12h" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"12h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

const (
	// defaultAudience is what bank and operator tokens must name.
	defaultAudience = "counterdesk-api"
	// ServiceIssuer and ServiceAudience mark the services' own tokens, which
	// no bank's issuer can produce (a bank token naming them is refused).
	ServiceIssuer   = "counterdesk-services"
	ServiceAudience = "counterdesk-internal"
	// MaxServiceTokenLifetime bounds service tokens.
	MaxServiceTokenLifetime = 10 * time.Minute
	// APIKeyPrefix starts every bank-system API key.
	APIKeyPrefix = "cdk."
)

var tenantPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ReadTrust reads and checks a trust file.
func ReadTrust(path string) (Trust, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Trust{}, fmt.Errorf("read AUTH_TRUST_FILE: %w", err)
	}
	var t Trust
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Trust{}, fmt.Errorf("parse AUTH_TRUST_FILE %s: %w", path, err)
	}
	return t, t.Check()
}

// Check refuses a trust that would let one party act as another: two banks
// with one tenant or one issuer, an issuer shared with the operators or the
// services, keys without kid, secret (private or symmetric) keys.
func (t Trust) Check() error {
	issuers := map[string]string{ServiceIssuer: "the services"}
	if t.Operators != nil {
		if t.Operators.Issuer == "" {
			return errors.New("trust: operators.issuer is empty")
		}
		if other, ok := issuers[t.Operators.Issuer]; ok {
			return fmt.Errorf("trust: operators.issuer %q is also the issuer of %s", t.Operators.Issuer, other)
		}
		issuers[t.Operators.Issuer] = "the operators"
		if err := t.Operators.check("operators"); err != nil {
			return err
		}
	}
	tenants := map[string]bool{}
	for i, b := range t.Banks {
		where := fmt.Sprintf("banks[%d]", i)
		if !tenantPattern.MatchString(b.Tenant) {
			return fmt.Errorf("trust: %s.tenant %q must be lower-case letters, digits and dashes", where, b.Tenant)
		}
		if tenants[b.Tenant] {
			return fmt.Errorf("trust: tenant %q appears twice", b.Tenant)
		}
		tenants[b.Tenant] = true
		if b.Issuer.Issuer == "" {
			return fmt.Errorf("trust: %s.issuer is empty", where)
		}
		if other, ok := issuers[b.Issuer.Issuer]; ok {
			return fmt.Errorf("trust: %s.issuer %q is also the issuer of %s", where, b.Issuer.Issuer, other)
		}
		issuers[b.Issuer.Issuer] = "bank " + b.Tenant
		if err := b.check(where); err != nil {
			return err
		}
		ids := map[string]bool{}
		for j, k := range b.APIKeys {
			if k.ID == "" || strings.Contains(k.ID, ".") || k.Subject == "" || len(k.SHA256) != 64 {
				return fmt.Errorf("trust: %s.apiKeys[%d] needs an id without dots, a subject and a 64-hex sha256", where, j)
			}
			if ids[k.ID] {
				return fmt.Errorf("trust: %s.apiKeys id %q appears twice", where, k.ID)
			}
			ids[k.ID] = true
		}
	}
	return t.Services.check("services")
}

func (k KeySet) check(where string) error {
	n := 0
	if k.JWKS != nil {
		n++
	}
	if k.JWKSFile != "" {
		n++
	}
	if k.JWKSURL != "" {
		n++
	}
	if n != 1 {
		return fmt.Errorf("trust: %s needs exactly one of jwks, jwksFile, jwksUrl", where)
	}
	if k.JWKS != nil {
		return checkPublicSet(where, k.JWKS)
	}
	return nil
}

func checkPublicSet(where string, set *jose.JSONWebKeySet) error {
	for i, key := range set.Keys {
		if key.KeyID == "" {
			return fmt.Errorf("trust: %s key %d has no kid", where, i)
		}
		if !key.IsPublic() || !key.Valid() {
			return fmt.Errorf("trust: %s key %q is not a valid public key (private and symmetric keys are refused)", where, key.KeyID)
		}
	}
	return nil
}

// keySource finds a verification key by kid.
type keySource interface {
	key(ctx context.Context, kid string, now time.Time) (*jose.JSONWebKey, bool)
}

func newKeySource(k KeySet, where string, client *http.Client) keySource {
	switch {
	case k.JWKS != nil:
		return staticKeys{set: k.JWKS}
	case k.JWKSFile != "":
		return &refreshingKeys{where: where, load: func(context.Context) (*jose.JSONWebKeySet, error) {
			raw, err := os.ReadFile(k.JWKSFile)
			if err != nil {
				return nil, err
			}
			return parseSet(raw)
		}, every: 10 * time.Second}
	default:
		return &refreshingKeys{where: where, load: func(ctx context.Context) (*jose.JSONWebKeySet, error) {
			return fetchSet(ctx, client, k.JWKSURL)
		}, every: 5 * time.Minute}
	}
}

type staticKeys struct{ set *jose.JSONWebKeySet }

func (s staticKeys) key(_ context.Context, kid string, _ time.Time) (*jose.JSONWebKey, bool) {
	return findKey(s.set, kid)
}

func findKey(set *jose.JSONWebKeySet, kid string) (*jose.JSONWebKey, bool) {
	if set == nil {
		return nil, false
	}
	for i := range set.Keys {
		if set.Keys[i].KeyID == kid {
			return &set.Keys[i], true
		}
	}
	return nil, false
}

// refreshingKeys caches a key set and reloads it every `every`, or sooner
// when a token names a kid it does not hold (a rotated-in key), at most
// once per minRetry so a flood of made-up kids cannot hammer the IdP. A
// failed reload keeps the last good set: an IdP outage does not log
// everyone out.
type refreshingKeys struct {
	where string
	load  func(context.Context) (*jose.JSONWebKeySet, error)
	every time.Duration

	mu       sync.Mutex
	set      *jose.JSONWebKeySet
	loadedAt time.Time
	tried    time.Time
}

const minRetry = 5 * time.Second

func (r *refreshingKeys) key(ctx context.Context, kid string, now time.Time) (*jose.JSONWebKey, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stale := r.set == nil || now.Sub(r.loadedAt) >= r.every
	k, ok := findKey(r.set, kid)
	if (stale || !ok) && now.Sub(r.tried) >= minRetry {
		r.tried = now
		if set, err := r.load(ctx); err == nil {
			if checkPublicSet(r.where, set) == nil {
				r.set, r.loadedAt = set, now
				k, ok = findKey(r.set, kid)
			}
		}
	}
	return k, ok
}

func parseSet(raw []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	return &set, nil
}

func fetchSet(ctx context.Context, client *http.Client, url string) (*jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS %s answered %d", url, resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return parseSet(raw)
}
