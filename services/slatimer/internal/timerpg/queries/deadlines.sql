-- name: InsertDeadline :execrows
INSERT INTO deadlines (case_id, kind, tenant_id, branch_id, region_id, clock, started_at, due_at, provisional, basis, calendar_version, policy_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (case_id, kind) DO NOTHING;

-- name: InsertFire :exec
INSERT INTO timer_fires (case_id, kind, level, fire_at, trace) VALUES ($1, $2, $3, $4, $5);

-- name: ListCaseDeadlines :many
SELECT kind, clock, level, branch_id, region_id, started_at, due_at, met_at, provisional, basis, policy_version
FROM deadlines WHERE tenant_id = $1 AND case_id = $2 ORDER BY due_at, kind;

-- name: MeetDeadline :exec
UPDATE deadlines SET met_at = $3 WHERE case_id = $1 AND kind = $2 AND met_at IS NULL;

-- name: CancelUnfiredFires :exec
UPDATE timer_fires SET cancelled = true WHERE case_id = $1 AND kind = $2 AND fired_at IS NULL;

-- name: PauseDeadlines :many
-- Pauses the case's running clocks of the given kinds (those already paused
-- keep their pause time).
UPDATE deadlines SET paused_at = sqlc.arg(paused_at)::timestamptz
WHERE case_id = sqlc.arg(case_id) AND met_at IS NULL AND paused_at IS NULL AND kind = ANY(sqlc.arg(kinds)::text[])
RETURNING kind;

-- name: LockCaseDeadlines :many
-- The case's deadlines of the given kinds that have a basis (so can be
-- counted again), locked for a restart or a resume.
SELECT case_id, kind, tenant_id, branch_id, started_at, due_at, provisional, basis, paused_at, met_at
FROM deadlines WHERE case_id = sqlc.arg(case_id) AND kind = ANY(sqlc.arg(kinds)::text[]) AND basis IS NOT NULL
ORDER BY kind FOR UPDATE;

-- name: RestartDeadline :exec
-- A deadline counted again from a new start: running, unpaused, unmet.
UPDATE deadlines SET started_at = $3, due_at = $4, provisional = $5, calendar_version = $6, met_at = NULL, paused_at = NULL
WHERE case_id = $1 AND kind = $2;

-- name: RestartFire :exec
-- A level of a restarted deadline at its new time: pending again unless the
-- new time has already passed at the restart and it had fired; a level a
-- met deadline had cancelled is live again.
INSERT INTO timer_fires (case_id, kind, level, fire_at, trace) VALUES ($1, $2, $3, $4, '{}'::jsonb)
ON CONFLICT (case_id, kind, level) DO UPDATE SET fire_at = EXCLUDED.fire_at, cancelled = false,
    fired_at = CASE WHEN EXCLUDED.fire_at > sqlc.arg(changed_at)::timestamptz THEN NULL ELSE timer_fires.fired_at END;

-- name: LockAllCaseDeadlines :many
-- Every deadline of a case, locked for a hand-over: whether the case is
-- still open, where it belongs and what its clocks are counted on, and its
-- pick-up clock. In kind order, as LockCaseDeadlines locks.
SELECT kind, branch_id, region_id, started_at, met_at, basis
FROM deadlines WHERE case_id = $1
ORDER BY kind FOR UPDATE;

-- name: RearmDeadline :exec
-- A clock started again by a new event (the next hand-over): counted afresh
-- on the policy in force (whose version it now records), running, unpaused,
-- unmet, at no level.
UPDATE deadlines SET branch_id = $3, region_id = $4, clock = $5, started_at = $6, due_at = $7,
    provisional = $8, basis = $9, calendar_version = $10, policy_version = $11, level = 'none', met_at = NULL, paused_at = NULL
WHERE case_id = $1 AND kind = $2;

-- name: DeleteFires :exec
-- The fires of a clock started again: the new run's fires replace them all
-- (what the old run fired was published as events already).
DELETE FROM timer_fires WHERE case_id = $1 AND kind = $2;

-- name: RecountDeadline :exec
-- A deadline counted again from the same start on a new basis (the rule of
-- a new complexity, or the calendar of a new branch): its due time, basis
-- and branch change; paused, met and level are left as they are.
UPDATE deadlines SET due_at = $3, provisional = $4, basis = $5, calendar_version = $6, policy_version = $7,
    branch_id = $8, region_id = $9
WHERE case_id = $1 AND kind = $2;

-- name: MoveCaseDeadlines :exec
-- Every deadline of a case moved to another branch belongs to it now.
UPDATE deadlines SET branch_id = $2, region_id = $3 WHERE case_id = $1;
