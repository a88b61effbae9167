package templatepg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/counterdesk/counterdesk/services/notification/internal/notify"
	"github.com/counterdesk/counterdesk/services/notification/internal/templatepg/templatedb"
	"github.com/jackc/pgx/v5"
)

type ruleJSON struct {
	Template string   `json:"template"`
	Enabled  bool     `json:"enabled"`
	Channels []string `json:"channels,omitempty"`
}

// Rules returns tenantID's notification rules (none kept: every message on
// any channel).
func (s *Store) Rules(ctx context.Context, tenantID string) (notify.Rules, error) {
	r, err := s.q.GetNotificationRules(ctx, tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		return notify.Rules{}, nil
	}
	if err != nil {
		return notify.Rules{}, fmt.Errorf("read notification rules: %w", err)
	}
	var rs []ruleJSON
	if err := json.Unmarshal(r.Rules, &rs); err != nil {
		return notify.Rules{}, fmt.Errorf("decode notification rules: %w", err)
	}
	out := notify.Rules{ByTemplate: map[notify.Template]notify.Rule{}, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}
	for _, x := range rs {
		rule := notify.Rule{Template: notify.Template(x.Template), Enabled: x.Enabled}
		for _, ch := range x.Channels {
			rule.Channels = append(rule.Channels, notify.Channel(ch))
		}
		out.ByTemplate[rule.Template] = rule
	}
	return out, nil
}

// PutRules replaces tenantID's rules.
func (s *Store) PutRules(ctx context.Context, tenantID string, rules []notify.Rule, by string, at time.Time) error {
	rs := make([]ruleJSON, 0, len(rules))
	for _, r := range rules {
		x := ruleJSON{Template: string(r.Template), Enabled: r.Enabled}
		for _, ch := range r.Channels {
			x.Channels = append(x.Channels, string(ch))
		}
		rs = append(rs, x)
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	if err := s.q.PutNotificationRules(ctx, templatedb.PutNotificationRulesParams{TenantID: tenantID, Rules: b, UpdatedBy: by, UpdatedAt: at}); err != nil {
		return fmt.Errorf("keep notification rules: %w", err)
	}
	return nil
}

// RuleCache reads banks' rules through a cache of TTL (30 s by default): a
// change takes effect within that time on every replica, at once on the
// one that made it (Forget).
type RuleCache struct {
	Store *Store
	TTL   time.Duration
	Now   func() time.Time

	mu    sync.Mutex
	cache map[string]cachedRules
}

type cachedRules struct {
	rules notify.Rules
	until time.Time
}

// Rules returns tenantID's rules.
func (c *RuleCache) Rules(ctx context.Context, tenantID string) (notify.Rules, error) {
	now := time.Now //nolint:forbidigo // the default clock of a cache
	if c.Now != nil {
		now = c.Now
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	c.mu.Lock()
	e, ok := c.cache[tenantID]
	c.mu.Unlock()
	if ok && now().Before(e.until) {
		return e.rules, nil
	}
	rs, err := c.Store.Rules(ctx, tenantID)
	if err != nil {
		return notify.Rules{}, err
	}
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string]cachedRules{}
	}
	c.cache[tenantID] = cachedRules{rules: rs, until: now().Add(ttl)}
	c.mu.Unlock()
	return rs, nil
}

// Forget drops what is cached of tenantID's rules.
func (c *RuleCache) Forget(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cache, tenantID)
}
