-- +goose Up
-- Summary and description are what customers said: account and card
-- numbers, ID numbers, phones. From now on they are stored sealed (AES-256-GCM
-- JSON bound to tenant and case) and the clear columns are left empty.
-- Rows written before keep their clear text until a re-seal job (not built)
-- rewrites them; the service reads either.
ALTER TABLE cases ADD COLUMN text_sealed bytea;

-- +goose Down
ALTER TABLE cases DROP COLUMN text_sealed;
