-- name: CaseDeadlineViews :many
-- A case's deadlines as the read API shows them, with the extensions
-- granted to each.
SELECT d.case_id, d.kind, d.clock, d.level, d.branch_id, d.region_id, d.started_at, d.due_at, d.met_at, d.paused_at,
       d.provisional, d.basis, d.policy_version,
       (SELECT count(*) FROM regulatory_extensions e WHERE e.case_id = d.case_id AND e.kind = d.kind)::int AS extensions
FROM deadlines d
WHERE d.tenant_id = sqlc.arg(tenant_id) AND d.case_id = sqlc.arg(case_id)
ORDER BY d.due_at, d.kind;

-- name: DueDeadlines :many
-- A bank's running (unmet, unpaused) deadlines due in (due_after,
-- due_until], optionally of one branch and/or one region, nearest due first,
-- from just after a keyset position (due_at, case_id, kind). Served by
-- deadlines_open_by_tenant_due.
SELECT d.case_id, d.kind, d.clock, d.level, d.branch_id, d.region_id, d.started_at, d.due_at, d.met_at, d.paused_at,
       d.provisional, d.basis, d.policy_version,
       (SELECT count(*) FROM regulatory_extensions e WHERE e.case_id = d.case_id AND e.kind = d.kind)::int AS extensions
FROM deadlines d
WHERE d.tenant_id = sqlc.arg(tenant_id) AND d.met_at IS NULL AND d.paused_at IS NULL
  AND d.due_at > sqlc.arg(due_after)::timestamptz AND d.due_at <= sqlc.arg(due_until)::timestamptz
  AND (sqlc.arg(branch_id)::text = '' OR d.branch_id = sqlc.arg(branch_id)::text)
  AND (sqlc.arg(region_id)::text = '' OR d.region_id = sqlc.arg(region_id)::text)
  AND (d.due_at, d.case_id, d.kind) > (sqlc.arg(after_due_at)::timestamptz, sqlc.arg(after_case_id)::uuid, sqlc.arg(after_kind)::text)
ORDER BY d.due_at, d.case_id, d.kind
LIMIT sqlc.arg(max_rows);

-- name: LockDeadlineForExtension :one
-- One deadline of a bank's case, locked for an extension: the firer skips
-- it meanwhile, and a second extension of it waits for the first.
SELECT case_id, kind, tenant_id, branch_id, region_id, clock, started_at, due_at, level, provisional, basis, met_at, paused_at
FROM deadlines
WHERE tenant_id = sqlc.arg(tenant_id) AND case_id = sqlc.arg(case_id) AND kind = sqlc.arg(kind)
FOR UPDATE;

-- name: ExtensionsOf :many
SELECT seq, days, approved_by, approver_role, reason, old_due_at, new_due_at, extended_at,
       coalesce(idempotency_key, '')::text AS idempotency_key
FROM regulatory_extensions
WHERE tenant_id = sqlc.arg(tenant_id) AND case_id = sqlc.arg(case_id) AND kind = sqlc.arg(kind)
ORDER BY seq;

-- name: ExtendDeadline :exec
-- The longer limit: its basis (so later recounts keep it) and the due time
-- counted on it. Start, pause and level are the fires' business.
UPDATE deadlines SET due_at = sqlc.arg(due_at), provisional = sqlc.arg(provisional), basis = sqlc.arg(basis),
    calendar_version = sqlc.arg(calendar_version)
WHERE case_id = sqlc.arg(case_id) AND kind = sqlc.arg(kind);

-- name: InsertRegulatoryExtension :exec
INSERT INTO regulatory_extensions (tenant_id, case_id, kind, seq, days, approved_by, approver_role, reason,
    old_due_at, new_due_at, extended_at, idempotency_key)
VALUES (sqlc.arg(tenant_id), sqlc.arg(case_id), sqlc.arg(kind), sqlc.arg(seq), sqlc.arg(days), sqlc.arg(approved_by),
    sqlc.arg(approver_role), sqlc.arg(reason), sqlc.arg(old_due_at), sqlc.arg(new_due_at), sqlc.arg(extended_at),
    nullif(sqlc.arg(idempotency_key)::text, ''));
