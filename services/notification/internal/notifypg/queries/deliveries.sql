-- name: InsertDelivery :execrows
INSERT INTO deliveries (id, tenant_id, case_id, channel, template, status, expected_answer_at,
    time_zone, attempts, next_attempt_at, trace_context, created_at, updated_at,
    deadline_kind, provisional, previous_answer_at, change_reason, dedup_key,
    staff_id, staff_email, staff_name, audience, alert_level, case_number, urgent)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
    $19, $20, $21, $22, $23, $24, $25)
ON CONFLICT (case_id, template, channel, dedup_key) DO NOTHING;

-- name: GetOncePerCaseDelivery :one
-- A case's delivery of a template kept once per case (an empty dedup_key)
-- on one of channels, the first queued; the unique constraint allows no
-- second per channel.
SELECT id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number, via, decision, urgent, late, attempt_base
FROM deliveries
WHERE tenant_id = $1 AND case_id = $2 AND template = $3 AND channel = ANY(sqlc.arg(channels)::text[])
    AND dedup_key = ''
ORDER BY created_at LIMIT 1;

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
RETURNING d.id, d.tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number, via, decision, urgent, late, attempt_base;

-- name: RecordOutcome :execrows
-- Only the pending row at the attempt count the caller read changes, so of
-- two workers that sent the same delivery one records it.
UPDATE deliveries SET status = sqlc.arg(status), language = sqlc.arg(language),
    recipient = sqlc.arg(recipient), attempts = sqlc.arg(attempts),
    next_attempt_at = sqlc.arg(next_attempt_at), last_error = sqlc.arg(last_error),
    sent_at = sqlc.arg(sent_at), updated_at = sqlc.arg(updated_at),
    via = sqlc.arg(via), decision = sqlc.arg(decision), late = sqlc.arg(late)
WHERE id = sqlc.arg(id) AND status = 'PENDING' AND attempts = sqlc.arg(prev_attempts);

-- name: InsertAttempt :exec
INSERT INTO delivery_attempts (delivery_id, attempt, tenant_id, case_id, channel, recipient, outcome, error, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: ListDeliveryAttempts :many
SELECT delivery_id, attempt, tenant_id, case_id, channel, recipient, outcome, error, at
FROM delivery_attempts WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt;

-- name: ReplayDeadLetter :one
-- Makes a dead letter of tenant_id pending again, due at now, with a fresh
-- retry budget. Only one of two concurrent replays finds it dead.
UPDATE deliveries SET status = 'PENDING', next_attempt_at = sqlc.arg(now), updated_at = sqlc.arg(now),
    attempt_base = attempts, decision = sqlc.arg(decision)
WHERE id = sqlc.arg(id) AND tenant_id = sqlc.arg(tenant_id) AND status = 'DEAD_LETTER'
RETURNING id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number, via, decision, urgent, late, attempt_base;

-- name: ListDeliveriesByStatus :many
-- A bank's deliveries in one status, most recently changed first, a page
-- at a time: after_updated/after_id is the last row of the previous page
-- (NULL for the first).
SELECT id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number, via, decision, urgent, late, attempt_base
FROM deliveries
WHERE tenant_id = sqlc.arg(tenant_id) AND status = sqlc.arg(status)
    AND (sqlc.narg(after_updated)::timestamptz IS NULL
         OR (updated_at, id) < (sqlc.narg(after_updated)::timestamptz, CAST(sqlc.narg(after_id)::text AS uuid)))
ORDER BY updated_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: ListCaseDeliveries :many
SELECT id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number, via, decision, urgent, late, attempt_base
FROM deliveries
WHERE tenant_id = $1 AND case_id = $2 ORDER BY created_at, id;

-- name: GetDelivery :one
SELECT id, tenant_id, case_id, channel, template, status, language, recipient,
    expected_answer_at, time_zone, attempts, next_attempt_at, last_error, trace_context,
    created_at, updated_at, sent_at, deadline_kind, provisional, previous_answer_at,
    change_reason, dedup_key, staff_id, staff_email, staff_name, audience, alert_level,
    case_number, via, decision, urgent, late, attempt_base
FROM deliveries WHERE id = $1;
