-- name: QuarterGroups :many
-- The complaints (categories given) one bank received in [from_time,
-- to_time), in the scope given, grouped by every dimension and outcome the
-- quarterly report counts. decided_days is the number of calendar days from
-- the local date of receipt to the local date of the decision (first answer,
-- else the closure of a case not withdrawn), in the case's zone, capped at
-- 61; a decision or withdrawal after as_of does not count yet.
WITH c AS (
    SELECT coalesce(f.category, '')::text   AS category,
           coalesce(f.channel, '')::text    AS channel,
           coalesce(f.root_cause, '')::text AS root_cause,
           f.extended,
           f.under_review,
           f.received_at,
           coalesce(nullif(f.time_zone, ''), @zone::text) AS zone,
           coalesce(f.first_answered_at, CASE WHEN f.withdrawn_at IS NULL THEN f.closed_at END) AS decided_at,
           f.withdrawn_at
    FROM case_facts f
    WHERE f.tenant_id = @tenant_id
      AND f.received_at >= @from_time::timestamptz AND f.received_at < @to_time::timestamptz
      AND f.category = ANY(@categories::text[])
      AND (sqlc.narg(region_id)::text IS NULL OR f.region_id = sqlc.narg(region_id))
      AND (sqlc.narg(branch_id)::text IS NULL OR f.branch_id = sqlc.narg(branch_id))
)
SELECT category, channel, root_cause,
       (decided_at IS NOT NULL AND decided_at <= @as_of::timestamptz)::boolean AS decided,
       (CASE WHEN decided_at IS NOT NULL AND decided_at <= @as_of::timestamptz THEN
           least(greatest((decided_at AT TIME ZONE zone)::date - (received_at AT TIME ZONE zone)::date, 0), 61)
        ELSE 0 END)::integer AS decided_days,
       extended,
       under_review,
       (withdrawn_at IS NOT NULL AND withdrawn_at <= @as_of::timestamptz)::boolean AS withdrawn,
       count(*) AS cases
FROM c
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ORDER BY 1, 2, 3, 4, 5, 6, 7, 8;
