-- +goose Up
-- The audit chain becomes a keyed MAC chain (HMAC-SHA256 under AUDIT_MAC_KEYS,
-- which never enters the database), with anchors that catch a trail cut short.
-- Rows written before this migration keep their unkeyed SHA-256 hash and no
-- key id: they are verified by the old rule, never re-sealed.

-- The column is named after what it holds, like every other table's.
ALTER TABLE case_audit RENAME COLUMN at TO created_at;

-- hash now holds the row's MAC under key mac_key_id (for legacy rows, NULL
-- here, the unkeyed hash), prev_hash the previous row's.
ALTER TABLE case_audit ADD COLUMN mac_key_id text;

-- Every new row must name its key. NOT VALID exempts the legacy rows, yet is
-- enforced on every insert and update from now on, so no one without the
-- table's ownership can pass rows off as legacy (whose hash needs no key).
ALTER TABLE case_audit ADD CONSTRAINT case_audit_keyed CHECK (mac_key_id IS NOT NULL AND mac_key_id <> '') NOT VALID;

-- +goose StatementBegin
CREATE FUNCTION refuse_change_to_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- Chain heads vouched for at a point in time: a chain shorter than its anchor
-- has lost records. Append-only, and meant to belong to another role than the
-- one the service writes case_audit with (casespg.AppendOnlyTables). No
-- foreign key to cases: an anchor must outlive whatever is done to the rows
-- it vouches for.
CREATE TABLE audit_anchors (
    id          bigserial   PRIMARY KEY,
    tenant_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    seq         integer     NOT NULL CHECK (seq > 0),
    mac         bytea       NOT NULL,
    -- NULL only for the legacy heads anchored below.
    mac_key_id  text,
    anchored_at timestamptz NOT NULL
);
CREATE INDEX audit_anchors_case ON audit_anchors (case_id, id);
CREATE INDEX audit_anchors_tenant ON audit_anchors (tenant_id, id);

CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only();

-- Anchor every legacy head now. Besides protecting the legacy tail, this
-- fixes for good how far each case's legacy rows go: the verifier accepts a
-- legacy row only up to its case's legacy anchor, and the constraint below
-- keeps anyone from adding one later.
INSERT INTO audit_anchors (tenant_id, case_id, seq, mac, mac_key_id, anchored_at)
SELECT DISTINCT ON (case_id) tenant_id, case_id, seq, hash, NULL, now()
FROM case_audit
ORDER BY case_id, seq DESC;

ALTER TABLE audit_anchors ADD CONSTRAINT audit_anchors_keyed CHECK (mac_key_id IS NOT NULL AND mac_key_id <> '') NOT VALID;

-- The platform's security step (pgdb.Secure) leaves the app role only SELECT
-- and INSERT on tables whose comment starts "append-only"; the same list is
-- casespg.AppendOnlyTables.
COMMENT ON TABLE case_audit IS 'append-only: the audit trail of every case, a MAC chain (see casespg.AppendOnlyTables)';
COMMENT ON TABLE audit_anchors IS 'append-only: anchored audit chain heads (see casespg.AppendOnlyTables)';

-- Cases whose chain grew since it was last anchored: a work queue the anchor
-- worker empties, written in the same transaction as the audit row. Not
-- evidence (deleting from it only delays anchoring), so it may be changed.
CREATE TABLE audit_anchor_pending (
    case_id   uuid    PRIMARY KEY,
    tenant_id text    NOT NULL,
    -- The seq of the newest row appended; the worker removes the entry only
    -- when it anchored at least that far.
    seq       integer NOT NULL
);

-- +goose Down
-- Only while no row is keyed: without its key id a keyed row verifies by
-- neither rule, and the trail would be lost as evidence.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM case_audit WHERE mac_key_id IS NOT NULL) THEN
        RAISE EXCEPTION 'case_audit has MAC-sealed rows: refusing to drop their key ids';
    END IF;
END;
$$;
-- +goose StatementEnd
DROP TABLE audit_anchor_pending;
DROP TABLE audit_anchors;
COMMENT ON TABLE case_audit IS NULL;
DROP FUNCTION refuse_change_to_append_only();
ALTER TABLE case_audit DROP CONSTRAINT case_audit_keyed;
ALTER TABLE case_audit DROP COLUMN mac_key_id;
ALTER TABLE case_audit RENAME COLUMN created_at TO at;
