-- +goose Up
-- A bank's rules for its cases, set by its head office: the compensation
-- that needs a branch head or above, how far back occurredAt may be.
CREATE TABLE case_settings (
    tenant_id                 text        PRIMARY KEY,
    compensation_approval_fen bigint      NOT NULL,
    occurred_horizon_days     integer     NOT NULL,
    updated_by                text        NOT NULL,
    updated_at                timestamptz NOT NULL
);

-- +goose Down
DROP TABLE case_settings;
