-- name: GetSurvey :one
-- A survey is a case_survey delivery of the link's bank and case; with its
-- answer, if it has one.
SELECT d.id, d.tenant_id, d.case_id, a.answered_at
FROM deliveries d LEFT JOIN survey_answers a ON a.survey_id = d.id
WHERE d.tenant_id = $1 AND d.case_id = $2 AND d.id = $3 AND d.template = 'case_survey';

-- name: LockSurvey :one
-- Holds the survey's message row while its answer is recorded, so two
-- answers through one link are taken one after the other.
SELECT d.id FROM deliveries d
WHERE d.tenant_id = $1 AND d.case_id = $2 AND d.id = $3 AND d.template = 'case_survey'
FOR UPDATE;

-- name: InsertAnswer :execrows
-- The survey's one answer: nothing when it has one already.
INSERT INTO survey_answers (survey_id, tenant_id, case_id, answered_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (survey_id) DO NOTHING;
