-- Plausibility quarantine: a release that breaks the sources' plausibility rules is stored as a
-- quarantined snapshot, with the first violations (JSON array) and their count, and becomes
-- current only once an operator accepts it (who, when, why are kept). Its state is not stored:
-- it follows from the count (quarantined when above 0) and accepted_at (accepted when set).
ALTER TABLE snapshots ADD COLUMN violations TEXT;
ALTER TABLE snapshots ADD COLUMN violation_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN accepted_at TEXT;
ALTER TABLE snapshots ADD COLUMN accepted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN accept_reason TEXT NOT NULL DEFAULT '';

-- A fetch may now end 'quarantined'. SQLite cannot alter a CHECK constraint: rebuild the table
-- (nothing references it), keeping its rows and IDs.
CREATE TABLE fetches_new (
    id            INTEGER PRIMARY KEY,
    source        TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL CHECK (status IN ('new', 'revised', 'unchanged', 'not-modified', 'failed', 'quarantined')),
    snapshot_id   INTEGER REFERENCES snapshots (id),
    etag          TEXT    NOT NULL DEFAULT '',
    last_modified TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT ''
);
INSERT INTO fetches_new (id, source, url, started_at, duration_ms, status, snapshot_id, etag, last_modified, error)
    SELECT id, source, url, started_at, duration_ms, status, snapshot_id, etag, last_modified, error FROM fetches;
DROP TABLE fetches;
ALTER TABLE fetches_new RENAME TO fetches;
CREATE INDEX fetches_source_id ON fetches (source, id);
