-- Job leases: while a process works a job of the queue, it renews the lease it took when it
-- fetched the job; a lease that expires (its process died, or lost the database for longer
-- than its --rescue-after) lets any process hand the job on. attempt and attempted_at are
-- copied from River's river_job row and name the fetch the lease is for. River's own tables
-- are left as River made them.
CREATE TABLE job_leases (
    job_id       INTEGER PRIMARY KEY,
    attempt      INTEGER NOT NULL,
    attempted_at TEXT NOT NULL,
    owner        TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
