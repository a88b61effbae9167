-- +goose Up
-- The lifecycle: where a case stands beyond its status, and what was done.
ALTER TABLE cases
    ADD COLUMN resume_status text NOT NULL DEFAULT '',
    ADD COLUMN answered_at   timestamptz,
    ADD COLUMN answered_by   text NOT NULL DEFAULT '',
    ADD COLUMN answered_rank integer NOT NULL DEFAULT 0,
    ADD COLUMN reopens       integer NOT NULL DEFAULT 0,
    ADD COLUMN root_cause    text NOT NULL DEFAULT '',
    ADD COLUMN satisfaction  integer NOT NULL DEFAULT 0,
    -- Verification, answer and return visit: AES-256-GCM sealed JSON bound
    -- to (tenant, id), like the customer; their text is what customers say.
    ADD COLUMN work_sealed   bytea;

-- The case's history: registration, every step, note and hand-over, in
-- order. Text (reasons, notes, answers) is sealed.
CREATE TABLE case_history (
    case_id     uuid        NOT NULL REFERENCES cases (id),
    seq         integer     NOT NULL,
    tenant_id   text        NOT NULL,
    at          timestamptz NOT NULL,
    kind        text        NOT NULL,
    action      text        NOT NULL DEFAULT '',
    actor       text        NOT NULL DEFAULT '',
    from_status text        NOT NULL DEFAULT '',
    to_status   text        NOT NULL DEFAULT '',
    owner_id    text        NOT NULL DEFAULT '',
    text_sealed bytea,
    PRIMARY KEY (case_id, seq)
);

CREATE INDEX cases_tenant_status ON cases (tenant_id, status, created_at DESC, id DESC);

-- +goose Down
DROP INDEX cases_tenant_status;
DROP TABLE case_history;
ALTER TABLE cases DROP COLUMN resume_status, DROP COLUMN answered_at, DROP COLUMN answered_by,
    DROP COLUMN answered_rank, DROP COLUMN reopens, DROP COLUMN root_cause, DROP COLUMN satisfaction,
    DROP COLUMN work_sealed;
