-- name: InsertAssignment :execrows
INSERT INTO assignments (case_id, tenant_id, branch_id, region_id, owner_id, owner_role, first_responder_id, level,
    severity, category, pickup_pending, enqueued_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
ON CONFLICT (case_id) DO NOTHING;

-- name: InsertHandover :exec
INSERT INTO handovers (case_id, seq, from_staff_id, to_staff_id, to_role, reason, kind, actor_id, note, cause, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: CauseSeen :one
SELECT EXISTS (SELECT 1 FROM handovers WHERE case_id = $1 AND cause = $2)::boolean;

-- name: NextHandoverSeq :one
SELECT (coalesce(max(seq), 0) + 1)::int FROM handovers WHERE case_id = $1;

-- name: LockAssignment :one
SELECT case_id, tenant_id, branch_id, region_id, owner_id, owner_role, first_responder_id, level, severity,
       pickup_pending, open, handed_by_id, handed_by_role
FROM assignments WHERE tenant_id = $1 AND case_id = $2 FOR UPDATE;

-- name: UpdateOwner :exec
UPDATE assignments SET owner_id = $3, owner_role = $4, level = $5, pickup_pending = $6,
    handed_by_id = $7, handed_by_role = $8, updated_at = greatest(updated_at, $9)
WHERE tenant_id = $1 AND case_id = $2;

-- name: GetAssignment :one
SELECT a.case_id, a.tenant_id, a.branch_id, a.region_id, a.owner_id, a.owner_role, a.first_responder_id, a.level,
       a.severity, a.pickup_pending, a.open, a.enqueued_at, a.answer_due_at, a.pickup_due_at
FROM assignments a WHERE a.tenant_id = $1 AND a.case_id = $2;

-- name: ListHandovers :many
SELECT from_staff_id, to_staff_id, to_role, reason, kind, actor_id, note, at FROM handovers WHERE case_id = $1 ORDER BY seq;

-- name: SetOpen :execrows
UPDATE assignments SET open = $3, updated_at = greatest(updated_at, $4) WHERE tenant_id = $1 AND case_id = $2;

-- name: SetSeverity :exec
UPDATE assignments SET severity = $3, category = $4 WHERE tenant_id = $1 AND case_id = $2;

-- name: SetAnswerDue :exec
UPDATE assignments SET answer_due_at = $3 WHERE tenant_id = $1 AND case_id = $2;

-- name: SetPickupDue :exec
UPDATE assignments SET pickup_due_at = $3 WHERE tenant_id = $1 AND case_id = $2;

-- name: OpenAssignments :many
-- Every open assignment of the tenant ('*': all), for rebuilding queues.
SELECT case_id, tenant_id, branch_id, owner_id, owner_role, severity, pickup_pending, enqueued_at, answer_due_at, pickup_due_at
FROM assignments WHERE open AND (@tenant_id::text = '*' OR tenant_id = @tenant_id::text);

-- name: OpenCasesOwnedBy :many
SELECT case_id FROM assignments WHERE tenant_id = $1 AND owner_id = $2 AND open ORDER BY case_id;

-- name: OpenCasesInRoleQueues :many
-- Open cases waiting in a queue of role, for a branch (or every branch: '').
SELECT case_id FROM assignments WHERE tenant_id = @tenant_id AND owner_role = @role AND open
    AND (@branch_id::text = '' OR branch_id = @branch_id::text) ORDER BY case_id;

-- name: CountUnowned :many
-- Per tenant with open cases, how many have no valid owner: owner missing,
-- inactive or off duty (a branch head answers for the branch on duty or
-- not), or a role queue nobody of the role is on duty for.
SELECT a.tenant_id, (count(*) FILTER (WHERE
    (a.owner_id <> '' AND (s.id IS NULL OR NOT s.active OR (NOT s.on_duty AND s.role <> 'branch_head')))
 OR (a.owner_id = '' AND NOT EXISTS (
        SELECT 1 FROM staff r WHERE r.tenant_id = a.tenant_id AND r.role = a.owner_role AND r.active AND r.on_duty
          AND (r.branch_id = a.branch_id OR (r.branch_id = '' AND (r.region_id = a.region_id OR r.region_id = '')))))))::int AS unowned
FROM assignments a LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.owner_id
WHERE a.open
GROUP BY a.tenant_id;

-- name: ListUnowned :many
SELECT a.case_id
FROM assignments a LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.owner_id
WHERE a.tenant_id = $1 AND a.open AND (
    (a.owner_id <> '' AND (s.id IS NULL OR NOT s.active OR (NOT s.on_duty AND s.role <> 'branch_head')))
 OR (a.owner_id = '' AND NOT EXISTS (
        SELECT 1 FROM staff r WHERE r.tenant_id = a.tenant_id AND r.role = a.owner_role AND r.active AND r.on_duty
          AND (r.branch_id = a.branch_id OR (r.branch_id = '' AND (r.region_id = a.region_id OR r.region_id = ''))))))
ORDER BY a.case_id LIMIT 1000;

-- name: GetCurrent :one
-- A case's ownership, unlocked, in one bank, or (@tenant_id '*', for the
-- services' internal calls) in whichever bank the case belongs to.
SELECT case_id, tenant_id, branch_id, region_id, owner_id, owner_role, first_responder_id, level, severity,
       pickup_pending, open, handed_by_id, handed_by_role
FROM assignments WHERE case_id = @case_id AND (@tenant_id::text = '*' OR tenant_id = @tenant_id::text);

-- name: HandoverCausedBy :one
-- The hand-over an event caused (a breach escalation), with the role queue
-- it came from when nobody owned the case in person (the previous
-- hand-over's queue).
SELECT h.from_staff_id, h.to_staff_id, h.to_role, coalesce(p.to_role, '')::text AS from_role
FROM handovers h LEFT JOIN handovers p ON p.case_id = h.case_id AND p.seq = h.seq - 1
WHERE h.case_id = @case_id AND h.cause = @cause::text AND @cause::text <> '';

-- name: MoveAssignment :exec
-- The case moved to another branch of the bank (and with it, maybe, region).
UPDATE assignments SET branch_id = $3, region_id = $4 WHERE tenant_id = $1 AND case_id = $2;

-- name: MarkHandoverFromBranch :exec
UPDATE handovers SET from_branch_id = $3 WHERE case_id = $1 AND seq = $2;

-- name: MovedFromBranch :one
-- The branch the hand-over caused by an event (a moveBranch) took the case from.
SELECT from_branch_id FROM handovers WHERE case_id = @case_id AND cause = @cause::text AND @cause::text <> '' AND from_branch_id <> '';
