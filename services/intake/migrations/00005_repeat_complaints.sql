-- +goose Up
-- Repeat complaints: the same customer at the same bank within 30 days. The
-- customer is matched on a keyed hash (HMAC) of the ID number, never on the
-- number itself; the key is not in the database.
ALTER TABLE cases
    ADD COLUMN customer_key bytea,
    ADD COLUMN repeat boolean NOT NULL DEFAULT false;
CREATE INDEX cases_tenant_customer ON cases (tenant_id, customer_key, created_at) WHERE customer_key IS NOT NULL;

-- Which cases are of the same customer within 30 days (both directions).
CREATE TABLE case_links (
    tenant_id  text NOT NULL,
    case_id    uuid NOT NULL REFERENCES cases (id),
    related_id uuid NOT NULL REFERENCES cases (id),
    PRIMARY KEY (case_id, related_id)
);

-- +goose Down
DROP TABLE case_links;
DROP INDEX cases_tenant_customer;
ALTER TABLE cases DROP COLUMN customer_key, DROP COLUMN repeat;
