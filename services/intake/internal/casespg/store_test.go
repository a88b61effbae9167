// Protects intake's system of record: sealed customer data, idempotent creation, case numbers, outbox atomicity and the audit chain.
package casespg_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "github.com/counterdesk/counterdesk/proto/gen/counterdesk/events/v1"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/intake/migrations"
	"github.com/counterdesk/counterdesk/services/platform/auth"
	"github.com/counterdesk/counterdesk/services/platform/eventbus"
	"github.com/counterdesk/counterdesk/services/platform/outbox"
	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/counterdesk/counterdesk/services/platform/testinfra"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testinfra.Run(m, testinfra.Postgres)) }

// now is 18:00 in Shanghai on 22 November 2026.
var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

var customer = cases.Customer{Name: "张三丰", IDNumber: "110101199003071234", Phone: "13812345678",
	Email: "zsf@example.com", Account: "6222020200112233"}

type fixture struct {
	pool  *pgxpool.Pool
	store *casespg.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dsn := testinfra.NewDatabaseFromTemplate(t, "intake", func(ctx context.Context, dsn string) error {
		pool, err := pgdb.Open(ctx, dsn, migrations.FS, nil)
		if err != nil {
			return err
		}
		pool.Close()
		return nil
	})
	pool, err := pgdb.Open(context.Background(), dsn, migrations.FS, nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(pool.Close)
	return &fixture{pool: pool, store: casespg.New(pool, newSealer(t, 1), casespg.WithMACKeys(macKeys(t, "k1:"+macKey(0x11))))}
}

// macKey is a base64 audit MAC key of 32 bytes of fill.
func macKey(fill byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

func macKeys(t *testing.T, s string) cases.MACKeys {
	t.Helper()
	k, err := cases.ParseMACKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newSealer returns a sealer whose key is 32 bytes of fill.
func newSealer(t *testing.T, fill byte) *pii.Sealer {
	t.Helper()
	s, err := pii.NewSealer(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// prepare returns a new case of tenant registered by the bank's system at at.
func prepare(t *testing.T, tenant string, at time.Time) cases.Case {
	t.Helper()
	b := cases.Branch{ID: "br-1", Region: "rg-1", TimeZone: "Asia/Shanghai", CalendarID: "cn", Staff: []string{"teller-1", "cm-1"}, ComplaintManager: "cm-1"}
	c, err := cases.Prepare(cases.New{Branch: "br-1", Channel: "CHANNEL_ON_SITE", Category: "CATEGORY_FEE_DISPUTE",
		Severity: "SEVERITY_NORMAL", Summary: "fee charged twice", OccurredAt: at.Add(-time.Hour), Customer: customer},
		b, auth.Principal{Tenant: tenant, Subject: "core-banking", Role: auth.RoleBankSystem}, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// toOutbox is the hook the gRPC server uses: CaseCreated into the outbox.
func toOutbox(ctx context.Context, tx pgx.Tx, c cases.Case) error {
	return outbox.Add(ctx, tx, "intake", eventbus.TopicCaseEvents, &eventsv1.Envelope{TenantId: c.Tenant, CaseId: c.ID,
		Payload: &eventsv1.Envelope_CaseCreated{CaseCreated: &eventsv1.CaseCreated{CaseNumber: c.Number, BranchId: c.Branch}}})
}

func (f *fixture) create(t *testing.T, c cases.Case, key string) cases.Case {
	t.Helper()
	got, created, err := f.store.Create(context.Background(), c, key, []byte("hash-"+key), toOutbox)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !created {
		t.Fatalf("key %s: created = false for a new key", key)
	}
	return got
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// counts is the number of rows in every table a creation writes.
func (f *fixture) counts(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"cases", "idempotency_keys", "case_numbers", "case_audit", "outbox"} {
		out[table] = f.count(t, table)
	}
	return out
}

func TestCustomerIsSealedAtRest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.create(t, prepare(t, "bank-a", now), "k1")

	var raw []byte
	if err := f.pool.QueryRow(ctx, `SELECT customer_sealed FROM cases WHERE id = $1`, c.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{customer.Name, customer.IDNumber, customer.Phone, customer.Email, customer.Account, `"idNumber"`} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("customer_sealed contains %q in clear", secret)
		}
	}

	got, err := f.store.Get(ctx, "bank-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := customer
	want.Tier, want.Language = "CUSTOMER_TIER_REGULAR", "zh-CN"
	if got.Customer != want {
		t.Errorf("Get returned customer %+v, want %+v", got.Customer, want)
	}

	other := casespg.New(f.pool, newSealer(t, 2))
	stolen, err := other.Get(ctx, "bank-a", c.ID)
	if err == nil {
		t.Fatalf("a store with another key read the case: %+v", stolen.Customer)
	}
	if errors.Is(err, cases.ErrNotFound) {
		t.Errorf("another key's failure reads as not found: %v", err)
	}
	if stolen.Customer != (cases.Customer{}) {
		t.Errorf("another key's failure still returned a customer: %+v", stolen.Customer)
	}
	for _, secret := range []string{customer.Name, customer.IDNumber, customer.Phone} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error text contains personal data: %v", err)
		}
	}
}

func TestSealedCustomerCannotBeMovedToAnotherCase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.create(t, prepare(t, "bank-a", now), "k1")
	b := f.create(t, prepare(t, "bank-a", now), "k2")
	if _, err := f.pool.Exec(ctx, `UPDATE cases SET customer_sealed = (SELECT customer_sealed FROM cases WHERE id = $1) WHERE id = $2`,
		a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := f.store.Get(ctx, "bank-a", b.ID); err == nil {
		t.Fatalf("case %s opened the customer sealed for case %s: %+v", b.ID, a.ID, got.Customer)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	tests := []struct {
		name        string
		tenant, key string
		hash        string
		wantErr     error
		wantSame    bool // the first case comes back
		wantCreated bool
		wantCases   int // rows in cases afterwards
	}{
		{name: "the same key and request return the first case and store nothing more",
			tenant: "bank-a", key: "k1", hash: "h1", wantSame: true, wantCases: 1},
		{name: "the same key with a different request is a conflict and stores nothing",
			tenant: "bank-a", key: "k1", hash: "h2", wantErr: cases.ErrIdempotencyConflict, wantCases: 1},
		{name: "a new key creates a new case",
			tenant: "bank-a", key: "k2", hash: "h1", wantCreated: true, wantCases: 2},
		{name: "the same key in another bank is another request",
			tenant: "bank-b", key: "k1", hash: "h1", wantCreated: true, wantCases: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			first, created, err := f.store.Create(ctx, prepare(t, "bank-a", now), "k1", []byte("h1"), toOutbox)
			if err != nil || !created {
				t.Fatalf("first create: created=%v err=%v", created, err)
			}
			before := f.counts(t)

			got, created, err := f.store.Create(ctx, prepare(t, tt.tenant, now.Add(time.Minute)), tt.key, []byte(tt.hash), toOutbox)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if tt.wantSame && (got.ID != first.ID || got.Number != first.Number || got.Customer.IDNumber != customer.IDNumber) {
				t.Errorf("replay returned %s %s, want the first case %s %s", got.ID, got.Number, first.ID, first.Number)
			}
			if tt.wantCreated && got.ID == first.ID {
				t.Errorf("a new request returned the first case %s", first.ID)
			}
			if n := f.count(t, "cases"); n != tt.wantCases {
				t.Errorf("%d cases stored, want %d", n, tt.wantCases)
			}
			if !tt.wantCreated {
				if after := f.counts(t); !maps.Equal(after, before) {
					t.Errorf("rows changed without a new case: before %v, after %v", before, after)
				}
			}
		})
	}
}

func TestConcurrentCreatesWithOneKeyStoreOneCase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const callers = 20
	ids := make([]string, callers)
	errs := make([]error, callers)
	createdBy := make([]bool, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		c := prepare(t, "bank-a", now)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, created, err := f.store.Create(ctx, c, "same-key", []byte("same-hash"), toOutbox)
			ids[i], createdBy[i], errs[i] = got.ID, created, err
		}()
	}
	close(start)
	wg.Wait()

	winners := 0
	for i := range callers {
		if errs[i] != nil {
			t.Errorf("caller %d: %v", i, errs[i])
			continue
		}
		if ids[i] != ids[0] {
			t.Errorf("caller %d got case %s, caller 0 got %s", i, ids[i], ids[0])
		}
		if createdBy[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d callers were told they created the case, want 1", winners)
	}
	for table, want := range map[string]int{"cases": 1, "idempotency_keys": 1, "case_audit": 1, "outbox": 1} {
		if n := f.count(t, table); n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	var number string
	if err := f.pool.QueryRow(ctx, `SELECT case_number FROM cases`).Scan(&number); err != nil {
		t.Fatal(err)
	}
	// Numbers are taken before the race is decided: the winner has one of
	// the day's numbers, the losers' are skipped (numbers are unique, not
	// gapless).
	if !strings.HasPrefix(number, "CD-20261122-0000") {
		t.Errorf("the one case is %s, want one of the day's first numbers", number)
	}
}

// Within one process numbers of a bank's day follow each other; another
// process (a replica, a restart) takes its own block of the day's counter.
func TestCaseNumbersAreSequentialPerTenantAndDay(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		name   string
		tenant string
		at     time.Time
		want   string
	}{
		{"the first case of a bank's day is number 1", "bank-a", now, "CD-20261122-000001"},
		{"the next case that day is number 2", "bank-a", now.Add(time.Hour), "CD-20261122-000002"},
		{"another bank counts on its own", "bank-b", now, "CD-20261122-000001"},
		{"the bank's next day starts again at 1", "bank-a", now.Add(24 * time.Hour), "CD-20261123-000001"},
		{"the day is the branch's local day, not UTC's", "bank-a", time.Date(2026, 11, 22, 17, 30, 0, 0, time.UTC), "CD-20261123-000002"},
		{"the first bank's day goes on where it stopped", "bank-a", now.Add(2 * time.Hour), "CD-20261122-000003"},
	}
	defer func() {
		// A second process of intake (a replica) numbers from its own block:
		// unique, after the first process's block.
		other := casespg.New(f.pool, newSealer(t, 1), casespg.WithMACKeys(macKeys(t, "k1:"+macKey(0x11))))
		c, _, err := other.Create(context.Background(), prepare(t, "bank-a", now.Add(3*time.Hour)), "key-other", []byte("h"), toOutbox)
		if err != nil {
			t.Fatal(err)
		}
		if c.Number != fmt.Sprintf("CD-20261122-%06d", 21) {
			t.Errorf("a second process's first number %s, want 21 (after the first process's block of 20)", c.Number)
		}
	}()
	for i, s := range steps {
		got := f.create(t, prepare(t, s.tenant, s.at), fmt.Sprintf("key-%d", i))
		if got.Number != s.want {
			t.Errorf("%s: number %s, want %s", s.name, got.Number, s.want)
		}
		stored, err := f.store.Get(context.Background(), s.tenant, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Number != s.want {
			t.Errorf("%s: stored number %s, want %s", s.name, stored.Number, s.want)
		}
	}
}

func TestFailingOutboxHookLeavesNothingBehind(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	hookErr := errors.New("outbox unavailable")
	_, created, err := f.store.Create(ctx, prepare(t, "bank-a", now), "k1", []byte("h1"),
		func(ctx context.Context, tx pgx.Tx, c cases.Case) error {
			if err := toOutbox(ctx, tx, c); err != nil {
				return err
			}
			return hookErr
		})
	if !errors.Is(err, hookErr) {
		t.Fatalf("err = %v, want the hook's error", err)
	}
	if created {
		t.Error("created = true although the hook failed")
	}
	for table, n := range f.counts(t) {
		if n != 0 && table != "case_numbers" { // the day's counter moved on: numbers are not gapless
			t.Errorf("%s has %d rows after the hook failed, want none", table, n)
		}
	}

	// The key was not used up: the client's retry creates the case (the
	// failed attempt's number is skipped).
	c := f.create(t, prepare(t, "bank-a", now), "k1")
	if c.Number != "CD-20261122-000002" {
		t.Errorf("retry got number %s, want CD-20261122-000002", c.Number)
	}
}

func (f *fixture) verify(t *testing.T, caseID string) cases.Verification {
	t.Helper()
	v, err := f.store.VerifyAudit(context.Background(), caseID)
	if err != nil {
		t.Fatalf("verify audit: %v", err)
	}
	return v
}

func setOwner(t *testing.T, f *fixture, caseID, owner string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return f.store.SetOwner(ctx, tx, caseID, owner, "first_responder", "routing", at)
	}); err != nil {
		t.Fatalf("set owner: %v", err)
	}
}

func TestAuditChainOfCreateAndAssignVerifies(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, prepare(t, "bank-a", now), "k1")
	// Nanoseconds that Postgres cannot store must not break the chain.
	setOwner(t, f, c.ID, "teller-1", now.Add(time.Second+123456789))

	recs, err := f.store.Audit(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Entry.Action)
		if r.KeyID != "k1" || r.Entry.Tenant != "bank-a" {
			t.Errorf("entry %d sealed with key %q for tenant %q, want k1 and bank-a", r.Entry.Seq, r.KeyID, r.Entry.Tenant)
		}
	}
	if strings.Join(actions, ",") != "created,assigned" {
		t.Fatalf("audit actions %v, want created then assigned", actions)
	}
	if recs[1].Entry.Details["owner"] != "teller-1" || recs[1].Entry.Actor != "routing" {
		t.Errorf("assigned entry %+v", recs[1].Entry)
	}
	if v := f.verify(t, c.ID); !v.OK || v.Entries != 2 || v.LegacyEntries != 0 {
		t.Fatalf("stored chain: %+v, want 2 intact keyed entries", v)
	}
	got, err := f.store.Get(context.Background(), "bank-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.OwnerID != "teller-1" {
		t.Errorf("owner %q, want teller-1", got.OwnerID)
	}
}

func TestAuditRowsCannotBeChanged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.create(t, prepare(t, "bank-a", now), "k1")
	setOwner(t, f, c.ID, "teller-1", now.Add(time.Second))
	f.anchor(t, now.Add(time.Minute))
	tests := []struct{ name, sql string }{
		{"an update of an entry is refused", `UPDATE case_audit SET details = '{"owner":"someone-else"}' WHERE case_id = '` + c.ID + `' AND seq = 2`},
		{"a delete of an entry is refused", `DELETE FROM case_audit WHERE case_id = '` + c.ID + `' AND seq = 2`},
		{"a truncate of the trail is refused", `TRUNCATE case_audit`},
		{"an update of an anchor is refused", `UPDATE audit_anchors SET seq = 1`},
		{"a delete of an anchor is refused", `DELETE FROM audit_anchors`},
		{"a truncate of the anchors is refused", `TRUNCATE audit_anchors`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.pool.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "append-only") {
				t.Fatalf("err = %v, want the append-only trigger's refusal", err)
			}
			if n, m := f.count(t, "case_audit"), f.count(t, "audit_anchors"); n != 2 || m != 1 {
				t.Errorf("%d audit rows and %d anchors, want 2 and 1", n, m)
			}
		})
	}
	if v := f.verify(t, c.ID); !v.OK || v.AnchoredSeq != 2 {
		t.Errorf("after refused edits: %+v, want intact and anchored at 2", v)
	}
}

// Rows without a key id would verify by the legacy rule, which needs no key:
// only rows from before MACs may be like that.
func TestUnkeyedRowsCannotBeAdded(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, prepare(t, "bank-a", now), "k1")
	for name, sql := range map[string]string{
		"an unkeyed audit row": `INSERT INTO case_audit (case_id, seq, tenant_id, created_at, actor, action, details, prev_hash, hash)
			SELECT case_id, 2, tenant_id, created_at, actor, action, details, hash, hash FROM case_audit WHERE case_id = '` + c.ID + `'`,
		"an unkeyed anchor": `INSERT INTO audit_anchors (tenant_id, case_id, seq, mac, anchored_at)
			VALUES ('bank-a', '` + c.ID + `', 1, '\x00', now())`,
		"a row made unkeyed": `UPDATE case_audit SET mac_key_id = NULL`,
	} {
		t.Run(name, func(t *testing.T) {
			err := f.tamper(t, sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
				t.Fatalf("err = %v, want a check constraint violation", err)
			}
		})
	}
}

func TestSetOwnerOfUnknownCaseIsNotFound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.create(t, prepare(t, "bank-a", now), "k1")
	err := pgdb.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return f.store.SetOwner(ctx, tx, uuid.NewString(), "teller-1", "first_responder", "routing", now)
	})
	if !errors.Is(err, cases.ErrNotFound) {
		t.Fatalf("err = %v, want cases.ErrNotFound", err)
	}
	if n := f.count(t, "case_audit"); n != 1 {
		t.Errorf("%d audit rows, want only the created entry", n)
	}
}

// What the customer said is stored sealed: the summary and description
// columns hold nothing, the sealed text does not contain the words, and
// the store reads them back.
func TestFreeTextIsStoredSealed(t *testing.T) {
	f := newFixture(t)
	c := prepare(t, "bank-a", now)
	c.Description = "客户称账号6222021234567890的汇款被退回"
	stored, _, err := f.store.Create(context.Background(), c, "sealed-text", []byte("h"), toOutbox)
	if err != nil {
		t.Fatal(err)
	}
	var summary, description string
	var sealed []byte
	if err := f.pool.QueryRow(context.Background(), `SELECT summary, description, text_sealed FROM cases WHERE id = $1`, stored.ID).
		Scan(&summary, &description, &sealed); err != nil {
		t.Fatal(err)
	}
	if summary != "" || description != "" || len(sealed) == 0 || bytes.Contains(sealed, []byte("6222021234567890")) || bytes.Contains(sealed, []byte(c.Summary)) {
		t.Fatalf("stored summary %q, description %q, sealed %d bytes (contains the text: %v)", summary, description, len(sealed),
			bytes.Contains(sealed, []byte("6222021234567890")))
	}
	got, err := f.store.Get(context.Background(), "bank-a", stored.ID)
	if err != nil || got.Description != c.Description || got.Summary != c.Summary {
		t.Fatalf("read back %q / %q, %v", got.Summary, got.Description, err)
	}
}
