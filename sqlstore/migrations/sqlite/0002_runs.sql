-- Experiment tracking: runs with parameters, tags, metrics (with steps) and artifacts.
CREATE TABLE runs (
    id           TEXT PRIMARY KEY CHECK (length(id) = 32),
    experiment   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
    started_at   TEXT NOT NULL,
    ended_at     TEXT,
    heartbeat_at TEXT NOT NULL,
    owner        TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    snapshots    TEXT NOT NULL DEFAULT '{}',   -- JSON: source -> sha256
    frame_sha256 TEXT NOT NULL DEFAULT '',
    config       TEXT NOT NULL DEFAULT '',
    code_version TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_started ON runs (started_at);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE run_params (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE run_tags (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- value is NULL for a non-finite value (SQLite cannot store NaN).
CREATE TABLE run_metrics (
    run_id    TEXT    NOT NULL REFERENCES runs (id),
    key       TEXT    NOT NULL,
    step      INTEGER NOT NULL,
    value     REAL,
    logged_at TEXT    NOT NULL,
    PRIMARY KEY (run_id, key, step)
);

CREATE TABLE run_artifacts (
    run_id     TEXT    NOT NULL REFERENCES runs (id),
    path       TEXT    NOT NULL,
    blob_key   TEXT    NOT NULL,
    sha256     TEXT    NOT NULL CHECK (length(sha256) = 64),
    size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
    PRIMARY KEY (run_id, path)
);

-- Model registry: versions numbered without gaps per model (last_version is the counter),
-- aliases that point at exactly one version, and the history of alias moves.
CREATE TABLE registered_models (
    name         TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);

CREATE TABLE model_versions (
    model         TEXT    NOT NULL REFERENCES registered_models (name),
    version       INTEGER NOT NULL CHECK (version > 0),
    family        TEXT    NOT NULL,
    run_id        TEXT    NOT NULL REFERENCES runs (id),
    artifact_path TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    metrics       TEXT    NOT NULL DEFAULT '{}',
    description   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (model, version)
);

CREATE TABLE model_aliases (
    model      TEXT    NOT NULL,
    alias      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);

CREATE TABLE alias_changes (
    id           INTEGER PRIMARY KEY,
    model        TEXT    NOT NULL,
    alias        TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    from_version INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    changed_at   TEXT    NOT NULL
);
CREATE INDEX alias_changes_model ON alias_changes (model, alias, id);
