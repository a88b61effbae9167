-- name: GetPolicy :one
SELECT policy FROM policies WHERE tenant_id = $1;

-- name: UpsertPolicy :exec
INSERT INTO policies (tenant_id, policy, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at;

-- name: InsertDeadline :execrows
INSERT INTO deadlines (case_id, kind, tenant_id, branch_id, region_id, clock, started_at, due_at, provisional, basis, calendar_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (case_id, kind) DO NOTHING;

-- name: InsertFire :exec
INSERT INTO timer_fires (case_id, kind, level, fire_at, trace) VALUES ($1, $2, $3, $4, $5);

-- name: ListCaseDeadlines :many
SELECT kind, clock, level, branch_id, region_id, started_at, due_at, met_at, provisional, basis
FROM deadlines WHERE tenant_id = $1 AND case_id = $2 ORDER BY due_at, kind;

-- name: MeetDeadline :exec
UPDATE deadlines SET met_at = $3 WHERE case_id = $1 AND kind = $2 AND met_at IS NULL;

-- name: CancelUnfiredFires :exec
UPDATE timer_fires SET cancelled = true WHERE case_id = $1 AND kind = $2 AND fired_at IS NULL;

-- name: ClaimDueFires :many
-- Skips fires another replica holds, and fires whose deadline another replica
-- is firing, so levels never go backwards.
SELECT f.case_id, d.tenant_id, f.kind, f.level, f.fire_at, d.due_at, d.provisional, f.trace
FROM timer_fires f JOIN deadlines d USING (case_id, kind)
WHERE f.fired_at IS NULL AND NOT f.cancelled AND f.fire_at <= $1
ORDER BY f.fire_at LIMIT $2 FOR UPDATE OF f, d SKIP LOCKED;

-- name: MarkFired :exec
UPDATE timer_fires SET fired_at = $4 WHERE case_id = $1 AND kind = $2 AND level = $3;

-- name: RaiseLevel :exec
UPDATE deadlines SET level = $3 WHERE case_id = $1 AND kind = $2 AND met_at IS NULL;
