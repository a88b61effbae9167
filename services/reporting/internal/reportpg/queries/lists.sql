-- Case lists: newest received first (the drill-down) and open cases by
-- their next deadline (at risk), paged by keyset.

-- name: ListCases :many
SELECT f.case_id, f.case_number, f.region_id, f.branch_id, f.channel, f.category, f.severity, f.customer_tier,
       f.status, f.customer_name_masked, f.customer_phone_masked, f.owner_id, f.received_at, f.acknowledged_at,
       f.first_answered_at, f.answered_at, f.closed_at, f.warnings, f.breaches, f.escalations, f.handovers,
       f.repeat, f.settled_at_branch, f.root_cause, f.satisfaction, f.next_due_kind, f.next_due_at, f.extended,
       f.deadlines
FROM case_facts f
WHERE f.tenant_id = @tenant_id AND f.received_at IS NOT NULL
  AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
  AND (sqlc.narg(category)::text IS NULL OR f.category = sqlc.narg(category))
  AND (sqlc.narg(channel)::text IS NULL OR f.channel = sqlc.narg(channel))
  AND (sqlc.narg(severity)::text IS NULL OR f.severity = sqlc.narg(severity))
  AND (sqlc.narg(customer_tier)::text IS NULL OR f.customer_tier = sqlc.narg(customer_tier))
  AND (sqlc.narg(from_at)::timestamptz IS NULL OR f.received_at >= sqlc.narg(from_at))
  AND (sqlc.narg(to_at)::timestamptz IS NULL OR f.received_at < sqlc.narg(to_at))
  AND (sqlc.narg(status)::text IS NULL OR f.status = sqlc.narg(status))
  AND (NOT @open_only::boolean OR (f.status IS DISTINCT FROM 'CASE_STATUS_CLOSED' AND f.status IS DISTINCT FROM 'CASE_STATUS_WITHDRAWN'))
  AND (NOT @repeat_only::boolean OR f.repeat)
  AND (NOT @breached_only::boolean OR f.breaches > 0)
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (f.received_at, f.case_id) < (sqlc.narg(after_at), @after_id::text))
ORDER BY f.received_at DESC, f.case_id DESC
LIMIT @lim;

-- name: CountCases :one
SELECT count(*)::bigint
FROM case_facts f
WHERE f.tenant_id = @tenant_id AND f.received_at IS NOT NULL
  AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
  AND (sqlc.narg(category)::text IS NULL OR f.category = sqlc.narg(category))
  AND (sqlc.narg(channel)::text IS NULL OR f.channel = sqlc.narg(channel))
  AND (sqlc.narg(severity)::text IS NULL OR f.severity = sqlc.narg(severity))
  AND (sqlc.narg(customer_tier)::text IS NULL OR f.customer_tier = sqlc.narg(customer_tier))
  AND (sqlc.narg(from_at)::timestamptz IS NULL OR f.received_at >= sqlc.narg(from_at))
  AND (sqlc.narg(to_at)::timestamptz IS NULL OR f.received_at < sqlc.narg(to_at))
  AND (sqlc.narg(status)::text IS NULL OR f.status = sqlc.narg(status))
  AND (NOT @open_only::boolean OR (f.status IS DISTINCT FROM 'CASE_STATUS_CLOSED' AND f.status IS DISTINCT FROM 'CASE_STATUS_WITHDRAWN'))
  AND (NOT @repeat_only::boolean OR f.repeat)
  AND (NOT @breached_only::boolean OR f.breaches > 0);

-- name: ListAtRisk :many
SELECT f.case_id, f.case_number, f.region_id, f.branch_id, f.channel, f.category, f.severity, f.customer_tier,
       f.status, f.customer_name_masked, f.customer_phone_masked, f.owner_id, f.received_at, f.acknowledged_at,
       f.first_answered_at, f.answered_at, f.closed_at, f.warnings, f.breaches, f.escalations, f.handovers,
       f.repeat, f.settled_at_branch, f.root_cause, f.satisfaction, f.next_due_kind, f.next_due_at, f.extended,
       f.deadlines
FROM case_facts f
WHERE f.tenant_id = @tenant_id AND f.received_at IS NOT NULL
  AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
  AND (sqlc.narg(category)::text IS NULL OR f.category = sqlc.narg(category))
  AND (sqlc.narg(channel)::text IS NULL OR f.channel = sqlc.narg(channel))
  AND (sqlc.narg(severity)::text IS NULL OR f.severity = sqlc.narg(severity))
  AND (sqlc.narg(customer_tier)::text IS NULL OR f.customer_tier = sqlc.narg(customer_tier))
  AND (sqlc.narg(from_at)::timestamptz IS NULL OR f.received_at >= sqlc.narg(from_at))
  AND (sqlc.narg(to_at)::timestamptz IS NULL OR f.received_at < sqlc.narg(to_at))
  AND f.next_due_at < @until
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (f.next_due_at, f.case_id) > (sqlc.narg(after_at), @after_id::text))
ORDER BY f.next_due_at, f.case_id
LIMIT @lim;

-- name: CountAtRisk :one
SELECT count(*)::bigint
FROM case_facts f
WHERE f.tenant_id = @tenant_id AND f.received_at IS NOT NULL
  AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
  AND (sqlc.narg(category)::text IS NULL OR f.category = sqlc.narg(category))
  AND (sqlc.narg(channel)::text IS NULL OR f.channel = sqlc.narg(channel))
  AND (sqlc.narg(severity)::text IS NULL OR f.severity = sqlc.narg(severity))
  AND (sqlc.narg(customer_tier)::text IS NULL OR f.customer_tier = sqlc.narg(customer_tier))
  AND (sqlc.narg(from_at)::timestamptz IS NULL OR f.received_at >= sqlc.narg(from_at))
  AND (sqlc.narg(to_at)::timestamptz IS NULL OR f.received_at < sqlc.narg(to_at))
  AND f.next_due_at < @until;
