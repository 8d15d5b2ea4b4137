-- Vintages: the current release of a source is the newest by its own dates, not the one
-- fetched last, so an archived release ingested after a newer one is stored with the fetch
-- status 'older' and does not become current.
ALTER TABLE fetches DROP CONSTRAINT fetches_status_check;
ALTER TABLE fetches ADD CONSTRAINT fetches_status_check
    CHECK (status IN ('new', 'revised', 'unchanged', 'not-modified', 'failed', 'quarantined', 'older'));

-- An operator may pin a release as its source's current one whatever the dates say: at most
-- one pin per source, with who pinned it, when and why.
CREATE TABLE snapshot_pins (
    source      TEXT        PRIMARY KEY,
    snapshot_id BIGINT      NOT NULL UNIQUE REFERENCES snapshots (id),
    pinned_at   TIMESTAMPTZ NOT NULL,
    pinned_by   TEXT        NOT NULL DEFAULT '',
    reason      TEXT        NOT NULL DEFAULT ''
);
