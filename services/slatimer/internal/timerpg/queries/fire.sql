-- The firing loop's queries (Store.FireDue, Store.NextFireAfter). One
-- transaction claims deadlines with due fires, reads all their due fires,
-- marks them fired, raises the deadlines' levels and writes the events: five
-- statements for a whole batch plus the outbox rows.

-- name: ClaimDueDeadlines :many
-- Claims the deadlines that have due fires, earliest fire first. The first
-- candidates due fires are read from the partial index timer_fires_due
-- (running clocks' pending fires, migration 00006) in fire_at order; their
-- deadlines are then locked one by one through the primary key, stopping
-- after max_fires rows locked (the LIMIT sits above the row locking, so rows
-- skipped as locked do not count). The candidates window keeps the plan an
-- index walk: joined to every due fire, deadlines' row-level security qual
-- (whose selectivity the planner cannot know) made it hash all deadlines on
-- every claim. It is several batches wide so that replicas and workers
-- claiming at once each find rows the others have not locked; a claimer that
-- finds the window all taken returns short, and those holding it fire it.
-- Only the deadline rows are locked, and skipped when another replica (or
-- worker) holds them: whoever holds a deadline fires all its due levels in
-- order, so a level never goes backwards and one deadline's warnings are
-- published in order. (Locking fire rows and deadline rows in one SKIP
-- LOCKED join would let a replica keep a fire row it then skipped, so
-- another replica fired the next level first.) A deadline with several due
-- levels comes once per level; the caller deduplicates.
WITH due AS (
    SELECT f.case_id, f.kind, f.fire_at
    FROM timer_fires f
    WHERE f.fired_at IS NULL AND NOT f.cancelled AND NOT f.paused AND f.fire_at <= sqlc.arg(now)::timestamptz
    ORDER BY f.fire_at
    LIMIT sqlc.arg(candidates)
)
SELECT d.case_id, d.kind
FROM due JOIN deadlines d ON d.case_id = due.case_id AND d.kind = due.kind
WHERE d.paused_at IS NULL -- a paused clock neither warns nor breaches (f.paused only keeps most out of the walk)
ORDER BY due.fire_at
LIMIT sqlc.arg(max_fires)
FOR UPDATE OF d SKIP LOCKED;

-- name: DueFiresOfDeadlines :many
-- The due fires of the claimed deadlines, read afresh (a replica that fired
-- one of them and committed after the claim's snapshot left nothing due),
-- in the order they fall due and, per deadline, in level order.
SELECT f.case_id, d.tenant_id, f.kind, f.level, f.fire_at, d.due_at, d.provisional, f.trace
FROM (SELECT unnest(sqlc.arg(case_ids)::uuid[]) AS case_id, unnest(sqlc.arg(kinds)::text[]) AS kind) c
JOIN timer_fires f ON f.case_id = c.case_id AND f.kind = c.kind
JOIN deadlines d ON d.case_id = f.case_id AND d.kind = f.kind
WHERE f.fired_at IS NULL AND NOT f.cancelled AND f.fire_at <= sqlc.arg(now)::timestamptz AND d.paused_at IS NULL
ORDER BY f.fire_at, f.case_id, f.kind, CASE f.level WHEN 'yellow' THEN 1 WHEN 'orange' THEN 2 WHEN 'red' THEN 3 ELSE 4 END
FOR UPDATE OF f;

-- name: MarkFiresFired :exec
UPDATE timer_fires f SET fired_at = sqlc.arg(fired_at)::timestamptz
FROM (SELECT unnest(sqlc.arg(case_ids)::uuid[]) AS case_id, unnest(sqlc.arg(kinds)::text[]) AS kind,
             unnest(sqlc.arg(levels)::text[]) AS level) u
WHERE f.case_id = u.case_id AND f.kind = u.kind AND f.level = u.level;

-- name: RaiseLevels :exec
-- Each deadline at the last level it fired (one row per deadline).
UPDATE deadlines d SET level = u.level
FROM (SELECT unnest(sqlc.arg(case_ids)::uuid[]) AS case_id, unnest(sqlc.arg(kinds)::text[]) AS kind,
             unnest(sqlc.arg(levels)::text[]) AS level) u
WHERE d.case_id = u.case_id AND d.kind = u.kind AND d.met_at IS NULL;

-- name: NextFireAfter :one
-- When the next pending fire of a running clock after `after` falls due
-- (one probe of timer_fires_due).
SELECT fire_at FROM timer_fires
WHERE fired_at IS NULL AND NOT cancelled AND NOT paused AND fire_at > sqlc.arg(after)::timestamptz
ORDER BY fire_at
LIMIT 1;
