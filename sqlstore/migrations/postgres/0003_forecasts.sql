-- Forecasts kept by the forecast flow, one per (registered model, version, origin), and the
-- scores of their days once observed.
CREATE TABLE forecasts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    family     TEXT    NOT NULL,
    run_id     TEXT    NOT NULL DEFAULT '',
    origin     TEXT    NOT NULL,      -- YYYY-MM-DD
    made_at    TIMESTAMPTZ NOT NULL,
    horizon    INTEGER NOT NULL,
    body       TEXT    NOT NULL,      -- JSON: dates, point, quantiles, values
    snapshots  TEXT    NOT NULL DEFAULT '{}',
    UNIQUE (model, version, origin)
);
CREATE INDEX forecasts_origin ON forecasts (model, origin);

CREATE TABLE forecast_scores (
    forecast_id BIGINT  NOT NULL REFERENCES forecasts (id),
    date        TEXT    NOT NULL,
    horizon     INTEGER NOT NULL,
    actual      DOUBLE PRECISION NOT NULL,
    point       DOUBLE PRECISION NOT NULL,
    abs_error   DOUBLE PRECISION NOT NULL,
    in_80       BOOLEAN NOT NULL,
    in_95       BOOLEAN NOT NULL,
    scored_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (forecast_id, date)
);
