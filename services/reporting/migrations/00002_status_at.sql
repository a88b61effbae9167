-- +goose Up
-- When the status was last set, so that lifecycle steps arriving out of
-- order leave the latest one.
ALTER TABLE cases_rm ADD COLUMN status_at timestamptz;

-- +goose Down
ALTER TABLE cases_rm DROP COLUMN status_at;
