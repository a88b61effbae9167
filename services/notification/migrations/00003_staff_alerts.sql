-- +goose Up
-- Staff alerts: a deadline's warnings told to the case's owners, its breach
-- to the owners and the level above, by work e-mail. One delivery per event,
-- recipient and channel: dedup_key is the event id and the staff id, and the
-- delivery id a UUIDv5 of them. A staff alert holds no customer data; it
-- keeps whom it is for (staff id, work address and name as routing gave
-- them when the alert was decided), why (audience, warning level) and the
-- case number it names.
ALTER TABLE deliveries
    ADD COLUMN staff_id    text NOT NULL DEFAULT '',  -- '': a message to the customer
    ADD COLUMN staff_email text NOT NULL DEFAULT '',  -- '': the staff member has none (skipped)
    ADD COLUMN staff_name  text NOT NULL DEFAULT '',
    ADD COLUMN audience    text NOT NULL DEFAULT '' CHECK (audience IN ('', 'owner', 'above')),
    ADD COLUMN alert_level text NOT NULL DEFAULT '',  -- yellow, orange, red; '' for a breach
    ADD COLUMN case_number text NOT NULL DEFAULT '';

-- A message waits only for earlier ones to the same recipient: an urgent
-- staff alert never waits behind a customer's message being retried, and a
-- customer's messages still go out in order.
DROP INDEX deliveries_pending_by_case;
CREATE INDEX deliveries_pending_by_case ON deliveries (case_id, channel, staff_id, created_at) WHERE status = 'PENDING';

-- What notification keeps of a case for staff alerts, from CaseCreated: its
-- number and its branch's zone (deadline events carry neither). No
-- customer data.
CREATE TABLE cases (
    case_id     uuid        PRIMARY KEY,
    tenant_id   text        NOT NULL,
    case_number text        NOT NULL,
    time_zone   text        NOT NULL,
    created_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE cases;
DROP INDEX deliveries_pending_by_case;
CREATE INDEX deliveries_pending_by_case ON deliveries (case_id, channel, created_at) WHERE status = 'PENDING';
DELETE FROM deliveries WHERE staff_id <> '';
ALTER TABLE deliveries
    DROP COLUMN case_number,
    DROP COLUMN alert_level,
    DROP COLUMN audience,
    DROP COLUMN staff_name,
    DROP COLUMN staff_email,
    DROP COLUMN staff_id;
