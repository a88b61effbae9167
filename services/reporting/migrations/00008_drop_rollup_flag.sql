-- +goose Up
-- The rollups' queue and their memory of what they counted (rollup_queue,
-- case_rolled) replaced these columns.
ALTER TABLE case_facts DROP COLUMN rollup_pending, DROP COLUMN rolled_branch, DROP COLUMN rolled_region, DROP COLUMN rolled_month;

-- +goose Down
ALTER TABLE case_facts ADD COLUMN rollup_pending boolean NOT NULL DEFAULT true, ADD COLUMN rolled_branch text,
    ADD COLUMN rolled_region text, ADD COLUMN rolled_month date;
