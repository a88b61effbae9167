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
-- a moment: a change of days before it cannot move them.
SELECT case_id, kind, tenant_id, branch_id, started_at, due_at, provisional, basis
FROM deadlines
WHERE met_at IS NULL AND level <> 'breached' AND basis IS NOT NULL
  AND basis->>'calendarId' = sqlc.arg(calendar_id)::text AND due_at >= sqlc.arg(due_from)::timestamptz
ORDER BY case_id, kind;

-- name: OpenDeadlinesOfBranch :many
SELECT case_id, kind, tenant_id, branch_id, started_at, due_at, provisional, basis
FROM deadlines
WHERE met_at IS NULL AND level <> 'breached' AND basis IS NOT NULL
  AND tenant_id = $1 AND branch_id = $2 AND due_at >= sqlc.arg(due_from)::timestamptz
ORDER BY case_id, kind;

-- name: RescheduleDeadline :exec
UPDATE deadlines SET due_at = $3, provisional = $4, calendar_version = $5
WHERE case_id = $1 AND kind = $2;

-- name: RescheduleFire :exec
-- A level that has already fired stays fired; the others move (or appear).
INSERT INTO timer_fires (case_id, kind, level, fire_at, trace) VALUES ($1, $2, $3, $4, '{}'::jsonb)
ON CONFLICT (case_id, kind, level) DO UPDATE SET fire_at = EXCLUDED.fire_at
WHERE timer_fires.fired_at IS NULL AND NOT timer_fires.cancelled;
