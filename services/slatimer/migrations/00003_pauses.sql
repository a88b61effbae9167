-- +goose Up
-- A clock paused while the case waits for the customer: it neither warns
-- nor breaches until resumed, and resumes counted from a start moved on by
-- the working time it was paused.
ALTER TABLE deadlines ADD COLUMN paused_at timestamptz;

-- +goose Down
ALTER TABLE deadlines DROP COLUMN paused_at;
