-- Plausibility quarantine: a release that breaks the sources' plausibility rules is stored as a
-- quarantined snapshot, with the first violations (JSON array) and their count, and becomes
-- current only once an operator accepts it (who, when, why are kept).
ALTER TABLE snapshots ADD COLUMN state TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'quarantined', 'accepted'));
ALTER TABLE snapshots ADD COLUMN violations TEXT;
ALTER TABLE snapshots ADD COLUMN violation_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN accepted_at TIMESTAMPTZ;
ALTER TABLE snapshots ADD COLUMN accepted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN accept_reason TEXT NOT NULL DEFAULT '';

-- A fetch may now end 'quarantined'.
ALTER TABLE fetches DROP CONSTRAINT fetches_status_check;
ALTER TABLE fetches ADD CONSTRAINT fetches_status_check
    CHECK (status IN ('new', 'revised', 'unchanged', 'not-modified', 'failed', 'quarantined'));
