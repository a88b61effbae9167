-- name: GetMessageTemplate :one
SELECT tenant_id, template, channel, language, source, updated_by, updated_at
FROM message_templates
WHERE tenant_id = $1 AND template = $2 AND channel = $3 AND language = $4;

-- name: ListMessageTemplates :many
SELECT tenant_id, template, channel, language, source, updated_by, updated_at
FROM message_templates
WHERE tenant_id = $1
ORDER BY template, channel, language;

-- name: PutMessageTemplate :exec
INSERT INTO message_templates (tenant_id, template, channel, language, source, updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant_id, template, channel, language)
DO UPDATE SET source = EXCLUDED.source, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at;

-- name: DeleteMessageTemplate :execrows
DELETE FROM message_templates
WHERE tenant_id = $1 AND template = $2 AND channel = $3 AND language = $4;

-- name: ListStandardAnswers :many
SELECT tenant_id, id, category, language, title, body, disabled, updated_by, updated_at
FROM standard_answers
WHERE tenant_id = $1
ORDER BY id;

-- name: PutStandardAnswer :exec
INSERT INTO standard_answers (tenant_id, id, category, language, title, body, disabled, updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (tenant_id, id)
DO UPDATE SET category = EXCLUDED.category, language = EXCLUDED.language, title = EXCLUDED.title,
    body = EXCLUDED.body, disabled = EXCLUDED.disabled, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at;

-- name: DeleteStandardAnswer :execrows
DELETE FROM standard_answers WHERE tenant_id = $1 AND id = $2;

-- name: GetNotificationRules :one
SELECT rules, updated_by, updated_at FROM notification_rules WHERE tenant_id = $1;

-- name: PutNotificationRules :exec
INSERT INTO notification_rules (tenant_id, rules, updated_by, updated_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id) DO UPDATE SET rules = EXCLUDED.rules, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at;
