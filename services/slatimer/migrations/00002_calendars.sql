-- +goose Up
-- Calendar changes. Every national year loaded and every branch closure is a
-- new row with a version from one sequence, never updated or deleted: the
-- rows are the version history and the audit trail (who, when, source). The
-- calendar in force is the shipped data overlaid with every row in version
-- order (a later load of a year replaces an earlier one).
CREATE SEQUENCE calendar_versions;

CREATE TABLE calendar_years (
    version     bigint      PRIMARY KEY,
    calendar_id text        NOT NULL,
    year        integer     NOT NULL,
    -- [{"name","from","to"}], dates YYYY-MM-DD
    holidays    jsonb       NOT NULL,
    -- ["YYYY-MM-DD"]
    workdays    jsonb       NOT NULL,
    source      text        NOT NULL,
    loaded_by   text        NOT NULL,
    loaded_at   timestamptz NOT NULL
);
CREATE INDEX calendar_years_by_year ON calendar_years (calendar_id, year, version DESC);

CREATE TABLE branch_closures (
    version    bigint      PRIMARY KEY,
    tenant_id  text        NOT NULL,
    branch_id  text        NOT NULL,
    from_date  date        NOT NULL,
    to_date    date        NOT NULL,
    reason     text        NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL,
    CHECK (from_date <= to_date)
);
CREATE INDEX branch_closures_by_branch ON branch_closures (tenant_id, branch_id, version DESC);

-- +goose StatementBegin
CREATE FUNCTION calendar_change_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: a calendar change is corrected by a new version', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER calendar_years_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON calendar_years
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_change_is_append_only();
CREATE TRIGGER branch_closures_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON branch_closures
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_change_is_append_only();

-- "approximate" becomes "provisional", the word the API, events and mails use.
ALTER TABLE deadlines RENAME COLUMN approximate TO provisional;
-- What the deadline was counted from, so that a calendar change can count it
-- again without the (possibly since edited) policy: the rule's clock and
-- limit, the bank's work hours and warning fractions, the branch's zone and
-- calendar. NULL for deadlines armed before this migration: they are never
-- recomputed.
ALTER TABLE deadlines ADD COLUMN basis jsonb;
-- The calendar version the due time was counted on.
ALTER TABLE deadlines ADD COLUMN calendar_version bigint NOT NULL DEFAULT 0;
CREATE INDEX deadlines_open_by_branch ON deadlines (tenant_id, branch_id, due_at) WHERE met_at IS NULL;
CREATE INDEX deadlines_open_by_due ON deadlines (due_at) WHERE met_at IS NULL;

-- +goose Down
DROP INDEX deadlines_open_by_due;
DROP INDEX deadlines_open_by_branch;
ALTER TABLE deadlines DROP COLUMN calendar_version;
ALTER TABLE deadlines DROP COLUMN basis;
ALTER TABLE deadlines RENAME COLUMN provisional TO approximate;
DROP TABLE branch_closures;
DROP TABLE calendar_years;
DROP FUNCTION calendar_change_is_append_only();
DROP SEQUENCE calendar_versions;
