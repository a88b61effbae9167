-- +goose Up
-- The rollups' queue moves out of case_facts: a flag there was an indexed
-- column every event changed, so no update of a case's row could be HOT
-- and each wrote an entry into every index of the table. A case is queued
-- by the event that changed it and taken off by the rollup pass. Room is
-- left in case_facts' pages for its rows' updates to stay HOT.
CREATE TABLE rollup_queue (
    tenant_id text NOT NULL,
    case_id   text NOT NULL,
    PRIMARY KEY (tenant_id, case_id)
);
INSERT INTO rollup_queue SELECT tenant_id, case_id FROM case_facts WHERE rollup_pending;
DROP INDEX case_facts_rollup_pending;
-- Rollups are no longer recounted by branch month.
DROP INDEX case_facts_branch_month;
ALTER TABLE case_facts SET (fillfactor = 80);

-- +goose Down
ALTER TABLE case_facts RESET (fillfactor);
CREATE INDEX case_facts_branch_month ON case_facts (tenant_id, branch_id, received_month) WHERE received_at IS NOT NULL;
CREATE INDEX case_facts_rollup_pending ON case_facts (tenant_id, branch_id, received_month) WHERE rollup_pending;
UPDATE case_facts f SET rollup_pending = true FROM rollup_queue q WHERE q.tenant_id = f.tenant_id AND q.case_id = f.case_id;
DROP TABLE rollup_queue;
