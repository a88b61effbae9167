-- name: UpsertRegion :exec
INSERT INTO regions (tenant_id, id, name) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name;

-- name: UpsertBranch :exec
INSERT INTO branches (tenant_id, id, region_id, name, time_zone, calendar_id, opening_hours)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant_id, id) DO UPDATE SET region_id = EXCLUDED.region_id, name = EXCLUDED.name,
    time_zone = EXCLUDED.time_zone, calendar_id = EXCLUDED.calendar_id, opening_hours = EXCLUDED.opening_hours;

-- name: UpsertStaff :exec
INSERT INTO staff (tenant_id, id, display_name, role, branch_id, region_id, authority_level, skills, on_duty, email, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = EXCLUDED.display_name, role = EXCLUDED.role,
    branch_id = EXCLUDED.branch_id, region_id = EXCLUDED.region_id, authority_level = EXCLUDED.authority_level,
    skills = EXCLUDED.skills, on_duty = EXCLUDED.on_duty, email = EXCLUDED.email, active = true;

-- name: GetBranch :one
SELECT id, region_id, name, time_zone, calendar_id, opening_hours FROM branches WHERE tenant_id = $1 AND id = $2;

-- name: PoolStaff :many
-- The branch's staff, its region's and the bank's staff with no branch,
-- with their open loads.
SELECT s.id, s.display_name, s.role, s.branch_id, s.region_id, s.authority_level, s.skills, s.active, s.on_duty,
       s.last_assigned_at, s.open_cases, s.email
FROM staff s
WHERE s.tenant_id = @tenant_id AND (s.branch_id = @branch_id OR (s.branch_id = '' AND (s.region_id = @region_id OR s.region_id = '')))
ORDER BY s.id;

-- name: GetStaff :one
SELECT id, display_name, role, branch_id, region_id, authority_level, skills, active, on_duty, open_cases, email
FROM staff s WHERE s.tenant_id = $1 AND s.id = $2;

-- name: SetStaffDuty :exec
UPDATE staff SET on_duty = $3 WHERE tenant_id = $1 AND id = $2;

-- name: DeactivateStaff :exec
UPDATE staff SET active = false, on_duty = false WHERE tenant_id = $1 AND id = $2;

-- name: TouchStaff :exec
UPDATE staff SET last_assigned_at = greatest(coalesce(last_assigned_at, $3), $3) WHERE tenant_id = $1 AND id = $2;

-- name: GetRules :one
SELECT rules FROM routing_rules WHERE tenant_id = $1;

-- name: PutRules :exec
INSERT INTO routing_rules (tenant_id, rules, updated_at, updated_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id) DO UPDATE SET rules = EXCLUDED.rules, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by;
