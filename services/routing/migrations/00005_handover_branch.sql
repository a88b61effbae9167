-- +goose Up
-- The branch a hand-over took the case from when it moved the case to
-- another branch (intake's moveBranch): '' for hand-overs within a branch.
-- The queues of that branch are cleared of the case after the commit.
ALTER TABLE handovers ADD COLUMN from_branch_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE handovers DROP COLUMN from_branch_id;
