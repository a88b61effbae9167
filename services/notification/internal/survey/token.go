// Package survey is the return-visit survey (回访) a customer answers after
// their case is closed: the signed, expiring link the survey message
// carries, and the rules of an answer (1 to 5 and a comment, once per link).
// The link is its own credential: it names the bank, the case and the
// survey, and is signed with that bank's survey key, so whoever holds it may
// do exactly one thing — answer that survey, once, before it expires. The
// package declares the ports it needs (Store, Recorder); adapters implement
// them. It takes the time as a parameter and reads no clock.
package survey

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Errors of a link or an answer. None of them carries the token or anything
// the customer wrote.
var (
	// ErrExpired: the link's lifetime is over.
	ErrExpired = errors.New("the survey link has expired")
	// ErrBadSignature: the link is malformed, altered, or signed with a key
	// that is not its bank's.
	ErrBadSignature = errors.New("the survey link is not valid")
	// ErrUnknownKey: the link names a key the installation does not hold
	// (e.g. one retired since).
	ErrUnknownKey = errors.New("the survey link was signed with an unknown key")
	// ErrAnswered: the survey was answered already through this link.
	ErrAnswered = errors.New("the survey was already answered")
	// ErrNotFound: no survey of the link's bank and case has the link's id.
	ErrNotFound = errors.New("no such survey")
	// ErrClosed: the case no longer takes a survey answer (it was reopened
	// since the survey was sent).
	ErrClosed = errors.New("the case no longer takes a survey answer")
)

// DefaultLifetime is how long a survey link lives from the case's closure.
const DefaultLifetime = 14 * 24 * time.Hour

// minKeyBytes: HS256 keys shorter than the hash are refused.
const minKeyBytes = 32

const (
	issuer   = "counterdesk-notification"
	audience = "counterdesk-survey"
)

// Link is what a survey link says: which survey of which case of which bank,
// in which language the page speaks, and until when it may be answered.
type Link struct {
	TenantID string
	CaseID   string
	// SurveyID is the id of the survey message (its delivery id): one link
	// per survey message, answered once.
	SurveyID string
	// Language of the page: "zh-CN" or "en".
	Language  string
	ExpiresAt time.Time
}

// Key is one bank's survey signing key.
type Key struct {
	TenantID string
	ID       string
	Secret   []byte
}

// Keys are every bank's survey keys. A bank signs with its first key and
// accepts every one it has, so a key is rotated by putting a new one first
// and dropping the old one once the links it signed have expired.
type Keys struct {
	byTenant map[string][]Key
	// byKID: the token header names the key as "<tenant>/<id>".
	byKID map[string]Key
}

// ParseKeys reads SURVEY_SIGNING_KEYS: "tenant:keyid:base64key,..." (standard
// or URL base64, at least 32 bytes each). The first key listed for a bank is
// the one it signs with. Key ids are unique within a bank. Errors name the
// entry by position and never include key material.
func ParseKeys(spec string) (Keys, error) {
	k := Keys{byTenant: map[string][]Key{}, byKID: map[string]Key{}}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.SplitN(entry, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			return Keys{}, fmt.Errorf("SURVEY_SIGNING_KEYS entry %d: want tenant:keyid:base64key", i+1)
		}
		if strings.ContainsAny(parts[0]+parts[1], "/ ") {
			return Keys{}, fmt.Errorf("SURVEY_SIGNING_KEYS entry %d: tenant and key id must not contain '/' or spaces", i+1)
		}
		secret, err := decodeKey(parts[2])
		if err != nil {
			return Keys{}, fmt.Errorf("SURVEY_SIGNING_KEYS entry %d (%s:%s): key is not base64", i+1, parts[0], parts[1])
		}
		if len(secret) < minKeyBytes {
			return Keys{}, fmt.Errorf("SURVEY_SIGNING_KEYS entry %d (%s:%s): key has %d bytes, want at least %d",
				i+1, parts[0], parts[1], len(secret), minKeyBytes)
		}
		key := Key{TenantID: parts[0], ID: parts[1], Secret: secret}
		if _, dup := k.byKID[key.kid()]; dup {
			return Keys{}, fmt.Errorf("SURVEY_SIGNING_KEYS entry %d: key id %s is listed twice for %s", i+1, key.ID, key.TenantID)
		}
		k.byKID[key.kid()] = key
		k.byTenant[key.TenantID] = append(k.byTenant[key.TenantID], key)
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// NewKeys builds Keys from keys in order (the first of each bank signs).
func NewKeys(keys ...Key) Keys {
	k := Keys{byTenant: map[string][]Key{}, byKID: map[string]Key{}}
	for _, key := range keys {
		k.byKID[key.kid()] = key
		k.byTenant[key.TenantID] = append(k.byTenant[key.TenantID], key)
	}
	return k
}

// Empty reports whether no bank has a key: no survey can be sent.
func (k Keys) Empty() bool { return len(k.byKID) == 0 }

// Has reports whether tenant has a key to sign its surveys with.
func (k Keys) Has(tenant string) bool { return len(k.byTenant[tenant]) > 0 }

// Tenants lists the banks that have keys, sorted.
func (k Keys) Tenants() []string {
	out := make([]string, 0, len(k.byTenant))
	for t := range k.byTenant {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func (k Key) kid() string { return k.TenantID + "/" + k.ID }

type claims struct {
	Tenant   string `json:"tenant"`
	Language string `json:"lang,omitempty"`
}

// Issue signs l with its bank's current key (HS256: the service that signs
// the links is the only one that checks them, so a secret of its own is
// enough; no other party ever verifies one).
func (k Keys) Issue(l Link, now time.Time) (string, error) {
	keys := k.byTenant[l.TenantID]
	if len(keys) == 0 {
		return "", fmt.Errorf("bank %s has no survey signing key: %w", l.TenantID, ErrUnknownKey)
	}
	if l.CaseID == "" || l.SurveyID == "" {
		return "", errors.New("a survey link names its case and survey")
	}
	if !l.ExpiresAt.After(now) {
		return "", fmt.Errorf("survey %s: %w", l.SurveyID, ErrExpired)
	}
	key := keys[0]
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key.Secret},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), key.kid()))
	if err != nil {
		return "", fmt.Errorf("survey signer of %s: %w", l.TenantID, err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: issuer, Audience: jwt.Audience{audience}, Subject: l.CaseID, ID: l.SurveyID,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(l.ExpiresAt),
	}).Claims(claims{Tenant: l.TenantID, Language: l.Language}).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign survey link: %w", err)
	}
	return tok, nil
}

// Verify checks token at now and returns what it says: ErrBadSignature for
// anything malformed, altered or signed by another bank's key, ErrUnknownKey
// for a key not held, ErrExpired after its expiry.
func (k Keys) Verify(token string, now time.Time) (Link, error) {
	if len(token) > 2048 {
		return Link{}, ErrBadSignature
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil || len(parsed.Headers) != 1 {
		return Link{}, ErrBadSignature
	}
	key, ok := k.byKID[parsed.Headers[0].KeyID]
	if !ok {
		return Link{}, ErrUnknownKey
	}
	var std jwt.Claims
	var own claims
	if err := parsed.Claims(key.Secret, &std, &own); err != nil {
		return Link{}, ErrBadSignature
	}
	// A key signs for its own bank only: a link of bank A signed with bank
	// B's key is no link of A's, however valid the signature.
	if own.Tenant != key.TenantID || std.Subject == "" || std.ID == "" || std.Expiry == nil {
		return Link{}, ErrBadSignature
	}
	exp := std.Expiry.Time()
	if !now.Before(exp) {
		return Link{}, ErrExpired
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{audience}, Time: now}, 0); err != nil {
		return Link{}, ErrBadSignature
	}
	return Link{TenantID: own.Tenant, CaseID: std.Subject, SurveyID: std.ID, Language: own.Language, ExpiresAt: exp}, nil
}
