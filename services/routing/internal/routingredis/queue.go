// Package routingredis keeps the live branch queues in Redis: per tenant and
// branch a sorted set of open case ids (scored by when they were queued) and
// a hash of their owners. Everything here can be rebuilt from routing's
// database, and is at every start.
package routingredis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/counterdesk/counterdesk/services/routing/internal/routing"
	"github.com/redis/go-redis/v9"
)

// Queues reads and writes the live queues.
type Queues struct{ rdb *redis.Client }

// New returns queues on rdb.
func New(rdb *redis.Client) *Queues { return &Queues{rdb: rdb} }

// Keys carry tenant and branch in a hash tag, so a Redis Cluster keeps one
// branch's keys on one shard.
func queueKey(tenant, branch string) string { return "cd:{" + tenant + ":" + branch + "}:queue" }
func ownerKey(tenant, branch string) string { return "cd:{" + tenant + ":" + branch + "}:owners" }

// Put adds or updates a case in its branch queue. Idempotent.
func (q *Queues) Put(ctx context.Context, a routing.Assignment) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAddNX(ctx, queueKey(a.Tenant, a.Branch), redis.Z{Score: float64(a.At.UnixMilli()), Member: a.CaseID})
		p.HSet(ctx, ownerKey(a.Tenant, a.Branch), a.CaseID, a.Owner)
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue case %s: %w", a.CaseID, err)
	}
	return nil
}

// Entry is one queued case.
type Entry struct {
	CaseID, Owner string
	EnqueuedAt    time.Time
}

// List returns a branch queue, oldest first.
func (q *Queues) List(ctx context.Context, tenant, branch string, limit int64) ([]Entry, error) {
	zs, err := q.rdb.ZRangeWithScores(ctx, queueKey(tenant, branch), 0, limit-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read queue of branch %s: %w", branch, err)
	}
	return q.entries(ctx, tenant, branch, zs)
}

// entries turns queue members into entries with their owners.
func (q *Queues) entries(ctx context.Context, tenant, branch string, zs []redis.Z) ([]Entry, error) {
	if len(zs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i] = z.Member.(string)
	}
	owners, err := q.rdb.HMGet(ctx, ownerKey(tenant, branch), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("read queue owners of branch %s: %w", branch, err)
	}
	out := make([]Entry, len(zs))
	for i, z := range zs {
		owner, _ := owners[i].(string)
		out[i] = Entry{CaseID: ids[i], Owner: owner, EnqueuedAt: time.UnixMilli(int64(z.Score)).UTC()}
	}
	return out, nil
}

// Rebuild puts every open assignment back in its queue.
func (q *Queues) Rebuild(ctx context.Context, each func(func(routing.Assignment) error) error) (int, error) {
	n := 0
	err := each(func(a routing.Assignment) error {
		n++
		return q.Put(ctx, a)
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
type Source func(ctx context.Context, fn func(routing.Assignment) error) error

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
	count, err := q.Rebuild(ctx, func(fn func(routing.Assignment) error) error { return src(ctx, fn) })
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

// Remove takes a case off its branch queue (it was closed or withdrawn).
// Idempotent.
func (q *Queues) Remove(ctx context.Context, tenant, branch, caseID string) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, queueKey(tenant, branch), caseID)
		p.HDel(ctx, ownerKey(tenant, branch), caseID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dequeue case %s: %w", caseID, err)
	}
	return nil
}

// Cursor is where a page of a queue ends: the last entry's score
// (enqueued-at milliseconds) and case id. The zero cursor is the start.
type Cursor struct {
	Score  int64
	CaseID string
}

// Page returns up to size entries after cursor, oldest first, the queue's
// total length, and the cursor of the next page (zero after the last).
// Entries enqueued at the same millisecond are ordered by case id, as Redis
// orders equal scores, so a cursor never skips or repeats one.
func (q *Queues) Page(ctx context.Context, tenant, branch string, after Cursor, size int) ([]Entry, int, Cursor, error) {
	key := queueKey(tenant, branch)
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

// RebuildTenant empties tenant's queues and puts back every open
// assignment each yields (that tenant's alone), returning how many. Other
// banks' queues are not touched.
func (q *Queues) RebuildTenant(ctx context.Context, tenant string, each func(func(routing.Assignment) error) error) (int, error) {
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
	err := each(func(a routing.Assignment) error {
		if a.Tenant != tenant {
			return nil
		}
		n++
		return q.Put(ctx, a)
	})
	return n, err
}
