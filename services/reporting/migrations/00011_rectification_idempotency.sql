-- +goose Up
-- An issuer may send an Idempotency-Key with a new notice: the same key
-- from the same issuer with the same request returns the notice issued the
-- first time, so a retried request never issues a second notice. The
-- fingerprint is a digest of the request, to tell a retry from a different
-- request reusing the key.
ALTER TABLE rectification_notices
    ADD COLUMN idempotency_key     text,
    ADD COLUMN request_fingerprint text,
    ADD CONSTRAINT rectification_notices_key_has_fingerprint
        CHECK ((idempotency_key IS NULL) = (request_fingerprint IS NULL));
CREATE UNIQUE INDEX rectification_notices_idempotency
    ON rectification_notices (tenant_id, issued_by, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP INDEX rectification_notices_idempotency;
ALTER TABLE rectification_notices
    DROP CONSTRAINT rectification_notices_key_has_fingerprint,
    DROP COLUMN request_fingerprint,
    DROP COLUMN idempotency_key;
