// Package casespg stores intake's cases in Postgres: the case with its
// customer sealed, the idempotency keys, case numbers, and the audit chain
// with its anchors (audit.go).
// Database errors become the domain errors of package cases.
package casespg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is intake's Postgres store.
type Store struct {
	pool    *pgxpool.Pool
	sealer  *pii.Sealer
	macKeys cases.MACKeys
	nums    numbers
}

// Option configures a Store.
type Option func(*Store)

// WithMACKeys seals audit entries with the ring's current key and verifies
// them with all of its keys. Without it a store refuses to append audit
// entries (cases.ErrNoMACKey), and so to create or change cases: an
// unsealed entry would weaken the chain for good.
func WithMACKeys(k cases.MACKeys) Option { return func(s *Store) { s.macKeys = k } }

// New returns a store sealing personal data with sealer. A store that only
// verifies audit trails needs no sealer.
func New(pool *pgxpool.Pool, sealer *pii.Sealer, opts ...Option) *Store {
	s := &Store{pool: pool, sealer: sealer}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Created is called inside the creating transaction, e.g. to add the
// CaseCreated event to the outbox.
type Created func(ctx context.Context, tx pgx.Tx, c cases.Case) error

// Create stores c under idempotency key key. If the key was used before with
// the same request hash it returns the earlier case and created=false; with
// a different hash, cases.ErrIdempotencyConflict.
func (s *Store) Create(ctx context.Context, c cases.Case, key string, reqHash []byte, onCreate Created) (cases.Case, bool, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return cases.Case{}, false, fmt.Errorf("new case id: %w", err)
	}
	c.ID = id.String()
	day := c.CreatedAt.In(location(c.TimeZone)).Format("2006-01-02")
	seq, err := s.nextNumber(ctx, c.Tenant, day)
	if err != nil {
		return cases.Case{}, false, err
	}
	c.Number = cases.Number(c.CreatedAt, c.TimeZone, seq)
	sealed, err := s.seal(c)
	if err != nil {
		return cases.Case{}, false, err
	}
	// Summary and description are what the customer said: sealed too.
	textJSON, err := json.Marshal(caseText{Summary: c.Summary, Description: c.Description})
	if err != nil {
		return cases.Case{}, false, err
	}
	textSealed, err := s.sealer.Seal(textJSON, aad(c.Tenant, c.ID+"/text"))
	if err != nil {
		return cases.Case{}, false, fmt.Errorf("seal case text: %w", err)
	}
	// A new case's history and audit trail start at 1, chained to nothing:
	// nobody else can append to a case before this transaction commits, so
	// neither needs the reads an append to an existing case makes.
	hist, err := s.historyRow(c.Tenant, c.ID, cases.HistoryEntry{Seq: 1, At: c.CreatedAt, Kind: cases.HistoryRegistered,
		Actor: c.CreatedBy, To: c.Status})
	if err != nil {
		return cases.Case{}, false, err
	}
	details := map[string]string{"status": c.Status, "branch": c.Branch, "channel": c.Channel, "category": c.Category,
		"severity": c.Severity, "reportedBy": c.ReportedBy}
	audit, err := s.macKeys.Seal(cases.AuditEntry{CaseID: c.ID, Seq: 1, Tenant: c.Tenant, CreatedAt: c.CreatedAt, Actor: c.CreatedBy,
		Action: "created", Details: details}, nil)
	if err != nil {
		return cases.Case{}, false, fmt.Errorf("seal audit entry: %w", err)
	}
	err = pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		// One round trip for the whole registration (a case was a dozen
		// sequential statements, and under load each waited its turn for
		// the CPU). The key row is inserted after the case: a key used
		// before, or two requests racing on one, meet on its primary key,
		// and the request is answered as a replay below.
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO cases (id, tenant_id, case_number, branch_id, region_id, channel, category,
			severity, summary, description, occurred_at, reported_by, customer_tier, customer_language, customer_sealed,
			has_email, has_phone, status, owner_id, time_zone, calendar_id, created_by, created_at, updated_at, text_sealed, customer_key,
			received_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,'',$19,$20,$21,$22,$22,$23,$24,$25)`,
			c.ID, c.Tenant, c.Number, c.Branch, c.Region, c.Channel, c.Category, c.Severity, "", "",
			c.OccurredAt, c.ReportedBy, c.Customer.Tier, c.Customer.Language, sealed, c.Customer.Email != "",
			c.Customer.Phone != "", c.Status, c.TimeZone, c.CalendarID, c.CreatedBy, c.CreatedAt, textSealed, c.CustomerKey, receivedOr(c))
		b.Queue(`INSERT INTO idempotency_keys (tenant_id, key, request_hash, case_id, created_at)
			VALUES ($1, $2, $3, $4, $5)`, c.Tenant, key, reqHash, c.ID, c.CreatedAt)
		repeats := queueRepeats(b, c)
		b.Queue(insertHistorySQL, hist...)
		b.Queue(`INSERT INTO case_audit (case_id, seq, tenant_id, created_at, actor, action, details, prev_hash, hash, mac_key_id)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, c.ID, 1, c.Tenant, audit.Entry.CreatedAt, c.CreatedBy, "created",
			cases.CanonicalDetails(details), audit.PrevHash, audit.Hash, audit.KeyID)
		b.Queue(`INSERT INTO audit_anchor_pending (case_id, tenant_id, seq) VALUES ($1, $2, $3)
			ON CONFLICT (case_id) DO UPDATE SET seq = greatest(audit_anchor_pending.seq, excluded.seq)`, c.ID, c.Tenant, 1)
		res := tx.SendBatch(ctx, b)
		for i := range b.Len() {
			if i == repeats {
				var flagged bool
				err := res.QueryRow().Scan(&flagged)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					res.Close()
					return fmt.Errorf("link repeat complaints: %w", err)
				}
				c.Repeat = flagged
				continue
			}
			if _, err := res.Exec(); err != nil {
				res.Close()
				return fmt.Errorf("register case (statement %d): %w", i+1, err)
			}
		}
		if err := res.Close(); err != nil {
			return fmt.Errorf("register case: %w", err)
		}
		return onCreate(ctx, tx, c)
	})
	if pgdb.IsUniqueViolation(err) {
		// The key was used before, or another request with it won a race:
		// the first request's case is the answer (or a conflict, when it
		// came with another request).
		return s.replay(ctx, c.Tenant, key, reqHash)
	}
	if err != nil {
		return cases.Case{}, false, err
	}
	return c, true, nil
}

func (s *Store) replay(ctx context.Context, tenant, key string, reqHash []byte) (cases.Case, bool, error) {
	id, err := lookupKey(ctx, s.pool, tenant, key, reqHash)
	if err != nil {
		return cases.Case{}, false, err
	}
	if id == "" {
		return cases.Case{}, false, fmt.Errorf("idempotency key %q vanished after a conflict on it", key)
	}
	c, err := s.Get(ctx, tenant, id)
	return c, false, err
}

// lookupKey returns the case an idempotency key already created ("" if the
// key is new), or cases.ErrIdempotencyConflict when it came with another request.
func lookupKey(ctx context.Context, q Querier, tenant, key string, reqHash []byte) (string, error) {
	var id string
	var prev []byte
	err := q.QueryRow(ctx, `SELECT case_id, request_hash FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`,
		tenant, key).Scan(&id, &prev)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("look up idempotency key: %w", err)
	case !bytes.Equal(prev, reqHash):
		return "", cases.ErrIdempotencyConflict
	}
	return id, nil
}

// Querier is a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const caseColumns = `id, tenant_id, case_number, branch_id, region_id, channel, category, severity, summary,
	description, occurred_at, reported_by, customer_tier, customer_language, customer_sealed, status, owner_id,
	time_zone, calendar_id, created_by, created_at, updated_at,
	resume_status, answered_at, answered_by, answered_rank, reopens, work_sealed, text_sealed, repeat, received_at`

// Get returns a case of tenant with its customer unsealed.
func (s *Store) Get(ctx context.Context, tenant, id string) (cases.Case, error) {
	if _, err := uuid.Parse(id); err != nil {
		return cases.Case{}, cases.ErrNotFound
	}
	row := s.pool.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE tenant_id = $1 AND id = $2`, tenant, id)
	c, err := s.scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return cases.Case{}, cases.ErrNotFound
	}
	return c, err
}

// Locate returns what decides who may see a case of tenant — its id,
// tenant, branch and region — without opening the sealed customer, for
// callers that need the decision but not the case.
func (s *Store) Locate(ctx context.Context, tenant, id string) (cases.Case, error) {
	if _, err := uuid.Parse(id); err != nil {
		return cases.Case{}, cases.ErrNotFound
	}
	var c cases.Case
	err := s.pool.QueryRow(ctx, `SELECT id, tenant_id, branch_id, region_id FROM cases WHERE tenant_id = $1 AND id = $2`,
		tenant, id).Scan(&c.ID, &c.Tenant, &c.Branch, &c.Region)
	if errors.Is(err, pgx.ErrNoRows) {
		return cases.Case{}, cases.ErrNotFound
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("locate case %s: %w", id, err)
	}
	return c, nil
}

// GetAnyTenant returns a case whatever its tenant, for internal callers.
func (s *Store) GetAnyTenant(ctx context.Context, id string) (cases.Case, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE id = $1`, id)
	c, err := s.scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return cases.Case{}, cases.ErrNotFound
	}
	return c, err
}

// Filter narrows List. Empty fields do not filter.
type Filter struct {
	// Repeat, when set, keeps only repeat complaints (true) or only first ones.
	Repeat                 *bool
	Tenant, Branch, Region string
	Status, Category       string
	Severity, Owner        string
	// From and To bound the registration time: From <= created_at < To.
	From, To time.Time
	Limit    int
	// After is the (created_at, id) of the last case of the previous page.
	AfterTime time.Time
	AfterID   string
}

// List returns cases newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]cases.Case, error) {
	q := `SELECT ` + caseColumns + ` FROM cases WHERE tenant_id = $1
		AND ($2 = '' OR branch_id = $2) AND ($3 = '' OR region_id = $3)
		AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
		AND ($7 = '' OR status = $7) AND ($8 = '' OR category = $8) AND ($9 = '' OR severity = $9)
		AND ($10 = '' OR owner_id = $10)
		AND ($11::timestamptz IS NULL OR created_at >= $11) AND ($12::timestamptz IS NULL OR created_at < $12)
		AND ($13::boolean IS NULL OR repeat = $13)
		ORDER BY created_at DESC, id DESC LIMIT $6`
	var after, from, to any
	afterID := "00000000-0000-0000-0000-000000000000"
	if !f.AfterTime.IsZero() {
		after, afterID = f.AfterTime, f.AfterID
	}
	if !f.From.IsZero() {
		from = f.From
	}
	if !f.To.IsZero() {
		to = f.To
	}
	rows, err := s.pool.Query(ctx, q, f.Tenant, f.Branch, f.Region, after, afterID, f.Limit,
		f.Status, f.Category, f.Severity, f.Owner, from, to, f.Repeat)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []cases.Case
	for rows.Next() {
		c, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetOwner records the owner routing announced, with an audit entry.
func (s *Store) SetOwner(ctx context.Context, tx pgx.Tx, caseID, owner, reason, actor string, at time.Time) error {
	var tenant string
	err := tx.QueryRow(ctx, `UPDATE cases SET owner_id = $2, updated_at = greatest(updated_at, $3) WHERE id = $1 RETURNING tenant_id`,
		caseID, owner, at).Scan(&tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		return cases.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set owner of case %s: %w", caseID, err)
	}
	if err := s.appendHistory(ctx, tx, tenant, caseID, cases.HistoryEntry{At: at, Kind: cases.HistoryHandover, Actor: actor,
		Owner: owner, Text: reason}); err != nil {
		return err
	}
	return s.appendAudit(ctx, tx, tenant, caseID, at, actor, "assigned", map[string]string{"owner": owner, "reason": reason})
}

// RecordAccesses appends an audit entry to each of cs for one read (a
// listing) of their personal data, in one transaction.
func (s *Store) RecordAccesses(ctx context.Context, cs []cases.Case, actor, purpose string, at time.Time) error {
	if len(cs) == 0 {
		return nil
	}
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		for _, c := range cs {
			if err := s.appendAudit(ctx, tx, c.Tenant, c.ID, at, actor, "personal_data_read", map[string]string{"purpose": purpose}); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordAccess appends an audit entry for a read of personal data.
func (s *Store) RecordAccess(ctx context.Context, c cases.Case, actor, purpose string, at time.Time) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		return s.appendAudit(ctx, tx, c.Tenant, c.ID, at, actor, "personal_data_read", map[string]string{"purpose": purpose})
	})
}

func (s *Store) seal(c cases.Case) ([]byte, error) {
	pt, err := json.Marshal(c.Customer)
	if err != nil {
		return nil, fmt.Errorf("encode customer: %w", err)
	}
	sealed, err := s.sealer.Seal(pt, aad(c.Tenant, c.ID))
	if err != nil {
		return nil, fmt.Errorf("seal customer data: %w", err)
	}
	return sealed, nil
}

func aad(tenant, id string) []byte { return []byte(tenant + "/" + id) }

func (s *Store) scan(row pgx.Row) (cases.Case, error) {
	var c cases.Case
	var sealed, work, text []byte
	err := row.Scan(&c.ID, &c.Tenant, &c.Number, &c.Branch, &c.Region, &c.Channel, &c.Category, &c.Severity, &c.Summary,
		&c.Description, &c.OccurredAt, &c.ReportedBy, &c.Customer.Tier, &c.Customer.Language, &sealed, &c.Status, &c.OwnerID,
		&c.TimeZone, &c.CalendarID, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt,
		&c.Life.Resume, &c.Life.AnsweredAt, &c.Life.AnsweredBy, &c.Life.AnsweredRank, &c.Life.Reopens, &work, &text, &c.Repeat, &c.ReceivedAt)
	if err != nil {
		return cases.Case{}, err
	}
	c.Life.Status = c.Status
	if text != nil {
		pt, err := s.sealer.Open(text, aad(c.Tenant, c.ID+"/text"))
		if err != nil {
			return cases.Case{}, fmt.Errorf("case %s text: %w", c.ID, err)
		}
		var t caseText
		if err := json.Unmarshal(pt, &t); err != nil {
			return cases.Case{}, fmt.Errorf("case %s: decode text: %w", c.ID, err)
		}
		c.Summary, c.Description = t.Summary, t.Description
	}
	if work != nil {
		pt, err := s.sealer.Open(work, aad(c.Tenant, c.ID+"/work"))
		if err != nil {
			return cases.Case{}, fmt.Errorf("case %s work: %w", c.ID, err)
		}
		if err := json.Unmarshal(pt, &c.Work); err != nil {
			return cases.Case{}, fmt.Errorf("case %s: decode work: %w", c.ID, err)
		}
	}
	pt, err := s.sealer.Open(sealed, aad(c.Tenant, c.ID))
	if err != nil {
		return cases.Case{}, fmt.Errorf("case %s: %w", c.ID, err)
	}
	tier, lang := c.Customer.Tier, c.Customer.Language
	if err := json.Unmarshal(pt, &c.Customer); err != nil {
		return cases.Case{}, fmt.Errorf("case %s: decode customer: %w", c.ID, err)
	}
	c.Customer.Tier, c.Customer.Language = tier, lang
	return c, nil
}

func location(tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// caseText is the sealed free text of a case.
type caseText struct {
	Summary     string `json:"summary"`
	Description string `json:"description,omitempty"`
}

// queueRepeats queues, on b, the link of c to the cases of the same
// customer at the same bank registered within cases.RepeatWindow before it,
// both ways, and the flag on c when there are any. The customer's advisory
// lock serialises two registrations of one customer, so each sees the
// other. It returns the index of the statement whose row says whether c is
// a repeat (no row: it is not), or -1 when c names no customer.
func queueRepeats(b *pgx.Batch, c cases.Case) int {
	if len(c.CustomerKey) == 0 {
		return -1
	}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended(encode($1::bytea, 'hex'), 42))`, c.CustomerKey)
	b.Queue(`WITH linked AS (
		INSERT INTO case_links (tenant_id, case_id, related_id)
		SELECT $1, $2, id FROM cases WHERE tenant_id = $1 AND customer_key = $3 AND id <> $2
		   AND created_at >= $4 AND created_at <= $5
		UNION ALL
		SELECT $1, id, $2 FROM cases WHERE tenant_id = $1 AND customer_key = $3 AND id <> $2
		   AND created_at >= $4 AND created_at <= $5
		ON CONFLICT DO NOTHING
		RETURNING 1)
		UPDATE cases SET repeat = true WHERE id = $2 AND EXISTS (SELECT 1 FROM linked) RETURNING true`,
		c.Tenant, c.ID, c.CustomerKey, c.CreatedAt.Add(-cases.RepeatWindow), c.CreatedAt)
	return b.Len() - 1
}

// Related returns the cases linked to case id of tenant, newest first.
func (s *Store) Related(ctx context.Context, tenant, id string) ([]cases.Case, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+caseColumns+` FROM cases WHERE tenant_id = $1
		AND id IN (SELECT related_id FROM case_links WHERE tenant_id = $1 AND case_id = $2)
		ORDER BY created_at DESC, id DESC LIMIT 200`, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("related cases of %s: %w", id, err)
	}
	defer rows.Close()
	var out []cases.Case
	for rows.Next() {
		c, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// receivedOr is when c was received: when it was registered unless told.
func receivedOr(c cases.Case) time.Time {
	if c.ReceivedAt.IsZero() {
		return c.CreatedAt
	}
	return c.ReceivedAt
}
