-- +goose Up
-- Each staff member's work e-mail, to which notification sends staff alerts
-- (deadline warnings and breaches); '' when the bank gave none, and such an
-- alert is recorded as skipped.
ALTER TABLE staff ADD COLUMN email text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE staff DROP COLUMN email;
