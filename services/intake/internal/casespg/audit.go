package casespg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/jackc/pgx/v5"
)

// AppendOnlyTables are the tables the service appends to and must never
// change: the audit trail and its anchors. Their triggers refuse UPDATE,
// DELETE and TRUNCATE, but a table's owner can switch triggers off, so the
// service's database role should hold no more than SELECT and INSERT on them.
// The migration also marks them with a comment starting "append-only", by
// which the platform's security step finds them; keep the two in step.
var AppendOnlyTables = []string{"case_audit", "audit_anchors"}

// appendAudit seals an entry after the case's chain head and appends it, and
// marks the case for the next anchoring round, all in tx.
func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, tenant, caseID string, at time.Time, actor, action string, details map[string]string) error {
	// Lock the case row so concurrent appends to one chain serialise.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, caseID); err != nil {
		return fmt.Errorf("lock case for audit: %w", err)
	}
	var seq int
	var prev []byte // nil: the first entry chains to nothing
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM case_audit WHERE case_id = $1 ORDER BY seq DESC LIMIT 1`, caseID).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read audit chain head: %w", err)
	}
	r, err := s.macKeys.Seal(cases.AuditEntry{CaseID: caseID, Seq: seq + 1, Tenant: tenant, CreatedAt: at, Actor: actor,
		Action: action, Details: details}, prev)
	if err != nil {
		return fmt.Errorf("seal audit entry: %w", err)
	}
	e := r.Entry
	if _, err := tx.Exec(ctx, `INSERT INTO case_audit (case_id, seq, tenant_id, created_at, actor, action, details, prev_hash, hash, mac_key_id)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, caseID, e.Seq, tenant, e.CreatedAt, actor, action,
		cases.CanonicalDetails(details), r.PrevHash, r.Hash, r.KeyID); err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	// DO UPDATE rather than DO NOTHING: it locks the queue row, so a worker
	// deleting it at the same moment waits for this commit and then sees the
	// newer seq, instead of dropping a case it has not anchored this far.
	if _, err := tx.Exec(ctx, `INSERT INTO audit_anchor_pending (case_id, tenant_id, seq) VALUES ($1, $2, $3)
		ON CONFLICT (case_id) DO UPDATE SET seq = greatest(audit_anchor_pending.seq, excluded.seq)`, caseID, tenant, e.Seq); err != nil {
		return fmt.Errorf("queue case for audit anchoring: %w", err)
	}
	return nil
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const auditColumns = `seq, tenant_id, created_at, actor, action, details::text, coalesce(mac_key_id, ''), prev_hash, hash`

// Audit returns a case's audit trail in order, as stored.
func (s *Store) Audit(ctx context.Context, caseID string) ([]cases.AuditRecord, error) {
	return readAudit(ctx, s.pool, caseID)
}

func readAudit(ctx context.Context, q rowQuerier, caseID string) ([]cases.AuditRecord, error) {
	rows, err := q.Query(ctx, `SELECT `+auditColumns+` FROM case_audit WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return nil, fmt.Errorf("read audit of case %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []cases.AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows, caseID)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit of case %s: %w", caseID, err)
	}
	return out, nil
}

func scanAudit(row pgx.Row, caseID string) (cases.AuditRecord, error) {
	r := cases.AuditRecord{Entry: cases.AuditEntry{CaseID: caseID}}
	var details string
	if err := row.Scan(&r.Entry.Seq, &r.Entry.Tenant, &r.Entry.CreatedAt, &r.Entry.Actor, &r.Entry.Action, &details,
		&r.KeyID, &r.PrevHash, &r.Hash); err != nil {
		return cases.AuditRecord{}, fmt.Errorf("scan audit of case %s: %w", caseID, err)
	}
	decodeDetails(&r, details)
	return r, nil
}

// decodeDetails fills r's details from their stored JSON. Details the code
// did not write (not an object of strings) are the verifier's finding, not a
// read error.
func decodeDetails(r *cases.AuditRecord, details string) {
	if json.Unmarshal([]byte(details), &r.Entry.Details) != nil {
		r.Entry.Details, r.Unreadable = nil, true
	}
}

func readAnchors(ctx context.Context, q rowQuerier, caseID string) ([]cases.Anchor, error) {
	rows, err := q.Query(ctx, `SELECT seq, mac, coalesce(mac_key_id, '') FROM audit_anchors WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("read anchors of case %s: %w", caseID, err)
	}
	anchors, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (cases.Anchor, error) {
		var a cases.Anchor
		err := row.Scan(&a.Seq, &a.Hash, &a.KeyID)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("read anchors of case %s: %w", caseID, err)
	}
	return anchors, nil
}

// snapshot runs fn in a read-only transaction that sees one snapshot, so a
// trail is never compared with anchors made after it was read.
func (s *Store) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	return fn(tx)
}

// VerifyAudit checks a case's audit trail and anchors. A case without any
// trail or anchor verifies as broken at seq 1; whether the caller may ask
// about the case is for the caller to decide first.
func (s *Store) VerifyAudit(ctx context.Context, caseID string) (cases.Verification, error) {
	var v cases.Verification
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		anchors, err := readAnchors(ctx, tx, caseID)
		if err != nil {
			return err
		}
		recs, err := readAudit(ctx, tx, caseID)
		if err != nil {
			return err
		}
		v = s.macKeys.Verify(recs, anchors)
		return nil
	})
	return v, err
}

// tenantCaseIDs is every case that belongs to the tenant by any of the three
// tables, so that a case row deleted (or moved to another tenant) behind the
// service's back still has its trail and anchors verified.
const tenantCaseIDs = `WITH ids AS (
	SELECT id AS case_id FROM cases WHERE tenant_id = $1
	UNION SELECT case_id FROM case_audit WHERE tenant_id = $1
	UNION SELECT case_id FROM audit_anchors WHERE tenant_id = $1)`

// VerifyTenant verifies every case of tenant, in case id order, calling each
// with the result, in one snapshot. It streams: memory does not grow with the
// number of cases.
func (s *Store) VerifyTenant(ctx context.Context, tenant string, each func(caseID string, v cases.Verification) error) error {
	return s.snapshot(ctx, func(tx pgx.Tx) error {
		// Two cursors on one connection, merged by case id: pgx reads one
		// result at a time, and two connections would see two snapshots.
		recs := &cursor[tenantAuditRow]{tx: tx, name: "tenant_audit", scan: scanTenantAudit}
		if err := recs.open(ctx, tenantCaseIDs+` SELECT ids.case_id::text, a.* FROM ids
			LEFT JOIN LATERAL (SELECT true AS present, `+auditColumns+` FROM case_audit c WHERE c.case_id = ids.case_id) a ON true
			ORDER BY ids.case_id, a.seq`, tenant); err != nil {
			return err
		}
		anchors := &cursor[tenantAnchorRow]{tx: tx, name: "tenant_anchors", scan: scanTenantAnchor}
		if err := anchors.open(ctx, tenantCaseIDs+` SELECT x.case_id::text, x.seq, x.mac, coalesce(x.mac_key_id, '')
			FROM audit_anchors x WHERE x.case_id IN (SELECT case_id FROM ids) ORDER BY x.case_id, x.id`, tenant); err != nil {
			return err
		}
		for {
			first, ok, err := recs.peek(ctx)
			if err != nil || !ok {
				return err
			}
			caseID := first.caseID
			var trail []cases.AuditRecord
			for {
				r, ok, err := recs.peek(ctx)
				if err != nil {
					return err
				}
				if !ok || r.caseID != caseID {
					break
				}
				if r.present {
					trail = append(trail, r.rec)
				}
				recs.skip()
			}
			var anchored []cases.Anchor
			for {
				a, ok, err := anchors.peek(ctx)
				if err != nil {
					return err
				}
				// Both cursors go in the same uuid order, whose text form sorts alike.
				if !ok || a.caseID > caseID {
					break
				}
				if a.caseID == caseID {
					anchored = append(anchored, a.anchor)
				}
				anchors.skip()
			}
			if err := each(caseID, s.macKeys.Verify(trail, anchored)); err != nil {
				return err
			}
		}
	})
}

type tenantAuditRow struct {
	caseID  string
	present bool // false: a case with no trail at all
	rec     cases.AuditRecord
}

func scanTenantAudit(rows pgx.CollectableRow) (tenantAuditRow, error) {
	var r tenantAuditRow
	var present *bool
	var seq *int
	var tenant, actor, action, details, keyID *string
	var createdAt *time.Time
	var prev, hash []byte
	if err := rows.Scan(&r.caseID, &present, &seq, &tenant, &createdAt, &actor, &action, &details, &keyID, &prev, &hash); err != nil {
		return r, fmt.Errorf("scan audit: %w", err)
	}
	if r.present = present != nil; !r.present {
		return r, nil
	}
	r.rec = cases.AuditRecord{Entry: cases.AuditEntry{CaseID: r.caseID, Seq: *seq, Tenant: *tenant, CreatedAt: *createdAt,
		Actor: *actor, Action: *action}, KeyID: *keyID, PrevHash: prev, Hash: hash}
	decodeDetails(&r.rec, *details)
	return r, nil
}

type tenantAnchorRow struct {
	caseID string
	anchor cases.Anchor
}

func scanTenantAnchor(rows pgx.CollectableRow) (tenantAnchorRow, error) {
	var r tenantAnchorRow
	err := rows.Scan(&r.caseID, &r.anchor.Seq, &r.anchor.Hash, &r.anchor.KeyID)
	return r, err
}

// cursor reads a server-side cursor in batches.
type cursor[T any] struct {
	tx   pgx.Tx
	name string
	scan func(pgx.CollectableRow) (T, error)
	buf  []T
	done bool
}

const cursorBatch = 1000

func (c *cursor[T]) open(ctx context.Context, query string, args ...any) error {
	if _, err := c.tx.Exec(ctx, `DECLARE `+c.name+` NO SCROLL CURSOR FOR `+query, args...); err != nil {
		return fmt.Errorf("open cursor %s: %w", c.name, err)
	}
	return nil
}

// peek returns the next row without consuming it; ok is false at the end.
func (c *cursor[T]) peek(ctx context.Context) (row T, ok bool, err error) {
	if len(c.buf) == 0 && !c.done {
		rows, err := c.tx.Query(ctx, fmt.Sprintf(`FETCH %d FROM %s`, cursorBatch, c.name))
		if err != nil {
			return row, false, fmt.Errorf("fetch from %s: %w", c.name, err)
		}
		c.buf, err = pgx.CollectRows(rows, c.scan)
		if err != nil {
			return row, false, fmt.Errorf("fetch from %s: %w", c.name, err)
		}
		c.done = len(c.buf) < cursorBatch
	}
	if len(c.buf) == 0 {
		return row, false, nil
	}
	return c.buf[0], true, nil
}

func (c *cursor[T]) skip() { c.buf = c.buf[1:] }

// AnchorsPublished is called in the anchoring transaction once per bank
// whose chains were anchored, e.g. to put an AuditAnchored event into the
// outbox: the anchors and their announcement commit together.
type AnchorsPublished func(ctx context.Context, tx pgx.Tx, b cases.AnchorBatch) error

// anchorRoundLimit bounds one round's transaction; a backlog is worked off
// over the following rounds.
const anchorRoundLimit = 5000

// AnchorHeads anchors, as of at, the chain head of every case whose trail
// grew since its last anchor, and returns how many it anchored. Replicas
// share an advisory lock: while one anchors, the others' rounds do nothing.
func (s *Store) AnchorHeads(ctx context.Context, at time.Time, published AnchorsPublished) (int, error) {
	if s.macKeys.IsZero() {
		return 0, cases.ErrNoMACKey
	}
	at = at.UTC().Truncate(time.Microsecond)
	anchored := 0
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('intake:audit-anchor'))`).Scan(&locked); err != nil {
			return fmt.Errorf("take anchoring lock: %w", err)
		}
		if !locked {
			return nil
		}
		due, err := dueHeads(ctx, tx)
		if err != nil {
			return err
		}
		var doneIDs []string
		var doneSeqs []int
		byTenant := map[string][]cases.AnchorHead{}
		var tenants []string
		for _, d := range due {
			doneIDs, doneSeqs = append(doneIDs, d.head.CaseID), append(doneSeqs, d.clearUpTo)
			// A head without a key id has been tampered with (the schema
			// refuses such rows): the verifier reports it; anchoring it would
			// only fail the whole round.
			if d.head.Seq == 0 || d.head.KeyID == "" || d.head.Seq <= d.anchoredSeq {
				continue
			}
			if _, seen := byTenant[d.tenant]; !seen {
				tenants = append(tenants, d.tenant)
			}
			byTenant[d.tenant] = append(byTenant[d.tenant], d.head)
		}
		for _, tenant := range tenants {
			b, err := s.insertAnchors(ctx, tx, tenant, at, byTenant[tenant])
			if err != nil {
				return err
			}
			if published != nil {
				if err := published(ctx, tx, b); err != nil {
					return err
				}
			}
			anchored += len(b.Heads)
		}
		// Only up to the seq seen: an append committed meanwhile raised the
		// entry's seq, and the entry stays for the next round.
		if _, err := tx.Exec(ctx, `DELETE FROM audit_anchor_pending p USING unnest($1::text[], $2::int[]) AS d(case_id, seq)
			WHERE p.case_id = d.case_id::uuid AND p.seq <= d.seq`, doneIDs, doneSeqs); err != nil {
			return fmt.Errorf("clear anchoring queue: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return anchored, nil
}

type dueHead struct {
	tenant      string
	head        cases.AnchorHead // Seq 0: the case has no trail left
	anchoredSeq int
	clearUpTo   int
}

func dueHeads(ctx context.Context, tx pgx.Tx) ([]dueHead, error) {
	rows, err := tx.Query(ctx, `SELECT p.case_id::text, p.tenant_id, p.seq, coalesce(h.seq, 0), h.hash, coalesce(h.mac_key_id, ''),
			coalesce((SELECT max(x.seq) FROM audit_anchors x WHERE x.case_id = p.case_id), 0)
		FROM audit_anchor_pending p
		LEFT JOIN LATERAL (SELECT seq, hash, mac_key_id FROM case_audit a WHERE a.case_id = p.case_id ORDER BY seq DESC LIMIT 1) h ON true
		ORDER BY p.tenant_id, p.case_id LIMIT $1`, anchorRoundLimit)
	if err != nil {
		return nil, fmt.Errorf("read chains due for anchoring: %w", err)
	}
	due, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (dueHead, error) {
		var d dueHead
		var marked int
		err := row.Scan(&d.head.CaseID, &d.tenant, &marked, &d.head.Seq, &d.head.Hash, &d.head.KeyID, &d.anchoredSeq)
		d.clearUpTo = max(marked, d.head.Seq, d.anchoredSeq)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("read chains due for anchoring: %w", err)
	}
	return due, nil
}

func (s *Store) insertAnchors(ctx context.Context, tx pgx.Tx, tenant string, at time.Time, heads []cases.AnchorHead) (cases.AnchorBatch, error) {
	b := cases.AnchorBatch{Tenant: tenant, AnchoredAt: at, Heads: heads}
	ids := make([]string, len(heads))
	seqs := make([]int, len(heads))
	macs := make([][]byte, len(heads))
	keys := make([]string, len(heads))
	for i, h := range heads {
		ids[i], seqs[i], macs[i], keys[i] = h.CaseID, h.Seq, h.Hash, h.KeyID
	}
	if err := tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO audit_anchors (tenant_id, case_id, seq, mac, mac_key_id, anchored_at)
			SELECT $1, u.case_id::uuid, u.seq, u.mac, u.key_id, $2
			FROM unnest($3::text[], $4::int[], $5::bytea[], $6::text[]) AS u(case_id, seq, mac, key_id)
			RETURNING id)
		SELECT min(id), max(id) FROM ins`, tenant, at, ids, seqs, macs, keys).Scan(&b.FirstID, &b.LastID); err != nil {
		return cases.AnchorBatch{}, fmt.Errorf("insert audit anchors: %w", err)
	}
	var err error
	if b.KeyID, b.Digest, err = s.macKeys.AnchorDigest(tenant, at, heads); err != nil {
		return cases.AnchorBatch{}, err
	}
	return b, nil
}
