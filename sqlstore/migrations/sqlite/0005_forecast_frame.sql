-- A forecast is identified by its frame too: a revision that changes past values but keeps
-- the last date makes a new frame, and the forecast flow forecasts again from the same origin.
-- SQLite cannot drop a table constraint, so forecasts (and forecast_scores, which references
-- it) are rebuilt: new tables, copies, the old ones dropped, the new ones renamed (renaming
-- forecasts_new rewrites the reference in forecast_scores_new).
CREATE TABLE forecasts_new (
    id           INTEGER PRIMARY KEY,
    model        TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    family       TEXT    NOT NULL,
    run_id       TEXT    NOT NULL DEFAULT '',
    origin       TEXT    NOT NULL,      -- YYYY-MM-DD
    made_at      TEXT    NOT NULL,
    horizon      INTEGER NOT NULL,
    body         TEXT    NOT NULL,      -- JSON: dates, point, quantiles, values
    snapshots    TEXT    NOT NULL DEFAULT '{}',
    frame_sha256 TEXT    NOT NULL DEFAULT '',
    UNIQUE (model, version, origin, frame_sha256)
);
-- The frame of an existing forecast is the one its run recorded.
INSERT INTO forecasts_new (id, model, version, family, run_id, origin, made_at, horizon, body, snapshots, frame_sha256)
    SELECT f.id, f.model, f.version, f.family, f.run_id, f.origin, f.made_at, f.horizon, f.body, f.snapshots,
           COALESCE((SELECT r.frame_sha256 FROM runs r WHERE r.id = f.run_id), '')
    FROM forecasts f;

CREATE TABLE forecast_scores_new (
    forecast_id INTEGER NOT NULL REFERENCES forecasts_new (id),
    date        TEXT    NOT NULL,
    horizon     INTEGER NOT NULL,
    actual      REAL    NOT NULL,
    point       REAL    NOT NULL,
    abs_error   REAL    NOT NULL,
    in_80       INTEGER NOT NULL,
    in_95       INTEGER NOT NULL,
    scored_at   TEXT    NOT NULL,
    PRIMARY KEY (forecast_id, date)
);
INSERT INTO forecast_scores_new SELECT forecast_id, date, horizon, actual, point, abs_error, in_80, in_95, scored_at FROM forecast_scores;

DROP TABLE forecast_scores;
DROP TABLE forecasts;
ALTER TABLE forecasts_new RENAME TO forecasts;
ALTER TABLE forecast_scores_new RENAME TO forecast_scores;
CREATE INDEX forecasts_origin ON forecasts (model, origin);
