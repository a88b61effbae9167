-- +goose Up
-- One row per message to a customer over one channel: decided when a fact
-- arrives, attempted until it is sent, skipped or failed. No personal data:
-- the address is fetched from intake at each attempt, and only its masked
-- form is kept once a message went out.
CREATE TABLE deliveries (
    id                 uuid        PRIMARY KEY,      -- UUIDv7; also the e-mail's Message-ID
    tenant_id          text        NOT NULL,
    case_id            uuid        NOT NULL,
    channel            text        NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    template           text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED')),
    language           text        NOT NULL DEFAULT '',
    recipient          text        NOT NULL DEFAULT '', -- masked, e.g. z***@example.com
    expected_answer_at timestamptz NOT NULL,
    time_zone          text        NOT NULL,
    attempts           integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at    timestamptz NOT NULL,          -- also the claim lease of a pending row
    last_error         text        NOT NULL DEFAULT '',
    trace_context      jsonb       NOT NULL DEFAULT '{}'::jsonb, -- W3C traceparent/tracestate
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    sent_at            timestamptz,
    -- A fact announced twice (a re-armed case, a replayed event) sends once.
    CONSTRAINT deliveries_once UNIQUE (case_id, template, channel),
    CONSTRAINT deliveries_sent_at CHECK ((status = 'SENT') = (sent_at IS NOT NULL))
);

-- What the sender looks for: pending rows by due time.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'PENDING';
-- What ListCaseNotifications reads.
CREATE INDEX deliveries_by_case ON deliveries (tenant_id, case_id, created_at);

-- +goose Down
DROP TABLE deliveries;
