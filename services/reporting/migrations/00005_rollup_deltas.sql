-- +goose Up
-- Rollups move by deltas: each pass of the rollup worker takes the cases
-- that changed, subtracts what the rollups counted of them before (what
-- they counted with, kept in case_rolled) and adds what they count now, at
-- branch, region and bank level at once. rollup_src stages one pass (inside
-- the worker's transaction only; the worker holds an advisory lock, so
-- passes never share it; its rows never outlive the pass, so its bank
-- column is not named tenant_id and row-level security does not apply).
-- Both hold the case_facts columns rollups count with, named alike.
CREATE TABLE case_rolled (
    tenant_id text NOT NULL,
    case_id text NOT NULL,
    branch_id text,
    region_id text,
    received_month date,
    category text,
    channel text,
    severity text,
    customer_tier text,
    status text,
    first_answered_at timestamptz,
    ack_met boolean NOT NULL,
    ack_settled boolean NOT NULL,
    answer_met boolean NOT NULL,
    answer_settled boolean NOT NULL,
    resolve_met boolean NOT NULL,
    resolve_settled boolean NOT NULL,
    warnings integer NOT NULL,
    breaches integer NOT NULL,
    escalations integer NOT NULL,
    handovers integer NOT NULL,
    handling_s double precision,
    handling_bucket smallint,
    settled boolean NOT NULL,
    settled_at_branch boolean NOT NULL,
    repeat boolean NOT NULL,
    satisfaction smallint,
    root_cause text,
    compensation_kind text,
    compensation_tier text,
    compensation_fen bigint NOT NULL,
    received_weekday smallint,
    received_hour smallint,
    deadlines jsonb NOT NULL,
    PRIMARY KEY (tenant_id, case_id)
);
CREATE UNLOGGED TABLE rollup_src (
    bank text NOT NULL,
    case_id text NOT NULL,
    branch_id text,
    region_id text,
    received_month date,
    category text,
    channel text,
    severity text,
    customer_tier text,
    status text,
    first_answered_at timestamptz,
    ack_met boolean NOT NULL,
    ack_settled boolean NOT NULL,
    answer_met boolean NOT NULL,
    answer_settled boolean NOT NULL,
    resolve_met boolean NOT NULL,
    resolve_settled boolean NOT NULL,
    warnings integer NOT NULL,
    breaches integer NOT NULL,
    escalations integer NOT NULL,
    handovers integer NOT NULL,
    handling_s double precision,
    handling_bucket smallint,
    settled boolean NOT NULL,
    settled_at_branch boolean NOT NULL,
    repeat boolean NOT NULL,
    satisfaction smallint,
    root_cause text,
    compensation_kind text,
    compensation_tier text,
    compensation_fen bigint NOT NULL,
    received_weekday smallint,
    received_hour smallint,
    deadlines jsonb NOT NULL,
    sign integer NOT NULL
);

-- Breakdowns over every branch or region of a bank read one metric or
-- dimension of one level across months: without these they walk every
-- metric's rows.
CREATE INDEX rollup_keyed_level_metric ON rollup_keyed (tenant_id, level, metric, month);
CREATE INDEX rollup_month_level_dim ON rollup_month (tenant_id, level, dim, month);

-- +goose Down
DROP INDEX rollup_month_level_dim;
DROP INDEX rollup_keyed_level_metric;
DROP TABLE rollup_src;
DROP TABLE case_rolled;
