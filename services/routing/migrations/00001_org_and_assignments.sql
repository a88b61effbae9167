-- +goose Up
CREATE TABLE regions (
    tenant_id text NOT NULL,
    id        text NOT NULL,
    name      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE branches (
    tenant_id   text NOT NULL,
    id          text NOT NULL,
    region_id   text NOT NULL,
    name        text NOT NULL,
    time_zone   text NOT NULL,
    calendar_id text NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, region_id) REFERENCES regions (tenant_id, id)
);

CREATE TABLE staff (
    tenant_id       text    NOT NULL,
    id              text    NOT NULL,
    display_name    text    NOT NULL,
    role            text    NOT NULL,
    branch_id       text    NOT NULL DEFAULT '',
    region_id       text    NOT NULL DEFAULT '',
    authority_level integer NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX staff_branch ON staff (tenant_id, branch_id);

-- Who owns each case now. Exactly one row per case: the primary key is the
-- invariant "exactly one owner".
CREATE TABLE assignments (
    case_id            uuid        PRIMARY KEY,
    tenant_id          text        NOT NULL,
    branch_id          text        NOT NULL,
    owner_id           text        NOT NULL,
    first_responder_id text        NOT NULL,
    open               boolean     NOT NULL DEFAULT true,
    enqueued_at        timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX assignments_open_branch ON assignments (tenant_id, branch_id) WHERE open;

-- Every change of owner, the first assignment included, and why.
CREATE TABLE handovers (
    case_id       uuid        NOT NULL REFERENCES assignments (case_id),
    seq           integer     NOT NULL,
    from_staff_id text        NOT NULL,
    to_staff_id   text        NOT NULL,
    reason        text        NOT NULL,
    at            timestamptz NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- +goose Down
DROP TABLE handovers;
DROP TABLE assignments;
DROP TABLE staff;
DROP TABLE branches;
DROP TABLE regions;
