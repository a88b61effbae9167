-- +goose Up
CREATE TABLE cases (
    id               uuid PRIMARY KEY,
    tenant_id        text        NOT NULL,
    case_number      text        NOT NULL,
    branch_id        text        NOT NULL,
    region_id        text        NOT NULL,
    channel          text        NOT NULL,
    category         text        NOT NULL,
    severity         text        NOT NULL,
    summary          text        NOT NULL,
    description      text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    reported_by      text        NOT NULL,
    customer_tier    text        NOT NULL,
    customer_language text       NOT NULL,
    -- name, ID number, phone, e-mail, account: AES-256-GCM sealed JSON, bound to (tenant, id).
    customer_sealed  bytea       NOT NULL,
    has_email        boolean     NOT NULL,
    has_phone        boolean     NOT NULL,
    status           text        NOT NULL,
    owner_id         text        NOT NULL DEFAULT '',
    time_zone        text        NOT NULL,
    calendar_id      text        NOT NULL,
    created_by       text        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (tenant_id, case_number)
);
CREATE INDEX cases_tenant_branch_created ON cases (tenant_id, branch_id, created_at DESC, id DESC);
CREATE INDEX cases_tenant_region_created ON cases (tenant_id, region_id, created_at DESC, id DESC);
CREATE INDEX cases_tenant_created ON cases (tenant_id, created_at DESC, id DESC);

-- One row per Idempotency-Key: the same key returns the same case.
CREATE TABLE idempotency_keys (
    tenant_id    text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL, -- HMAC of the request, so personal data is not recoverable from it
    case_id      uuid        NOT NULL REFERENCES cases (id),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- Per tenant and day, the last case number handed out.
CREATE TABLE case_numbers (
    tenant_id text NOT NULL,
    day       date NOT NULL,
    last      integer NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

-- Append-only audit trail. Each row's hash covers the previous row's hash of
-- the same case, so an edited or deleted row breaks the chain; the trigger
-- refuses edits outright.
CREATE TABLE case_audit (
    case_id    uuid        NOT NULL REFERENCES cases (id),
    seq        integer     NOT NULL,
    tenant_id  text        NOT NULL,
    at         timestamptz NOT NULL,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    details    jsonb       NOT NULL,
    prev_hash  bytea       NOT NULL,
    hash       bytea       NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- +goose StatementBegin
CREATE FUNCTION case_audit_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'case_audit is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER case_audit_no_update BEFORE UPDATE OR DELETE OR TRUNCATE ON case_audit
    FOR EACH STATEMENT EXECUTE FUNCTION case_audit_is_append_only();

-- +goose Down
DROP TABLE case_audit;
DROP FUNCTION case_audit_is_append_only();
DROP TABLE case_numbers;
DROP TABLE idempotency_keys;
DROP TABLE cases;
