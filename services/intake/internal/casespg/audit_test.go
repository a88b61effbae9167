// Protects the audit trail's tamper evidence on a real database: edits,
// unkeyed rehashing, forged MACs, deleted tails and reordered rows made by a
// superuser behind the triggers' back are each reported at the right entry;
// legacy rows verify by the old rule; anchoring anchors what grew, once.
package casespg_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func sameVerification(a, b cases.Verification) bool {
	if (a.FirstBroken == nil) != (b.FirstBroken == nil) || a.FirstBroken != nil && *a.FirstBroken != *b.FirstBroken {
		return false
	}
	a.FirstBroken, b.FirstBroken = nil, nil
	return a == b
}

// anchor runs one anchoring round at at and returns the batches announced.
func (f *fixture) anchor(t *testing.T, at time.Time) []cases.AnchorBatch {
	t.Helper()
	var batches []cases.AnchorBatch
	n, err := f.store.AnchorHeads(context.Background(), at, func(_ context.Context, _ pgx.Tx, b cases.AnchorBatch) error {
		batches = append(batches, b)
		return nil
	})
	if err != nil {
		t.Fatalf("anchor: %v", err)
	}
	total := 0
	for _, b := range batches {
		total += len(b.Heads)
	}
	if n != total {
		t.Errorf("AnchorHeads says %d anchored, the batches hold %d", n, total)
	}
	return batches
}

// tamper runs sqls as the test's superuser with the append-only triggers
// switched off, as someone owning the tables could.
func (f *fixture) tamper(t *testing.T, sqls ...string) error {
	t.Helper()
	ctx := context.Background()
	return pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		all := append([]string{`ALTER TABLE case_audit DISABLE TRIGGER USER`, `ALTER TABLE audit_anchors DISABLE TRIGGER USER`}, sqls...)
		all = append(all, `ALTER TABLE case_audit ENABLE TRIGGER USER`, `ALTER TABLE audit_anchors ENABLE TRIGGER USER`)
		for _, sql := range all {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("%s: %w", sql, err)
			}
		}
		return nil
	})
}

// trail creates a case of bank-a with five audit entries, under
// Idempotency-Key key.
func (f *fixture) trail(t *testing.T, key string) cases.Case {
	t.Helper()
	c := f.create(t, prepare(t, "bank-a", now), key)
	setOwner(t, f, c.ID, "teller-1", now.Add(time.Second))
	if err := f.store.RecordAccess(context.Background(), c, "notification", "notify customer", now.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	setOwner(t, f, c.ID, "cm-1", now.Add(3*time.Second))
	if err := f.store.RecordAccess(context.Background(), c, "notification", "notify customer", now.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

func record(t *testing.T, f *fixture, caseID string, seq int) cases.AuditRecord {
	t.Helper()
	recs, err := f.store.Audit(context.Background(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Entry.Seq == seq {
			return r
		}
	}
	t.Fatalf("case %s has no audit entry %d", caseID, seq)
	return cases.AuditRecord{}
}

func TestTamperingWithTheAuditTrailIsDetected(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, f *fixture, id string) []string
		want    *cases.Broken
		entries int
	}{
		{name: "an untouched trail verifies", entries: 5,
			tamper: func(*testing.T, *fixture, string) []string { return nil }},
		{name: "an edited column is a MAC mismatch", entries: 5, want: &cases.Broken{Seq: 2, Reason: cases.ReasonMAC},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				return []string{`UPDATE case_audit SET details = '{"owner":"someone-else","reason":"first_responder"}' WHERE case_id = '` + id + `' AND seq = 2`}
			}},
		{name: "every entry's time moved by a second is a MAC mismatch from the first", entries: 5,
			want: &cases.Broken{Seq: 1, Reason: cases.ReasonMAC},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				return []string{`update case_audit set created_at = created_at + interval '1 second' where case_id = '` + id + `'`}
			}},
		{name: "an entry moved to another bank is a MAC mismatch", entries: 5, want: &cases.Broken{Seq: 3, Reason: cases.ReasonMAC},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				return []string{`UPDATE case_audit SET tenant_id = 'bank-b' WHERE case_id = '` + id + `' AND seq = 3`}
			}},
		{name: "details that are no object of strings are a MAC mismatch", entries: 5, want: &cases.Broken{Seq: 4, Reason: cases.ReasonMAC},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				return []string{`UPDATE case_audit SET details = '[1]' WHERE case_id = '` + id + `' AND seq = 4`}
			}},
		{name: "an edit with its hash recomputed the old unkeyed way is a MAC mismatch", entries: 5,
			want: &cases.Broken{Seq: 2, Reason: cases.ReasonMAC},
			tamper: func(t *testing.T, f *fixture, id string) []string {
				r := record(t, f, id, 2)
				r.Entry.Details["owner"] = "someone-else"
				d, _ := json.Marshal(r.Entry.Details)
				return []string{fmt.Sprintf(`UPDATE case_audit SET details = '%s', hash = '\x%x' WHERE case_id = '%s' AND seq = 2`,
					d, r.Entry.LegacyHash(r.PrevHash), id)}
			}},
		{name: "an edit passed off as a legacy row is a MAC mismatch", entries: 5,
			want: &cases.Broken{Seq: 2, Reason: cases.ReasonMAC},
			tamper: func(t *testing.T, f *fixture, id string) []string {
				r := record(t, f, id, 2)
				r.Entry.Details["owner"] = "someone-else"
				d, _ := json.Marshal(r.Entry.Details)
				return []string{`ALTER TABLE case_audit DROP CONSTRAINT case_audit_keyed`,
					fmt.Sprintf(`UPDATE case_audit SET details = '%s', mac_key_id = NULL, hash = '\x%x' WHERE case_id = '%s' AND seq = 2`,
						d, r.Entry.LegacyHash(r.PrevHash), id)}
			}},
		{name: "an edit with its MAC recomputed under a wrong key is a MAC mismatch", entries: 5,
			want: &cases.Broken{Seq: 4, Reason: cases.ReasonMAC},
			tamper: func(t *testing.T, f *fixture, id string) []string {
				r := record(t, f, id, 4)
				r.Entry.Details["owner"] = "someone-else"
				forged, err := macKeys(t, "k1:"+macKey(0x66)).Seal(r.Entry, r.PrevHash)
				if err != nil {
					t.Fatal(err)
				}
				return []string{fmt.Sprintf(`UPDATE case_audit SET details = '%s', hash = '\x%x' WHERE case_id = '%s' AND seq = 4`,
					cases.CanonicalDetails(forged.Entry.Details), forged.Hash, id)}
			}},
		{name: "the last records deleted after the anchor are a chain shorter than its anchor", entries: 3,
			want: &cases.Broken{Seq: 4, Reason: cases.ReasonTruncated},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				return []string{`DELETE FROM case_audit WHERE case_id = '` + id + `' AND seq >= 4`}
			}},
		{name: "two records that swapped seq are a reorder", entries: 5, want: &cases.Broken{Seq: 2, Reason: cases.ReasonSequence},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				w := ` WHERE case_id = '` + id + `' AND seq = `
				return []string{`UPDATE case_audit SET seq = -2` + w + `2`, `UPDATE case_audit SET seq = 2` + w + `3`,
					`UPDATE case_audit SET seq = 3` + w + `-2`}
			}},
		{name: "a record deleted from the middle is a gap", entries: 4, want: &cases.Broken{Seq: 3, Reason: cases.ReasonSequence},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				return []string{`DELETE FROM case_audit WHERE case_id = '` + id + `' AND seq = 3`}
			}},
		{name: "an edited link is a broken link", entries: 5, want: &cases.Broken{Seq: 3, Reason: cases.ReasonLink},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				return []string{`UPDATE case_audit SET prev_hash = '\x00' WHERE case_id = '` + id + `' AND seq = 3`}
			}},
		{name: "an anchor added for the cut head does not hide the deletion", entries: 3,
			want: &cases.Broken{Seq: 4, Reason: cases.ReasonTruncated},
			tamper: func(_ *testing.T, _ *fixture, id string) []string {
				// The anchor at 5 stays: every anchor is checked, not only the newest.
				return []string{`DELETE FROM case_audit WHERE case_id = '` + id + `' AND seq >= 4`,
					`INSERT INTO audit_anchors (tenant_id, case_id, seq, mac, mac_key_id, anchored_at)
					 SELECT tenant_id, case_id, seq, hash, mac_key_id, now() FROM case_audit WHERE case_id = '` + id + `' AND seq = 3`}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.trail(t, "k1")
			other := f.trail(t, "k2") // tampering with one case leaves the others intact
			if batches := f.anchor(t, now.Add(time.Minute)); len(batches) != 1 || len(batches[0].Heads) != 2 {
				t.Fatalf("anchored %+v, want one batch of both cases", batches)
			}
			if err := f.tamper(t, tt.tamper(t, f, c.ID)...); err != nil {
				t.Fatal(err)
			}
			v := f.verify(t, c.ID)
			if v.OK != (tt.want == nil) || v.Entries != tt.entries || v.AnchoredSeq != 5 {
				t.Errorf("verification %+v, want ok=%v, %d entries, anchored at 5", v, tt.want == nil, tt.entries)
			}
			switch {
			case tt.want == nil && v.FirstBroken != nil:
				t.Errorf("first broken %+v, want none", *v.FirstBroken)
			case tt.want != nil && (v.FirstBroken == nil || *v.FirstBroken != *tt.want):
				t.Errorf("first broken %+v, want %+v", v.FirstBroken, *tt.want)
			}
			if v := f.verify(t, other.ID); !v.OK {
				t.Errorf("the untouched case: %+v", v)
			}
		})
	}
}

func TestAnchoringAnchorsWhatGrewOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keys := macKeys(t, "k1:"+macKey(0x11))
	a1 := f.create(t, prepare(t, "bank-a", now), "a1")
	a2 := f.create(t, prepare(t, "bank-a", now), "a2")
	b1 := f.create(t, prepare(t, "bank-b", now), "b1")
	setOwner(t, f, a2.ID, "teller-1", now.Add(time.Second))

	at := now.Add(30 * time.Second)
	batches := f.anchor(t, at)
	slices.SortFunc(batches, func(x, y cases.AnchorBatch) int { return len(y.Heads) - len(x.Heads) })
	if len(batches) != 2 || batches[0].Tenant != "bank-a" || len(batches[0].Heads) != 2 || batches[1].Tenant != "bank-b" || len(batches[1].Heads) != 1 {
		t.Fatalf("batches %+v, want bank-a's two cases and bank-b's one", batches)
	}
	for _, b := range batches {
		// An auditor recomputes the digest from the batch's rows.
		rows, err := f.pool.Query(ctx, `SELECT case_id::text, seq, mac FROM audit_anchors WHERE tenant_id = $1 AND id BETWEEN $2 AND $3`,
			b.Tenant, b.FirstID, b.LastID)
		if err != nil {
			t.Fatal(err)
		}
		heads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cases.AnchorHead, error) {
			var h cases.AnchorHead
			return h, r.Scan(&h.CaseID, &h.Seq, &h.Hash)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !b.AnchoredAt.Equal(at) || b.KeyID != "k1" || !keys.VerifyAnchorDigest(b.KeyID, b.Tenant, at, heads, b.Digest) {
			t.Errorf("%s: batch at %s key %s does not match its %d rows", b.Tenant, b.AnchoredAt, b.KeyID, len(heads))
		}
	}
	if v := f.verify(t, a2.ID); !v.OK || v.AnchoredSeq != 2 {
		t.Errorf("a2: %+v, want anchored at 2", v)
	}

	if again := f.anchor(t, at.Add(30*time.Second)); len(again) != 0 {
		t.Errorf("a round with nothing grown anchored %+v", again)
	}
	setOwner(t, f, a1.ID, "teller-1", now.Add(time.Minute))
	next := f.anchor(t, at.Add(time.Minute))
	if len(next) != 1 || len(next[0].Heads) != 1 || next[0].Heads[0].CaseID != a1.ID || next[0].Heads[0].Seq != 2 {
		t.Fatalf("after a1 grew: %+v, want a1 alone at seq 2", next)
	}
	if n := f.count(t, "audit_anchors"); n != 4 {
		t.Errorf("%d anchors, want 4", n)
	}
	if n := f.count(t, "audit_anchor_pending"); n != 0 {
		t.Errorf("%d cases still queued for anchoring", n)
	}
	if v := f.verify(t, b1.ID); !v.OK || v.AnchoredSeq != 1 {
		t.Errorf("b1: %+v", v)
	}
}

func TestAnchoringFailsWithItsAnnouncement(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, prepare(t, "bank-a", now), "k1")
	failed := errors.New("outbox unavailable")
	_, err := f.store.AnchorHeads(context.Background(), now, func(context.Context, pgx.Tx, cases.AnchorBatch) error { return failed })
	if !errors.Is(err, failed) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	if n := f.count(t, "audit_anchors"); n != 0 {
		t.Errorf("%d anchors stored without their announcement", n)
	}
	if got := f.anchor(t, now); len(got) != 1 || got[0].Heads[0].CaseID != c.ID {
		t.Errorf("the retry anchored %+v, want the case", got)
	}
}

func TestAStoreWithoutMACKeysWritesNoAuditTrail(t *testing.T) {
	f := newFixture(t)
	unkeyed := casespg.New(f.pool, newSealer(t, 1))
	_, _, err := unkeyed.Create(context.Background(), prepare(t, "bank-a", now), "k1", []byte("h1"), toOutbox)
	if !errors.Is(err, cases.ErrNoMACKey) {
		t.Fatalf("err = %v, want cases.ErrNoMACKey", err)
	}
	for table, n := range f.counts(t) {
		if n != 0 && table != "case_numbers" { // a number may be used up; nothing else is written
			t.Errorf("%s has %d rows", table, n)
		}
	}
	if _, err := unkeyed.AnchorHeads(context.Background(), now, nil); !errors.Is(err, cases.ErrNoMACKey) {
		t.Errorf("anchoring without keys: %v", err)
	}
}

func TestRotatedKeysKeepOldEntriesVerifiable(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, prepare(t, "bank-a", now), "k1")
	rotated := casespg.New(f.pool, newSealer(t, 1), casespg.WithMACKeys(macKeys(t, "k2:"+macKey(0x22)+",k1:"+macKey(0x11))))
	ctx := context.Background()
	if err := pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return rotated.SetOwner(ctx, tx, c.ID, "teller-1", "first_responder", "routing", now.Add(time.Second))
	}); err != nil {
		t.Fatal(err)
	}
	if r := record(t, f, c.ID, 2); r.KeyID != "k2" {
		t.Errorf("the entry after rotation is sealed with %q, want k2", r.KeyID)
	}
	if v, err := rotated.VerifyAudit(ctx, c.ID); err != nil || !v.OK {
		t.Errorf("with both keys: %+v %v", v, err)
	}
	if v := f.verify(t, c.ID); v.OK || v.FirstBroken == nil || *v.FirstBroken != (cases.Broken{Seq: 2, Reason: cases.ReasonMAC}) {
		t.Errorf("without the new key: %+v, want entry 2 unverifiable", v)
	}
}

// firstMigration is the schema before audit MACs.
func firstMigration(t *testing.T) fs.FS {
	t.Helper()
	b, err := fs.ReadFile(migrations.FS, "00001_cases.sql")
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"00001_cases.sql": &fstest.MapFile{Data: b}}
}

// legacyCase writes a case and n audit rows the way intake did before MACs.
func legacyCase(t *testing.T, pool *pgxpool.Pool, tenant string, n int) string {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	if _, err := pool.Exec(ctx, `INSERT INTO cases (id, tenant_id, case_number, branch_id, region_id, channel, category, severity,
		summary, description, occurred_at, reported_by, customer_tier, customer_language, customer_sealed, has_email, has_phone,
		status, time_zone, calendar_id, created_by, created_at, updated_at)
		VALUES ($1, $2, $4, 'br-1', 'rg-1', 'CHANNEL_ON_SITE', 'CATEGORY_FEE_DISPUTE', 'SEVERITY_NORMAL', 's', '', $3, '',
		'CUSTOMER_TIER_REGULAR', 'zh-CN', '\x00', false, false, 'CASE_STATUS_REPORTED', 'Asia/Shanghai', 'cn', 'core-banking', $3, $3)`,
		id, tenant, now, "CD-"+id); err != nil {
		t.Fatal(err)
	}
	prev := []byte{}
	for seq := 1; seq <= n; seq++ {
		e := cases.AuditEntry{CaseID: id, Seq: seq, CreatedAt: now.Add(time.Duration(seq) * time.Second), Actor: "routing",
			Action: "assigned", Details: map[string]string{"owner": fmt.Sprintf("teller-%d", seq)}}
		d, _ := json.Marshal(e.Details)
		h := e.LegacyHash(prev)
		if _, err := pool.Exec(ctx, `INSERT INTO case_audit (case_id, seq, tenant_id, at, actor, action, details, prev_hash, hash)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, id, seq, tenant, e.CreatedAt, e.Actor, e.Action, d, prev, h); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	return id
}

func TestLegacyTrailsVerifyByTheOldRuleAndChainOn(t *testing.T) {
	ctx := context.Background()
	dsn := testinfra.NewDatabase(t)
	old, err := pgdb.Open(ctx, dsn, firstMigration(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	continued := legacyCase(t, old, "bank-a", 2)
	untouched := legacyCase(t, old, "bank-a", 3)
	edited := legacyCase(t, old, "bank-a", 3)
	old.Close()

	pool, err := pgdb.Open(ctx, dsn, migrations.FS, nil)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(pool.Close)
	f := &fixture{pool: pool, store: casespg.New(pool, newSealer(t, 1), casespg.WithMACKeys(macKeys(t, "k1:"+macKey(0x11))))}
	if n := f.count(t, "audit_anchors"); n != 3 {
		t.Fatalf("the migration anchored %d legacy heads, want 3", n)
	}
	setOwner(t, f, continued, "teller-9", now.Add(time.Minute))

	for name, tc := range map[string]struct {
		id                   string
		entries, legacy, seq int
		after                func(t *testing.T)
		wantBroken           *cases.Broken
	}{
		"a legacy trail verifies by the old rule":      {id: untouched, entries: 3, legacy: 3, seq: 3},
		"a keyed entry chains on from the legacy head": {id: continued, entries: 3, legacy: 2, seq: 2},
		"an edited legacy row is a MAC mismatch": {id: edited, entries: 3, legacy: 3, seq: 3,
			after: func(t *testing.T) {
				// The keyed-rows constraint refuses any update of a legacy row
				// too: only the table's owner, dropping it, gets this far.
				if err := f.tamper(t, `ALTER TABLE case_audit DROP CONSTRAINT case_audit_keyed`,
					`UPDATE case_audit SET actor = 'someone-else' WHERE case_id = '`+edited+`' AND seq = 1`); err != nil {
					t.Fatal(err)
				}
			}, wantBroken: &cases.Broken{Seq: 1, Reason: cases.ReasonMAC}},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.after != nil {
				tc.after(t)
			}
			v := f.verify(t, tc.id)
			if v.OK != (tc.wantBroken == nil) || v.Entries != tc.entries || v.LegacyEntries != tc.legacy || v.AnchoredSeq != tc.seq {
				t.Errorf("%+v, want ok=%v %d entries (%d legacy) anchored at %d", v, tc.wantBroken == nil, tc.entries, tc.legacy, tc.seq)
			}
			if tc.wantBroken != nil && (v.FirstBroken == nil || *v.FirstBroken != *tc.wantBroken) {
				t.Errorf("first broken %+v, want %+v", v.FirstBroken, *tc.wantBroken)
			}
		})
	}
	// Only the continued case grew: the legacy heads stay as the migration anchored them.
	batches := f.anchor(t, now.Add(2*time.Minute))
	if len(batches) != 1 || len(batches[0].Heads) != 1 || batches[0].Heads[0].CaseID != continued || batches[0].Heads[0].Seq != 3 {
		t.Fatalf("anchored %+v, want the continued case at 3", batches)
	}
	if v := f.verify(t, continued); !v.OK || v.AnchoredSeq != 3 || v.LegacyEntries != 2 {
		t.Errorf("continued case after anchoring: %+v", v)
	}
	var renamed bool
	if err := pool.QueryRow(ctx, `SELECT count(*) = 1 FROM information_schema.columns WHERE table_name = 'case_audit' AND column_name = 'created_at'`).Scan(&renamed); err != nil || !renamed {
		t.Errorf("case_audit has no created_at column (%v)", err)
	}
}

func TestVerifyTenantCoversEveryCaseOfTheBank(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	intact := f.trail(t, "k1")
	edited := f.trail(t, "k2")
	cut := f.trail(t, "k3")
	gone := f.trail(t, "k4")
	elsewhere := f.create(t, prepare(t, "bank-b", now), "b1")
	f.anchor(t, now.Add(time.Minute))
	if err := f.tamper(t,
		`UPDATE case_audit SET actor = 'x' WHERE case_id = '`+edited.ID+`' AND seq = 3`,
		`DELETE FROM case_audit WHERE case_id = '`+cut.ID+`' AND seq = 5`,
		// A case erased altogether, its row too, is still found by its anchor.
		`SET LOCAL session_replication_role = replica`,
		`DELETE FROM case_audit WHERE case_id = '`+gone.ID+`'`,
		`DELETE FROM cases WHERE id = '`+gone.ID+`'`,
	); err != nil {
		t.Fatal(err)
	}
	got := map[string]cases.Verification{}
	var order []string
	if err := f.store.VerifyTenant(ctx, "bank-a", func(id string, v cases.Verification) error {
		got[id] = v
		order = append(order, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]*cases.Broken{
		intact.ID: nil,
		edited.ID: {Seq: 3, Reason: cases.ReasonMAC},
		cut.ID:    {Seq: 5, Reason: cases.ReasonTruncated},
		gone.ID:   {Seq: 1, Reason: cases.ReasonTruncated},
	}
	if len(got) != len(want) || !slices.IsSorted(order) {
		t.Errorf("verified %v, want bank-a's %d cases in id order", order, len(want))
	}
	if _, ok := got[elsewhere.ID]; ok {
		t.Error("another bank's case was verified")
	}
	for id, w := range want {
		v, ok := got[id]
		switch {
		case !ok:
			t.Errorf("case %s not verified", id)
		case w == nil && !v.OK, w != nil && (v.FirstBroken == nil || *v.FirstBroken != *w):
			t.Errorf("case %s: %+v, want first broken %+v", id, v, w)
		}
		if one, err := f.store.VerifyAudit(ctx, id); err != nil || !sameVerification(one, v) {
			t.Errorf("case %s: VerifyAudit %+v (%v), VerifyTenant %+v", id, one, err, v)
		}
	}
}

// As the service runs in production: connected as an app role that owns
// nothing, under row-level security. It appends, anchors (as background work
// for every bank) and verifies; it cannot rewrite the trail or its anchors,
// nor switch their triggers or constraints off.
func TestTheAppRoleKeepsTheTrailButCannotRewriteIt(t *testing.T) {
	db := testinfra.NewAppRoleDatabase(t, migrations.FS)
	ctx := context.Background()
	pool, err := pgdb.Connect(ctx, db.AppURL, migrations.FS, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := casespg.New(pool, newSealer(t, 1), casespg.WithMACKeys(macKeys(t, "k1:"+macKey(0x11))))
	bankA := pgdb.WithTenant(ctx, "bank-a")
	c, _, err := store.Create(bankA, prepare(t, "bank-a", now), "k1", []byte("h1"), toOutbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordAccess(bankA, c, "notification", "notify customer", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := store.AnchorHeads(pgdb.WithTenant(ctx, pgdb.AllTenants), now.Add(time.Minute), nil); err != nil || n != 1 {
		t.Fatalf("anchoring as background work: %d, %v", n, err)
	}
	if v, err := store.VerifyAudit(bankA, c.ID); err != nil || !v.OK || v.Entries != 2 || v.AnchoredSeq != 2 {
		t.Fatalf("verify as the bank: %+v, %v", v, err)
	}
	all := pgdb.WithTenant(ctx, pgdb.AllTenants)
	for _, sql := range []string{
		`UPDATE case_audit SET actor = 'x'`,
		`DELETE FROM case_audit`,
		`UPDATE audit_anchors SET seq = 1`,
		`DELETE FROM audit_anchors`,
		`ALTER TABLE case_audit DISABLE TRIGGER USER`,
		`ALTER TABLE audit_anchors DISABLE TRIGGER USER`,
		`ALTER TABLE case_audit DROP CONSTRAINT case_audit_keyed`,
		`ALTER TABLE audit_anchors DROP CONSTRAINT audit_anchors_keyed`,
	} {
		_, err := pool.Exec(all, sql)
		var pgErr *pgconn.PgError
		// Refused for want of the right, before any trigger could refuse it.
		if !errors.As(err, &pgErr) || (pgErr.Code != "42501" && !strings.Contains(pgErr.Message, "must be owner")) {
			t.Errorf("the app role's %s: %v, want permission denied", sql, err)
		}
	}
}
