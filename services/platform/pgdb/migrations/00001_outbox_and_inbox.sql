-- +goose Up
-- Events waiting to be published (transactional outbox). A row is written in
-- the same transaction as the change it announces; the relay deletes it once
-- the broker acknowledged it.
CREATE TABLE outbox (
    id          uuid PRIMARY KEY,           -- the event id (UUIDv7, so ordered by creation)
    topic       text        NOT NULL,
    msg_key     text        NOT NULL,       -- the case id: one case's events stay in order
    payload     bytea       NOT NULL,       -- protobuf events.v1.Envelope
    headers     jsonb       NOT NULL DEFAULT '{}'::jsonb, -- trace context
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Events this service has already handled, written in the same transaction
-- as their effect, so a redelivered event changes nothing twice.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- +goose Down
DROP TABLE processed_events;
DROP TABLE outbox;
