-- A model version records the training batch it was trained in: the champion rule selects
-- among a batch's versions by this column, no longer by parsing the description.
ALTER TABLE model_versions ADD COLUMN batch TEXT NOT NULL DEFAULT '';
-- Versions registered before kept their batch only in their description, "batch <id>".
UPDATE model_versions SET batch = substr(description, 7) WHERE description LIKE 'batch %';
