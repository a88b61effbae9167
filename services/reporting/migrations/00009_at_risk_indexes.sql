-- +goose Up
-- The at-risk list of a region or a branch: its open cases by next
-- deadline (only open cases have one, so these stay small).
CREATE INDEX case_facts_region_next_due ON case_facts (tenant_id, region_id, next_due_at, case_id) WHERE next_due_at IS NOT NULL;
CREATE INDEX case_facts_branch_next_due ON case_facts (tenant_id, branch_id, next_due_at, case_id) WHERE next_due_at IS NOT NULL;

-- +goose Down
DROP INDEX case_facts_branch_next_due;
DROP INDEX case_facts_region_next_due;
