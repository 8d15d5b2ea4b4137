-- Vintages: the current release of a source is the newest by its own dates, not the one
-- fetched last, so an archived release ingested after a newer one is stored with the fetch
-- status 'older' and does not become current. SQLite cannot alter a CHECK constraint: rebuild
-- the table (nothing references it), keeping its rows and IDs.
CREATE TABLE fetches_new (
    id            INTEGER PRIMARY KEY,
    source        TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL CHECK (status IN ('new', 'revised', 'unchanged', 'not-modified', 'failed', 'quarantined', 'older')),
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

-- An operator may pin a release as its source's current one whatever the dates say: at most
-- one pin per source, with who pinned it, when and why.
CREATE TABLE snapshot_pins (
    source      TEXT    PRIMARY KEY,
    snapshot_id INTEGER NOT NULL UNIQUE REFERENCES snapshots (id),
    pinned_at   TEXT    NOT NULL,
    pinned_by   TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT ''
);
