package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ServiceSigner holds one service's private key (SERVICE_KEY_FILE, a JWK
// whose kid is the service's name) and signs that service's own calls to
// other services. It can sign for nobody else: the subject is the key's kid,
// the role is always service, and verifiers check the kid against the
// subject. The services' public keys are in the Trust.
type ServiceSigner struct {
	name   string
	signer jose.Signer
	now    func() time.Time

	mu    sync.Mutex
	token string
	exp   time.Time
}

// serviceTokenTTL is how long a service token lives; it is reused until a
// minute before it expires, so calls do not each pay for a signature.
const serviceTokenTTL = 5 * time.Minute

// LoadServiceSigner reads a private JWK from path.
func LoadServiceSigner(path string, now func() time.Time) (*ServiceSigner, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read SERVICE_KEY_FILE: %w", err)
	}
	var key jose.JSONWebKey
	if err := json.Unmarshal(raw, &key); err != nil {
		return nil, fmt.Errorf("parse SERVICE_KEY_FILE %s: not a JWK", path)
	}
	return NewServiceSigner(key, now)
}

// NewServiceSigner signs with key (private, kid = service name).
func NewServiceSigner(key jose.JSONWebKey, now func() time.Time) (*ServiceSigner, error) {
	if key.KeyID == "" || key.IsPublic() || !key.Valid() {
		return nil, fmt.Errorf("service key must be a valid private key whose kid names the service")
	}
	alg := jose.SignatureAlgorithm(key.Algorithm)
	if alg == "" {
		alg = jose.ES256
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("service key %q: %w", key.KeyID, err)
	}
	return &ServiceSigner{name: key.KeyID, signer: s, now: now}, nil
}

// Name is the service the key belongs to.
func (s *ServiceSigner) Name() string { return s.name }

// Token returns a current service token.
func (s *ServiceSigner) Token() (string, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && now.Before(s.exp.Add(-time.Minute)) {
		return s.token, nil
	}
	exp := now.Add(serviceTokenTTL)
	tok, err := jwt.Signed(s.signer).Claims(jwt.Claims{
		Issuer: ServiceIssuer, Subject: s.name, Audience: jwt.Audience{ServiceAudience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Second)), Expiry: jwt.NewNumericDate(exp),
	}).Claims(tokenClaims{Tenant: AllTenants, Role: string(RoleService)}).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign service token: %w", err)
	}
	s.token, s.exp = tok, exp
	return tok, nil
}

// ServiceHeader carries the calling service's own token on a call made on
// behalf of a caller, whose token stays in authorization; on a call the
// service makes for itself it is the only credential.
const ServiceHeader = "counterdesk-service"

// ServiceCredentials attach the service's token to every outgoing call in
// the counterdesk-service header.
type ServiceCredentials struct {
	Signer *ServiceSigner
	Secure bool
}

func (s ServiceCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	tok, err := s.Signer.Token()
	if err != nil {
		return nil, err
	}
	return map[string]string{ServiceHeader: "Bearer " + tok}, nil
}

func (s ServiceCredentials) RequireTransportSecurity() bool { return s.Secure }
