-- Rollups: moved by the deltas of the cases that changed, at branch (B),
-- region (R) and bank (T) level.
-- Figures read them when the query allows (whole months, at most one
-- dimension) and case_facts otherwise; the measure expressions here and in
-- FactMeasures are the same.

-- name: StageChanged :exec
-- Takes up to @lim changed cases off the rollups' queue into rollup_src: each
-- as it counts now (sign 1) and as the rollups counted it before (sign -1),
-- and keeps the new version in case_rolled.
WITH p AS (
    DELETE FROM rollup_queue q
    WHERE (q.tenant_id, q.case_id) IN (SELECT tenant_id, case_id FROM rollup_queue LIMIT @lim FOR UPDATE SKIP LOCKED)
    RETURNING q.tenant_id, q.case_id
), c AS (
    -- The case rows locked (after the queue's, as events lock them), so a
    -- change committed meanwhile is the one read. Partial rows (creation
    -- not known yet) count nothing: their creation queues them again.
    SELECT f.tenant_id, f.case_id, f.branch_id, f.region_id, f.received_month, f.category, f.channel, f.severity, f.customer_tier, f.status, f.first_answered_at, f.ack_met, f.ack_settled, f.answer_met, f.answer_settled, f.resolve_met, f.resolve_settled, f.warnings, f.breaches, f.escalations, f.handovers, f.handling_s, f.handling_bucket, f.settled, f.settled_at_branch, f.repeat, f.satisfaction, f.root_cause, f.compensation_kind, f.compensation_tier, f.compensation_fen, f.received_weekday, f.received_hour, f.deadlines
    FROM case_facts f JOIN p ON f.tenant_id = p.tenant_id AND f.case_id = p.case_id
    WHERE f.received_at IS NOT NULL
    FOR UPDATE OF f
), o AS (
    DELETE FROM case_rolled r USING c
    WHERE r.tenant_id = c.tenant_id AND r.case_id = c.case_id
    RETURNING r.tenant_id, r.case_id, r.branch_id, r.region_id, r.received_month, r.category, r.channel, r.severity, r.customer_tier, r.status, r.first_answered_at, r.ack_met, r.ack_settled, r.answer_met, r.answer_settled, r.resolve_met, r.resolve_settled, r.warnings, r.breaches, r.escalations, r.handovers, r.handling_s, r.handling_bucket, r.settled, r.settled_at_branch, r.repeat, r.satisfaction, r.root_cause, r.compensation_kind, r.compensation_tier, r.compensation_fen, r.received_weekday, r.received_hour, r.deadlines
), n AS (
    INSERT INTO case_rolled (tenant_id, case_id, branch_id, region_id, received_month, category, channel, severity, customer_tier, status, first_answered_at, ack_met, ack_settled, answer_met, answer_settled, resolve_met, resolve_settled, warnings, breaches, escalations, handovers, handling_s, handling_bucket, settled, settled_at_branch, repeat, satisfaction, root_cause, compensation_kind, compensation_tier, compensation_fen, received_weekday, received_hour, deadlines) SELECT * FROM c
), plus AS (
    INSERT INTO rollup_src (bank, case_id, branch_id, region_id, received_month, category, channel, severity, customer_tier, status, first_answered_at, ack_met, ack_settled, answer_met, answer_settled, resolve_met, resolve_settled, warnings, breaches, escalations, handovers, handling_s, handling_bucket, settled, settled_at_branch, repeat, satisfaction, root_cause, compensation_kind, compensation_tier, compensation_fen, received_weekday, received_hour, deadlines, sign) SELECT *, 1 FROM c
)
INSERT INTO rollup_src (bank, case_id, branch_id, region_id, received_month, category, channel, severity, customer_tier, status, first_answered_at, ack_met, ack_settled, answer_met, answer_settled, resolve_met, resolve_settled, warnings, breaches, escalations, handovers, handling_s, handling_bucket, settled, settled_at_branch, repeat, satisfaction, root_cause, compensation_kind, compensation_tier, compensation_fen, received_weekday, received_hour, deadlines, sign) SELECT *, -1 FROM o;

-- name: CountStaged :one
SELECT count(*)::bigint FROM rollup_src WHERE sign = 1;

-- name: ClearStaged :exec
WITH k AS (DELETE FROM rollup_keyed_delta)
DELETE FROM rollup_src;

-- name: ApplyMonthDeltas :exec
-- Adds the staged changes to the rows of every level (B branch, R region,
-- T bank): all cases, each dimension, and at region and bank level the
-- category with each other dimension; each row with its histogram.
INSERT INTO rollup_month AS r (tenant_id, level, scope_id, region_id, month, dim, val, hist, received, answered, closed, open, withdrawn, ack_met, ack_settled, answer_met, answer_settled, resolve_met, resolve_settled, warnings, breaches, escalations, handovers, handling_n, handling_sum_s, settled, settled_at_branch, repeats, sat_n, sat_sum, sat_1, sat_2, sat_3, sat_4, sat_5, compensated, compensation_fen)
SELECT s.bank, l.level, (CASE l.level WHEN 'B' THEN coalesce(s.branch_id, '') WHEN 'R' THEN coalesce(s.region_id, '') ELSE '' END), (CASE l.level WHEN 'T' THEN '' ELSE coalesce(s.region_id, '') END), s.received_month,
       (CASE WHEN GROUPING(s.category) = 0 AND GROUPING(s.channel) = 0 THEN 'category|channel'
             WHEN GROUPING(s.category) = 0 AND GROUPING(s.severity) = 0 THEN 'category|severity'
             WHEN GROUPING(s.category) = 0 AND GROUPING(s.customer_tier) = 0 THEN 'category|customer_tier'
             WHEN GROUPING(s.category) = 0 THEN 'category' WHEN GROUPING(s.channel) = 0 THEN 'channel'
             WHEN GROUPING(s.severity) = 0 THEN 'severity' WHEN GROUPING(s.customer_tier) = 0 THEN 'customer_tier'
             ELSE '' END)::text,
       (CASE WHEN GROUPING(s.category) = 0 AND GROUPING(s.channel) = 0 THEN coalesce(s.category, '') || '|' || coalesce(s.channel, '')
             WHEN GROUPING(s.category) = 0 AND GROUPING(s.severity) = 0 THEN coalesce(s.category, '') || '|' || coalesce(s.severity, '')
             WHEN GROUPING(s.category) = 0 AND GROUPING(s.customer_tier) = 0 THEN coalesce(s.category, '') || '|' || coalesce(s.customer_tier, '')
             ELSE coalesce(CASE WHEN GROUPING(s.category) = 0 THEN s.category WHEN GROUPING(s.channel) = 0 THEN s.channel
                     WHEN GROUPING(s.severity) = 0 THEN s.severity WHEN GROUPING(s.customer_tier) = 0 THEN s.customer_tier
                END, '') END)::text,
       hist_agg(s.handling_bucket::integer, s.sign)::integer[],
       sum(s.sign)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.first_answered_at IS NOT NULL), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.status = 'CASE_STATUS_CLOSED'), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.status IS DISTINCT FROM 'CASE_STATUS_CLOSED' AND s.status IS DISTINCT FROM 'CASE_STATUS_WITHDRAWN'), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.status = 'CASE_STATUS_WITHDRAWN'), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.ack_met), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.ack_settled), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.answer_met), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.answer_settled), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.resolve_met), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.resolve_settled), 0)::bigint,
       coalesce(sum(s.sign * s.warnings), 0)::bigint,
       coalesce(sum(s.sign * s.breaches), 0)::bigint,
       coalesce(sum(s.sign * s.escalations), 0)::bigint,
       coalesce(sum(s.sign * s.handovers), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.handling_s IS NOT NULL), 0)::bigint,
       coalesce(sum(s.sign * s.handling_s), 0)::float8,
       coalesce(sum(s.sign) FILTER (WHERE s.settled), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.settled_at_branch), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.repeat), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.satisfaction IS NOT NULL), 0)::bigint,
       coalesce(sum(s.sign * s.satisfaction), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.satisfaction = 1), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.satisfaction = 2), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.satisfaction = 3), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.satisfaction = 4), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.satisfaction = 5), 0)::bigint,
       coalesce(sum(s.sign) FILTER (WHERE s.compensation_kind IS NOT NULL), 0)::bigint,
       coalesce(sum(s.sign * s.compensation_fen) FILTER (WHERE s.compensation_kind IS NOT NULL), 0)::bigint
FROM rollup_src s
CROSS JOIN (VALUES ('B'), ('R'), ('T')) AS l(level)
WHERE s.received_month IS NOT NULL
GROUP BY s.bank, l.level, 3, 4, s.received_month,
         GROUPING SETS ((), (s.category), (s.channel), (s.severity), (s.customer_tier),
                        (s.category, s.channel), (s.category, s.severity), (s.category, s.customer_tier))
HAVING l.level <> 'B' OR GROUPING(s.category) = 1 OR (GROUPING(s.channel) = 1 AND GROUPING(s.severity) = 1 AND GROUPING(s.customer_tier) = 1)
ON CONFLICT (tenant_id, level, scope_id, dim, val, month) DO UPDATE SET
    hist = hist_add(r.hist, excluded.hist),
    received = r.received + excluded.received,
    answered = r.answered + excluded.answered,
    closed = r.closed + excluded.closed,
    open = r.open + excluded.open,
    withdrawn = r.withdrawn + excluded.withdrawn,
    ack_met = r.ack_met + excluded.ack_met,
    ack_settled = r.ack_settled + excluded.ack_settled,
    answer_met = r.answer_met + excluded.answer_met,
    answer_settled = r.answer_settled + excluded.answer_settled,
    resolve_met = r.resolve_met + excluded.resolve_met,
    resolve_settled = r.resolve_settled + excluded.resolve_settled,
    warnings = r.warnings + excluded.warnings,
    breaches = r.breaches + excluded.breaches,
    escalations = r.escalations + excluded.escalations,
    handovers = r.handovers + excluded.handovers,
    handling_n = r.handling_n + excluded.handling_n,
    handling_sum_s = r.handling_sum_s + excluded.handling_sum_s,
    settled = r.settled + excluded.settled,
    settled_at_branch = r.settled_at_branch + excluded.settled_at_branch,
    repeats = r.repeats + excluded.repeats,
    sat_n = r.sat_n + excluded.sat_n,
    sat_sum = r.sat_sum + excluded.sat_sum,
    sat_1 = r.sat_1 + excluded.sat_1,
    sat_2 = r.sat_2 + excluded.sat_2,
    sat_3 = r.sat_3 + excluded.sat_3,
    sat_4 = r.sat_4 + excluded.sat_4,
    sat_5 = r.sat_5 + excluded.sat_5,
    compensated = r.compensated + excluded.compensated,
    compensation_fen = r.compensation_fen + excluded.compensation_fen;

-- name: StageKeyedDeltas :exec
-- Expands the staged cases into keyed counts by branch (once per pass).
INSERT INTO rollup_keyed_delta (bank, branch_id, region_id, month, metric, key, n, amount)
SELECT x.tenant_id, x.scope_id, x.region_id, x.month, x.metric, x.key, sum(x.n)::bigint, sum(x.amount)::bigint
FROM (
    SELECT s.bank AS tenant_id, coalesce(s.branch_id, '') AS scope_id, coalesce(s.region_id, '') AS region_id, s.received_month AS month, v.metric, v.key, v.n, v.amount
    FROM rollup_src s
    CROSS JOIN LATERAL (VALUES
        ('cause', s.root_cause, s.sign, 0::bigint),
        ('comp', coalesce(s.compensation_tier, '') || '|' || s.compensation_kind, s.sign, s.sign * s.compensation_fen),
        ('heat', s.received_weekday::text || '|' || s.received_hour::text, s.sign, 0::bigint)
    ) AS v(metric, key, n, amount)
    WHERE s.received_month IS NOT NULL AND v.key IS NOT NULL
    UNION ALL
    SELECT s.bank, coalesce(s.branch_id, ''), coalesce(s.region_id, ''), s.received_month, 'deadline', k.key, s.sign, 0
    FROM rollup_src s
    CROSS JOIN LATERAL jsonb_each(s.deadlines) AS d(kind, v)
    CROSS JOIN LATERAL (VALUES
        (d.kind || '|armed'),
        (CASE WHEN (d.v ->> 'met')::boolean THEN d.kind || '|met' END),
        (CASE WHEN (d.v ->> 'breached')::boolean THEN d.kind || '|breached' END)
    ) AS k(key)
    WHERE s.received_month IS NOT NULL AND k.key IS NOT NULL
    UNION ALL
    SELECT s.bank, coalesce(s.branch_id, ''), coalesce(s.region_id, ''), s.received_month, 'warn', d.kind || '|' || w.level, s.sign * w.n::integer, 0
    FROM rollup_src s
    CROSS JOIN LATERAL jsonb_each(s.deadlines) AS d(kind, v)
    CROSS JOIN LATERAL jsonb_each_text(coalesce(d.v -> 'w', '{}'::jsonb)) AS w(level, n)
    WHERE s.received_month IS NOT NULL
) x
GROUP BY x.tenant_id, x.scope_id, x.region_id, x.month, x.metric, x.key;

-- name: ApplyKeyedDeltas :exec
-- Adds the pass's keyed counts to the @level rows (B branch, R region, T bank).
INSERT INTO rollup_keyed AS r (tenant_id, level, scope_id, region_id, month, metric, key, n, amount)
SELECT d.bank, @level::text,
       (CASE @level::text WHEN 'B' THEN d.branch_id WHEN 'R' THEN d.region_id ELSE '' END),
       (CASE @level::text WHEN 'T' THEN '' ELSE d.region_id END),
       d.month, d.metric, d.key, sum(d.n)::bigint, sum(d.amount)::bigint
FROM rollup_keyed_delta d
GROUP BY d.bank, 3, 4, d.month, d.metric, d.key
ON CONFLICT (tenant_id, level, scope_id, metric, month, key) DO UPDATE SET
    n = r.n + excluded.n, amount = r.amount + excluded.amount;

-- name: ResetTenantRollups :exec
-- Empties a bank's rollups and queues every case, for a full recount
-- (bulk load, rebuild).
WITH m AS (DELETE FROM rollup_month WHERE rollup_month.tenant_id = @tenant_id),
     k AS (DELETE FROM rollup_keyed WHERE rollup_keyed.tenant_id = @tenant_id),
     r AS (DELETE FROM case_rolled WHERE case_rolled.tenant_id = @tenant_id)
INSERT INTO rollup_queue (tenant_id, case_id)
SELECT tenant_id, case_id FROM case_facts WHERE case_facts.tenant_id = @tenant_id
ON CONFLICT DO NOTHING;

-- name: Tenants :many
SELECT DISTINCT tenant_id FROM case_facts;

-- name: RollupMeasures :many
SELECT (CASE @grp::text WHEN 'scope' THEN r.scope_id WHEN 'val' THEN r.val WHEN 'region' THEN r.region_id
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
  AND (sqlc.narg(val_first)::text IS NULL OR split_part(r.val, '|', 1) = sqlc.narg(val_first))
  AND (sqlc.narg(val_second)::text IS NULL OR split_part(r.val, '|', 2) = sqlc.narg(val_second))
  AND r.month >= @from_month AND r.month < @to_month
GROUP BY 1
HAVING sum(r.received) <> 0;

-- name: RollupHists :many
-- The histograms of the rows RollupMeasures sums, one per row: the caller
-- adds them up (a sum of arrays in SQL costs more than the rows).
SELECT (CASE @grp::text WHEN 'scope' THEN r.scope_id WHEN 'val' THEN r.val WHEN 'region' THEN r.region_id
        WHEN 'month' THEN to_char(r.month, 'YYYY-MM-DD') ELSE '' END)::text AS key,
       r.hist
FROM rollup_month r
WHERE r.tenant_id = @tenant_id AND r.level = @level
  AND (sqlc.narg(scope_id)::text IS NULL OR r.scope_id = sqlc.narg(scope_id))
  AND (sqlc.narg(region_id)::text IS NULL OR r.region_id = sqlc.narg(region_id))
  AND r.dim = @dim
  AND (sqlc.narg(val)::text IS NULL OR r.val = sqlc.narg(val))
  AND (sqlc.narg(val_first)::text IS NULL OR split_part(r.val, '|', 1) = sqlc.narg(val_first))
  AND (sqlc.narg(val_second)::text IS NULL OR split_part(r.val, '|', 2) = sqlc.narg(val_second))
  AND r.month >= @from_month AND r.month < @to_month
  AND cardinality(r.hist) > 0;

-- name: RollupKeyed :many
SELECT (CASE @grp::text WHEN 'scope' THEN r.scope_id WHEN 'month' THEN to_char(r.month, 'YYYY-MM-DD') ELSE '' END)::text AS grp_key,
       r.key, sum(r.n)::bigint AS n, sum(r.amount)::bigint AS amount
FROM rollup_keyed r
WHERE r.tenant_id = @tenant_id AND r.level = @level
  AND (sqlc.narg(scope_id)::text IS NULL OR r.scope_id = sqlc.narg(scope_id))
  AND (sqlc.narg(region_id)::text IS NULL OR r.region_id = sqlc.narg(region_id))
  AND r.metric = @metric
  AND r.month >= @from_month AND r.month < @to_month
GROUP BY 1, 2
HAVING sum(r.n) <> 0 OR sum(r.amount) <> 0;

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
