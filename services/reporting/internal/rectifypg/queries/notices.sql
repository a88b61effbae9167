-- name: CaseRefs :many
-- The read model's record of linked cases whose creation is known.
SELECT case_id, coalesce(branch_id, '')::text AS branch_id, coalesce(region_id, '')::text AS region_id
FROM case_facts
WHERE tenant_id = @tenant_id AND case_id = ANY(@case_ids::text[]) AND received_at IS NOT NULL;

-- name: InsertNotice :execrows
-- Inserts nothing when the issuer's idempotency key was used before.
INSERT INTO rectification_notices (
    tenant_id, notice_id, branch_id, region_id, department, fault, due_date, due_at, status,
    issued_by, issuer_role, issued_at, idempotency_key, request_fingerprint)
VALUES (
    @tenant_id, @notice_id, sqlc.narg(branch_id), sqlc.narg(region_id), sqlc.narg(department), @fault,
    @due_date, @due_at, @status, @issued_by, @issuer_role, @issued_at,
    sqlc.narg(idempotency_key), sqlc.narg(request_fingerprint))
ON CONFLICT (tenant_id, issued_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;

-- name: InsertNoticeCases :exec
INSERT INTO rectification_notice_cases (tenant_id, notice_id, case_id)
SELECT @tenant_id, @notice_id, unnest(@case_ids::text[]);

-- name: InsertHistory :exec
INSERT INTO rectification_notice_history (tenant_id, notice_id, seq, action, actor_id, actor_role, at, from_status, to_status)
VALUES (@tenant_id, @notice_id, @seq, @action, @actor_id, @actor_role, @at, sqlc.narg(from_status), @to_status);

-- name: GetNotice :one
SELECT * FROM rectification_notices WHERE tenant_id = @tenant_id AND notice_id = @notice_id;

-- name: NoticeByKey :one
SELECT * FROM rectification_notices
WHERE tenant_id = @tenant_id AND issued_by = @issued_by AND idempotency_key = @idempotency_key;

-- name: LockNotice :one
SELECT * FROM rectification_notices WHERE tenant_id = @tenant_id AND notice_id = @notice_id FOR UPDATE;

-- name: NoticeCases :many
SELECT notice_id, case_id FROM rectification_notice_cases
WHERE tenant_id = @tenant_id AND notice_id = ANY(@notice_ids::uuid[])
ORDER BY notice_id, case_id;

-- name: NoticeHistory :many
SELECT * FROM rectification_notice_history
WHERE tenant_id = @tenant_id AND notice_id = @notice_id
ORDER BY seq;

-- name: UpdateNotice :exec
UPDATE rectification_notices SET
    status = @status,
    measures = sqlc.narg(measures), measures_by = sqlc.narg(measures_by), measures_at = sqlc.narg(measures_at),
    closed_by = sqlc.narg(closed_by), closed_at = sqlc.narg(closed_at), closing_comment = sqlc.narg(closing_comment)
WHERE tenant_id = @tenant_id AND notice_id = @notice_id;

-- name: ListNotices :many
-- A page of one bank's notices, earliest due first. status: '' all, 'open'
-- not closed, 'overdue' not closed and due at or before now, 'closed'.
SELECT * FROM rectification_notices
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(region_id)::text IS NULL OR region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR branch_id = sqlc.narg(branch_id))
  AND CASE @status::text
        WHEN 'open' THEN status <> 'CLOSED'
        WHEN 'overdue' THEN status <> 'CLOSED' AND due_at <= @now
        WHEN 'closed' THEN status = 'CLOSED'
        ELSE true
      END
  AND (sqlc.narg(after_due)::timestamptz IS NULL
       OR (due_at, notice_id) > (sqlc.narg(after_due)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY due_at, notice_id
LIMIT @max_rows;

-- name: CountOverdue :one
SELECT count(*) FROM rectification_notices
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(region_id)::text IS NULL OR region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR branch_id = sqlc.narg(branch_id))
  AND status <> 'CLOSED' AND due_at <= @now;

-- name: ReminderCandidates :many
-- Notices of every bank not closed and due within lead of now that have
-- not had the reminder their due time calls for (overdue at or after it,
-- due_soon before). Rows another replica holds are skipped.
SELECT n.* FROM rectification_notices n
WHERE n.status <> 'CLOSED' AND n.due_at <= @due_before
  AND NOT EXISTS (
      SELECT 1 FROM rectification_reminders r
      WHERE r.tenant_id = n.tenant_id AND r.notice_id = n.notice_id
        AND r.kind = CASE WHEN n.due_at <= @now THEN 'overdue' ELSE 'due_soon' END)
ORDER BY n.due_at, n.tenant_id, n.notice_id
LIMIT @max_rows
FOR UPDATE OF n SKIP LOCKED;

-- name: InsertReminder :execrows
INSERT INTO rectification_reminders (tenant_id, notice_id, kind, sent_at)
VALUES (@tenant_id, @notice_id, @kind, @sent_at)
ON CONFLICT DO NOTHING;
