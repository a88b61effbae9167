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
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
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

// The signed payload is binary, so that a link fits in an SMS beside its
// text (about 200 characters): version 1, the case id and the survey id
// (16 bytes each), the expiry (Unix seconds, 8 bytes, big-endian), the
// language (0 zh-CN, 1 en), then the bank's id.
const (
	payloadVersion = 1
	payloadFixed   = 1 + 16 + 16 + 8 + 1
)

func encodePayload(l Link) ([]byte, error) {
	c, err1 := uuid.Parse(l.CaseID)
	s, err2 := uuid.Parse(l.SurveyID)
	if err1 != nil || err2 != nil {
		return nil, errors.New("a survey link names its case and survey by their UUIDs")
	}
	b := make([]byte, payloadFixed, payloadFixed+len(l.TenantID))
	b[0] = payloadVersion
	copy(b[1:17], c[:])
	copy(b[17:33], s[:])
	binary.BigEndian.PutUint64(b[33:41], uint64(l.ExpiresAt.Unix()))
	if l.Language == "en" {
		b[41] = 1
	}
	return append(b, l.TenantID...), nil
}

func decodePayload(b []byte) (Link, bool) {
	if len(b) <= payloadFixed || b[0] != payloadVersion || b[41] > 1 {
		return Link{}, false
	}
	var c, s uuid.UUID
	copy(c[:], b[1:17])
	copy(s[:], b[17:33])
	exp := int64(binary.BigEndian.Uint64(b[33:41]))
	lang := "zh-CN"
	if b[41] == 1 {
		lang = "en"
	}
	return Link{TenantID: string(b[payloadFixed:]), CaseID: c.String(), SurveyID: s.String(), Language: lang,
		ExpiresAt: time.Unix(exp, 0).UTC()}, true
}

// Issue signs l with its bank's current key: a compact JWS, HS256 (the
// service that signs the links is the only one that checks them, so a
// secret of its own is enough; no other party ever verifies one), the key
// named in the header as "<bank>/<key id>".
func (k Keys) Issue(l Link, now time.Time) (string, error) {
	keys := k.byTenant[l.TenantID]
	if len(keys) == 0 {
		return "", fmt.Errorf("bank %s has no survey signing key: %w", l.TenantID, ErrUnknownKey)
	}
	if !l.ExpiresAt.After(now) {
		return "", fmt.Errorf("survey %s: %w", l.SurveyID, ErrExpired)
	}
	payload, err := encodePayload(l)
	if err != nil {
		return "", err
	}
	key := keys[0]
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key.Secret},
		(&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), key.kid()))
	if err != nil {
		return "", fmt.Errorf("survey signer of %s: %w", l.TenantID, err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign survey link: %w", err)
	}
	return obj.CompactSerialize()
}

// Verify checks token at now and returns what it says: ErrBadSignature for
// anything malformed, altered or signed by another bank's key, ErrUnknownKey
// for a key not held, ErrExpired from its expiry on.
func (k Keys) Verify(token string, now time.Time) (Link, error) {
	if len(token) > 1024 {
		return Link{}, ErrBadSignature
	}
	obj, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil || len(obj.Signatures) != 1 {
		return Link{}, ErrBadSignature
	}
	key, ok := k.byKID[obj.Signatures[0].Header.KeyID]
	if !ok {
		return Link{}, ErrUnknownKey
	}
	payload, err := obj.Verify(key.Secret)
	if err != nil {
		return Link{}, ErrBadSignature
	}
	l, ok := decodePayload(payload)
	// A key signs for its own bank only: a link of bank A signed with bank
	// B's key is no link of A's, however valid the signature.
	if !ok || l.TenantID != key.TenantID {
		return Link{}, ErrBadSignature
	}
	if !now.Before(l.ExpiresAt) {
		return l, ErrExpired
	}
	return l, nil
}
