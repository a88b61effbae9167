-- +goose Up
-- Rectification notices (整改通知单): reporting's own records, not a read
-- model. A notice goes to a branch (with its region, as the linked cases
-- place it) or to a head-office department, never both. Statuses are the
-- domain's names (package rectify).
CREATE TABLE rectification_notices (
    tenant_id       text        NOT NULL,
    notice_id       uuid        NOT NULL,
    branch_id       text,
    region_id       text,
    department      text,
    fault           text        NOT NULL,
    due_date        date        NOT NULL,               -- Asia/Shanghai
    due_at          timestamptz NOT NULL,               -- 24:00 local of due_date
    status          text        NOT NULL,
    issued_by       text        NOT NULL,
    issuer_role     text        NOT NULL,
    issued_at       timestamptz NOT NULL,
    measures        text,
    measures_by     text,
    measures_at     timestamptz,
    closed_by       text,
    closed_at       timestamptz,
    closing_comment text,
    PRIMARY KEY (tenant_id, notice_id),
    CHECK (status IN ('ISSUED', 'MEASURES_RECORDED', 'CLOSED')),
    CHECK ((branch_id IS NULL) <> (department IS NULL)),
    CHECK (branch_id IS NULL OR region_id IS NOT NULL),
    CHECK (status = 'ISSUED' OR measures_at IS NOT NULL),
    CHECK (status <> 'CLOSED' OR closed_at IS NOT NULL)
);

-- Lists filter by bank, then branch or region, earliest due first.
CREATE INDEX rectification_notices_due ON rectification_notices (tenant_id, due_at, notice_id);
CREATE INDEX rectification_notices_branch ON rectification_notices (tenant_id, branch_id, due_at);
CREATE INDEX rectification_notices_region ON rectification_notices (tenant_id, region_id, due_at);
-- The reminder loop looks across banks at notices not closed, by due time.
CREATE INDEX rectification_notices_open_due ON rectification_notices (due_at) WHERE status <> 'CLOSED';

-- The cases a notice was issued for.
CREATE TABLE rectification_notice_cases (
    tenant_id text NOT NULL,
    notice_id uuid NOT NULL,
    case_id   text NOT NULL,
    PRIMARY KEY (tenant_id, notice_id, case_id),
    FOREIGN KEY (tenant_id, notice_id) REFERENCES rectification_notices (tenant_id, notice_id)
);

-- Every change of a notice: who, when, from which status to which.
CREATE TABLE rectification_notice_history (
    tenant_id   text        NOT NULL,
    notice_id   uuid        NOT NULL,
    seq         integer     NOT NULL,
    action      text        NOT NULL,
    actor_id    text        NOT NULL,
    actor_role  text        NOT NULL,
    at          timestamptz NOT NULL,
    from_status text,                                   -- NULL on issue
    to_status   text        NOT NULL,
    PRIMARY KEY (tenant_id, notice_id, seq),
    FOREIGN KEY (tenant_id, notice_id) REFERENCES rectification_notices (tenant_id, notice_id),
    CHECK (seq >= 1)
);
COMMENT ON TABLE rectification_notice_history IS 'append-only: the audit of every change of a rectification notice';

-- Reminders sent: one row per notice and kind ("due_soon", "overdue"),
-- written in the transaction that puts the reminder event in the outbox,
-- so each is published once whatever restarts or replicas.
CREATE TABLE rectification_reminders (
    tenant_id text        NOT NULL,
    notice_id uuid        NOT NULL,
    kind      text        NOT NULL,
    sent_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, notice_id, kind),
    FOREIGN KEY (tenant_id, notice_id) REFERENCES rectification_notices (tenant_id, notice_id),
    CHECK (kind IN ('due_soon', 'overdue'))
);
COMMENT ON TABLE rectification_reminders IS 'append-only: reminders published, once per notice and kind';

-- +goose Down
DROP TABLE rectification_reminders;
DROP TABLE rectification_notice_history;
DROP TABLE rectification_notice_cases;
DROP TABLE rectification_notices;
