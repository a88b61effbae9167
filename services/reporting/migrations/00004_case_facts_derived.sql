-- +goose Up
-- What package report derives from a case's facts when it folds an event,
-- kept beside them so figures and rollups are sums of plain columns:
-- whether each deadline was met and is settled (met or breached), the
-- handling time (receipt to first answer) and its histogram bucket, whether
-- the case was settled at the branch, and the local weekday and hour of its
-- receipt (reporting zone) for the heat map.
ALTER TABLE case_facts
    ADD COLUMN ack_met           boolean NOT NULL DEFAULT false,
    ADD COLUMN ack_settled       boolean NOT NULL DEFAULT false,
    ADD COLUMN answer_met        boolean NOT NULL DEFAULT false,
    ADD COLUMN answer_settled    boolean NOT NULL DEFAULT false,
    ADD COLUMN resolve_met       boolean NOT NULL DEFAULT false,
    ADD COLUMN resolve_settled   boolean NOT NULL DEFAULT false,
    ADD COLUMN handling_s        double precision,
    ADD COLUMN handling_bucket   smallint,
    ADD COLUMN settled           boolean NOT NULL DEFAULT false,
    ADD COLUMN settled_at_branch boolean NOT NULL DEFAULT false,
    ADD COLUMN received_weekday  smallint,
    ADD COLUMN received_hour     smallint;

-- A case's deadlines live with it (one row read and written per event):
-- {kind: {"due": time, "breached": bool, "met": bool, "level": highest
-- warning, "w": {level: warnings}}}.
ALTER TABLE case_facts ADD COLUMN deadlines jsonb NOT NULL DEFAULT '{}'::jsonb;
DROP TABLE case_deadlines;

-- +goose Down
CREATE TABLE case_deadlines (
    tenant_id    text        NOT NULL,
    case_id      text        NOT NULL,
    kind         text        NOT NULL,
    due_at       timestamptz,
    breached     boolean     NOT NULL DEFAULT false,
    warnings     integer     NOT NULL DEFAULT 0,
    warn_level   text,
    PRIMARY KEY (tenant_id, case_id, kind)
);
ALTER TABLE case_facts
    DROP COLUMN ack_met, DROP COLUMN ack_settled, DROP COLUMN answer_met, DROP COLUMN answer_settled,
    DROP COLUMN resolve_met, DROP COLUMN resolve_settled, DROP COLUMN handling_s, DROP COLUMN handling_bucket,
    DROP COLUMN settled, DROP COLUMN settled_at_branch, DROP COLUMN received_weekday, DROP COLUMN received_hour,
    DROP COLUMN deadlines;
