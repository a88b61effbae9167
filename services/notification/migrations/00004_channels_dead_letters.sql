-- +goose Up
-- Deliveries over every channel, dead letters and every attempt.
--
-- channel 'customer': a message to the customer on the channel they chose,
-- resolved at each attempt (intake's contact, the bank's webhook); via is
-- the channel the last attempt used and decision why, so the list of a
-- case's notifications says what happened. The once-only rule stays on
-- (case_id, template, channel, dedup_key): resolving never changes channel.
--
-- DEAD_LETTER replaces FAILED: a delivery given up after its last retry (or
-- at once when no retry can help) keeps its reason and waits to be replayed;
-- attempt_base is the attempt count at the last replay, so a replay gets a
-- fresh retry budget while attempts (the claim guard) only grows.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check CHECK (channel IN ('email', 'sms', 'webhook', 'customer'));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
UPDATE deliveries SET status = 'DEAD_LETTER' WHERE status = 'FAILED';
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('PENDING', 'SENT', 'SKIPPED', 'DEAD_LETTER'));
ALTER TABLE deliveries
    ADD COLUMN via          text    NOT NULL DEFAULT '' CHECK (via IN ('', 'email', 'sms', 'webhook')),
    ADD COLUMN decision     text    NOT NULL DEFAULT '',
    ADD COLUMN urgent       boolean NOT NULL DEFAULT false,
    ADD COLUMN late         boolean NOT NULL DEFAULT false,
    ADD COLUMN attempt_base integer NOT NULL DEFAULT 0 CHECK (attempt_base >= 0);
UPDATE deliveries SET via = channel WHERE attempts > 0 AND channel <> 'customer';

-- What GET /v1/notifications?status=DEAD_LETTER reads, newest first.
CREATE INDEX deliveries_by_status ON deliveries (tenant_id, status, updated_at DESC, id);

-- One row per attempt, however it ended: the channel it used, the masked
-- recipient, the outcome and the error (never personal data). Written in
-- the transaction that records the attempt's outcome, so an attempt whose
-- outcome was lost (a crash mid-send) has no row and is made again.
CREATE TABLE delivery_attempts (
    delivery_id uuid        NOT NULL REFERENCES deliveries (id),
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    channel     text        NOT NULL CHECK (channel IN ('', 'email', 'sms', 'webhook')),
    recipient   text        NOT NULL DEFAULT '', -- masked: 138****5678, z***@example.com, the webhook's host
    outcome     text        NOT NULL CHECK (outcome IN ('sent', 'retry', 'dead_letter', 'skipped')),
    error       text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
COMMENT ON TABLE delivery_attempts IS 'append-only: the history of every delivery attempt';

-- +goose Down
DROP TABLE delivery_attempts;
DROP INDEX deliveries_by_status;
ALTER TABLE deliveries
    DROP COLUMN attempt_base,
    DROP COLUMN late,
    DROP COLUMN urgent,
    DROP COLUMN decision,
    DROP COLUMN via;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
UPDATE deliveries SET status = 'FAILED' WHERE status = 'DEAD_LETTER';
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED'));
DELETE FROM deliveries WHERE channel = 'customer';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check CHECK (channel IN ('email', 'sms', 'webhook'));
