-- Forecasts kept by the forecast flow, one per (registered model, version, origin), and the
-- scores of their days once observed.
CREATE TABLE forecasts (
    id         INTEGER PRIMARY KEY,
    model      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    family     TEXT    NOT NULL,
    run_id     TEXT    NOT NULL DEFAULT '',
    origin     TEXT    NOT NULL,      -- YYYY-MM-DD
    made_at    TEXT    NOT NULL,
    horizon    INTEGER NOT NULL,
    body       TEXT    NOT NULL,      -- JSON: dates, point, quantiles, values
    snapshots  TEXT    NOT NULL DEFAULT '{}',
    UNIQUE (model, version, origin)
);
CREATE INDEX forecasts_origin ON forecasts (model, origin);

CREATE TABLE forecast_scores (
    forecast_id INTEGER NOT NULL REFERENCES forecasts (id),
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
