package timerpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/counterdesk/counterdesk/services/platform/pgdb"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/sla"
	"github.com/counterdesk/counterdesk/services/slatimer/internal/timerpg/timerdb"
	"github.com/jackc/pgx/v5"
)

// PolicyVersion is one version of a bank's SLA policy: what was set, by
// whom and when. Policy.Version is Version.
type PolicyVersion struct {
	Version   int64
	Policy    sla.Policy
	UpdatedBy string
	UpdatedAt time.Time
}

// Policy returns the bank's policy in force (its newest version, Version
// set) and whether it is the default (no version yet, Version 0), read in
// tx when given (a consumer's transaction) or on the pool.
func (s *Store) Policy(ctx context.Context, tx pgx.Tx, tenant string) (sla.Policy, bool, error) {
	v, def, err := s.CurrentPolicy(ctx, tx, tenant)
	return v.Policy, def, err
}

// CurrentPolicy is Policy with who set it and when; for the default policy
// only Policy is set.
func (s *Store) CurrentPolicy(ctx context.Context, tx pgx.Tx, tenant string) (PolicyVersion, bool, error) {
	r, err := s.on(tx).LatestPolicyVersion(ctx, tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		return PolicyVersion{Policy: sla.DefaultPolicy()}, true, nil
	}
	if err != nil {
		return PolicyVersion{}, false, fmt.Errorf("read policy of %s: %w", tenant, err)
	}
	v, err := policyVersion(tenant, r.Version, r.Policy, r.UpdatedBy, r.UpdatedAt)
	return v, false, err
}

// PolicyVersions returns every version of the bank's policy, newest first;
// none for a bank on the default policy.
func (s *Store) PolicyVersions(ctx context.Context, tenant string) ([]PolicyVersion, error) {
	rows, err := s.q.ListPolicyVersions(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("read policy versions of %s: %w", tenant, err)
	}
	out := make([]PolicyVersion, 0, len(rows))
	for _, r := range rows {
		v, err := policyVersion(tenant, r.Version, r.Policy, r.UpdatedBy, r.UpdatedAt)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func policyVersion(tenant string, version int64, raw []byte, by string, at time.Time) (PolicyVersion, error) {
	var p sla.Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return PolicyVersion{}, fmt.Errorf("decode policy version %d of %s: %w", version, tenant, err)
	}
	p.Version = version
	return PolicyVersion{Version: version, Policy: p, UpdatedBy: by, UpdatedAt: at}, nil
}

// putAttempts bounds the retries of PutPolicy when other puts of the same
// bank take the next version number first.
const putAttempts = 5

// PutPolicy stores p as the bank's next policy version, set by `by` at at,
// and returns the version. Earlier versions stay as they were: cases armed
// under them keep them.
func (s *Store) PutPolicy(ctx context.Context, tenant, by string, p sla.Policy, at time.Time) (int64, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("encode policy: %w", err)
	}
	for attempt := 1; ; attempt++ {
		v, err := s.q.InsertPolicyVersion(ctx, timerdb.InsertPolicyVersionParams{TenantID: tenant, Policy: raw, UpdatedBy: by, UpdatedAt: at})
		if err == nil {
			return v, nil
		}
		if !pgdb.IsUniqueViolation(err) || attempt == putAttempts {
			return 0, fmt.Errorf("store policy of %s: %w", tenant, err)
		}
	}
}

// PolicyAt returns version v of the bank's policy, the one a case was armed
// with, and whether it is still stored; version 0 is the default policy,
// always there. When it is not (false), the caller counts on the policy in
// force.
func (s *Store) PolicyAt(ctx context.Context, tx pgx.Tx, tenant string, v int64) (sla.Policy, bool, error) {
	if v == 0 {
		return sla.DefaultPolicy(), true, nil
	}
	r, err := s.on(tx).PolicyVersionOf(ctx, timerdb.PolicyVersionOfParams{TenantID: tenant, Version: v})
	if errors.Is(err, pgx.ErrNoRows) {
		return sla.Policy{}, false, nil
	}
	if err != nil {
		return sla.Policy{}, false, fmt.Errorf("read policy version %d of %s: %w", v, tenant, err)
	}
	pv, err := policyVersion(tenant, r.Version, r.Policy, r.UpdatedBy, r.UpdatedAt)
	return pv.Policy, err == nil, err
}
