package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
)

// TestRetryBackoffDoubles: a job failing transiently is retried after RetryBase, then twice
// that, then four times: each retry is scheduled that long after the failed attempt returned.
func TestRetryBackoffDoubles(t *testing.T) {
	const base = 300 * time.Millisecond
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		var (
			jobID atomic.Int64
			mu    sync.Mutex
			ended []time.Time // when each failed attempt returned
			gaps  []time.Duration
			calls int
		)
		var q *jobs.Queue
		h := &jobs.Handlers{Ingest: func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls > 1 {
				// The job as this attempt found it: scheduled by the previous attempt's failure.
				j, err := q.Job(ctx, jobID.Load())
				if err != nil {
					return err
				}
				gaps = append(gaps, j.ScheduledAt.Sub(ended[len(ended)-1]))
			}
			if calls > 3 {
				return nil
			}
			ended = append(ended, time.Now())
			return prevoir.Errorf(prevoir.EUNAVAILABLE, "source down (attempt %d)", calls)
		}}
		cfg := jobs.DefaultConfig()
		cfg.RetryBase = base
		q, _ = openQueue(t, dbURL, h, cfg)
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Stop(ctx) })
		mu.Lock() // the first attempt waits for the job's ID
		job, _, err := q.Insert(ctx, jobs.IngestArgs{Trigger: "backoff"})
		if err == nil {
			jobID.Store(job.ID)
		}
		mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		done := waitState(t, q, job.ID, rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded)
		mu.Lock()
		defer mu.Unlock()
		if done.State != rivertype.JobStateCompleted || done.Attempt != 4 || len(gaps) != 3 {
			t.Fatalf("job %s after %d attempts (%d calls, retries scheduled %v after the failures); want completed after 4",
				done.State, done.Attempt, calls, gaps)
		}
		// The retry is scheduled at least its backoff after the attempt returned (the policy
		// runs after the attempt; SQLite keeps times to the millisecond), and before the next
		// step of the backoff: a bound that does not depend on how fast a loaded machine hands
		// the failure to the policy, and still tells a doubling backoff from a constant one.
		for i, gap := range gaps {
			want := base << i
			if gap <= want-time.Millisecond || gap >= 2*want {
				t.Errorf("retry %d scheduled %v after the failure, want %v (all: %v)", i+1, gap, want, gaps)
			}
		}
	})
}

// TestChampionSelectionWaitsForItsBatch: a training's champion selection waits, without using
// up its attempts, until every model of its batch has finished training, then runs once; a
// training of another batch still running does not hold up another batch's selection.
func TestChampionSelectionWaitsForItsBatch(t *testing.T) {
	ctx := context.Background()
	var (
		slowDone atomic.Bool
		mu       sync.Mutex
		selected []string // the batches selected, in order
		early    []string // those selected while a model of theirs was training
	)
	started, release := make(chan struct{}), make(chan struct{})
	h := &jobs.Handlers{
		TrainModel: func(ctx context.Context, target, batch, model string, epochs int) error {
			if model != "slow" {
				return nil
			}
			close(started)
			select {
			case <-release:
				slowDone.Store(true)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		SelectChampion: func(ctx context.Context, target, batch string, models []string) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			selected = append(selected, batch)
			if slices.Contains(models, "slow") && !slowDone.Load() {
				early = append(early, batch)
			}
			return 0, nil
		},
	}
	cfg := jobs.DefaultConfig()
	cfg.Targets = []string{prevoir.DefaultTarget} // one batch to watch
	q, _ := openQueue(t, testutil.SQLiteURL(t), h, cfg)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(ctx) })
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	train, _, err := q.Insert(ctx, jobs.TrainArgs{Models: []string{"fast", "slow"}, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	batch := fmt.Sprintf("train-%d", train.ID)
	receive(t, "the slow model's training to start", started)
	// The batch's selection has run once and is waiting for the slow model.
	var sel *rivertype.JobRow
	waitFor(t, "the selection of "+batch+" to run once", func() (bool, string) {
		list, err := q.Jobs(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range list {
			var a jobs.SelectChampionArgs
			if j.Kind == jobs.KindSelectChampion && json.Unmarshal(j.EncodedArgs, &a) == nil && a.Batch == batch {
				sel = j
				return j.AttemptedAt != nil && j.State != rivertype.JobStateRunning, string(j.State)
			}
		}
		return false, "no selection job"
	})
	if sel.State != rivertype.JobStateScheduled || len(sel.Errors) != 0 {
		mu.Lock()
		t.Fatalf("the selection of %s, with a model still training: %s (errors %v; selected %v, %v while training)", batch, sel.State, sel.Errors, selected, early)
	}
	// Another batch, all trained, is selected meanwhile.
	other, _, err := q.Insert(ctx, jobs.SelectChampionArgs{Batch: "train-other", Models: []string{"ets"}})
	if err != nil {
		t.Fatal(err)
	}
	if j := waitState(t, q, other.ID, rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateScheduled); j.State != rivertype.JobStateCompleted {
		t.Errorf("the selection of a trained batch while another trains: %s", j.State)
	}
	// The slow model done, the batch's selection runs (at its next look), once.
	close(release)
	if j := waitState(t, q, sel.ID, rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded); j.State != rivertype.JobStateCompleted {
		t.Errorf("the selection of %s once trained: %s", batch, j.State)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"train-other", batch}; !slices.Equal(selected, want) || len(early) != 0 {
		t.Errorf("selected %v (%v while a model of theirs was training), want %v", selected, early, want)
	}
}
