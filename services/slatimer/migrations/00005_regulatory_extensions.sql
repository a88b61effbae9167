-- +goose Up
-- Every extension of a case's regulatory decision limit: the first from 15
-- to 30 days, a second (the last) by up to 30 more, each approved by the
-- caller who granted it, with a reason. The reason is stored masked
-- (pii.MaskFreeText): it is free text staff type and may carry the
-- customer's numbers. Rows are never changed: the table is the audit trail
-- of the approvals.
CREATE TABLE regulatory_extensions (
    tenant_id       text        NOT NULL,
    case_id         uuid        NOT NULL,
    kind            text        NOT NULL,
    -- 1 for the first extension of the deadline, 2 for the second.
    seq             integer     NOT NULL CHECK (seq >= 1),
    days            integer     NOT NULL CHECK (days BETWEEN 1 AND 30),
    approved_by     text        NOT NULL, -- the approver's subject (staff id)
    approver_role   text        NOT NULL,
    reason          text        NOT NULL, -- masked
    old_due_at      timestamptz NOT NULL,
    new_due_at      timestamptz NOT NULL,
    extended_at     timestamptz NOT NULL,
    -- The request's Idempotency-Key, when it had one: a retried request
    -- finds its extension instead of granting another.
    idempotency_key text,
    PRIMARY KEY (case_id, kind, seq),
    FOREIGN KEY (case_id, kind) REFERENCES deadlines (case_id, kind),
    UNIQUE (case_id, idempotency_key)
);
COMMENT ON TABLE regulatory_extensions IS 'append-only: approvals of regulatory limit extensions';

-- +goose StatementBegin
CREATE FUNCTION regulatory_extension_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: an extension is the record of an approval', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER regulatory_extensions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON regulatory_extensions
    FOR EACH STATEMENT EXECUTE FUNCTION regulatory_extension_is_append_only();

-- Due-soon and overdue lists of a bank (GET /v1/deadlines): open deadlines
-- by due time, with the keyset's tie-breakers.
CREATE INDEX deadlines_open_by_tenant_due ON deadlines (tenant_id, due_at, case_id, kind) WHERE met_at IS NULL;

-- +goose Down
DROP INDEX deadlines_open_by_tenant_due;
DROP TABLE regulatory_extensions;
DROP FUNCTION regulatory_extension_is_append_only();
