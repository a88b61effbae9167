-- name: LockFacts :many
-- The cases' rows, created partial when unknown, locked for the fold;
-- @tenant_ids and @case_ids pair up, each pair once, in the order the rows
-- are locked. An upsert rather than select-then-insert: two consumers
-- handling different topics' events of a new case at once both end up
-- locking the same row. Returns what GetFact does.
INSERT INTO case_facts AS f (tenant_id, case_id, updated_at)
SELECT unnest(@tenant_ids::text[]), unnest(@case_ids::text[]), @now::timestamptz
ON CONFLICT (tenant_id, case_id) DO UPDATE SET updated_at = f.updated_at
RETURNING tenant_id, case_id, case_number, region_id, branch_id, channel, category, severity, customer_tier,
          status, status_at, time_zone, customer_name_masked, customer_phone_masked, repeat, received_at, created_at,
          acknowledged_at, first_answered_at, answered_at, closed_at, withdrawn_at, reopened, review_requested_at,
          return_visit_at, satisfaction, root_cause, compensation_kind, compensation_tier, compensation_fen,
          owner_id, owner_level, first_assigned_at, last_assigned_at, assignments, handovers, escalations, left_branch,
          extended, warnings, breaches, deadlines, next_due_at, next_due_kind;

-- name: GetFact :one
SELECT tenant_id, case_id, case_number, region_id, branch_id, channel, category, severity, customer_tier,
       status, status_at, time_zone, customer_name_masked, customer_phone_masked, repeat, received_at, created_at,
       acknowledged_at, first_answered_at, answered_at, closed_at, withdrawn_at, reopened, review_requested_at,
       return_visit_at, satisfaction, root_cause, compensation_kind, compensation_tier, compensation_fen,
       owner_id, owner_level, first_assigned_at, last_assigned_at, assignments, handovers, escalations, left_branch,
       extended, warnings, breaches, deadlines, next_due_at, next_due_kind
FROM case_facts
WHERE tenant_id = @tenant_id AND case_id = @case_id;

-- name: QueueFacts :exec
-- Queues the cases for the rollups (@tenant_ids and @case_ids pair up, each
-- pair once, in this order), first of all: the rollup pass takes the
-- queue's rows and then the cases' rows, in the same order, so the two
-- never wait on each other in a circle, and a pass that takes a case off
-- the queue while this transaction changes it waits for it and counts the
-- change (or this one queues it again after the pass).
INSERT INTO rollup_queue (tenant_id, case_id)
SELECT unnest(@tenant_ids::text[]), unnest(@case_ids::text[])
ON CONFLICT (tenant_id, case_id) DO UPDATE SET case_id = excluded.case_id;

-- name: SaveFact :batchexec
-- Writes the folded row with what report derives from it.
UPDATE case_facts SET
    case_number = @case_number, region_id = @region_id, branch_id = @branch_id, channel = @channel,
    category = @category, severity = @severity, customer_tier = @customer_tier, status = @status,
    status_at = @status_at, time_zone = @time_zone, customer_name_masked = @customer_name_masked,
    customer_phone_masked = @customer_phone_masked, repeat = @repeat, received_at = @received_at,
    created_at = @created_at, received_month = @received_month, acknowledged_at = @acknowledged_at,
    first_answered_at = @first_answered_at, answered_at = @answered_at, closed_at = @closed_at,
    withdrawn_at = @withdrawn_at, reopened = @reopened, under_review = @under_review,
    review_requested_at = @review_requested_at, return_visit_at = @return_visit_at,
    satisfaction = @satisfaction, root_cause = @root_cause, compensation_kind = @compensation_kind,
    compensation_tier = @compensation_tier, compensation_fen = @compensation_fen, owner_id = @owner_id,
    owner_level = @owner_level, first_assigned_at = @first_assigned_at, last_assigned_at = @last_assigned_at,
    assignments = @assignments, handovers = @handovers, escalations = @escalations, left_branch = @left_branch,
    ack_due_at = @ack_due_at, ack_breached = @ack_breached, answer_due_at = @answer_due_at,
    answer_breached = @answer_breached, resolve_due_at = @resolve_due_at, resolve_breached = @resolve_breached,
    regulatory_due_at = @regulatory_due_at, regulatory_breached = @regulatory_breached, extended = @extended,
    next_due_at = @next_due_at, next_due_kind = @next_due_kind, warnings = @warnings, breaches = @breaches,
    ack_met = @ack_met, ack_settled = @ack_settled, answer_met = @answer_met, answer_settled = @answer_settled,
    resolve_met = @resolve_met, resolve_settled = @resolve_settled, handling_s = @handling_s,
    handling_bucket = @handling_bucket, settled = @settled, settled_at_branch = @settled_at_branch,
    received_weekday = @received_weekday, received_hour = @received_hour, deadlines = @deadlines,
    updated_at = @now
WHERE case_facts.tenant_id = @tenant_id AND case_facts.case_id = @case_id;

-- name: HistoryOf :many
SELECT event_id, at, type, producer, actor_id, summary
FROM case_history
WHERE tenant_id = @tenant_id AND case_id = @case_id
ORDER BY at, event_id;

-- name: BranchRegion :one
SELECT region_id FROM case_facts
WHERE tenant_id = @tenant_id AND branch_id = @branch_id AND received_at IS NOT NULL
ORDER BY received_at DESC
LIMIT 1;

-- name: AddHistory :batchexec
-- A line of a case's history (SaveFact writes one itself; a batch that
-- folds several events of a case into one row adds the others here).
INSERT INTO case_history (tenant_id, case_id, event_id, at, type, producer, actor_id, summary)
VALUES (@tenant_id, @case_id, @event_id, @at, @type, @producer, @actor_id, @summary)
ON CONFLICT DO NOTHING;
