-- +goose Up
-- A bank's notification rules: which messages it sends, on which channels.
-- One document per bank (a template without a rule is sent on any channel).
CREATE TABLE notification_rules (
    tenant_id  text        PRIMARY KEY,
    rules      jsonb       NOT NULL,
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Staff a routing rule names are told of a case they do not own.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_audience_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_audience_check CHECK (audience IN ('', 'owner', 'above', 'notify'));

-- +goose Down
DELETE FROM deliveries WHERE audience = 'notify';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_audience_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_audience_check CHECK (audience IN ('', 'owner', 'above'));
DROP TABLE notification_rules;
