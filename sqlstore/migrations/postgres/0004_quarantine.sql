-- Plausibility quarantine: a release that breaks the sources' plausibility rules is stored as a
-- quarantined snapshot, with the first violations (JSON array) and their count, and becomes
-- current only once an operator accepts it (who, when, why are kept). Its state is not stored:
-- it follows from the count (quarantined when above 0) and accepted_at (accepted when set).
ALTER TABLE snapshots ADD COLUMN violations TEXT;
ALTER TABLE snapshots ADD COLUMN violation_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN accepted_at TIMESTAMPTZ;
ALTER TABLE snapshots ADD COLUMN accepted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN accept_reason TEXT NOT NULL DEFAULT '';

-- A fetch may now end 'quarantined'.
ALTER TABLE fetches DROP CONSTRAINT fetches_status_check;
ALTER TABLE fetches ADD CONSTRAINT fetches_status_check
    CHECK (status IN ('new', 'revised', 'unchanged', 'not-modified', 'failed', 'quarantined'));
