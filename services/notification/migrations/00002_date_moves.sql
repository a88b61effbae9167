-- +goose Up
-- Customers are told when a promised answer date moves (a holiday schedule
-- published, a branch closed), and that a date counted without official
-- holiday data is only expected. A moved date is one message per event, so
-- "once per case, template and channel" becomes "once per dedup_key" within
-- them: '' for the acknowledgment (still once per case), the causing event's
-- id for a moved date. A moved date's id (and so its Message-ID) is a
-- UUIDv5 of that event rather than a UUIDv7, so it is the same on every
-- handling of the event.
ALTER TABLE deliveries
    ADD COLUMN deadline_kind      text        NOT NULL DEFAULT '',   -- '' on rows queued before this column
    ADD COLUMN provisional        boolean     NOT NULL DEFAULT false,
    ADD COLUMN previous_answer_at timestamptz,                       -- case_date_moved only
    ADD COLUMN change_reason      text        NOT NULL DEFAULT '',   -- case_date_moved only
    ADD COLUMN dedup_key          text        NOT NULL DEFAULT '';

ALTER TABLE deliveries DROP CONSTRAINT deliveries_once;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_once UNIQUE (case_id, template, channel, dedup_key);

-- A case's messages go out in the order they were decided: a later one waits
-- while an earlier one on the same channel is pending. This is how the
-- sender finds the earlier ones.
CREATE INDEX deliveries_pending_by_case ON deliveries (case_id, channel, created_at) WHERE status = 'PENDING';

-- +goose Down
-- The old constraint allows one moved-date message per case: the rest go.
DROP INDEX deliveries_pending_by_case;
DELETE FROM deliveries WHERE dedup_key <> '';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_once;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_once UNIQUE (case_id, template, channel);
ALTER TABLE deliveries
    DROP COLUMN dedup_key,
    DROP COLUMN change_reason,
    DROP COLUMN previous_answer_at,
    DROP COLUMN provisional,
    DROP COLUMN deadline_kind;
