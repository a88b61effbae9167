-- +goose Up
-- A bank's own wording of a message: one template on one channel in one
-- language. What a bank keeps none of is sent with the shipped wording.
CREATE TABLE message_templates (
    tenant_id  text        NOT NULL,
    template   text        NOT NULL,
    channel    text        NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    language   text        NOT NULL CHECK (language IN ('zh-CN', 'en')),
    source     text        NOT NULL CHECK (length(source) BETWEEN 1 AND 8000),
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, template, channel, language)
);

-- A bank's standard answers (话术): its own entries, its replacements of
-- shipped ones (same id), and shipped ones it disabled (disabled, no text).
CREATE TABLE standard_answers (
    tenant_id  text        NOT NULL,
    id         text        NOT NULL,
    category   text        NOT NULL,
    language   text        NOT NULL CHECK (language IN ('zh-CN', 'en')),
    title      text        NOT NULL,
    body       text        NOT NULL,
    disabled   boolean     NOT NULL DEFAULT false,
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (disabled OR (length(title) BETWEEN 1 AND 100 AND length(body) BETWEEN 1 AND 4000))
);

-- +goose Down
DROP TABLE standard_answers;
DROP TABLE message_templates;
