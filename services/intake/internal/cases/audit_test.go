package cases

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// key returns a base64 key of n bytes of fill.
func key(fill byte, n int) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, n))
}

func mustKeys(t *testing.T, s string) MACKeys {
	t.Helper()
	k, err := ParseMACKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseMACKeys(t *testing.T) {
	secret := key(7, 32)
	tests := []struct {
		name    string
		in      string
		wantIDs string // String() of the ring
		wantErr string // part of the error; "" for none
	}{
		{name: "one key is the current key", in: "k1:" + secret, wantIDs: "MACKeys[k1]"},
		{name: "the first of several keys is current, the others verify", in: "k2:" + key(8, 48) + ", k1:" + secret, wantIDs: "MACKeys[k2,k1]"},
		{name: "unpadded base64 is accepted", in: "k1:" + strings.TrimRight(key(7, 32), "="), wantIDs: "MACKeys[k1]"},
		{name: "nothing configured is refused", in: "  ", wantErr: "no key given"},
		{name: "an entry without a colon is refused", in: "k1" + secret, wantErr: "entry 1 is not keyid:base64key"},
		{name: "an empty entry is refused", in: "k1:" + secret + ",", wantErr: "entry 2 is not keyid:base64key"},
		{name: "an empty key id is refused", in: ":" + secret, wantErr: "entry 1: key id"},
		{name: "a key id with odd characters is refused", in: "k 1:" + secret, wantErr: "entry 1: key id"},
		{name: "a key that is not base64 is refused", in: "k1:not*base64", wantErr: `key "k1" is not valid base64`},
		{name: "a key shorter than 32 bytes is refused", in: "k1:" + key(7, 31), wantErr: `key "k1" must decode to at least 32 bytes, got 31`},
		{name: "a key id used twice is refused", in: "k1:" + secret + ",k1:" + key(8, 32), wantErr: `key id "k1" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMACKeys(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "not*base64") || strings.Contains(err.Error(), secret[:10]) {
					t.Errorf("error shows key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.wantIDs {
				t.Errorf("ring %s, want %s", got, tt.wantIDs)
			}
		})
	}
}

func TestMACKeysNeverPrintTheirKeys(t *testing.T) {
	secret := key(0xAB, 32)
	k := mustKeys(t, "k1:"+secret)
	raw := string(bytes.Repeat([]byte{0xAB}, 32))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, v := range []any{k, &k, struct{ Keys MACKeys }{k}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, secret) || strings.Contains(out, raw) || strings.Contains(out, "abab") || strings.Contains(out, "171") {
				t.Errorf("%s of %T shows the key: %s", verb, v, out)
			}
		}
	}
}

func TestSealWithoutKeyIsRefused(t *testing.T) {
	if _, err := (MACKeys{}).Seal(AuditEntry{CaseID: "c", Seq: 1}, nil); err != ErrNoMACKey {
		t.Fatalf("err = %v, want ErrNoMACKey", err)
	}
	if _, _, err := (MACKeys{}).AnchorDigest("bank-a", now, nil); err != ErrNoMACKey {
		t.Fatalf("digest err = %v, want ErrNoMACKey", err)
	}
}

// entries returns n entries of case c, the first its creation.
func entries(n int) []AuditEntry {
	out := make([]AuditEntry, n)
	for i := range out {
		out[i] = AuditEntry{CaseID: "c1", Seq: i + 1, Tenant: "bank-a", CreatedAt: now.Add(time.Duration(i) * time.Second),
			Actor: "routing", Action: "assigned", Details: map[string]string{"owner": fmt.Sprintf("teller-%d", i)}}
	}
	out[0].Actor, out[0].Action, out[0].Details = "core-banking", "created", map[string]string{"status": StatusReported}
	return out
}

// seal chains es with k, after prev.
func seal(t *testing.T, k MACKeys, prev []byte, es ...AuditEntry) []AuditRecord {
	t.Helper()
	var out []AuditRecord
	for _, e := range es {
		r, err := k.Seal(e, prev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		prev = r.Hash
	}
	return out
}

// legacy chains es the way records were chained before MACs.
func legacy(es ...AuditEntry) []AuditRecord {
	var out []AuditRecord
	prev := []byte{}
	for _, e := range es {
		h := e.LegacyHash(prev)
		out = append(out, AuditRecord{Entry: e, PrevHash: prev, Hash: h})
		prev = h
	}
	return out
}

func anchorOf(r AuditRecord) Anchor { return Anchor{Seq: r.Entry.Seq, Hash: r.Hash, KeyID: r.KeyID} }

func TestVerify(t *testing.T) {
	k1 := mustKeys(t, "k1:"+key(1, 32))
	rotated := mustKeys(t, "k2:"+key(2, 32)+",k1:"+key(1, 32))
	impostor := mustKeys(t, "k1:"+key(9, 32)) // same id, another key
	es := entries(5)

	tests := []struct {
		name    string
		ring    MACKeys // verifying ring; k1 when zero
		build   func() ([]AuditRecord, []Anchor)
		want    *Broken
		entries int
		legacy  int
		anchor  int
	}{
		{name: "an untouched chain verifies", entries: 5, anchor: 5,
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				return rs, []Anchor{anchorOf(rs[2]), anchorOf(rs[4])}
			}},
		{name: "a chain not yet anchored verifies", entries: 5,
			build: func() ([]AuditRecord, []Anchor) { return seal(t, k1, nil, es...), nil }},
		{name: "records sealed before a key rotation verify with the older key", ring: rotated, entries: 5, anchor: 3,
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es[:3]...)
				rs = append(rs, seal(t, rotated, rs[2].Hash, es[3:]...)...)
				return rs, []Anchor{anchorOf(rs[2])}
			}},
		{name: "a key dropped from the ring no longer verifies its records", ring: mustKeys(t, "k2:"+key(2, 32)),
			entries: 5, want: &Broken{1, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) { return seal(t, k1, nil, es...), nil }},
		{name: "edited details are a MAC mismatch", entries: 5, anchor: 5, want: &Broken{3, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[2].Entry.Details = map[string]string{"owner": "someone-else"}
				return rs, []Anchor{anchorOf(rs[4])}
			}},
		{name: "an edited time is a MAC mismatch", entries: 5, want: &Broken{1, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				for i := range rs {
					rs[i].Entry.CreatedAt = rs[i].Entry.CreatedAt.Add(time.Second)
				}
				return rs, nil
			}},
		{name: "a nanosecond Postgres cannot store does not break the chain", entries: 1,
			build: func() ([]AuditRecord, []Anchor) {
				e := es[0]
				e.CreatedAt = e.CreatedAt.Add(123456789)
				rs := seal(t, k1, nil, e)
				rs[0].Entry.CreatedAt = e.CreatedAt.Truncate(time.Microsecond)
				return rs, nil
			}},
		{name: "an edited actor is a MAC mismatch", entries: 5, want: &Broken{2, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[1].Entry.Actor = "someone-else"
				return rs, nil
			}},
		{name: "an edited action is a MAC mismatch", entries: 5, want: &Broken{2, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[1].Entry.Action = "closed"
				return rs, nil
			}},
		{name: "a record moved to another bank is a MAC mismatch", entries: 5, want: &Broken{4, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[3].Entry.Tenant = "bank-b"
				return rs, nil
			}},
		{name: "a record copied from another case is a MAC mismatch", entries: 1, want: &Broken{1, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es[0])
				rs[0].Entry.CaseID = "c2" // the store reads it under the case it now belongs to
				return rs, nil
			}},
		{name: "a hash recomputed the old unkeyed way is a MAC mismatch", entries: 5, want: &Broken{2, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[1].Entry.Details = map[string]string{"owner": "someone-else"}
				rs[1].Hash = rs[1].Entry.LegacyHash(rs[1].PrevHash)
				return rs, nil
			}},
		{name: "a chain rewritten as legacy records is a MAC mismatch", entries: 5, legacy: 5, want: &Broken{1, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) { return legacy(es...), nil }},
		{name: "a record resealed with a key of the same id is a MAC mismatch", entries: 5, want: &Broken{3, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				forged := seal(t, impostor, rs[1].Hash, es[2])
				rs[2] = forged[0]
				return rs, nil
			}},
		{name: "a record under an unknown key id is a MAC mismatch", entries: 5, want: &Broken{3, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[2].KeyID = "k9"
				return rs, nil
			}},
		{name: "two records that swapped seq are a reorder", entries: 5, want: &Broken{2, ReasonSequence},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[1], rs[2] = rs[2], rs[1]
				rs[1].Entry.Seq, rs[2].Entry.Seq = 2, 3
				return rs, nil
			}},
		{name: "a record deleted from the middle is a gap", entries: 4, want: &Broken{2, ReasonSequence},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				return append(rs[:1], rs[2:]...), nil
			}},
		{name: "a record deleted and the rest renumbered is a broken link", entries: 4, want: &Broken{2, ReasonLink},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs = append(rs[:1], rs[2:]...)
				for i := range rs {
					rs[i].Entry.Seq = i + 1
				}
				return rs, nil
			}},
		{name: "an edited link to the previous record is a broken link", entries: 5, want: &Broken{4, ReasonLink},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[3].PrevHash = bytes.Repeat([]byte{0}, 32)
				return rs, nil
			}},
		{name: "the last records deleted after an anchor are a chain shorter than its anchor",
			entries: 3, anchor: 5, want: &Broken{4, ReasonTruncated},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				return rs[:3], []Anchor{anchorOf(rs[1]), anchorOf(rs[4])}
			}},
		{name: "records deleted past the last anchor go unseen until the next anchor, which is why anchors run often",
			entries: 3, anchor: 3,
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				return rs[:3], []Anchor{anchorOf(rs[2])}
			}},
		{name: "a trail with every record deleted has lost its creation entry", want: &Broken{1, ReasonTruncated},
			build: func() ([]AuditRecord, []Anchor) { return nil, nil }},
		{name: "a record replaced after its anchor differs from the anchor", entries: 5, anchor: 5, want: &Broken{5, ReasonAnchor},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				a := anchorOf(rs[4])
				changed := es[4]
				changed.Details = map[string]string{"owner": "someone-else"}
				rs[4] = seal(t, k1, rs[3].Hash, changed)[0] // even by someone holding the key
				return rs, []Anchor{a}
			}},
		{name: "an earlier break wins over a later anchor problem", entries: 3, anchor: 5, want: &Broken{2, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := seal(t, k1, nil, es...)
				rs[1].Entry.Actor = "x"
				return rs[:3], []Anchor{anchorOf(rs[4])}
			}},
		{name: "legacy records up to the migration's anchor verify by the old rule, then MACs continue",
			entries: 5, legacy: 2, anchor: 4,
			build: func() ([]AuditRecord, []Anchor) {
				rs := legacy(es[:2]...)
				rs = append(rs, seal(t, k1, rs[1].Hash, es[2:]...)...)
				return rs, []Anchor{anchorOf(rs[1]), anchorOf(rs[3])}
			}},
		{name: "an edited legacy record is a MAC mismatch", entries: 3, legacy: 3, anchor: 3, want: &Broken{2, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := legacy(es[:3]...)
				rs[1].Entry.Details = map[string]string{"owner": "someone-else"}
				return rs, []Anchor{anchorOf(rs[2])}
			}},
		{name: "legacy records rehashed after an edit differ from the migration's anchor",
			entries: 4, legacy: 2, anchor: 2, want: &Broken{2, ReasonAnchor},
			build: func() ([]AuditRecord, []Anchor) {
				orig := legacy(es[:2]...)
				edited := es[:2:2]
				edited = append([]AuditEntry{}, edited...)
				edited[0].Details = map[string]string{"status": "CASE_STATUS_CLOSED"}
				rs := legacy(edited...)
				rs = append(rs, seal(t, k1, orig[1].Hash, es[2:4]...)...)
				return rs, []Anchor{anchorOf(orig[1])}
			}},
		{name: "a legacy record after the migration's legacy head is a MAC mismatch", entries: 3, legacy: 3, anchor: 2,
			want: &Broken{3, ReasonMAC},
			build: func() ([]AuditRecord, []Anchor) {
				rs := legacy(es[:3]...)
				return rs, []Anchor{anchorOf(rs[1])}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring := tt.ring
			if ring.IsZero() {
				ring = k1
			}
			recs, anchors := tt.build()
			got := ring.Verify(recs, anchors)
			if got.OK != (tt.want == nil) {
				t.Errorf("OK = %v, want %v (first broken %+v)", got.OK, tt.want == nil, got.FirstBroken)
			}
			switch {
			case tt.want == nil && got.FirstBroken != nil:
				t.Errorf("first broken %+v, want none", *got.FirstBroken)
			case tt.want != nil && (got.FirstBroken == nil || *got.FirstBroken != *tt.want):
				t.Errorf("first broken %+v, want %+v", got.FirstBroken, *tt.want)
			}
			if got.Entries != tt.entries || got.LegacyEntries != tt.legacy || got.AnchoredSeq != tt.anchor {
				t.Errorf("entries %d legacy %d anchored %d, want %d %d %d", got.Entries, got.LegacyEntries, got.AnchoredSeq,
					tt.entries, tt.legacy, tt.anchor)
			}
		})
	}
}

// The old rule must stay exactly what the records before MACs were hashed
// with; this is one such record's hash, computed by the code that wrote it.
func TestLegacyHashIsTheRuleOldRecordsWereWrittenWith(t *testing.T) {
	e := AuditEntry{CaseID: "0190c3a4-0000-7000-8000-000000000001", Seq: 1, CreatedAt: now, Actor: "core-banking",
		Action: "created", Details: map[string]string{"status": StatusReported}}
	const want = "0fa0a0a0d809c01d15e9735707f3025531f80342a03d630daee63ba5c6c28e6a"
	if got := fmt.Sprintf("%x", e.LegacyHash([]byte{})); got != want {
		t.Errorf("legacy hash %s, want %s", got, want)
	}
}

func TestAnchorDigest(t *testing.T) {
	k1 := mustKeys(t, "k1:"+key(1, 32))
	rotated := mustKeys(t, "k2:"+key(2, 32)+",k1:"+key(1, 32))
	heads := []AnchorHead{{CaseID: "c2", Seq: 3, Hash: []byte("h2"), KeyID: "k1"}, {CaseID: "c1", Seq: 5, Hash: []byte("h1"), KeyID: "k1"}}
	id, d, err := k1.AnchorDigest("bank-a", now, heads)
	if err != nil || id != "k1" {
		t.Fatalf("digest key %q err %v", id, err)
	}
	if !k1.VerifyAnchorDigest(id, "bank-a", now, []AnchorHead{heads[1], heads[0]}, d) {
		t.Error("the digest depends on the order heads were given in")
	}
	if !rotated.VerifyAnchorDigest(id, "bank-a", now, heads, d) {
		t.Error("a digest under a rotated-out key no longer verifies")
	}
	changed := func(f func(h []AnchorHead)) []AnchorHead {
		c := []AnchorHead{heads[0], heads[1]}
		f(c)
		return c
	}
	for name, tc := range map[string]struct {
		tenant string
		at     time.Time
		heads  []AnchorHead
	}{
		"another bank":          {"bank-b", now, heads},
		"another time":          {"bank-a", now.Add(time.Second), heads},
		"a head left out":       {"bank-a", now, heads[:1]},
		"another seq":           {"bank-a", now, changed(func(h []AnchorHead) { h[0].Seq = 2 })},
		"another mac":           {"bank-a", now, changed(func(h []AnchorHead) { h[0].Hash = []byte("hx") })},
		"another case id":       {"bank-a", now, changed(func(h []AnchorHead) { h[0].CaseID = "c3" })},
		"a head too many":       {"bank-a", now, append(changed(func([]AnchorHead) {}), AnchorHead{CaseID: "c9", Seq: 1})},
		"case ids run together": {"bank-a", now, changed(func(h []AnchorHead) { h[0].CaseID, h[1].CaseID = "c", "21" })},
	} {
		if k1.VerifyAnchorDigest(id, tc.tenant, tc.at, tc.heads, d) {
			t.Errorf("%s: digest still verifies", name)
		}
	}
	if mustKeys(t, "k1:"+key(9, 32)).VerifyAnchorDigest(id, "bank-a", now, heads, d) {
		t.Error("a digest verifies under another key of the same id")
	}
}
