-- name: UpsertCase :exec
-- What staff alerts name of a case, from CaseCreated (a redelivery writes
-- the same again).
INSERT INTO cases (case_id, tenant_id, case_number, time_zone, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (case_id) DO UPDATE SET case_number = EXCLUDED.case_number, time_zone = EXCLUDED.time_zone
WHERE cases.tenant_id = EXCLUDED.tenant_id;

-- name: GetCase :one
SELECT case_number, time_zone FROM cases WHERE tenant_id = $1 AND case_id = $2;
