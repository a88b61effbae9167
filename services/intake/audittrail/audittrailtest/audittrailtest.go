// Package audittrailtest writes real audit trails through intake's own
// store, for tests outside the intake module (tools/auditverify's) that need
// trails and anchors to verify and tamper with. Not for production code.
package audittrailtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"time"

	"github.com/counterdesk/counterdesk/services/intake/audittrail"
	"github.com/counterdesk/counterdesk/services/intake/internal/auditanchor"
	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/counterdesk/counterdesk/services/platform/pii"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func store(pool *pgxpool.Pool, keys audittrail.Keys) (*casespg.Store, error) {
	// A fixed key: these cases' customers are fiction and never read back.
	sealer, err := pii.NewSealer(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5e}, 32)))
	if err != nil {
		return nil, err
	}
	return casespg.New(pool, sealer, casespg.WithMACKeys(keys)), nil
}

// Case registers a case of tenant at at, as its bank's system would, and
// gives its trail entries entries in all (the creation entry first, then
// reads of personal data a second apart). It returns the case id.
func Case(ctx context.Context, pool *pgxpool.Pool, keys audittrail.Keys, tenant string, entries int, at time.Time) (string, error) {
	s, err := store(pool, keys)
	if err != nil {
		return "", err
	}
	c := cases.Case{Tenant: tenant, Branch: "br-1", Region: "rg-1", Channel: "CHANNEL_ON_SITE", Category: "CATEGORY_FEE_DISPUTE",
		Severity: "SEVERITY_NORMAL", Summary: "test case", OccurredAt: at.Add(-time.Hour).UTC(), Customer: cases.Customer{Name: "测试",
			Tier: "CUSTOMER_TIER_REGULAR", Language: "zh-CN"}, Status: cases.StatusReported, TimeZone: "Asia/Shanghai",
		CalendarID: "cn", CreatedBy: "core-banking", CreatedAt: at.UTC(), UpdatedAt: at.UTC()}
	key := "audittrailtest-" + uuid.NewString() // every call a new case
	created, _, err := s.Create(ctx, c, key, []byte(key), func(context.Context, pgx.Tx, cases.Case) error { return nil })
	if err != nil {
		return "", err
	}
	for i := 1; i < entries; i++ {
		if err := s.RecordAccess(ctx, created, "notification", "notify customer", at.Add(time.Duration(i)*time.Second)); err != nil {
			return "", err
		}
	}
	return created.ID, nil
}

// Anchor runs one anchoring round at at, as intake's worker does (with its
// AuditAnchored events), and returns how many chains it anchored.
func Anchor(ctx context.Context, pool *pgxpool.Pool, keys audittrail.Keys, at time.Time) (int, error) {
	s, err := store(pool, keys)
	if err != nil {
		return 0, err
	}
	return s.AnchorHeads(ctx, at, auditanchor.Publish)
}
