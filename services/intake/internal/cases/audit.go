package cases

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A case's audit trail is a chain: each record carries a MAC (HMAC-SHA256
// under an installation key that never enters the database) over its own
// columns and the previous record's MAC. Whoever can write the table but
// does not hold the key cannot edit, reorder or forge a record without
// breaking the chain. Cutting records off the end leaves a shorter chain that
// still links up, so the heads are anchored periodically (audit_anchors, and
// an event outside the database): a chain shorter than its anchor has lost
// records.
//
// Records written before MACs existed ("legacy") carry an unkeyed SHA-256
// chain. They are verified by that rule and counted, never re-sealed: the
// first keyed record chains over the legacy head, and the migration that
// introduced MACs anchored every legacy head, which also bounds where legacy
// records may appear (see Verify).

// AuditEntry is one line of a case's audit trail. Details never hold
// personal data.
type AuditEntry struct {
	CaseID    string
	Seq       int
	Tenant    string
	CreatedAt time.Time
	Actor     string
	Action    string
	Details   map[string]string
}

// AuditRecord is an entry as stored: with the key it was sealed with ("" for
// a legacy record), the previous record's link and its own (a MAC, or the
// unkeyed hash of a legacy record).
type AuditRecord struct {
	Entry    AuditEntry
	KeyID    string
	PrevHash []byte
	Hash     []byte
	// Unreadable: the stored details are not a JSON object of strings, which
	// only tampering produces; such a record never verifies.
	Unreadable bool
}

// Anchor vouches that a case's chain had the record seq with link Hash when
// it was anchored. KeyID "" marks a legacy head anchored by the migration
// that introduced MACs.
type Anchor struct {
	Seq   int
	Hash  []byte
	KeyID string
}

// Reasons a trail does not verify.
const (
	// ReasonMAC: the record's columns do not match its MAC (edited, hash
	// recomputed without the key, unknown key) or a legacy record where only
	// keyed ones may be.
	ReasonMAC = "mac mismatch"
	// ReasonSequence: a sequence number is missing, or records were reordered.
	ReasonSequence = "sequence gap or reorder"
	// ReasonLink: the record does not chain to the one before it.
	ReasonLink = "broken link to previous entry"
	// ReasonTruncated: an anchor vouches for records that are gone.
	ReasonTruncated = "chain shorter than its anchor (records deleted)"
	// ReasonAnchor: the record an anchor vouches for is not the one stored.
	ReasonAnchor = "entry differs from its anchor"
)

// Broken is where a trail stops holding: the first record that fails (or,
// for a trail cut short, the first one missing) and why.
type Broken struct {
	Seq    int
	Reason string
}

// Verification is the integrity of one case's trail; it says nothing of the
// trail's content.
type Verification struct {
	OK            bool
	Entries       int
	LegacyEntries int
	// AnchoredSeq is the highest seq an anchor vouches for (0: none).
	AnchoredSeq int
	// FirstBroken is nil when OK.
	FirstBroken *Broken
}

// MACKeys is the ring of audit MAC keys: the first seals new records, all
// verify, so a key can be rotated without re-sealing what it sealed. The
// zero value holds no key: it seals nothing and verifies only legacy records.
type MACKeys struct {
	keys []macKey
}

type macKey struct {
	id     string
	secret []byte
}

// MinMACKeyLen is the shortest key accepted: HMAC-SHA256's full strength.
const MinMACKeyLen = 32

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseMACKeys reads AUDIT_MAC_KEYS: comma-separated keyid:base64key pairs,
// the current key first. Errors name the key id, never the key.
func ParseMACKeys(s string) (MACKeys, error) {
	var ring MACKeys
	if strings.TrimSpace(s) == "" {
		return ring, errors.New("AUDIT_MAC_KEYS: no key given (want keyid:base64key[,keyid:base64key...])")
	}
	for i, pair := range strings.Split(s, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok {
			return MACKeys{}, fmt.Errorf("AUDIT_MAC_KEYS: entry %d is not keyid:base64key", i+1)
		}
		if !keyIDPattern.MatchString(id) {
			return MACKeys{}, fmt.Errorf("AUDIT_MAC_KEYS: entry %d: key id must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)", i+1)
		}
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			// Accept unpadded base64 as well: a trailing '=' is easily lost in a secret store.
			if secret, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
				return MACKeys{}, fmt.Errorf("AUDIT_MAC_KEYS: key %q is not valid base64", id)
			}
		}
		if len(secret) < MinMACKeyLen {
			return MACKeys{}, fmt.Errorf("AUDIT_MAC_KEYS: key %q must decode to at least %d bytes, got %d", id, MinMACKeyLen, len(secret))
		}
		if _, dup := ring.secret(id); dup {
			return MACKeys{}, fmt.Errorf("AUDIT_MAC_KEYS: key id %q appears twice", id)
		}
		ring.keys = append(ring.keys, macKey{id: id, secret: secret})
	}
	return ring, nil
}

// IsZero reports whether the ring holds no key.
func (k MACKeys) IsZero() bool { return len(k.keys) == 0 }

// CurrentID is the id of the key new records are sealed with ("" if none).
func (k MACKeys) CurrentID() string {
	if k.IsZero() {
		return ""
	}
	return k.keys[0].id
}

// String names the key ids only, so that printing a ring (a config dump, a
// %+v in a log line) never prints a key.
func (k MACKeys) String() string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return "MACKeys[" + strings.Join(ids, ",") + "]"
}

// GoString is String, for %#v.
func (k MACKeys) GoString() string { return k.String() }

func (k MACKeys) secret(id string) ([]byte, bool) {
	for _, key := range k.keys {
		if key.id == id {
			return key.secret, true
		}
	}
	return nil, false
}

// ErrNoMACKey: the ring is empty, so nothing can be sealed. A store refuses
// to append unsealed records rather than weaken the chain.
var ErrNoMACKey = errors.New("no audit MAC key configured (AUDIT_MAC_KEYS)")

// Seal returns e as the record to store after prev (the previous record's
// link, empty for a case's first entry), sealed with the current key.
func (k MACKeys) Seal(e AuditEntry, prev []byte) (AuditRecord, error) {
	if k.IsZero() {
		return AuditRecord{}, ErrNoMACKey
	}
	key := k.keys[0]
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond) // what Postgres keeps
	// Never nil: a first entry's link to nothing is stored as empty bytes.
	prev = append([]byte{}, prev...)
	return AuditRecord{Entry: e, KeyID: key.id, PrevHash: prev, Hash: auditMAC(key.secret, key.id, e, prev)}, nil
}

// auditMAC covers every column of the record and the previous link. Each
// field is length-prefixed, so no two different records encode alike, and
// the key id is inside, so a record cannot be passed off under another key.
func auditMAC(secret []byte, keyID string, e AuditEntry, prev []byte) []byte {
	m := hmac.New(sha256.New, secret)
	writeField(m, []byte("counterdesk/intake/case_audit/v1"))
	writeField(m, []byte(keyID))
	writeField(m, []byte(e.CaseID))
	writeUint(m, uint64(e.Seq))
	writeField(m, []byte(e.Tenant))
	writeField(m, []byte(e.CreatedAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
	writeField(m, []byte(e.Actor))
	writeField(m, []byte(e.Action))
	writeField(m, CanonicalDetails(e.Details))
	writeField(m, prev)
	return m.Sum(nil)
}

// CanonicalDetails is the one encoding of details that is stored and MACed:
// JSON with sorted keys, {} when there are none. It survives a round trip
// through jsonb unchanged.
func CanonicalDetails(d map[string]string) []byte {
	if len(d) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(d) // a map[string]string always encodes; keys come out sorted
	return b
}

func writeField(h hash.Hash, b []byte) {
	writeUint(h, uint64(len(b)))
	h.Write(b)
}

func writeUint(h hash.Hash, n uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h.Write(b[:])
}

// LegacyHash is the unkeyed rule records were chained with before MACs: it
// only serves to verify those records. It does not cover the tenant.
func (e AuditEntry) LegacyHash(prev []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	writeUint(h, uint64(e.Seq))
	d, _ := json.Marshal(e.Details) // map keys are sorted: deterministic
	for _, part := range []string{e.CaseID, e.CreatedAt.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, string(d)} {
		writeField(h, []byte(part))
	}
	return h.Sum(nil)
}

// Verify checks a case's records (as stored, in seq order) against the ring
// and the case's anchors (in the order they were made) and reports the first
// break.
//
// Every case's trail begins with its creation entry, so an empty trail has
// lost records. Legacy records are accepted only up to the legacy head the
// migration anchored: a legacy record anywhere else is someone recomputing
// hashes without the key, and counts as a MAC mismatch.
func (k MACKeys) Verify(recs []AuditRecord, anchors []Anchor) Verification {
	v := Verification{Entries: len(recs)}
	legacyUpTo := 0
	for _, a := range anchors {
		v.AnchoredSeq = max(v.AnchoredSeq, a.Seq)
		if a.KeyID == "" {
			legacyUpTo = max(legacyUpTo, a.Seq)
		}
	}
	for _, r := range recs {
		if r.KeyID == "" {
			v.LegacyEntries++
		}
	}
	first := k.firstBrokenRecord(recs, legacyUpTo)
	if len(recs) == 0 {
		first = &Broken{Seq: 1, Reason: ReasonTruncated}
	}
	// Anchors are checked even past a broken record: the earliest problem wins.
	bySeq := make(map[int]AuditRecord, len(recs))
	last := 0
	for _, r := range recs {
		bySeq[r.Entry.Seq] = r
		last = max(last, r.Entry.Seq)
	}
	for _, a := range anchors {
		var b *Broken
		r, ok := bySeq[a.Seq]
		switch {
		case a.Seq > last:
			b = &Broken{Seq: last + 1, Reason: ReasonTruncated}
		case !ok:
			b = &Broken{Seq: a.Seq, Reason: ReasonSequence}
		case r.KeyID != a.KeyID || !hmac.Equal(r.Hash, a.Hash):
			b = &Broken{Seq: a.Seq, Reason: ReasonAnchor}
		}
		if b != nil && (first == nil || b.Seq < first.Seq) {
			first = b
		}
	}
	v.FirstBroken = first
	v.OK = first == nil
	return v
}

// firstBrokenRecord walks the chain and returns its first bad record.
func (k MACKeys) firstBrokenRecord(recs []AuditRecord, legacyUpTo int) *Broken {
	for i, r := range recs {
		want := i + 1
		if r.Entry.Seq != want {
			return &Broken{Seq: want, Reason: ReasonSequence}
		}
		var prev []byte // a case's first entry chains to nothing
		if i > 0 {
			prev = recs[i-1].Hash
		}
		if !bytes.Equal(r.PrevHash, prev) {
			// Pointing at another record of the chain means rows changed places.
			if slices.ContainsFunc(recs, func(o AuditRecord) bool { return len(r.PrevHash) > 0 && bytes.Equal(o.Hash, r.PrevHash) }) {
				return &Broken{Seq: want, Reason: ReasonSequence}
			}
			return &Broken{Seq: want, Reason: ReasonLink}
		}
		if r.Unreadable {
			return &Broken{Seq: want, Reason: ReasonMAC}
		}
		if r.KeyID == "" {
			if r.Entry.Seq > legacyUpTo || !bytes.Equal(r.Entry.LegacyHash(r.PrevHash), r.Hash) {
				return &Broken{Seq: want, Reason: ReasonMAC}
			}
			continue
		}
		secret, ok := k.secret(r.KeyID)
		if !ok || !hmac.Equal(auditMAC(secret, r.KeyID, r.Entry, r.PrevHash), r.Hash) {
			return &Broken{Seq: want, Reason: ReasonMAC}
		}
	}
	return nil
}

// AnchorHead is a chain head being anchored.
type AnchorHead struct {
	CaseID string
	Seq    int
	Hash   []byte
	KeyID  string
}

// AnchorBatch is one round's anchors of one bank, as announced in an
// AuditAnchored event: FirstID..LastID are its rows in audit_anchors.
type AnchorBatch struct {
	Tenant          string
	AnchoredAt      time.Time
	Heads           []AnchorHead
	FirstID, LastID int64
	KeyID           string
	Digest          []byte
}

// AnchorDigest binds a bank's batch of anchors: HMAC-SHA256 under the
// current key over the tenant, anchoredAt and each head's (case id, seq,
// link), in case id order. An auditor holding the key recomputes it from
// audit_anchors and compares it with the published event, which the
// database's owner cannot rewrite.
func (k MACKeys) AnchorDigest(tenant string, anchoredAt time.Time, heads []AnchorHead) (keyID string, digest []byte, err error) {
	if k.IsZero() {
		return "", nil, ErrNoMACKey
	}
	key := k.keys[0]
	return key.id, anchorDigest(key.secret, key.id, tenant, anchoredAt, heads), nil
}

// VerifyAnchorDigest reports whether digest is AnchorDigest's under keyID.
func (k MACKeys) VerifyAnchorDigest(keyID, tenant string, anchoredAt time.Time, heads []AnchorHead, digest []byte) bool {
	secret, ok := k.secret(keyID)
	return ok && hmac.Equal(anchorDigest(secret, keyID, tenant, anchoredAt, heads), digest)
}

func anchorDigest(secret []byte, keyID, tenant string, at time.Time, heads []AnchorHead) []byte {
	sorted := slices.Clone(heads)
	slices.SortFunc(sorted, func(a, b AnchorHead) int { return strings.Compare(a.CaseID, b.CaseID) })
	m := hmac.New(sha256.New, secret)
	writeField(m, []byte("counterdesk/intake/audit_anchors/v1"))
	writeField(m, []byte(keyID))
	writeField(m, []byte(tenant))
	writeField(m, []byte(at.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
	writeUint(m, uint64(len(sorted)))
	for _, h := range sorted {
		writeField(m, []byte(h.CaseID))
		writeUint(m, uint64(h.Seq))
		writeField(m, h.Hash)
	}
	return m.Sum(nil)
}
