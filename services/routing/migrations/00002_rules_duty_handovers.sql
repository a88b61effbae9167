-- +goose Up
-- Staff: skills, duty, and when routing last gave them a case (round robin
-- among equally loaded staff).
ALTER TABLE staff
    ADD COLUMN skills           text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN on_duty          boolean     NOT NULL DEFAULT true,
    ADD COLUMN last_assigned_at timestamptz;
CREATE INDEX staff_region ON staff (tenant_id, region_id) WHERE branch_id = '';

-- Branch opening hours: [{"weekdays":[1,2,3,4,5],"opens":"09:00","closes":"12:00"}, ...]
ALTER TABLE branches ADD COLUMN opening_hours jsonb NOT NULL DEFAULT '[]'::jsonb;

-- An assignment's owner is a staff member (owner_id) or a role queue of the
-- case's branch (owner_role, owner_id empty) until one of the role claims it.
ALTER TABLE assignments
    ADD COLUMN owner_role     text    NOT NULL DEFAULT '',
    ADD COLUMN pickup_pending boolean NOT NULL DEFAULT false,
    ADD COLUMN level          text    NOT NULL DEFAULT '',
    ADD COLUMN region_id      text    NOT NULL DEFAULT '',
    ADD COLUMN severity       text    NOT NULL DEFAULT '',
    ADD COLUMN category       text    NOT NULL DEFAULT '',
    -- Who handed the case to its current owner (for :return).
    ADD COLUMN handed_by_id   text    NOT NULL DEFAULT '',
    ADD COLUMN handed_by_role text    NOT NULL DEFAULT '',
    -- The nearest deadlines routing heard of (the queue's order).
    ADD COLUMN answer_due_at  timestamptz,
    ADD COLUMN pickup_due_at  timestamptz,
    ADD CONSTRAINT assignments_one_owner CHECK ((owner_id <> '') <> (owner_role <> ''));
CREATE INDEX assignments_open_owner ON assignments (tenant_id, owner_id) WHERE open;

ALTER TABLE handovers
    ADD COLUMN kind     text NOT NULL DEFAULT 'assign',
    ADD COLUMN actor_id text NOT NULL DEFAULT '',
    ADD COLUMN to_role  text NOT NULL DEFAULT '',
    -- The caller's reason, masked of personal data.
    ADD COLUMN note     text NOT NULL DEFAULT '',
    -- The event that caused it (a breach), so a redelivered event never
    -- escalates twice.
    ADD COLUMN cause    text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX handovers_cause ON handovers (case_id, cause) WHERE cause <> '';

-- A bank's routing rules (JSON list of routing.Rule); none: the defaults.
CREATE TABLE routing_rules (
    tenant_id  text        PRIMARY KEY,
    rules      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text        NOT NULL
);

-- +goose Down
DROP TABLE routing_rules;
DROP INDEX handovers_cause;
ALTER TABLE handovers DROP COLUMN cause, DROP COLUMN note, DROP COLUMN to_role, DROP COLUMN actor_id, DROP COLUMN kind;
DROP INDEX assignments_open_owner;
ALTER TABLE assignments DROP CONSTRAINT assignments_one_owner,
    DROP COLUMN pickup_due_at, DROP COLUMN answer_due_at, DROP COLUMN handed_by_role, DROP COLUMN handed_by_id,
    DROP COLUMN category, DROP COLUMN severity, DROP COLUMN region_id, DROP COLUMN level,
    DROP COLUMN pickup_pending, DROP COLUMN owner_role;
ALTER TABLE branches DROP COLUMN opening_hours;
DROP INDEX staff_region;
ALTER TABLE staff DROP COLUMN last_assigned_at, DROP COLUMN on_duty, DROP COLUMN skills;
