package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// A job's lease tells the processes sharing a queue that the job's worker is alive. The worker
// takes it when it starts the job, for RescueAfter, and renews it a few times per RescueAfter;
// every process working jobs looks for running jobs whose lease has lapsed and hands them on.
// River's own rescuer runs on the elected leader only, with the leader's settings, and waits
// for a job's timeout too (two hours for a training): leases make the delay the one the
// worker's process was given, whichever process leads.

// errLeaseLost is the cause of a job's cancellation when its lease lapsed and another process
// took the job over.
var errLeaseLost = errors.New("its lease lapsed and another process took the job over")

// beatEvery is how often a lease for rescueAfter is renewed (and the rescuer looks for lapsed
// leases): several times per lease, so that a late beat or two do not lose it.
func beatEvery(rescueAfter time.Duration) time.Duration {
	return min(10*time.Second, max(rescueAfter/4, 250*time.Millisecond))
}

// leased runs a job's work holding its lease. When the lease is lost (the job was handed on)
// the work's context is cancelled, so that the job does not run twice.
func (q *Queue) leased(ctx context.Context, job *rivertype.JobRow, work func(context.Context) error) error {
	taken, err := q.leases.Take(ctx, job.ID, job.Attempt, q.cfg.ID, q.cfg.RescueAfter)
	switch {
	case err != nil:
		q.logger.WarnContext(ctx, "could not take the job's lease: working without it, and taking it once the database answers",
			"job", job.ID, "kind", job.Kind, "err", err)
	case !taken:
		return q.handedOn(job)
	}
	workCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	q.beats.Go(func() { q.beat(job, taken, func() { cancel(errLeaseLost) }) })
	err = work(workCtx)
	if errors.Is(context.Cause(workCtx), errLeaseLost) {
		return q.handedOn(job)
	}
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		// River cancelled the job: the process is stopping (or the job was cancelled). River
		// puts a job back at once, without counting the attempt, when the work's error is the
		// stop's cancellation: return that, whatever error the cancellation made the work end
		// with (classify would cancel the job for good over a truncated download).
		return fmt.Errorf("%w (the work ended with: %v)", context.Cause(ctx), err)
	}
	return err
}

// beat renews a job's lease (takes it, when taking it failed) until the job is no longer
// running at this fetch, or the queue stops. Beats go on after the work returns, until River
// has recorded the outcome: the lease must not lapse while River's completer retries. lost is
// called when the lease turns out to be gone while the job still ran here.
func (q *Queue) beat(job *rivertype.JobRow, taken bool, lost func()) {
	every := beatEvery(q.cfg.RescueAfter)
	tick := time.NewTicker(every)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-q.life.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(q.life, every)
		var (
			held bool
			err  error
		)
		if taken {
			held, err = q.leases.Renew(ctx, job.ID, job.Attempt, q.cfg.ID, q.cfg.RescueAfter)
		} else {
			held, err = q.leases.Take(ctx, job.ID, job.Attempt, q.cfg.ID, q.cfg.RescueAfter)
		}
		cancel()
		switch {
		case q.life.Err() != nil:
			return
		case err != nil:
			if !failing {
				q.logger.Warn("could not renew a job's lease: retrying at each beat", "job", job.ID, "kind", job.Kind, "every", every, "err", err)
			}
			failing = true
		case !held:
			// Either River recorded the job's outcome (lost is then a no-op: the work has
			// returned) or the job was handed on while it ran here.
			lost()
			return
		default:
			if failing {
				q.logger.Info("renewed a job's lease again", "job", job.ID, "kind", job.Kind)
			}
			failing, taken = false, true
		}
	}
}

// handedOn is what the work of a job whose lease was lost returns. Another process may be
// running the job again by now, and River records a job's outcome whichever fetch of it
// reports: so it first waits until the job no longer runs elsewhere (or the queue is closed).
func (q *Queue) handedOn(job *rivertype.JobRow) error {
	q.logger.Warn("a job's lease lapsed and another process took it over: its work here is cancelled",
		"job", job.ID, "kind", job.Kind, "attempt", job.Attempt)
	every := beatEvery(q.cfg.RescueAfter)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), every)
		j, err := q.client.JobGet(ctx, job.ID)
		cancel()
		if errors.Is(err, rivertype.ErrNotFound) || err == nil && !(j.State == rivertype.JobStateRunning && !sameFetch(j, job)) {
			break
		}
		select {
		case <-q.closed:
			return fmt.Errorf("job %d attempt %d: %w", job.ID, job.Attempt, errLeaseLost)
		case <-time.After(every):
		}
	}
	return fmt.Errorf("job %d attempt %d: %w", job.ID, job.Attempt, errLeaseLost)
}

// sameFetch reports whether two rows of a job show the same fetch of it (River fetches a
// snoozed or interrupted job again at the same attempt number).
func sameFetch(a, b *rivertype.JobRow) bool {
	return a.Attempt == b.Attempt && a.AttemptedAt != nil && b.AttemptedAt != nil && a.AttemptedAt.Equal(*b.AttemptedAt)
}

// rescueLoop hands on, until ctx ends, the running jobs whose leases lapsed. It looks every
// few seconds, more often with a short RescueAfter, whatever the delay of the leases it reads.
func (q *Queue) rescueLoop(ctx context.Context) {
	every := min(5*time.Second, beatEvery(q.cfg.RescueAfter))
	tick := time.NewTicker(every)
	defer tick.Stop()
	// upSince is since when the database has answered every pass (zero after a failure).
	upSince, failing := time.Now(), false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var up time.Duration
		if !upSince.IsZero() {
			up = time.Since(upSince)
		}
		err := q.rescue(ctx, up)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				q.logger.Warn("could not look for jobs to rescue: retrying at each beat", "every", every, "err", err)
			}
			failing, upSince = true, time.Time{}
		default:
			failing = false
			if upSince.IsZero() {
				upSince = time.Now()
			}
		}
	}
}

// rescue hands on the running jobs whose worker is gone: its lease lapsed, or it names a
// process of this host that no longer exists; or no lease was taken within RescueAfter of the
// attempt's start. up is how long the database has answered this process without a break:
// after an outage, which stopped every worker's beats too, leases are given two beats to be
// renewed before they count as lapsed.
func (q *Queue) rescue(ctx context.Context, up time.Duration) error {
	running, err := q.leases.Running(ctx, q.cfg.RescueAfter)
	if err != nil {
		return err
	}
	for _, j := range running {
		dead := j.Lease != nil && j.Lease.Owner != q.cfg.ID && tracking.ProcessDead(j.Lease.Owner)
		if !dead && (!j.Expired || up < 2*q.leaseBeat(j)) {
			continue
		}
		var why string
		switch {
		case dead:
			why = fmt.Sprintf("worker %s is gone (no such process on its host)", j.Lease.Owner)
		case j.Lease != nil:
			why = fmt.Sprintf("worker %s stopped heartbeating at %s (its lease expired at %s)",
				j.Lease.Owner, j.Lease.HeartbeatAt.Format(time.RFC3339), j.Lease.ExpiresAt.Format(time.RFC3339))
		default:
			why = fmt.Sprintf("no worker took a lease on attempt %d within %s of its start", j.Attempt, q.cfg.RescueAfter)
		}
		why += "; rescued by " + q.cfg.ID
		errJSON, err := json.Marshal(rivertype.AttemptError{At: time.Now().UTC(), Attempt: j.Attempt, Error: why})
		if err != nil {
			return err
		}
		state, err := q.leases.Rescue(ctx, j, dead, q.cfg.RescueAfter, errJSON)
		if err != nil {
			return err
		}
		if state != "" {
			q.logger.WarnContext(ctx, "handed on a job whose worker stopped", "job", j.ID, "attempt", j.Attempt, "state", state, "reason", why)
		}
	}
	return q.leases.Sweep(ctx)
}

// leaseBeat is how often the lease of j is renewed: by the lease's own length, which is its
// owner's RescueAfter, or by this process's when there is no lease.
func (q *Queue) leaseBeat(j sqlstore.RunningJob) time.Duration {
	if j.Lease != nil {
		return beatEvery(j.Lease.ExpiresAt.Sub(j.Lease.HeartbeatAt))
	}
	return beatEvery(q.cfg.RescueAfter)
}
