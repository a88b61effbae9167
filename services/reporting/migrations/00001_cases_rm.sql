-- +goose Up
-- One row per case, folded from case, assignment, SLA and notification events.
-- Events of one case arrive in order within a topic but not across topics, so
-- a row may be created by any of them: until the case's creation is applied
-- the creation columns are NULL and the row is left out of every count.
-- Dimension values are proto enum names (e.g. CATEGORY_SERVICE_ATTITUDE).
-- No customer personal data is kept here.
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
    created_at        timestamptz,            -- NULL until CaseCreated is applied
    owner_id          text,                   -- owner named by the latest assignment
    first_assigned_at timestamptz,
    last_assigned_at  timestamptz,
    acknowledged_at   timestamptz,            -- first acknowledgment to the customer
    breaches          integer     NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL,   -- when reporting last applied an event
    PRIMARY KEY (tenant_id, case_id),
    CHECK (breaches >= 0),
    CHECK (created_at IS NULL OR branch_id IS NOT NULL)
);

-- Summaries filter by tenant, then region or branch, then creation time.
CREATE INDEX cases_rm_tenant_created ON cases_rm (tenant_id, created_at) WHERE created_at IS NOT NULL;
CREATE INDEX cases_rm_region_created ON cases_rm (tenant_id, region_id, created_at) WHERE created_at IS NOT NULL;
CREATE INDEX cases_rm_branch_created ON cases_rm (tenant_id, branch_id, created_at) WHERE created_at IS NOT NULL;

-- +goose Down
DROP TABLE cases_rm;
