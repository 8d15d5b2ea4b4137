package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// JobLeases are the leases of the job queue's running jobs (package jobs): a process working a
// job renews the lease it took when it fetched the job, and any process hands on a job whose
// lease has expired. A lease names the fetch it is for by the attempt and attempted_at of
// River's river_job row (River fetches a snoozed or interrupted job again at the same attempt
// number). Leases read and update river_job on River's terms: a job is rescued only while the
// condition that made it rescuable still holds, in the same statement, so that two rescuers
// cannot both rescue it and a job that just ended or was fetched again is left alone.
type JobLeases struct{ db *DB }

// NewJobLeases returns the lease store on db. River's tables must exist (jobs.Open makes them).
func NewJobLeases(db *DB) *JobLeases { return &JobLeases{db: db} }

// JobLease is a held lease.
type JobLease struct {
	Owner       string
	HeartbeatAt time.Time
	ExpiresAt   time.Time
}

// RunningJob is a job River shows running, with the lease of its current fetch.
type RunningJob struct {
	ID      int64
	Attempt int
	// Lease is nil when no process holds a lease on the current fetch.
	Lease *JobLease
	// Expired: the lease has expired or, without a lease, the attempt began longer ago than
	// the horizon given to Running.
	Expired bool
}

// riverSQLiteTime is how River stores times in SQLite: its comparisons work on this text form
// only.
const riverSQLiteTime = "2006-01-02 15:04:05.000"

// leaseTimes returns the SQL for "now" and "now + d" in the lease table, with their arguments.
// On PostgreSQL the database's clock dates leases, so that processes on hosts whose clocks
// differ agree on when one expires; SQLite is on one host.
func (db *DB) leaseTimes(d time.Duration) (now, until string, args []any) {
	if db.dialect == Postgres {
		return "now()", "now() + make_interval(secs => ?)", []any{d.Seconds()}
	}
	t := time.Now()
	return "?", "?", []any{db.ts(t), db.ts(t.Add(d))}
}

// leaseNow returns the SQL for "now" in the lease table, with its arguments, on the clock
// leaseTimes uses.
func (db *DB) leaseNow() (string, []any) {
	if db.dialect == Postgres {
		return "now()", nil
	}
	return "?", []any{db.ts(time.Now())}
}

// Take takes, for owner, the lease of a job River has just fetched, until d from now,
// replacing any lease of an earlier fetch. It reports false, writing nothing, when River no
// longer shows the job running at that attempt: it was handed on before its work began.
func (l *JobLeases) Take(ctx context.Context, jobID int64, attempt int, owner string, d time.Duration) (bool, error) {
	db := l.db
	now, until, times := db.leaseTimes(d)
	q := `INSERT INTO job_leases (job_id, attempt, attempted_at, owner, heartbeat_at, expires_at)
		SELECT id, attempt, attempted_at, CAST(? AS TEXT), ` + now + `, ` + until + ` FROM river_job
		WHERE id = ? AND state = 'running' AND attempt = ? AND attempted_at IS NOT NULL
		ON CONFLICT (job_id) DO UPDATE SET attempt = excluded.attempt, attempted_at = excluded.attempted_at,
			owner = excluded.owner, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`
	args := append(append([]any{owner}, times...), jobID, attempt)
	return l.exec(ctx, "take the lease of job", jobID, q, args)
}

// Renew extends owner's lease on a job's attempt until d from now. It reports false, writing
// nothing, when the lease is no longer owner's or River no longer shows the job running at
// the fetch the lease is for: the job ended, or was handed on.
func (l *JobLeases) Renew(ctx context.Context, jobID int64, attempt int, owner string, d time.Duration) (bool, error) {
	db := l.db
	now, until, times := db.leaseTimes(d)
	q := `UPDATE job_leases SET heartbeat_at = ` + now + `, expires_at = ` + until + `
		WHERE job_id = ? AND attempt = ? AND owner = ? AND ` + fetchRunning
	return l.exec(ctx, "renew the lease of job", jobID, q, append(times, jobID, attempt, owner))
}

// exec runs a statement on the lease of job jobID and reports whether it changed a row.
func (l *JobLeases) exec(ctx context.Context, what string, jobID int64, q string, args []any) (bool, error) {
	res, err := l.db.sql.ExecContext(ctx, l.db.rebind(q), args...)
	if err != nil {
		return false, fmt.Errorf("%s %d: %w", what, jobID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s %d: %w", what, jobID, err)
	}
	return n > 0, nil
}

// Abandon makes owner's leases expire now: its process stops without having finished their
// jobs, which any process may then hand on without waiting.
func (l *JobLeases) Abandon(ctx context.Context, owner string) error {
	if _, err := l.db.sql.ExecContext(ctx, l.db.rebind("UPDATE job_leases SET expires_at = heartbeat_at WHERE owner = ?"), owner); err != nil {
		return fmt.Errorf("abandon the leases of %s: %w", owner, err)
	}
	return nil
}

// fetchRunning is the condition, in a statement on job_leases, "River still shows the job
// running at the fetch this lease is for".
const fetchRunning = `EXISTS (SELECT 1 FROM river_job j WHERE j.id = job_leases.job_id AND j.state = 'running'
	AND j.attempt = job_leases.attempt AND j.attempted_at = job_leases.attempted_at)`

// currentLease is the condition "l is the lease of river_job's current fetch".
const currentLease = `l.job_id = river_job.id AND l.attempt = river_job.attempt AND l.attempted_at = river_job.attempted_at`

// startedBefore returns the condition "river_job's attempt began more than d ago", with its
// arguments. River dates attempts with the database's clock on PostgreSQL, and stores them as
// text in its own format on SQLite.
func (db *DB) startedBefore(d time.Duration) (string, []any) {
	if db.dialect == Postgres {
		return "river_job.attempted_at < now() - make_interval(secs => ?)", []any{d.Seconds()}
	}
	return "river_job.attempted_at < ?", []any{time.Now().Add(-d).UTC().Format(riverSQLiteTime)}
}

// Running lists the jobs River shows running, with the leases of their current fetches. A job
// without a lease counts as expired once its attempt began more than noLease ago (its worker
// died before taking the lease, or predates leases).
func (l *JobLeases) Running(ctx context.Context, noLease time.Duration) ([]RunningJob, error) {
	db := l.db
	now, nowArgs := db.leaseNow()
	started, startedArgs := db.startedBefore(noLease)
	rows, err := db.sql.QueryContext(ctx, db.rebind(`SELECT river_job.id, river_job.attempt, l.owner, l.heartbeat_at, l.expires_at,
			CASE WHEN l.job_id IS NULL THEN COALESCE(`+started+`, true) ELSE l.expires_at < `+now+` END
		FROM river_job LEFT JOIN job_leases l ON `+currentLease+`
		WHERE river_job.state = 'running' ORDER BY river_job.id`), append(startedArgs, nowArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("list running jobs: %w", err)
	}
	defer rows.Close()
	var out []RunningJob
	for rows.Next() {
		var (
			j     RunningJob
			owner sql.NullString
			lease JobLease
		)
		if err := rows.Scan(&j.ID, &j.Attempt, &owner, timeScan{&lease.HeartbeatAt}, timeScan{&lease.ExpiresAt}, &j.Expired); err != nil {
			return nil, fmt.Errorf("list running jobs: %w", err)
		}
		if owner.Valid {
			lease.Owner = owner.String
			j.Lease = &lease
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list running jobs: %w", err)
	}
	return out, nil
}

// Rescue hands on a job that Running listed, as River's own rescuer would: available at once,
// discarded when its attempts are used up, or cancelled when a cancellation was asked for.
// errJSON (a rivertype.AttemptError) is appended to the job's errors and its lease is dropped.
// The job is rescued only if, when the statement runs, River still shows it running at the
// attempt Running saw and: with deadOwner, its lease is still the dead owner's; otherwise its
// lease has expired, or, without one, no lease was taken and the attempt began more than
// noLease ago. It returns the job's new state, or "" when nothing changed.
func (l *JobLeases) Rescue(ctx context.Context, j RunningJob, deadOwner bool, noLease time.Duration, errJSON []byte) (string, error) {
	db := l.db
	var (
		cond     string
		condArgs []any
	)
	switch {
	case j.Lease == nil:
		started, args := db.startedBefore(noLease)
		cond = `NOT EXISTS (SELECT 1 FROM job_leases l WHERE ` + currentLease + `) AND ` + started
		condArgs = args
	case deadOwner:
		cond = `EXISTS (SELECT 1 FROM job_leases l WHERE ` + currentLease + ` AND l.owner = ?)`
		condArgs = []any{j.Lease.Owner}
	default:
		now, args := db.leaseNow()
		cond = `EXISTS (SELECT 1 FROM job_leases l WHERE ` + currentLease + ` AND l.expires_at < ` + now + `)`
		condArgs = args
	}
	var (
		q    string
		args []any
	)
	if db.dialect == Postgres {
		const final = `(metadata->'cancel_attempted_at' IS NOT NULL OR attempt >= max_attempts)`
		q = `UPDATE river_job SET
			state = CASE WHEN metadata->'cancel_attempted_at' IS NOT NULL THEN CAST('cancelled' AS river_job_state)
				WHEN attempt >= max_attempts THEN CAST('discarded' AS river_job_state)
				ELSE CAST('available' AS river_job_state) END,
			finalized_at = CASE WHEN ` + final + ` THEN now() END,
			scheduled_at = CASE WHEN ` + final + ` THEN scheduled_at ELSE now() END,
			errors = array_append(errors, CAST(? AS jsonb)),
			metadata = metadata || jsonb_build_object('river:rescue_count', COALESCE(CASE WHEN jsonb_typeof(metadata->'river:rescue_count') = 'number'
				THEN (metadata->>'river:rescue_count')::int END, 0) + 1)
			WHERE id = ? AND state = 'running' AND attempt = ? AND ` + cond + `
			RETURNING CAST(state AS TEXT)`
		args = append([]any{string(errJSON), j.ID, j.Attempt}, condArgs...)
	} else {
		// As River's SQLite driver does: errors and metadata are JSONB, times River's text.
		const final = `(json_extract(metadata, '$.cancel_attempted_at') IS NOT NULL OR attempt >= max_attempts)`
		now := time.Now().UTC().Format(riverSQLiteTime)
		q = `UPDATE river_job SET
			state = CASE WHEN json_extract(metadata, '$.cancel_attempted_at') IS NOT NULL THEN 'cancelled'
				WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
			finalized_at = CASE WHEN ` + final + ` THEN ? END,
			scheduled_at = CASE WHEN ` + final + ` THEN scheduled_at ELSE ? END,
			errors = jsonb(json_insert(json(COALESCE(errors, jsonb('[]'))), '$[#]', json(?))),
			metadata = jsonb_set(metadata, '$."river:rescue_count"', COALESCE(json_extract(metadata, '$."river:rescue_count"'), 0) + 1)
			WHERE id = ? AND state = 'running' AND attempt = ? AND ` + cond + `
			RETURNING state`
		args = append([]any{now, now, string(errJSON), j.ID, j.Attempt}, condArgs...)
	}
	var state string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, db.rebind(q), args...).Scan(&state); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.rebind("DELETE FROM job_leases WHERE job_id = ?"), j.ID)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("rescue job %d: %w", j.ID, err)
	}
	return state, nil
}

// Sweep deletes the leases of fetches River no longer shows running: the job ended, or was
// handed on.
func (l *JobLeases) Sweep(ctx context.Context) error {
	if _, err := l.db.sql.ExecContext(ctx, `DELETE FROM job_leases WHERE NOT `+fetchRunning); err != nil {
		return fmt.Errorf("sweep job leases: %w", err)
	}
	return nil
}
