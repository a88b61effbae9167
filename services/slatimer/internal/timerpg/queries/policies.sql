-- name: LatestPolicyVersion :one
-- The bank's policy in force: its highest version.
SELECT version, policy, updated_by, updated_at
FROM policy_versions WHERE tenant_id = $1
ORDER BY version DESC LIMIT 1;

-- name: InsertPolicyVersion :one
-- The bank's next version. Two puts at once compute the same number: the
-- later one fails on the primary key and the store tries again.
INSERT INTO policy_versions (tenant_id, version, policy, updated_by, updated_at)
SELECT sqlc.arg(tenant_id)::text, coalesce(max(version), 0) + 1, sqlc.arg(policy)::jsonb,
       sqlc.arg(updated_by)::text, sqlc.arg(updated_at)::timestamptz
FROM policy_versions WHERE tenant_id = sqlc.arg(tenant_id)::text
RETURNING version;

-- name: ListPolicyVersions :many
-- Every version of the bank's policy, newest first.
SELECT version, policy, updated_by, updated_at
FROM policy_versions WHERE tenant_id = $1
ORDER BY version DESC;

-- name: PolicyVersionOf :one
-- One version of the bank's policy (a case keeps the one it was armed with).
SELECT version, policy, updated_by, updated_at
FROM policy_versions WHERE tenant_id = $1 AND version = $2;
