-- A forecast is identified by its frame too: a revision that changes past values but keeps
-- the last date makes a new frame, and the forecast flow forecasts again from the same origin.
ALTER TABLE forecasts ADD COLUMN frame_sha256 TEXT NOT NULL DEFAULT '';
-- The frame of an existing forecast is the one its run recorded.
UPDATE forecasts f SET frame_sha256 = r.frame_sha256 FROM runs r WHERE r.id = f.run_id;
ALTER TABLE forecasts DROP CONSTRAINT forecasts_model_version_origin_key;
ALTER TABLE forecasts ADD CONSTRAINT forecasts_model_version_origin_frame_key UNIQUE (model, version, origin, frame_sha256);
