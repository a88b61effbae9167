-- Rollups: recomputed from case_facts for the branches and months whose
-- rows changed (B level), then summed up to their regions (R) and banks (T).
-- Figures read them when the query allows (whole months, at most one
-- dimension) and case_facts otherwise; the measure expressions here and in
-- FactMeasures are the same.

-- name: ClaimPending :many
-- Takes up to @lim changed rows off the rollups' queue, returning where
-- they count now and where the rollups counted them before.
WITH p AS (
    SELECT tenant_id, case_id, rolled_branch, rolled_region, rolled_month
    FROM case_facts
    WHERE rollup_pending AND received_at IS NOT NULL
    LIMIT @lim
    FOR UPDATE SKIP LOCKED
)
UPDATE case_facts f
SET rollup_pending = false, rolled_branch = f.branch_id, rolled_region = f.region_id, rolled_month = f.received_month
FROM p
WHERE f.tenant_id = p.tenant_id AND f.case_id = p.case_id
RETURNING f.tenant_id, f.branch_id, f.region_id, f.received_month, p.rolled_branch AS old_branch,
          p.rolled_region AS old_region, p.rolled_month AS old_month;

-- name: DeleteBranchMonths :exec
DELETE FROM rollup_month r USING ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month)
WHERE r.tenant_id = k.tenant_id AND r.level = 'B' AND r.scope_id = k.scope_id AND r.month = k.month;

-- name: DeleteBranchMonthsKeyed :exec
DELETE FROM rollup_keyed r USING ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month)
WHERE r.tenant_id = k.tenant_id AND r.level = 'B' AND r.scope_id = k.scope_id AND r.month = k.month;

-- name: InsertBranchMonths :exec
INSERT INTO rollup_month (tenant_id, level, scope_id, region_id, month, dim, val, received, answered, closed, open, withdrawn, ack_met, ack_settled, answer_met, answer_settled, resolve_met, resolve_settled, warnings, breaches, escalations, handovers, handling_n, handling_sum_s, settled, settled_at_branch, repeats, sat_n, sat_sum, sat_1, sat_2, sat_3, sat_4, sat_5, compensated, compensation_fen)
SELECT f.tenant_id, 'B', f.branch_id, coalesce(max(f.region_id), ''), f.received_month,
       (CASE WHEN GROUPING(f.category) = 0 THEN 'category' WHEN GROUPING(f.channel) = 0 THEN 'channel'
             WHEN GROUPING(f.severity) = 0 THEN 'severity' WHEN GROUPING(f.customer_tier) = 0 THEN 'customer_tier'
             ELSE '' END)::text,
       coalesce(CASE WHEN GROUPING(f.category) = 0 THEN f.category WHEN GROUPING(f.channel) = 0 THEN f.channel
                     WHEN GROUPING(f.severity) = 0 THEN f.severity WHEN GROUPING(f.customer_tier) = 0 THEN f.customer_tier
                END, '')::text,
       count(*)::bigint AS received,
       count(*) FILTER (WHERE f.first_answered_at IS NOT NULL)::bigint AS answered,
       count(*) FILTER (WHERE f.status = 'CASE_STATUS_CLOSED')::bigint AS closed,
       count(*) FILTER (WHERE f.status IS DISTINCT FROM 'CASE_STATUS_CLOSED' AND f.status IS DISTINCT FROM 'CASE_STATUS_WITHDRAWN')::bigint AS open,
       count(*) FILTER (WHERE f.status = 'CASE_STATUS_WITHDRAWN')::bigint AS withdrawn,
       count(*) FILTER (WHERE f.ack_met)::bigint AS ack_met,
       count(*) FILTER (WHERE f.ack_settled)::bigint AS ack_settled,
       count(*) FILTER (WHERE f.answer_met)::bigint AS answer_met,
       count(*) FILTER (WHERE f.answer_settled)::bigint AS answer_settled,
       count(*) FILTER (WHERE f.resolve_met)::bigint AS resolve_met,
       count(*) FILTER (WHERE f.resolve_settled)::bigint AS resolve_settled,
       coalesce(sum(f.warnings), 0)::bigint AS warnings,
       coalesce(sum(f.breaches), 0)::bigint AS breaches,
       coalesce(sum(f.escalations), 0)::bigint AS escalations,
       coalesce(sum(f.handovers), 0)::bigint AS handovers,
       count(f.handling_s)::bigint AS handling_n,
       coalesce(sum(f.handling_s), 0)::float8 AS handling_sum_s,
       count(*) FILTER (WHERE f.settled)::bigint AS settled,
       count(*) FILTER (WHERE f.settled_at_branch)::bigint AS settled_at_branch,
       count(*) FILTER (WHERE f.repeat)::bigint AS repeats,
       count(f.satisfaction)::bigint AS sat_n,
       coalesce(sum(f.satisfaction), 0)::bigint AS sat_sum,
       count(*) FILTER (WHERE f.satisfaction = 1)::bigint AS sat_1,
       count(*) FILTER (WHERE f.satisfaction = 2)::bigint AS sat_2,
       count(*) FILTER (WHERE f.satisfaction = 3)::bigint AS sat_3,
       count(*) FILTER (WHERE f.satisfaction = 4)::bigint AS sat_4,
       count(*) FILTER (WHERE f.satisfaction = 5)::bigint AS sat_5,
       count(f.compensation_kind)::bigint AS compensated,
       coalesce(sum(f.compensation_fen) FILTER (WHERE f.compensation_kind IS NOT NULL), 0)::bigint AS compensation_fen
FROM case_facts f
JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON f.tenant_id = k.tenant_id AND f.branch_id = k.scope_id AND f.received_month = k.month
WHERE f.received_at IS NOT NULL
GROUP BY f.tenant_id, f.branch_id, f.received_month,
         GROUPING SETS ((), (f.category), (f.channel), (f.severity), (f.customer_tier));

-- name: InsertBranchMonthsKeyed :exec
INSERT INTO rollup_keyed (tenant_id, level, scope_id, region_id, month, metric, key, n, amount)
SELECT x.tenant_id, 'B', x.branch_id, coalesce(max(x.region_id), ''), x.month, x.metric, x.key, sum(x.n)::bigint, sum(x.amount)::bigint
FROM (
    SELECT f.tenant_id, f.branch_id, f.region_id, f.received_month AS month, v.metric, v.key, v.n, v.amount
    FROM case_facts f
    JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON f.tenant_id = k.tenant_id AND f.branch_id = k.scope_id AND f.received_month = k.month
    CROSS JOIN LATERAL (VALUES
        ('hist', f.handling_bucket::text, 1, 0::bigint),
        ('hist.category', f.category || '|' || f.handling_bucket::text, 1, 0::bigint),
        ('hist.channel', f.channel || '|' || f.handling_bucket::text, 1, 0::bigint),
        ('hist.severity', f.severity || '|' || f.handling_bucket::text, 1, 0::bigint),
        ('hist.customer_tier', f.customer_tier || '|' || f.handling_bucket::text, 1, 0::bigint),
        ('cause', f.root_cause, 1, 0::bigint),
        ('comp', coalesce(f.compensation_tier, '') || '|' || f.compensation_kind, 1, f.compensation_fen),
        ('heat', f.received_weekday::text || '|' || f.received_hour::text, 1, 0::bigint)
    ) AS v(metric, key, n, amount)
    WHERE f.received_at IS NOT NULL AND v.key IS NOT NULL
    UNION ALL
    SELECT f.tenant_id, f.branch_id, f.region_id, f.received_month, 'deadline', s.key, 1, 0
    FROM case_facts f
    JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON f.tenant_id = k.tenant_id AND f.branch_id = k.scope_id AND f.received_month = k.month
    CROSS JOIN LATERAL jsonb_each(f.deadlines) AS d(kind, v)
    CROSS JOIN LATERAL (VALUES
        (d.kind || '|armed'),
        (CASE WHEN (d.v ->> 'met')::boolean THEN d.kind || '|met' END),
        (CASE WHEN (d.v ->> 'breached')::boolean THEN d.kind || '|breached' END)
    ) AS s(key)
    WHERE f.received_at IS NOT NULL AND s.key IS NOT NULL
    UNION ALL
    SELECT f.tenant_id, f.branch_id, f.region_id, f.received_month, 'warn', d.kind || '|' || w.level, w.n::integer, 0
    FROM case_facts f
    JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON f.tenant_id = k.tenant_id AND f.branch_id = k.scope_id AND f.received_month = k.month
    CROSS JOIN LATERAL jsonb_each(f.deadlines) AS d(kind, v)
    CROSS JOIN LATERAL jsonb_each_text(coalesce(d.v -> 'w', '{}'::jsonb)) AS w(level, n)
    WHERE f.received_at IS NOT NULL
) x
GROUP BY x.tenant_id, x.branch_id, x.month, x.metric, x.key;

-- name: DeleteUpperMonths :exec
-- Clears the R (scope = region) or T (scope = '') rows of the keys.
DELETE FROM rollup_month r USING ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month)
WHERE r.tenant_id = k.tenant_id AND r.level = @level AND r.scope_id = k.scope_id AND r.month = k.month;

-- name: DeleteUpperMonthsKeyed :exec
DELETE FROM rollup_keyed r USING ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month)
WHERE r.tenant_id = k.tenant_id AND r.level = @level AND r.scope_id = k.scope_id AND r.month = k.month;

-- name: InsertRegionMonths :exec
INSERT INTO rollup_month (tenant_id, level, scope_id, region_id, month, dim, val, received, answered, closed, open, withdrawn, ack_met, ack_settled, answer_met, answer_settled, resolve_met, resolve_settled, warnings, breaches, escalations, handovers, handling_n, handling_sum_s, settled, settled_at_branch, repeats, sat_n, sat_sum, sat_1, sat_2, sat_3, sat_4, sat_5, compensated, compensation_fen)
SELECT r.tenant_id, 'R', r.region_id, r.region_id, r.month, r.dim, r.val,
       sum(r.received)::bigint AS received,
       sum(r.answered)::bigint AS answered,
       sum(r.closed)::bigint AS closed,
       sum(r.open)::bigint AS open,
       sum(r.withdrawn)::bigint AS withdrawn,
       sum(r.ack_met)::bigint AS ack_met,
       sum(r.ack_settled)::bigint AS ack_settled,
       sum(r.answer_met)::bigint AS answer_met,
       sum(r.answer_settled)::bigint AS answer_settled,
       sum(r.resolve_met)::bigint AS resolve_met,
       sum(r.resolve_settled)::bigint AS resolve_settled,
       sum(r.warnings)::bigint AS warnings,
       sum(r.breaches)::bigint AS breaches,
       sum(r.escalations)::bigint AS escalations,
       sum(r.handovers)::bigint AS handovers,
       sum(r.handling_n)::bigint AS handling_n,
       sum(r.handling_sum_s)::float8 AS handling_sum_s,
       sum(r.settled)::bigint AS settled,
       sum(r.settled_at_branch)::bigint AS settled_at_branch,
       sum(r.repeats)::bigint AS repeats,
       sum(r.sat_n)::bigint AS sat_n,
       sum(r.sat_sum)::bigint AS sat_sum,
       sum(r.sat_1)::bigint AS sat_1,
       sum(r.sat_2)::bigint AS sat_2,
       sum(r.sat_3)::bigint AS sat_3,
       sum(r.sat_4)::bigint AS sat_4,
       sum(r.sat_5)::bigint AS sat_5,
       sum(r.compensated)::bigint AS compensated,
       sum(r.compensation_fen)::bigint AS compensation_fen
FROM rollup_month r
JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON r.tenant_id = k.tenant_id AND r.level = 'B' AND r.region_id = k.scope_id AND r.month = k.month
GROUP BY r.tenant_id, r.region_id, r.month, r.dim, r.val;

-- name: InsertRegionMonthsKeyed :exec
INSERT INTO rollup_keyed (tenant_id, level, scope_id, region_id, month, metric, key, n, amount)
SELECT r.tenant_id, 'R', r.region_id, r.region_id, r.month, r.metric, r.key, sum(r.n)::bigint, sum(r.amount)::bigint
FROM rollup_keyed r
JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON r.tenant_id = k.tenant_id AND r.level = 'B' AND r.region_id = k.scope_id AND r.month = k.month
GROUP BY r.tenant_id, r.region_id, r.month, r.metric, r.key;

-- name: InsertBankMonths :exec
INSERT INTO rollup_month (tenant_id, level, scope_id, region_id, month, dim, val, received, answered, closed, open, withdrawn, ack_met, ack_settled, answer_met, answer_settled, resolve_met, resolve_settled, warnings, breaches, escalations, handovers, handling_n, handling_sum_s, settled, settled_at_branch, repeats, sat_n, sat_sum, sat_1, sat_2, sat_3, sat_4, sat_5, compensated, compensation_fen)
SELECT r.tenant_id, 'T', '', '', r.month, r.dim, r.val,
       sum(r.received)::bigint AS received,
       sum(r.answered)::bigint AS answered,
       sum(r.closed)::bigint AS closed,
       sum(r.open)::bigint AS open,
       sum(r.withdrawn)::bigint AS withdrawn,
       sum(r.ack_met)::bigint AS ack_met,
       sum(r.ack_settled)::bigint AS ack_settled,
       sum(r.answer_met)::bigint AS answer_met,
       sum(r.answer_settled)::bigint AS answer_settled,
       sum(r.resolve_met)::bigint AS resolve_met,
       sum(r.resolve_settled)::bigint AS resolve_settled,
       sum(r.warnings)::bigint AS warnings,
       sum(r.breaches)::bigint AS breaches,
       sum(r.escalations)::bigint AS escalations,
       sum(r.handovers)::bigint AS handovers,
       sum(r.handling_n)::bigint AS handling_n,
       sum(r.handling_sum_s)::float8 AS handling_sum_s,
       sum(r.settled)::bigint AS settled,
       sum(r.settled_at_branch)::bigint AS settled_at_branch,
       sum(r.repeats)::bigint AS repeats,
       sum(r.sat_n)::bigint AS sat_n,
       sum(r.sat_sum)::bigint AS sat_sum,
       sum(r.sat_1)::bigint AS sat_1,
       sum(r.sat_2)::bigint AS sat_2,
       sum(r.sat_3)::bigint AS sat_3,
       sum(r.sat_4)::bigint AS sat_4,
       sum(r.sat_5)::bigint AS sat_5,
       sum(r.compensated)::bigint AS compensated,
       sum(r.compensation_fen)::bigint AS compensation_fen
FROM rollup_month r
JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON r.tenant_id = k.tenant_id AND r.level = 'R' AND r.month = k.month
GROUP BY r.tenant_id, r.month, r.dim, r.val;

-- name: InsertBankMonthsKeyed :exec
INSERT INTO rollup_keyed (tenant_id, level, scope_id, region_id, month, metric, key, n, amount)
SELECT r.tenant_id, 'T', '', '', r.month, r.metric, r.key, sum(r.n)::bigint, sum(r.amount)::bigint
FROM rollup_keyed r
JOIN ROWS FROM (unnest(@tenants::text[]), unnest(@scopes::text[]), unnest(@months::date[])) AS k(tenant_id, scope_id, month) ON r.tenant_id = k.tenant_id AND r.level = 'R' AND r.month = k.month
GROUP BY r.tenant_id, r.month, r.metric, r.key;

-- name: AllBranchMonths :many
-- Every branch and month with cases, for a full recomputation.
SELECT DISTINCT tenant_id, branch_id, region_id, received_month
FROM case_facts
WHERE received_at IS NOT NULL AND (sqlc.narg(tenant_id)::text IS NULL OR tenant_id = sqlc.narg(tenant_id));

-- name: RollupMeasures :many
SELECT (CASE @grp::text WHEN 'scope' THEN r.scope_id WHEN 'val' THEN r.val
        WHEN 'month' THEN to_char(r.month, 'YYYY-MM-DD') ELSE '' END)::text AS key,
       sum(r.received)::bigint AS received,
       sum(r.answered)::bigint AS answered,
       sum(r.closed)::bigint AS closed,
       sum(r.open)::bigint AS open,
       sum(r.withdrawn)::bigint AS withdrawn,
       sum(r.ack_met)::bigint AS ack_met,
       sum(r.ack_settled)::bigint AS ack_settled,
       sum(r.answer_met)::bigint AS answer_met,
       sum(r.answer_settled)::bigint AS answer_settled,
       sum(r.resolve_met)::bigint AS resolve_met,
       sum(r.resolve_settled)::bigint AS resolve_settled,
       sum(r.warnings)::bigint AS warnings,
       sum(r.breaches)::bigint AS breaches,
       sum(r.escalations)::bigint AS escalations,
       sum(r.handovers)::bigint AS handovers,
       sum(r.handling_n)::bigint AS handling_n,
       sum(r.handling_sum_s)::float8 AS handling_sum_s,
       sum(r.settled)::bigint AS settled,
       sum(r.settled_at_branch)::bigint AS settled_at_branch,
       sum(r.repeats)::bigint AS repeats,
       sum(r.sat_n)::bigint AS sat_n,
       sum(r.sat_sum)::bigint AS sat_sum,
       sum(r.sat_1)::bigint AS sat_1,
       sum(r.sat_2)::bigint AS sat_2,
       sum(r.sat_3)::bigint AS sat_3,
       sum(r.sat_4)::bigint AS sat_4,
       sum(r.sat_5)::bigint AS sat_5,
       sum(r.compensated)::bigint AS compensated,
       sum(r.compensation_fen)::bigint AS compensation_fen
FROM rollup_month r
WHERE r.tenant_id = @tenant_id AND r.level = @level
  AND (sqlc.narg(scope_id)::text IS NULL OR r.scope_id = sqlc.narg(scope_id))
  AND (sqlc.narg(region_id)::text IS NULL OR r.region_id = sqlc.narg(region_id))
  AND r.dim = @dim
  AND (sqlc.narg(val)::text IS NULL OR r.val = sqlc.narg(val))
  AND r.month >= @from_month AND r.month < @to_month
GROUP BY 1;

-- name: RollupKeyed :many
SELECT (CASE @grp::text WHEN 'scope' THEN r.scope_id WHEN 'month' THEN to_char(r.month, 'YYYY-MM-DD') ELSE '' END)::text AS grp_key,
       r.key, sum(r.n)::bigint AS n, sum(r.amount)::bigint AS amount
FROM rollup_keyed r
WHERE r.tenant_id = @tenant_id AND r.level = @level
  AND (sqlc.narg(scope_id)::text IS NULL OR r.scope_id = sqlc.narg(scope_id))
  AND (sqlc.narg(region_id)::text IS NULL OR r.region_id = sqlc.narg(region_id))
  AND r.metric = @metric
  AND (sqlc.narg(key_prefix)::text IS NULL OR starts_with(r.key, sqlc.narg(key_prefix)))
  AND r.month >= @from_month AND r.month < @to_month
GROUP BY 1, 2;

-- name: FactMeasures :many
SELECT (CASE @grp::text
         WHEN 'region' THEN coalesce(f.region_id, '') WHEN 'branch' THEN f.branch_id
         WHEN 'category' THEN coalesce(f.category, '') WHEN 'channel' THEN coalesce(f.channel, '')
         WHEN 'severity' THEN coalesce(f.severity, '') WHEN 'customer_tier' THEN coalesce(f.customer_tier, '')
         WHEN 'month' THEN to_char(f.received_month, 'YYYY-MM-DD')
         WHEN 'day' THEN to_char(f.received_at AT TIME ZONE @zone::text, 'YYYY-MM-DD')
         ELSE '' END)::text AS key,
       count(*)::bigint AS received,
       count(*) FILTER (WHERE f.first_answered_at IS NOT NULL)::bigint AS answered,
       count(*) FILTER (WHERE f.status = 'CASE_STATUS_CLOSED')::bigint AS closed,
       count(*) FILTER (WHERE f.status IS DISTINCT FROM 'CASE_STATUS_CLOSED' AND f.status IS DISTINCT FROM 'CASE_STATUS_WITHDRAWN')::bigint AS open,
       count(*) FILTER (WHERE f.status = 'CASE_STATUS_WITHDRAWN')::bigint AS withdrawn,
       count(*) FILTER (WHERE f.ack_met)::bigint AS ack_met,
       count(*) FILTER (WHERE f.ack_settled)::bigint AS ack_settled,
       count(*) FILTER (WHERE f.answer_met)::bigint AS answer_met,
       count(*) FILTER (WHERE f.answer_settled)::bigint AS answer_settled,
       count(*) FILTER (WHERE f.resolve_met)::bigint AS resolve_met,
       count(*) FILTER (WHERE f.resolve_settled)::bigint AS resolve_settled,
       coalesce(sum(f.warnings), 0)::bigint AS warnings,
       coalesce(sum(f.breaches), 0)::bigint AS breaches,
       coalesce(sum(f.escalations), 0)::bigint AS escalations,
       coalesce(sum(f.handovers), 0)::bigint AS handovers,
       count(f.handling_s)::bigint AS handling_n,
       coalesce(sum(f.handling_s), 0)::float8 AS handling_sum_s,
       count(*) FILTER (WHERE f.settled)::bigint AS settled,
       count(*) FILTER (WHERE f.settled_at_branch)::bigint AS settled_at_branch,
       count(*) FILTER (WHERE f.repeat)::bigint AS repeats,
       count(f.satisfaction)::bigint AS sat_n,
       coalesce(sum(f.satisfaction), 0)::bigint AS sat_sum,
       count(*) FILTER (WHERE f.satisfaction = 1)::bigint AS sat_1,
       count(*) FILTER (WHERE f.satisfaction = 2)::bigint AS sat_2,
       count(*) FILTER (WHERE f.satisfaction = 3)::bigint AS sat_3,
       count(*) FILTER (WHERE f.satisfaction = 4)::bigint AS sat_4,
       count(*) FILTER (WHERE f.satisfaction = 5)::bigint AS sat_5,
       count(f.compensation_kind)::bigint AS compensated,
       coalesce(sum(f.compensation_fen) FILTER (WHERE f.compensation_kind IS NOT NULL), 0)::bigint AS compensation_fen
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
GROUP BY 1;

-- name: FactHistogram :many
SELECT (CASE @grp::text
         WHEN 'region' THEN coalesce(f.region_id, '') WHEN 'branch' THEN f.branch_id
         WHEN 'category' THEN coalesce(f.category, '') WHEN 'channel' THEN coalesce(f.channel, '')
         WHEN 'severity' THEN coalesce(f.severity, '') WHEN 'customer_tier' THEN coalesce(f.customer_tier, '')
         WHEN 'month' THEN to_char(f.received_month, 'YYYY-MM-DD')
         WHEN 'day' THEN to_char(f.received_at AT TIME ZONE @zone::text, 'YYYY-MM-DD')
         ELSE '' END)::text AS key, f.handling_bucket::integer AS bucket, count(*)::bigint AS n
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
  AND f.handling_bucket IS NOT NULL
GROUP BY 1, 2;

-- name: FactKeyed :many
SELECT k.key::text AS key, count(*)::bigint AS n, coalesce(sum(k.amount), 0)::bigint AS amount
FROM case_facts f
CROSS JOIN LATERAL (SELECT
    CASE @metric::text
        WHEN 'cause' THEN f.root_cause
        WHEN 'comp' THEN coalesce(f.compensation_tier, '') || '|' || f.compensation_kind
        WHEN 'heat' THEN f.received_weekday::text || '|' || f.received_hour::text
    END AS key,
    CASE WHEN @metric::text = 'comp' THEN f.compensation_fen ELSE 0 END AS amount) k
WHERE f.tenant_id = @tenant_id AND f.received_at IS NOT NULL
  AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
  AND (sqlc.narg(category)::text IS NULL OR f.category = sqlc.narg(category))
  AND (sqlc.narg(channel)::text IS NULL OR f.channel = sqlc.narg(channel))
  AND (sqlc.narg(severity)::text IS NULL OR f.severity = sqlc.narg(severity))
  AND (sqlc.narg(customer_tier)::text IS NULL OR f.customer_tier = sqlc.narg(customer_tier))
  AND (sqlc.narg(from_at)::timestamptz IS NULL OR f.received_at >= sqlc.narg(from_at))
  AND (sqlc.narg(to_at)::timestamptz IS NULL OR f.received_at < sqlc.narg(to_at))
  AND k.key IS NOT NULL
GROUP BY 1;

-- name: FactDeadlines :many
SELECT d.kind::text AS kind, count(*)::bigint AS armed,
       count(*) FILTER (WHERE (d.v ->> 'met')::boolean)::bigint AS met,
       count(*) FILTER (WHERE (d.v ->> 'breached')::boolean)::bigint AS breached
FROM case_facts f
CROSS JOIN LATERAL jsonb_each(f.deadlines) AS d(kind, v)
WHERE f.tenant_id = @tenant_id AND f.received_at IS NOT NULL
  AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
  AND (sqlc.narg(category)::text IS NULL OR f.category = sqlc.narg(category))
  AND (sqlc.narg(channel)::text IS NULL OR f.channel = sqlc.narg(channel))
  AND (sqlc.narg(severity)::text IS NULL OR f.severity = sqlc.narg(severity))
  AND (sqlc.narg(customer_tier)::text IS NULL OR f.customer_tier = sqlc.narg(customer_tier))
  AND (sqlc.narg(from_at)::timestamptz IS NULL OR f.received_at >= sqlc.narg(from_at))
  AND (sqlc.narg(to_at)::timestamptz IS NULL OR f.received_at < sqlc.narg(to_at))
GROUP BY 1;

-- name: FactWarnings :many
SELECT (d.kind || '|' || w.level)::text AS key, sum(w.n::integer)::bigint AS n
FROM case_facts f
CROSS JOIN LATERAL jsonb_each(f.deadlines) AS d(kind, v)
CROSS JOIN LATERAL jsonb_each_text(coalesce(d.v -> 'w', '{}'::jsonb)) AS w(level, n)
WHERE f.tenant_id = @tenant_id AND f.received_at IS NOT NULL
  AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
  AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
  AND (sqlc.narg(category)::text IS NULL OR f.category = sqlc.narg(category))
  AND (sqlc.narg(channel)::text IS NULL OR f.channel = sqlc.narg(channel))
  AND (sqlc.narg(severity)::text IS NULL OR f.severity = sqlc.narg(severity))
  AND (sqlc.narg(customer_tier)::text IS NULL OR f.customer_tier = sqlc.narg(customer_tier))
  AND (sqlc.narg(from_at)::timestamptz IS NULL OR f.received_at >= sqlc.narg(from_at))
  AND (sqlc.narg(to_at)::timestamptz IS NULL OR f.received_at < sqlc.narg(to_at))
GROUP BY 1;
