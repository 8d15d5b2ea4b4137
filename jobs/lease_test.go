package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
)

// receive waits for a value on c, failing the test after 30 seconds.
func receive[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// startOnJob queues an ingest job on q, starts q, and waits until the job's work has begun
// (its handler sends on started).
func startOnJob(t *testing.T, q *jobs.Queue, started <-chan struct{}) *rivertype.JobRow {
	t.Helper()
	ctx := context.Background()
	job, _, err := q.Insert(ctx, jobs.IngestArgs{Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	receive(t, "the job's work to begin", started)
	return job
}

// errorsOf returns the messages of a job's errors.
func errorsOf(j *rivertype.JobRow) []string {
	var out []string
	for _, e := range j.Errors {
		out = append(out, e.Error)
	}
	return out
}

// TestDeadWorkersJobHandedOnWhateverProcessLeads: a worker with a 2 s --rescue-after hangs mid-job
// and loses the database (as a killed process does); a process started with the default
// --rescue-after (3 h), which River's rescuer would wait for, plus the job's timeout, hands the
// job on once the worker's lease has lapsed, and works it.
func TestDeadWorkersJobHandedOnWhateverProcessLeads(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		started, release := make(chan struct{}, 1), make(chan struct{})
		cfg := jobs.DefaultConfig()
		cfg.ID, cfg.RescueAfter = "worker", 2*time.Second
		cfg.Workers = 1 // busy with the hung job: it fetches no other
		w, wdb := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error {
			started <- struct{}{}
			<-release // hung: it heeds nothing
			return nil
		}}, cfg)
		job := startOnJob(t, w, started)
		wdb.Close() // its lease can no longer be renewed

		cfg = jobs.DefaultConfig()
		cfg.ID = "server"
		var calls atomic.Int64
		s, _ := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error { calls.Add(1); return nil }}, cfg)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		done := waitState(t, s, job.ID, rivertype.JobStateCompleted)
		msgs := errorsOf(done)
		if !slices.Equal(done.AttemptedBy, []string{"worker", "server"}) || calls.Load() != 1 || len(msgs) != 1 ||
			!strings.Contains(msgs[0], "worker worker stopped heartbeating at ") || !strings.Contains(msgs[0], "rescued by server") {
			t.Errorf("attempted by %v, %d calls, errors %q", done.AttemptedBy, calls.Load(), msgs)
		}

		close(release)
		stop(t, s, w)
		if j, err := s.Job(ctx, job.ID); err != nil || j.State != rivertype.JobStateCompleted || j.Attempt != 2 {
			t.Errorf("after the hung worker returned: %+v, %v", j, err)
		}
	})
}

// stop stops queues, failing the test if one does not stop within 30 seconds.
func stop(t *testing.T, qs ...*jobs.Queue) {
	t.Helper()
	for _, q := range qs {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := q.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		cancel()
	}
}

// TestLiveLeaseIsNeverRescued: a job that runs for several times its worker's --rescue-after,
// its lease renewed meanwhile, is left alone by another process's rescuer.
func TestLiveLeaseIsNeverRescued(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		started, release := make(chan struct{}, 1), make(chan struct{})
		cfg := jobs.DefaultConfig()
		cfg.ID, cfg.RescueAfter = "worker", time.Second
		w, _ := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error {
			started <- struct{}{}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}, cfg)
		job := startOnJob(t, w, started)
		defer stop(t, w)

		cfg.ID = "rescuer"
		r, rdb := openQueue(t, dbURL, nil, cfg)
		leases := sqlstore.NewJobLeases(rdb)
		lease := func() *sqlstore.JobLease {
			running, err := leases.Running(ctx, cfg.RescueAfter)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range running {
				if j.ID == job.ID {
					return j.Lease
				}
			}
			return nil
		}
		// Three times over, wait until the lease has outlived the term it had, then look for
		// jobs to rescue.
		for range 3 {
			first := lease()
			if first == nil || first.Owner != "worker" {
				t.Fatalf("lease %+v", first)
			}
			waitFor(t, "the lease to be renewed past its term", func() (bool, string) {
				l := lease()
				return l != nil && l.HeartbeatAt.After(first.ExpiresAt), fmt.Sprintf("lease %+v", l)
			})
			if err := r.RescueNow(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if j, err := r.Job(ctx, job.ID); err != nil || j.State != rivertype.JobStateRunning || j.Attempt != 1 || len(j.Errors) != 0 {
			t.Fatalf("a job with a live lease: %+v, %v", j, err)
		}
		close(release)
		if done := waitState(t, r, job.ID, rivertype.JobStateCompleted); done.Attempt != 1 {
			t.Errorf("completed at attempt %d", done.Attempt)
		}
	})
}

// TestHandedOnWorkIsCancelled: a worker still alive whose lease lapsed (as after losing the
// database for longer than its --rescue-after) has its work cancelled once the job is handed
// on, and the job runs to completion once, at its next attempt.
func TestHandedOnWorkIsCancelled(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		started := make(chan struct{}, 1)
		cancelled := make(chan error, 1)
		var calls atomic.Int64
		cfg := jobs.DefaultConfig()
		cfg.ID, cfg.RescueAfter = "worker", 8*time.Second
		w, _ := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error {
			if calls.Add(1) > 1 {
				return nil
			}
			started <- struct{}{}
			<-ctx.Done()
			cancelled <- context.Cause(ctx)
			return ctx.Err()
		}}, cfg)
		job := startOnJob(t, w, started)
		defer stop(t, w)

		cfg.ID = "rescuer"
		r, rdb := openQueue(t, dbURL, nil, cfg)
		leases := sqlstore.NewJobLeases(rdb)
		// Expire the worker's lease and rescue the job before the worker's next beat (every 2 s)
		// renews it.
		waitFor(t, "the job to be rescued", func() (bool, string) {
			if err := leases.Abandon(ctx, "worker"); err != nil {
				t.Fatal(err)
			}
			if err := r.RescueNow(ctx); err != nil {
				t.Fatal(err)
			}
			j, err := r.Job(ctx, job.ID)
			if err != nil {
				t.Fatal(err)
			}
			return len(j.Errors) > 0, fmt.Sprintf("%s at attempt %d", j.State, j.Attempt)
		})
		if cause := receive(t, "the worker's work to be cancelled", cancelled); cause == nil || !strings.Contains(cause.Error(), "another process took the job over") {
			t.Errorf("the work's context ended with %v", cause)
		}
		done := waitState(t, r, job.ID, rivertype.JobStateCompleted)
		if msgs := errorsOf(done); done.Attempt != 2 || calls.Load() != 2 || len(msgs) != 1 || !strings.Contains(msgs[0], "rescued by rescuer") {
			t.Errorf("completed at attempt %d after %d calls, errors %q", done.Attempt, calls.Load(), msgs)
		}
	})
}

// TestDeadOwnerRescuedAtOnce: a job whose lease names a process of this host that no longer
// exists is handed on at once, without waiting for its lease to lapse.
func TestDeadOwnerRescuedAtOnce(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		deadOwner := testutil.GoneOwner(t)

		started, release := make(chan struct{}, 1), make(chan struct{})
		var calls atomic.Int64
		cfg := jobs.DefaultConfig()
		cfg.ID, cfg.RescueAfter = deadOwner, time.Hour
		w, _ := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error {
			if calls.Add(1) > 1 {
				return nil
			}
			started <- struct{}{}
			<-release
			return nil
		}}, cfg)
		job := startOnJob(t, w, started)

		cfg.ID = "rescuer"
		r, _ := openQueue(t, dbURL, nil, cfg)
		if err := r.RescueNow(ctx); err != nil {
			t.Fatal(err)
		}
		done := waitState(t, r, job.ID, rivertype.JobStateCompleted)
		if msgs := errorsOf(done); done.Attempt != 2 || len(msgs) != 1 || !strings.Contains(msgs[0], "worker "+deadOwner+" is gone") {
			t.Errorf("completed at attempt %d, errors %q", done.Attempt, msgs)
		}
		close(release)
		stop(t, w)
	})
}

// TestStopHandsRunningJobsOnAtOnce: a queue stopped mid-job (SIGTERM) cancels the job, which
// another queue then completes at once: no retry backoff (an hour here), no attempt used up.
func TestStopHandsRunningJobsOnAtOnce(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		started := make(chan struct{}, 1)
		cfg := jobs.DefaultConfig()
		cfg.ID, cfg.RetryBase = "stopping", time.Hour
		a, _ := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error {
			started <- struct{}{}
			<-ctx.Done()
			// What the cancellation made the work fail with need not say so: a download cut
			// short reads as a truncated file.
			return prevoir.Errorf(prevoir.EINVALID, "sp-fra-jour.csv line 812: unexpected end of file")
		}}, cfg)
		job := startOnJob(t, a, started)

		cfg.ID = "other"
		b, _ := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error { return nil }}, cfg)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stop(t, b)
		stop(t, a)
		done := waitState(t, b, job.ID, rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded)
		if done.State != rivertype.JobStateCompleted || !slices.Equal(done.AttemptedBy, []string{"stopping", "other"}) || done.Attempt != 1 || len(done.Errors) != 0 {
			t.Errorf("%s, attempted by %v, attempt %d, errors %q", done.State, done.AttemptedBy, done.Attempt, errorsOf(done))
		}
	})
}

// TestConcurrentStartsOnEmptyDatabase: processes started at the same instant on an empty
// database all migrate it, River's tables included, and start. They open the database at
// once, then open the queue at once, as they do when the first one's migration of prevoir's
// schema has held the others back until it was done.
func TestConcurrentStartsOnEmptyDatabase(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		const n = 4
		var opened, wg sync.WaitGroup
		opened.Add(n)
		start := make(chan struct{})
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				<-start
				db, err := sqlstore.Open(ctx, dbURL)
				opened.Done()
				if err != nil {
					errs <- fmt.Errorf("process %d: %w", i, err)
					return
				}
				defer db.Close()
				opened.Wait()
				q, err := jobs.Open(ctx, db, nil, jobs.DefaultConfig(), nil)
				if err != nil {
					errs <- fmt.Errorf("process %d: %w", i, err)
					return
				}
				q.Close()
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestRescueIsConditional: of two rescuers that saw the same lapsed lease, one rescues the job;
// and a job that completed meanwhile is left as it is.
func TestRescueIsConditional(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		started, release := make(chan struct{}, 1), make(chan struct{})
		var calls atomic.Int64
		cfg := jobs.DefaultConfig()
		cfg.ID, cfg.RescueAfter, cfg.Workers = "worker", time.Hour, 1
		w, _ := openQueue(t, dbURL, &jobs.Handlers{Ingest: func(ctx context.Context) error {
			if calls.Add(1) == 1 {
				started <- struct{}{}
				<-release
			}
			return nil
		}}, cfg)
		job := startOnJob(t, w, started)
		defer stop(t, w)

		db, err := sqlstore.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		leases := sqlstore.NewJobLeases(db)
		if err := leases.Abandon(ctx, "worker"); err != nil {
			t.Fatal(err)
		}
		running, err := leases.Running(ctx, cfg.RescueAfter)
		if err != nil || len(running) != 1 || running[0].ID != job.ID || !running[0].Expired || running[0].Lease == nil {
			t.Fatalf("running jobs %+v, %v", running, err)
		}
		seen := running[0]
		for i, want := range []string{"available", ""} {
			if state, err := leases.Rescue(ctx, seen, false, cfg.RescueAfter, []byte(`{"error":"rescued"}`)); err != nil || state != want {
				t.Errorf("rescuer %d: %q, %v; want %q", i, state, err, want)
			}
		}

		close(release) // the worker's slot frees: it fetches the job again and completes it
		done := waitState(t, w, job.ID, rivertype.JobStateCompleted)
		if state, err := leases.Rescue(ctx, seen, false, cfg.RescueAfter, []byte(`{"error":"late"}`)); err != nil || state != "" {
			t.Errorf("a late rescue of the completed job: %q, %v", state, err)
		}
		if j, err := w.Job(ctx, job.ID); err != nil || j.State != rivertype.JobStateCompleted || j.Attempt != 2 || len(j.Errors) != 1 || done.Attempt != 2 {
			t.Errorf("after the late rescue: %+v, %v", j, err)
		}
	})
}
