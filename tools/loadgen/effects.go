package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// effect is one thing registering a case causes downstream.
type effect int

const (
	effOwner     effect = iota // routing: an assignments row
	effQueue                   // routing: the case in its branch queue (Redis)
	effDeadlines               // slatimer: every deadline armed at creation
	effAck                     // notification: the acknowledgment mail sent
	effReporting               // reporting: the case counted (case_facts row with its creation applied)
	nEffects
)

var effectNames = [nEffects]string{"owner", "queue", "deadlines", "ack_delivered", "reporting"}

// effectClock says where each effect's time comes from. Only the
// acknowledgment has a timestamp of its own taking effect
// (deliveries.sent_at, written when the SMTP server accepted the mail);
// assignments.enqueued_at and deadlines.started_at are the case's
// registration time copied from the event, case_facts.updated_at moves on
// with every later event, and Redis keeps none: for those, the time the
// poll that first saw the effect was sent (its snapshot is taken then), so
// they are late by up to one poll interval.
var effectClock = [nEffects]string{"observed", "observed", "observed", "deliveries.sent_at", "observed"}

const ackTemplate = "case_acknowledgment"

// creationKinds are the deadlines the default SLA policy arms when a case
// is registered: an acknowledgment, a first answer and a resolution for
// every case, the regulator's limit for complaints.
func creationKinds(complaint bool) []string {
	k := []string{"DEADLINE_KIND_ACKNOWLEDGE", "DEADLINE_KIND_FIRST_ANSWER", "DEADLINE_KIND_RESOLUTION"}
	if complaint {
		k = append(k, "DEADLINE_KIND_REGULATORY_DECISION")
	}
	return k
}

// queuePrefix is routing's Redis key prefix of a branch
// (services/routing/internal/routingredis/queue.go): the branch queue is
// prefix+"queue", an owner's queue prefix+"q:staff:<id>" or
// prefix+"q:role:<role>", the entries hash prefix+"entries".
func queuePrefix(tenant, branch string) string { return "cd:{" + tenant + ":" + branch + "}:" }

// tracked is one case the run created.
type tracked struct {
	spec    caseSpec
	id      string
	created time.Time // when the create answer arrived
	seen    [nEffects]time.Time
}

func (c *tracked) complete() bool {
	for _, s := range c.seen {
		if s.IsZero() {
			return false
		}
	}
	return true
}

// lastEffect is when the case's last effect was seen (zero if one is missing).
func (c *tracked) lastEffect() time.Time {
	var last time.Time
	for _, s := range c.seen {
		if s.IsZero() {
			return time.Time{}
		}
		if s.After(last) {
			last = s
		}
	}
	return last
}

// stores are the databases and the Redis where effects show.
type stores struct {
	routing, slatimer, notification, reporting *pgxpool.Pool
	redis                                      *redisConn
}

func openStores(ctx context.Context, ep endpoints) (*stores, error) {
	s := &stores{}
	for _, x := range []struct {
		dst **pgxpool.Pool
		db  string
	}{{&s.routing, "routing"}, {&s.slatimer, "slatimer"}, {&s.notification, "notification"}, {&s.reporting, "reporting"}} {
		u, err := databaseURL(ep.PostgresURL, x.db)
		if err != nil {
			return nil, err
		}
		cfg, err := pgxpool.ParseConfig(u)
		if err != nil {
			return nil, err
		}
		cfg.MaxConns = 2
		if *x.dst, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			s.close()
			return nil, fmt.Errorf("database %s: %w", x.db, err)
		}
		if err := (*x.dst).Ping(ctx); err != nil {
			s.close()
			return nil, fmt.Errorf("database %s: %w", x.db, err)
		}
	}
	var err error
	if s.redis, err = dialRedis(ctx, ep.RedisURL); err != nil {
		s.close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return s, nil
}

func (s *stores) close() {
	for _, p := range []*pgxpool.Pool{s.routing, s.slatimer, s.notification, s.reporting} {
		if p != nil {
			p.Close()
		}
	}
	if s.redis != nil {
		s.redis.close()
	}
}

// tracker follows the cases of a run until every effect of each is seen.
// It polls in batches: one query per effect for all the cases still
// waiting for it.
type tracker struct {
	st      *stores
	mu      sync.Mutex
	cases   []*tracked
	pending [nEffects]map[string]*tracked
	polls   int
	pollErr error // the last poll's error, if any
}

func newTracker(st *stores) *tracker {
	t := &tracker{st: st}
	for e := range nEffects {
		t.pending[e] = map[string]*tracked{}
	}
	return t
}

func (t *tracker) add(c *tracked) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cases = append(t.cases, c)
	for e := range nEffects {
		t.pending[e][c.id] = c
	}
}

// all returns the tracked cases (a copy of the list).
func (t *tracker) all() []*tracked {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.cases)
}

// waiting counts the cases with some effect not seen yet, and the cases
// waiting for each effect.
func (t *tracker) waiting() (int, [nEffects]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var per [nEffects]int
	n := 0
	for _, c := range t.cases {
		if !c.complete() {
			n++
		}
	}
	for e := range nEffects {
		per[e] = len(t.pending[e])
	}
	return n, per
}

func (t *tracker) waitingText() string {
	n, per := t.waiting()
	s := fmt.Sprintf("waiting %d:", n)
	for e := range nEffects {
		s += fmt.Sprintf(" %s %d", effectNames[e], per[e])
	}
	return s
}

// poll looks once for every pending effect.
func (t *tracker) poll(ctx context.Context) error {
	var batch [nEffects][]*tracked
	t.mu.Lock()
	for e := range nEffects {
		for _, c := range t.pending[e] {
			batch[e] = append(batch[e], c)
		}
	}
	t.polls++
	t.mu.Unlock()
	var firstErr error
	for e := range nEffects {
		if len(batch[e]) == 0 {
			continue
		}
		seen, err := t.look(ctx, e, batch[e])
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("poll %s: %w", effectNames[e], err)
		}
		t.mu.Lock()
		for id, at := range seen {
			if c := t.pending[e][id]; c != nil {
				c.seen[e] = at
				delete(t.pending[e], id)
			}
		}
		t.mu.Unlock()
	}
	t.mu.Lock()
	t.pollErr = firstErr
	t.mu.Unlock()
	return firstErr
}

// look returns the cases of cs whose effect e is visible now, with when it
// took effect (see effectClock).
func (t *tracker) look(ctx context.Context, e effect, cs []*tracked) (map[string]time.Time, error) {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	seen := map[string]time.Time{}
	now := time.Now() // the observation time: the query's snapshot is taken after this
	collect := func(p *pgxpool.Pool, sql string, args ...any) error {
		rows, err := p.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			seen[id] = now
		}
		return rows.Err()
	}
	switch e {
	case effOwner:
		return seen, collect(t.st.routing, `SELECT case_id::text FROM assignments WHERE case_id = ANY($1::uuid[])`, ids)
	case effQueue:
		cmds := make([][]string, len(cs))
		for i, c := range cs {
			cmds[i] = []string{"ZSCORE", queuePrefix(c.spec.Target.Tenant, c.spec.Target.Branch) + "queue", c.id}
		}
		for i, r := range t.st.redis.pipeline(ctx, cmds) {
			switch {
			case r.err == nil:
				seen[cs[i].id] = now
			case r.err != errNil:
				return seen, r.err
			}
		}
		return seen, nil
	case effDeadlines:
		kinds := map[string][]string{}
		rows, err := t.st.slatimer.Query(ctx, `SELECT case_id::text, kind FROM deadlines WHERE case_id = ANY($1::uuid[])`, ids)
		if err != nil {
			return seen, err
		}
		defer rows.Close()
		for rows.Next() {
			var id, kind string
			if err := rows.Scan(&id, &kind); err != nil {
				return seen, err
			}
			kinds[id] = append(kinds[id], kind)
		}
		if err := rows.Err(); err != nil {
			return seen, err
		}
		for _, c := range cs {
			if containsAll(kinds[c.id], creationKinds(c.spec.Complaint)) {
				seen[c.id] = now
			}
		}
		return seen, nil
	case effAck:
		rows, err := t.st.notification.Query(ctx, `SELECT case_id::text, sent_at FROM deliveries
			WHERE case_id = ANY($1::uuid[]) AND template = $2 AND channel = 'email' AND status = 'SENT'`, ids, ackTemplate)
		if err != nil {
			return seen, err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				return seen, err
			}
			seen[id] = at
		}
		return seen, rows.Err()
	case effReporting:
		tenants := make([]string, len(cs))
		for i, c := range cs {
			tenants[i] = c.spec.Target.Tenant
		}
		return seen, collect(t.st.reporting, `SELECT r.case_id FROM case_facts r
			JOIN unnest($1::text[], $2::text[]) AS p(tenant_id, case_id) ON r.tenant_id = p.tenant_id AND r.case_id = p.case_id
			WHERE r.received_at IS NOT NULL`, tenants, ids)
	}
	return seen, fmt.Errorf("unknown effect %d", e)
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// watch polls every interval until ctx ends.
func (t *tracker) watch(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = t.poll(ctx) // kept in pollErr; the next poll tries again
		}
	}
}

// settle polls until every effect of every case is seen or timeout passes,
// and reports whether everything was seen.
func (t *tracker) settle(ctx context.Context, every, timeout time.Duration, onTick func()) bool {
	deadline := time.Now().Add(timeout)
	for {
		_ = t.poll(ctx)
		if onTick != nil {
			onTick()
		}
		if n, _ := t.waiting(); n == 0 {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

// effectLatencies are, per effect, the times from the create answer until
// the effect showed, and the time until the last of them ("all", only for
// cases with every effect).
func effectLatencies(cs []*tracked) ([nEffects][]time.Duration, []time.Duration) {
	var per [nEffects][]time.Duration
	var all []time.Duration
	for _, c := range cs {
		for e := range nEffects {
			if !c.seen[e].IsZero() {
				// An effect with its own timestamp may carry a time a hair before the
				// answer reached loadgen: it took effect before we heard of the case.
				per[e] = append(per[e], max(0, c.seen[e].Sub(c.created)))
			}
		}
		if last := c.lastEffect(); !last.IsZero() {
			all = append(all, max(0, last.Sub(c.created)))
		}
	}
	return per, all
}
