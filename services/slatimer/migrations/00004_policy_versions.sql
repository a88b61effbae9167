-- +goose Up
-- Every SLA policy a bank has set, one row per version, never updated or
-- deleted: the policy in force is the bank's highest version (none: the
-- default policy), and the rows are the audit trail of who changed it when.
-- A deadline records the version it was armed with (deadlines.policy_version).
CREATE TABLE policy_versions (
    tenant_id  text        NOT NULL,
    version    bigint      NOT NULL CHECK (version >= 1),
    -- sla.Policy as JSON
    policy     jsonb       NOT NULL,
    updated_by text        NOT NULL, -- the caller's subject (staff id)
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
COMMENT ON TABLE policy_versions IS 'append-only: every SLA policy version a bank set, who set it and when';

-- +goose StatementBegin
CREATE FUNCTION policy_version_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: a policy is changed by a new version', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER policy_versions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON policy_versions
    FOR EACH STATEMENT EXECUTE FUNCTION policy_version_is_append_only();

-- A bank's policy set before versions becomes its version 1, brought under
-- the rules a policy is now held to for the regulator's limit: a
-- regulatory decision rule on another clock becomes a calendar-days rule of
-- as many whole days as it had (working days count as days, durations as
-- whole 24 h), at least 1 and at most the regulator's 15; a policy without
-- any regulatory decision rule gets the default one (15 calendar days for
-- every complaint). Everything else is kept as it was.
INSERT INTO policy_versions (tenant_id, version, policy, updated_by, updated_at)
SELECT p.tenant_id, 1,
       jsonb_set(p.policy, '{Rules}', rules.converted ||
           CASE WHEN rules.has_regulatory THEN '[]'::jsonb
                ELSE jsonb_build_array(jsonb_build_object(
                    'Kind', 'DEADLINE_KIND_REGULATORY_DECISION', 'Clock', 'CLOCK_CALENDAR_DAYS',
                    'Duration', 0, 'WorkingDays', 0, 'CalendarDays', 15,
                    'Severity', '', 'Category', 'complaint', 'Channel', '', 'CustomerTier', ''))
           END),
       'before policy versions', p.updated_at
FROM policies p
CROSS JOIN LATERAL (
    SELECT coalesce(jsonb_agg(
               CASE WHEN r->>'Kind' = 'DEADLINE_KIND_REGULATORY_DECISION' AND r->>'Clock' IS DISTINCT FROM 'CLOCK_CALENDAR_DAYS'
                    THEN r || jsonb_build_object('Clock', 'CLOCK_CALENDAR_DAYS', 'Duration', 0, 'WorkingDays', 0,
                        'CalendarDays', LEAST(15, GREATEST(1,
                            CASE WHEN r->>'Clock' = 'CLOCK_WORKING_DAYS' THEN coalesce((r->>'WorkingDays')::bigint, 15)
                                 ELSE coalesce((r->>'Duration')::bigint, 0) / 86400000000000 END)))
                    ELSE r END
               ORDER BY e.ord), '[]'::jsonb) AS converted,
           coalesce(bool_or(r->>'Kind' = 'DEADLINE_KIND_REGULATORY_DECISION'), false) AS has_regulatory
    FROM jsonb_array_elements(CASE jsonb_typeof(p.policy->'Rules') WHEN 'array' THEN p.policy->'Rules' ELSE '[]'::jsonb END)
         WITH ORDINALITY AS e(r, ord)
) rules;

DROP TABLE policies;

-- The policy version each deadline was armed with (0: the default policy,
-- or armed before versions). A recount (resume, reopen, calendar change)
-- keeps it; only arming a clock afresh (the next hand-over's pick-up)
-- records the version then in force.
ALTER TABLE deadlines ADD COLUMN policy_version bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deadlines DROP COLUMN policy_version;
CREATE TABLE policies (
    tenant_id  text        PRIMARY KEY,
    policy     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);
INSERT INTO policies (tenant_id, policy, updated_at)
SELECT DISTINCT ON (tenant_id) tenant_id, policy, updated_at FROM policy_versions ORDER BY tenant_id, version DESC;
DROP TABLE policy_versions;
DROP FUNCTION policy_version_is_append_only();
