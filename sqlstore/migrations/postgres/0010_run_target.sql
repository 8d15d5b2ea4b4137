-- A run records the target it worked for (issue 16: several targets, each its own registered
-- model). Runs made before worked for the only registered model a home had: a training run for
-- the model of the version it registered, a forecast run for the model of the forecast it
-- stored, any other target-specific run (select, backtest, score, a training that registered
-- nothing) for the default target, incid_dchosp. An ingest fetches the sources every target
-- shares: it has no target ('').
ALTER TABLE runs ADD COLUMN target TEXT NOT NULL DEFAULT '';
UPDATE runs SET target = COALESCE(
    (SELECT MIN(v.model) FROM model_versions v WHERE v.run_id = runs.id),
    (SELECT MIN(f.model) FROM forecasts f WHERE f.run_id = runs.id),
    'incid_dchosp')
WHERE kind <> 'ingest';
CREATE INDEX runs_target ON runs (target, kind, started_at);
