-- +goose Up
-- When the bank received the complaint, distinct from when it happened and
-- when it was registered; cases registered before this column were
-- received when they were registered.
ALTER TABLE cases ADD COLUMN received_at timestamptz;
UPDATE cases SET received_at = created_at WHERE received_at IS NULL;
ALTER TABLE cases ALTER COLUMN received_at SET NOT NULL;

-- +goose Down
ALTER TABLE cases DROP COLUMN received_at;
