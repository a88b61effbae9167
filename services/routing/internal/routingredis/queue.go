// Package routingredis keeps the live queues in Redis. Per bank and branch:
// a sorted set of the branch's open cases, one sorted set per owner (a
// staff member's personal queue, or a role queue), all ordered by priority
// then nearest deadline; a hash of each case's entry; and a hash of open
// counts per owner. Everything here can be rebuilt from routing's
// database, and is at every start.
package routingredis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/redis/go-redis/v9"
)

// Queues reads and writes the live queues.
type Queues struct{ rdb *redis.Client }

// New returns queues on rdb.
func New(rdb *redis.Client) *Queues { return &Queues{rdb: rdb} }

// Keys carry bank and branch in a hash tag, so a Redis Cluster keeps one
// branch's keys on one shard (the scripts below touch only one branch).
func prefix(tenant, branch string) string     { return "cd:{" + tenant + ":" + branch + "}:" }
func queueKey(tenant, branch string) string   { return prefix(tenant, branch) + "queue" }
func entriesKey(tenant, branch string) string { return prefix(tenant, branch) + "entries" }
func loadKey(tenant, branch string) string    { return prefix(tenant, branch) + "load" }

// ownerKey names an owner's queue: "staff:<id>" or "role:<role>".
func ownerKey(o routing.Owner) string {
	if o.IsRole() {
		return "role:" + o.Role
	}
	return "staff:" + o.Staff
}

func parseOwnerKey(k string) routing.Owner {
	if r, ok := strings.CutPrefix(k, "role:"); ok {
		return routing.Owner{Role: r}
	}
	return routing.Owner{Staff: strings.TrimPrefix(k, "staff:")}
}

// entry is a case's stored entry.
type entry struct {
	Owner    string `json:"o"`
	Pending  bool   `json:"p,omitempty"`
	Severity string `json:"s,omitempty"`
	Enqueued int64  `json:"e"`
	Due      int64  `json:"d,omitempty"`
}

// put moves a case to its owner's queue atomically: off the previous
// owner's queue and count, onto the new one's, and into the branch queue.
var put = redis.NewScript(`
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local o = cjson.decode(old).o
  if o ~= ARGV[2] then
    redis.call('ZREM', ARGV[5] .. 'q:' .. o, ARGV[1])
    if redis.call('HINCRBY', KEYS[3], o, -1) <= 0 then redis.call('HDEL', KEYS[3], o) end
    redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
  end
else
  redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', ARGV[5] .. 'q:' .. ARGV[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
`)

// remove takes a case off every queue of its branch.
var remove = redis.NewScript(`
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local o = cjson.decode(old).o
  redis.call('ZREM', ARGV[2] .. 'q:' .. o, ARGV[1])
  if redis.call('HINCRBY', KEYS[3], o, -1) <= 0 then redis.call('HDEL', KEYS[3], o) end
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZCARD', KEYS[1])
`)

// Put adds or updates a case in its queues. Idempotent.
func (q *Queues) Put(ctx context.Context, c routing.Queued) error {
	e := entry{Owner: ownerKey(c.Owner), Pending: c.PickupPending, Severity: c.Severity, Enqueued: c.EnqueuedAt.UnixMilli()}
	if !c.DueAt.IsZero() {
		e.Due = c.DueAt.UnixMilli()
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	total, err := put.Run(ctx, q.rdb, []string{queueKey(c.Tenant, c.Branch), entriesKey(c.Tenant, c.Branch), loadKey(c.Tenant, c.Branch)},
		c.CaseID, e.Owner, c.Score(), raw, prefix(c.Tenant, c.Branch)).Int()
	if err != nil {
		return fmt.Errorf("queue case %s: %w", c.CaseID, err)
	}
	q.notify(ctx, c.Tenant, c.Branch, change("put", c, total))
	return nil
}

// Remove takes a case off its branch's queues (closed, withdrawn,
// answered). Idempotent.
func (q *Queues) Remove(ctx context.Context, tenant, branch, caseID string) error {
	total, err := remove.Run(ctx, q.rdb, []string{queueKey(tenant, branch), entriesKey(tenant, branch), loadKey(tenant, branch)},
		caseID, prefix(tenant, branch)).Int()
	if err != nil {
		return fmt.Errorf("dequeue case %s: %w", caseID, err)
	}
	q.notify(ctx, tenant, branch, change("removed", routing.Queued{CaseID: caseID, Tenant: tenant, Branch: branch}, total))
	return nil
}

// Rebuild puts every open assignment back in its queues.
func (q *Queues) Rebuild(ctx context.Context, each func(func(routing.Queued) error) error) (int, error) {
	n := 0
	err := each(func(c routing.Queued) error {
		n++
		return q.Put(ctx, c)
	})
	if err != nil {
		return n, fmt.Errorf("rebuild queues after %s entries: %w", strconv.Itoa(n), err)
	}
	return n, nil
}

// builtKey marks a Redis that holds rebuilt queues. It vanishes with the data
// when Redis restarts without persistence or fails over to an empty replica,
// which is how Watch notices the loss.
const builtKey = "cd:queues:built"

// Source lists every open assignment (routing's database).
type Source func(ctx context.Context, fn func(routing.Queued) error) error

// EnsureBuilt rebuilds the queues from src unless the marker says this Redis
// already holds them (force rebuilds anyway: at start, an entry whose
// after-commit write died with the previous process may be missing). It
// returns how many entries it put back (0 if none were needed).
func (q *Queues) EnsureBuilt(ctx context.Context, src Source, force bool) (int, error) {
	if !force {
		n, err := q.rdb.Exists(ctx, builtKey).Result()
		if err != nil {
			return 0, fmt.Errorf("check queue marker: %w", err)
		}
		if n == 1 {
			return 0, nil
		}
	}
	count, err := q.Rebuild(ctx, func(fn func(routing.Queued) error) error { return src(ctx, fn) })
	if err != nil {
		return count, err
	}
	builtAt := time.Now().UTC().Format(time.RFC3339) //nolint:forbidigo // a marker for operators, never read by code
	if err := q.rdb.Set(ctx, builtKey, builtAt, 0).Err(); err != nil {
		return count, fmt.Errorf("set queue marker: %w", err)
	}
	return count, nil
}

// Invalidate removes the marker (best effort), so the next Watch tick
// rebuilds: used when a queue write failed and the entry may be missing.
func (q *Queues) Invalidate(ctx context.Context) {
	_ = q.rdb.Del(ctx, builtKey).Err()
}

// FullRebuildEvery forces a rebuild every so many Watch ticks, for entries
// whose write was lost without the marker noticing (e.g. a redelivered event
// whose first commit's answer was lost skips its after-commit write).
const FullRebuildEvery = 150

// Watch calls EnsureBuilt every interval until ctx ends, so queues come back
// by themselves after Redis lost them, without restarting routing.
func (q *Queues) Watch(ctx context.Context, src Source, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := q.EnsureBuilt(ctx, src, tick%FullRebuildEvery == 0)
		switch {
		case err != nil && ctx.Err() == nil:
			log.WarnContext(ctx, "live queues: cannot check or rebuild", "err", err)
		case n > 0 && tick%FullRebuildEvery != 0:
			log.InfoContext(ctx, "live queues rebuilt after Redis lost them", "entries", n)
		}
	}
}

// Cursor is where a page of a queue ends: the last entry's score and case
// id. The zero cursor is the start.
type Cursor struct {
	Score  int64
	CaseID string
}

// Page returns up to size entries after cursor of a branch's queue — or
// of one owner's queue within it when owner is set — in queue order, the
// queue's total length, and the cursor of the next page (zero after the
// last). Entries of equal score are ordered by case id, as Redis orders
// them, so a cursor never skips or repeats one.
func (q *Queues) Page(ctx context.Context, tenant, branch string, owner *routing.Owner, after Cursor, size int) ([]routing.Queued, int, Cursor, error) {
	key := queueKey(tenant, branch)
	if owner != nil {
		key = prefix(tenant, branch) + "q:" + ownerKey(*owner)
	}
	total, err := q.rdb.ZCard(ctx, key).Result()
	if err != nil {
		return nil, 0, Cursor{}, fmt.Errorf("count queue of branch %s: %w", branch, err)
	}
	min := "-inf"
	if after.CaseID != "" {
		min = strconv.FormatInt(after.Score, 10)
	}
	var zs []redis.Z
	for offset := int64(0); len(zs) < size+1; {
		batch, err := q.rdb.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: min, Max: "+inf", Offset: offset, Count: int64(size + 1)}).Result()
		if err != nil {
			return nil, 0, Cursor{}, fmt.Errorf("read queue of branch %s: %w", branch, err)
		}
		for _, z := range batch {
			id := z.Member.(string)
			if after.CaseID != "" && int64(z.Score) == after.Score && id <= after.CaseID {
				continue // at or before the cursor
			}
			zs = append(zs, z)
		}
		if len(batch) < size+1 {
			break
		}
		offset += int64(len(batch))
	}
	next := Cursor{}
	if len(zs) > size {
		zs = zs[:size]
		last := zs[len(zs)-1]
		next = Cursor{Score: int64(last.Score), CaseID: last.Member.(string)}
	}
	out, err := q.entries(ctx, tenant, branch, zs)
	if err != nil {
		return nil, 0, Cursor{}, err
	}
	return out, int(total), next, nil
}

func (q *Queues) entries(ctx context.Context, tenant, branch string, zs []redis.Z) ([]routing.Queued, error) {
	if len(zs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i] = z.Member.(string)
	}
	raws, err := q.rdb.HMGet(ctx, entriesKey(tenant, branch), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("read queue entries of branch %s: %w", branch, err)
	}
	out := make([]routing.Queued, len(zs))
	for i := range zs {
		c := routing.Queued{CaseID: ids[i], Tenant: tenant, Branch: branch}
		if s, ok := raws[i].(string); ok {
			var e entry
			if err := json.Unmarshal([]byte(s), &e); err == nil {
				c.Owner, c.PickupPending, c.Severity = parseOwnerKey(e.Owner), e.Pending, e.Severity
				c.EnqueuedAt = time.UnixMilli(e.Enqueued).UTC()
				if e.Due != 0 {
					c.DueAt = time.UnixMilli(e.Due).UTC()
				}
			}
		}
		out[i] = c
	}
	return out, nil
}

// Loads returns the open cases per owner of a branch: staff id → count,
// and role queues as "role:<role>" → count.
func (q *Queues) Loads(ctx context.Context, tenant, branch string) (map[routing.Owner]int, error) {
	m, err := q.rdb.HGetAll(ctx, loadKey(tenant, branch)).Result()
	if err != nil {
		return nil, fmt.Errorf("read queue loads of branch %s: %w", branch, err)
	}
	out := make(map[routing.Owner]int, len(m))
	for k, v := range m {
		n, err := strconv.Atoi(v)
		if err == nil && n > 0 {
			out[parseOwnerKey(k)] = n
		}
	}
	return out, nil
}

// RebuildTenant empties tenant's queues and puts back every open
// assignment each yields (that tenant's alone), returning how many. Other
// banks' queues are not touched.
func (q *Queues) RebuildTenant(ctx context.Context, tenant string, each func(func(routing.Queued) error) error) (int, error) {
	iter := q.rdb.Scan(ctx, 0, "cd:{"+tenant+":*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("list queues of %s: %w", tenant, err)
	}
	for _, k := range keys {
		if err := q.rdb.Del(ctx, k).Err(); err != nil {
			return 0, fmt.Errorf("empty queue %s: %w", k, err)
		}
	}
	n := 0
	err := each(func(c routing.Queued) error {
		if c.Tenant != tenant {
			return nil
		}
		n++
		return q.Put(ctx, c)
	})
	return n, err
}

// Sync makes a case's queue entries what its committed assignment says:
// queued under its owner while open, gone otherwise. If Redis fails, the
// marker is dropped so the watcher rebuilds from the database once Redis
// answers again.
func (q *Queues) Sync(ctx context.Context, c routing.Queued, open bool) error {
	var err error
	if open {
		err = q.Put(ctx, c)
	} else {
		err = q.Remove(ctx, c.Tenant, c.Branch, c.CaseID)
	}
	if err != nil {
		q.Invalidate(ctx)
	}
	return err
}
