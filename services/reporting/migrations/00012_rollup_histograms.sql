-- +goose Up
-- Each rollup_month row carries the handling-time histogram of its cases
-- (hist[i] = cases in bucket i-1, see report.Bucket; as long as its highest
-- bucket needs), so a breakdown over hundreds of branches and 36 months
-- reads one row per branch and month rather than one per bucket, and rows
-- by two dimensions get their histogram with them. The rollup_keyed
-- metrics 'hist' and 'hist.<dimension>' are gone.
--
-- Region and bank rows are also kept by category together with one other
-- dimension (dim 'category|channel', 'category|severity',
-- 'category|customer_tier'; val 'CATEGORY_X|CHANNEL_Y'), so a breakdown of
-- one category by channel, tier or complexity is read from rollups too.
--
-- Existing rollups have no histograms: they are emptied and every case is
-- queued, and the rollup worker recounts them (minutes per million cases).

-- +goose StatementBegin
CREATE FUNCTION hist_step(state integer[], bucket integer, n integer) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    len integer := coalesce(array_length(state, 1), 0);
BEGIN
    IF state IS NULL THEN
        state := '{}';
    END IF;
    IF bucket IS NULL OR n IS NULL OR n = 0 THEN
        RETURN state;
    END IF;
    IF bucket < 0 THEN
        bucket := 0;
    END IF;
    IF len < bucket + 1 THEN
        state := state || array_fill(0, ARRAY[bucket + 1 - len]);
    END IF;
    state[bucket + 1] := state[bucket + 1] + n;
    RETURN state;
END
$$;
-- +goose StatementEnd

-- hist_agg(bucket, n): the histogram of n cases per bucket.
CREATE AGGREGATE hist_agg(integer, integer) (SFUNC = hist_step, STYPE = integer[], INITCOND = '{}');

-- +goose StatementBegin
-- hist_add(a, b): two histograms added bucket by bucket.
CREATE FUNCTION hist_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
    FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$$;
-- +goose StatementEnd

ALTER TABLE rollup_month ADD COLUMN hist integer[] NOT NULL DEFAULT '{}';

DELETE FROM rollup_month;
DELETE FROM rollup_keyed;
DELETE FROM case_rolled;
INSERT INTO rollup_queue (tenant_id, case_id)
SELECT tenant_id, case_id FROM case_facts
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM rollup_month;
DELETE FROM rollup_keyed;
DELETE FROM case_rolled;
INSERT INTO rollup_queue (tenant_id, case_id)
SELECT tenant_id, case_id FROM case_facts
ON CONFLICT DO NOTHING;
ALTER TABLE rollup_month DROP COLUMN hist;
DROP FUNCTION hist_add(integer[], integer[]);
DROP AGGREGATE hist_agg(integer, integer);
DROP FUNCTION hist_step(integer[], integer, integer);
