-- name: InsertDelivery :execrows
INSERT INTO deliveries (id, tenant_id, case_id, channel, template, status, expected_answer_at,
    time_zone, attempts, next_attempt_at, trace_context, created_at, updated_at,
    deadline_kind, provisional, previous_answer_at, change_reason, dedup_key,
    staff_id, staff_email, staff_name, audience, alert_level, case_number)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
    $19, $20, $21, $22, $23, $24)
ON CONFLICT (case_id, template, channel, dedup_key) DO NOTHING;

-- name: GetOncePerCaseDelivery :one
-- A case's delivery of a template on a channel kept once per case (an empty
-- dedup_key); the unique constraint allows no second.
SELECT id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number
FROM deliveries
WHERE tenant_id = $1 AND case_id = $2 AND template = $3 AND channel = $4 AND dedup_key = '';

-- name: ClaimDueDeliveries :many
-- Leases up to max_claims pending deliveries due at now until lease_until.
-- Rows another replica holds are skipped, not waited for, and so is a
-- delivery while an earlier one of its case on its channel to the same
-- recipient (the customer, or one staff member) is pending.
WITH due AS (
    SELECT id AS due_id FROM deliveries d
    WHERE status = 'PENDING' AND next_attempt_at <= sqlc.arg(now)
    AND NOT EXISTS (
        SELECT 1 FROM deliveries e
        WHERE e.case_id = d.case_id AND e.channel = d.channel AND e.staff_id = d.staff_id
        AND e.status = 'PENDING' AND e.created_at < d.created_at)
    ORDER BY next_attempt_at
    LIMIT sqlc.arg(max_claims)
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET next_attempt_at = sqlc.arg(lease_until), updated_at = sqlc.arg(now)
FROM due WHERE d.id = due.due_id
RETURNING id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number;

-- name: RecordOutcome :execrows
-- Only the pending row at the attempt count the caller read changes, so of
-- two workers that sent the same delivery one records it.
UPDATE deliveries SET status = sqlc.arg(status), language = sqlc.arg(language),
    recipient = sqlc.arg(recipient), attempts = sqlc.arg(attempts),
    next_attempt_at = sqlc.arg(next_attempt_at), last_error = sqlc.arg(last_error),
    sent_at = sqlc.arg(sent_at), updated_at = sqlc.arg(updated_at)
WHERE id = sqlc.arg(id) AND status = 'PENDING' AND attempts = sqlc.arg(prev_attempts);

-- name: ListCaseDeliveries :many
SELECT id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number
FROM deliveries
WHERE tenant_id = $1 AND case_id = $2 ORDER BY created_at, id;

-- name: GetDelivery :one
SELECT id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number
FROM deliveries WHERE id = $1;
