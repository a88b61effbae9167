-- +goose Up
-- The read model reports count from, built only from other services' events
-- (package report folds them; reportpg stores them). It replaces cases_rm.
--
-- case_facts: one row per case with every dimension and lifecycle time.
-- Events of one case arrive in order within a topic but not across topics,
-- so a row may be created by any of them: until the case's creation is
-- applied received_at is NULL and the row is left out of every figure.
-- Dimension values are proto enum names (e.g. CATEGORY_SERVICE_ATTITUDE).
-- The only customer data kept is masked (name, phone) as intake masks it
-- for callers without need-to-know.
--
-- For the regulatory statistics: decided = answered_at (the first answer is
-- first_answered_at), extended = the regulatory limit was extended once,
-- under_review = a review (核查) is open now, withdrawn_at set = withdrawn.
CREATE TABLE case_facts (
    tenant_id             text        NOT NULL,
    case_id               text        NOT NULL,
    case_number           text,
    region_id             text,
    branch_id             text,
    channel               text,
    category              text,
    severity              text,       -- complexity
    customer_tier         text,
    status                text,       -- current lifecycle status
    status_at             timestamptz,
    time_zone             text,
    customer_name_masked  text,
    customer_phone_masked text,
    repeat                boolean     NOT NULL DEFAULT false,
    received_at           timestamptz,          -- NULL until CaseCreated is applied
    created_at            timestamptz,
    received_month        date,                 -- month of received_at in the reporting zone
    -- Lifecycle times (earliest / latest as named).
    acknowledged_at       timestamptz,
    first_answered_at     timestamptz,
    answered_at           timestamptz,          -- latest answer
    closed_at             timestamptz,          -- latest close
    withdrawn_at          timestamptz,
    reopened              integer     NOT NULL DEFAULT 0,
    under_review          boolean     NOT NULL DEFAULT false,
    review_requested_at   timestamptz,
    return_visit_at       timestamptz,
    satisfaction          smallint,             -- 1..5, NULL: no return visit reached the customer
    root_cause            text,
    compensation_kind     text,
    compensation_tier     text,
    compensation_fen      bigint      NOT NULL DEFAULT 0,
    -- Ownership.
    owner_id              text,
    owner_level           text,
    first_assigned_at     timestamptz,
    last_assigned_at      timestamptz,
    assignments           integer     NOT NULL DEFAULT 0,
    handovers             integer     NOT NULL DEFAULT 0, -- transfers, escalations, reroutes, returns
    escalations           integer     NOT NULL DEFAULT 0,
    left_branch           boolean     NOT NULL DEFAULT false, -- reached regional, head office or a department
    -- Deadlines (latest due time) and whether each was breached.
    ack_due_at            timestamptz,
    ack_breached          boolean     NOT NULL DEFAULT false,
    answer_due_at         timestamptz,
    answer_breached       boolean     NOT NULL DEFAULT false,
    resolve_due_at        timestamptz,
    resolve_breached      boolean     NOT NULL DEFAULT false,
    regulatory_due_at     timestamptz,
    regulatory_breached   boolean     NOT NULL DEFAULT false,
    extended              boolean     NOT NULL DEFAULT false,
    next_due_at           timestamptz,          -- earliest deadline still open (open cases only)
    next_due_kind         text,
    warnings              integer     NOT NULL DEFAULT 0,
    breaches              integer     NOT NULL DEFAULT 0,
    -- Rollup bookkeeping: the row changed since the rollups last counted it,
    -- and under which branch and month they did (to take it out of there).
    rollup_pending        boolean     NOT NULL DEFAULT true,
    rolled_branch         text,
    rolled_region         text,
    rolled_month          date,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, case_id),
    CHECK (received_at IS NULL OR branch_id IS NOT NULL),
    CHECK (satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5),
    CHECK (warnings >= 0 AND breaches >= 0 AND handovers >= 0 AND escalations >= 0)
);

-- Case lists and fallbacks filter by tenant, then region or branch, then time.
CREATE INDEX case_facts_tenant_received ON case_facts (tenant_id, received_at DESC, case_id) WHERE received_at IS NOT NULL;
CREATE INDEX case_facts_region_received ON case_facts (tenant_id, region_id, received_at DESC, case_id) WHERE received_at IS NOT NULL;
CREATE INDEX case_facts_branch_received ON case_facts (tenant_id, branch_id, received_at DESC, case_id) WHERE received_at IS NOT NULL;
-- Rollup recomputation reads one branch's month.
CREATE INDEX case_facts_branch_month ON case_facts (tenant_id, branch_id, received_month) WHERE received_at IS NOT NULL;
-- The at-risk list: open cases by their next deadline.
CREATE INDEX case_facts_next_due ON case_facts (tenant_id, next_due_at, case_id) WHERE next_due_at IS NOT NULL;
-- The rollup worker's queue.
CREATE INDEX case_facts_rollup_pending ON case_facts (tenant_id, branch_id, received_month) WHERE rollup_pending;

-- Every deadline of a case: kind, latest due time, breach, warnings.
CREATE TABLE case_deadlines (
    tenant_id    text        NOT NULL,
    case_id      text        NOT NULL,
    kind         text        NOT NULL,
    due_at       timestamptz,
    breached     boolean     NOT NULL DEFAULT false,
    warnings     integer     NOT NULL DEFAULT 0,
    warn_level   text,        -- highest reached: yellow, orange, red
    PRIMARY KEY (tenant_id, case_id, kind)
);

-- What reporting recorded about a case, one line per event, for the case
-- history of a drill-down. No personal data (events carry none).
CREATE TABLE case_history (
    tenant_id  text        NOT NULL,
    case_id    text        NOT NULL,
    event_id   text        NOT NULL,
    at         timestamptz NOT NULL,
    type       text        NOT NULL,
    producer   text        NOT NULL DEFAULT '',
    actor_id   text        NOT NULL DEFAULT '',
    summary    text        NOT NULL,
    PRIMARY KEY (tenant_id, case_id, at, event_id)
);

-- Monthly rollups of case_facts, recomputed from it for every branch and
-- month with pending rows (reportpg.RefreshRollups), so they always equal
-- what case_facts says. level: 'B' one branch (scope_id = branch), 'R' one
-- region (scope_id = region), 'T' the whole bank (scope_id = ''). dim/val:
-- '' '' for all cases, else one dimension (category, channel, severity,
-- customer_tier) and its value. Measures count cases received in the month.
CREATE TABLE rollup_month (
    tenant_id         text    NOT NULL,
    level             char(1) NOT NULL,
    scope_id          text    NOT NULL,
    region_id         text    NOT NULL,
    month             date    NOT NULL,
    dim               text    NOT NULL,
    val               text    NOT NULL,
    received          bigint  NOT NULL,
    answered          bigint  NOT NULL,
    closed            bigint  NOT NULL,
    open              bigint  NOT NULL,
    withdrawn         bigint  NOT NULL,
    ack_met           bigint  NOT NULL,
    ack_settled       bigint  NOT NULL,
    answer_met        bigint  NOT NULL,
    answer_settled    bigint  NOT NULL,
    resolve_met       bigint  NOT NULL,
    resolve_settled   bigint  NOT NULL,
    warnings          bigint  NOT NULL,
    breaches          bigint  NOT NULL,
    escalations       bigint  NOT NULL,
    handovers         bigint  NOT NULL,
    handling_n        bigint  NOT NULL,
    handling_sum_s    double precision NOT NULL,
    settled           bigint  NOT NULL,  -- answered or closed
    settled_at_branch bigint  NOT NULL,
    repeats           bigint  NOT NULL,
    sat_n             bigint  NOT NULL,
    sat_sum           bigint  NOT NULL,
    sat_1             bigint  NOT NULL,
    sat_2             bigint  NOT NULL,
    sat_3             bigint  NOT NULL,
    sat_4             bigint  NOT NULL,
    sat_5             bigint  NOT NULL,
    compensated       bigint  NOT NULL,
    compensation_fen  bigint  NOT NULL,
    PRIMARY KEY (tenant_id, level, scope_id, dim, val, month)
);
-- A region's branches, for breakdowns by branch within a region.
CREATE INDEX rollup_month_region ON rollup_month (tenant_id, level, region_id, dim, month);

-- Keyed monthly counts beside rollup_month (all cases of the scope only):
-- metric 'hist' key = handling-time bucket (log 1.1 of seconds), 'cause' key
-- = root cause, 'comp' key = tier|kind (amount in amount), 'heat' key =
-- weekday|hour (ISO weekday, local hour), 'deadline' key = kind|state (state
-- armed, met, breached), 'warn' key = kind|level.
CREATE TABLE rollup_keyed (
    tenant_id  text    NOT NULL,
    level      char(1) NOT NULL,
    scope_id   text    NOT NULL,
    region_id  text    NOT NULL,
    month      date    NOT NULL,
    metric     text    NOT NULL,
    key        text    NOT NULL,
    n          bigint  NOT NULL,
    amount     bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, level, scope_id, metric, month, key)
);
CREATE INDEX rollup_keyed_region ON rollup_keyed (tenant_id, level, region_id, metric, month);

INSERT INTO case_facts (tenant_id, case_id, case_number, region_id, branch_id, channel, category, severity,
                        customer_tier, status, status_at, received_at, created_at, received_month,
                        owner_id, first_assigned_at, last_assigned_at, acknowledged_at, breaches, updated_at)
SELECT tenant_id, case_id, case_number, region_id, branch_id, channel, category, severity,
       customer_tier, status, status_at, created_at, created_at,
       date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date,
       owner_id, first_assigned_at, last_assigned_at, acknowledged_at, breaches, updated_at
FROM cases_rm;
DROP TABLE cases_rm;

-- +goose Down
CREATE TABLE cases_rm (
    tenant_id         text        NOT NULL,
    case_id           text        NOT NULL,
    case_number       text,
    branch_id         text,
    region_id         text,
    channel           text,
    category          text,
    severity          text,
    customer_tier     text,
    status            text,
    created_at        timestamptz,
    owner_id          text,
    first_assigned_at timestamptz,
    last_assigned_at  timestamptz,
    acknowledged_at   timestamptz,
    breaches          integer     NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL,
    status_at         timestamptz,
    PRIMARY KEY (tenant_id, case_id)
);
DROP TABLE rollup_keyed;
DROP TABLE rollup_month;
DROP TABLE case_history;
DROP TABLE case_deadlines;
DROP TABLE case_facts;
