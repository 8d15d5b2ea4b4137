-- Raw snapshots: one row per distinct release of a source, addressed by the SHA-256 of its bytes.
CREATE TABLE snapshots (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        TEXT        NOT NULL,
    sha256        TEXT        NOT NULL CHECK (length(sha256) = 64),
    blob_key      TEXT        NOT NULL,
    url           TEXT        NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    etag          TEXT        NOT NULL DEFAULT '',
    last_modified TEXT        NOT NULL DEFAULT '',
    size_bytes    BIGINT      NOT NULL CHECK (size_bytes >= 0),
    row_count     INTEGER     NOT NULL CHECK (row_count >= 0),
    first_date    TEXT        NOT NULL,
    last_date     TEXT        NOT NULL,
    column_names  TEXT        NOT NULL,          -- JSON array
    previous_id   BIGINT REFERENCES snapshots (id),
    revision      TEXT,                          -- JSON object, NULL for the first snapshot
    UNIQUE (source, sha256)
);

-- Every fetch attempt, successful or not: freshness and failures are read from here.
CREATE TABLE fetches (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        TEXT        NOT NULL,
    url           TEXT        NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    duration_ms   BIGINT      NOT NULL DEFAULT 0,
    status        TEXT        NOT NULL CHECK (status IN ('new', 'revised', 'unchanged', 'not-modified', 'failed')),
    snapshot_id   BIGINT REFERENCES snapshots (id),
    etag          TEXT        NOT NULL DEFAULT '',
    last_modified TEXT        NOT NULL DEFAULT '',
    error         TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX fetches_source_id ON fetches (source, id);
