-- +goose Up
-- A bank's own SLA policy; banks without a row use the default policy.
CREATE TABLE policies (
    tenant_id  text        PRIMARY KEY,
    policy     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Every deadline of every case.
CREATE TABLE deadlines (
    case_id     uuid        NOT NULL,
    kind        text        NOT NULL,
    tenant_id   text        NOT NULL,
    branch_id   text        NOT NULL,
    region_id   text        NOT NULL,
    clock       text        NOT NULL,
    started_at  timestamptz NOT NULL,
    due_at      timestamptz NOT NULL,
    level       text        NOT NULL DEFAULT 'none', -- none, yellow, orange, red, breached
    approximate boolean     NOT NULL DEFAULT false,
    met_at      timestamptz,
    PRIMARY KEY (case_id, kind)
);

-- The moments at which a deadline warns or breaches. The firing loop takes
-- due rows with FOR UPDATE SKIP LOCKED, so replicas share the work and each
-- fires once.
CREATE TABLE timer_fires (
    case_id   uuid        NOT NULL,
    kind      text        NOT NULL,
    level     text        NOT NULL, -- yellow, orange, red, breached
    fire_at   timestamptz NOT NULL,
    fired_at  timestamptz,
    cancelled boolean     NOT NULL DEFAULT false,
    trace     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (case_id, kind, level),
    FOREIGN KEY (case_id, kind) REFERENCES deadlines (case_id, kind)
);
CREATE INDEX timer_fires_due ON timer_fires (fire_at) WHERE fired_at IS NULL AND NOT cancelled;

-- +goose Down
DROP TABLE timer_fires;
DROP TABLE deadlines;
DROP TABLE policies;
