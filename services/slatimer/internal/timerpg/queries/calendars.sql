-- name: LockCalendarsShared :exec
-- Taken by every transaction that counts a deadline on the calendar: a
-- calendar change (exclusive) then waits for them, and they for it, so no
-- deadline is counted on a calendar that a committed change has replaced.
SELECT pg_advisory_xact_lock_shared(sqlc.arg(lock_key)::bigint);

-- name: LockCalendarsExclusive :exec
SELECT pg_advisory_xact_lock(sqlc.arg(lock_key)::bigint);

-- name: CalendarVersion :one
SELECT greatest(
    coalesce((SELECT max(version) FROM calendar_years), 0),
    coalesce((SELECT max(version) FROM branch_closures), 0))::bigint AS version;

-- name: InsertCalendarYear :one
INSERT INTO calendar_years (version, calendar_id, year, holidays, workdays, source, loaded_by, loaded_at)
VALUES (nextval('calendar_versions'), $1, $2, $3, $4, $5, $6, $7)
RETURNING version;

-- name: ListCalendarYears :many
SELECT version, calendar_id, year, holidays, workdays, source, loaded_by, loaded_at
FROM calendar_years ORDER BY version;

-- name: InsertBranchClosure :one
INSERT INTO branch_closures (version, tenant_id, branch_id, from_date, to_date, reason, created_by, created_at)
VALUES (nextval('calendar_versions'), $1, $2, $3, $4, $5, $6, $7)
RETURNING version;

-- name: ListAllBranchClosures :many
SELECT version, tenant_id, branch_id, from_date, to_date, reason, created_by, created_at
FROM branch_closures ORDER BY version;

-- name: ListClosuresOfBranch :many
SELECT version, tenant_id, branch_id, from_date, to_date, reason, created_by, created_at
FROM branch_closures WHERE tenant_id = $1 AND branch_id = $2 ORDER BY version DESC;

-- name: OpenDeadlinesOnCalendar :many
-- Open, not yet breached deadlines counted on a calendar and due on or after
-- a moment: a change of days before it cannot move them. The rows are locked
-- for the change: the firer skips them and an acknowledgment waits, so a
-- deadline that breaches or is met meanwhile is re-read (and dropped by the
-- filter) instead of being moved after the fact. A breach is final.
SELECT case_id, kind, tenant_id, branch_id, started_at, due_at, provisional, basis
FROM deadlines
WHERE met_at IS NULL AND level <> 'breached' AND basis IS NOT NULL
  AND basis->>'calendarId' = sqlc.arg(calendar_id)::text AND due_at >= sqlc.arg(due_from)::timestamptz
ORDER BY case_id, kind
FOR UPDATE;

-- name: OpenDeadlinesOfBranch :many
SELECT case_id, kind, tenant_id, branch_id, started_at, due_at, provisional, basis
FROM deadlines
WHERE met_at IS NULL AND level <> 'breached' AND basis IS NOT NULL
  AND tenant_id = $1 AND branch_id = $2 AND due_at >= sqlc.arg(due_from)::timestamptz
ORDER BY case_id, kind
FOR UPDATE;

-- name: CountUncountableOpen :one
-- Open deadlines armed before deadlines kept their basis (migration 2): no
-- change can recount them, so a change reports how many it had to leave.
SELECT count(*) FROM deadlines
WHERE met_at IS NULL AND level <> 'breached' AND basis IS NULL
  AND (sqlc.arg(tenant_id)::text = '' OR (tenant_id = sqlc.arg(tenant_id)::text AND branch_id = sqlc.arg(branch_id)::text))
  AND due_at >= sqlc.arg(due_from)::timestamptz;

-- name: RescheduleDeadline :exec
UPDATE deadlines SET due_at = $3, provisional = $4, calendar_version = $5
WHERE case_id = $1 AND kind = $2;

-- name: RescheduleFire :exec
-- The level moves to its new time (or appears). A level that already fired
-- stays fired while its new time has passed at the change; one whose new
-- time is still ahead fires again then.
INSERT INTO timer_fires (case_id, kind, level, fire_at, trace) VALUES ($1, $2, $3, $4, '{}'::jsonb)
ON CONFLICT (case_id, kind, level) DO UPDATE SET fire_at = EXCLUDED.fire_at,
    fired_at = CASE WHEN EXCLUDED.fire_at > sqlc.arg(changed_at)::timestamptz THEN NULL ELSE timer_fires.fired_at END
WHERE NOT timer_fires.cancelled;

-- name: ResetLevel :exec
-- The deadline's level is the highest level that has fired.
UPDATE deadlines d SET level = coalesce((
    SELECT f.level FROM timer_fires f
    WHERE f.case_id = d.case_id AND f.kind = d.kind AND f.fired_at IS NOT NULL
    ORDER BY CASE f.level WHEN 'yellow' THEN 1 WHEN 'orange' THEN 2 WHEN 'red' THEN 3 ELSE 4 END DESC
    LIMIT 1), 'none')
WHERE d.case_id = $1 AND d.kind = $2;
