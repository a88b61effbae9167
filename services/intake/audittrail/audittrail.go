// Package audittrail opens intake's audit verification to programs outside
// the service, chiefly tools/auditverify: Go keeps intake's domain and store
// inside the intake module, and this package is the part of them a verifier
// needs. It reads and verifies; nothing here writes to the database.
package audittrail

import (
	"context"

	"github.com/counterdesk/counterdesk/services/intake/internal/cases"
	"github.com/counterdesk/counterdesk/services/intake/internal/casespg"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Keys is the ring of audit MAC keys (AUDIT_MAC_KEYS).
type Keys = cases.MACKeys

// ParseKeys reads AUDIT_MAC_KEYS: comma-separated keyid:base64key pairs,
// the current key first. Errors never contain a key.
func ParseKeys(s string) (Keys, error) { return cases.ParseMACKeys(s) }

// Verification is the integrity of one case's trail.
type Verification = cases.Verification

// Broken is where a trail stops holding, and why.
type Broken = cases.Broken

// VerifyTenant verifies the trail and anchors of every case of tenant (by
// its case, audit or anchor rows, so that erased cases are still found), in
// case id order and in one snapshot, calling each with the result.
func VerifyTenant(ctx context.Context, pool *pgxpool.Pool, keys Keys, tenant string, each func(caseID string, v Verification) error) error {
	// Verifying opens no customer data: the store needs no PII sealer.
	return casespg.New(pool, nil, casespg.WithMACKeys(keys)).VerifyTenant(ctx, tenant, each)
}
