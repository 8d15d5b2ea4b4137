package jobs_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
)

// TestPlainQueue: the queue in plain types (what the web server's actions use) queues each flow
// once while it is unfinished, reports a job's state, and counts the jobs that failed for good.
func TestPlainQueue(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		q, _ := openQueue(t, dbURL, nil, jobs.DefaultConfig()) // no worker: the jobs wait
		a, err := q.InsertIngest(ctx, "manual")
		if err != nil {
			t.Fatal(err)
		}
		if b, err := q.InsertIngest(ctx, "manual"); err != nil || b != a {
			t.Errorf("a second identical ingest: job %d, %v; want the waiting job %d", b, err, a)
		}
		f2, _ := q.InsertForecast(ctx, "promotion", "", 2)
		f3, _ := q.InsertForecast(ctx, "promotion", "", 3)
		h2, _ := q.InsertForecast(ctx, "promotion", "hosp", 2)
		tr, _ := q.InsertTrain(ctx, "manual", "")
		if f2 == 0 || f3 == 0 || f3 == f2 || h2 == 0 || h2 == f2 || tr == 0 || tr == a {
			t.Errorf("forecasts for champions 2 and 3 and hosp's 2: jobs %d, %d and %d; training %d", f2, f3, h2, tr)
		}
		if _, err := q.InsertTrain(ctx, "manual", "beds"); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("a training of an unknown target: %v, want an invalid-input error", err)
		}
		if _, err := q.InsertForecast(ctx, "promotion", "beds", 1); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("a forecast of an unknown target: %v, want an invalid-input error", err)
		}
		st, err := q.Status(ctx, tr)
		if err != nil || st.ID != tr || st.Kind != jobs.KindTrain || st.State != string(rivertype.JobStateAvailable) || st.Done || st.CreatedAt.IsZero() {
			t.Errorf("waiting training: %+v, %v", st, err)
		}
		if _, err := q.Status(ctx, tr+1000); prevoir.ErrorCode(err) != prevoir.ENOTFOUND {
			t.Errorf("an unknown job: %v, want ENOTFOUND", err)
		}
		if n, err := q.FailedJobs(ctx, 10); err != nil || len(n) != 0 {
			t.Errorf("failed jobs before any failed: %v, %v", n, err)
		}
	})

	// A release the ingest rejects cancels its job: done, with the error, and counted as failed;
	// the completed jobs are not.
	q, outcome, _ := outcomeQueue(t, testutil.SQLiteURL(t), 0)
	ctx := context.Background()
	ok, _ := q.InsertIngest(ctx, "ok")
	waitState(t, q, ok, rivertype.JobStateCompleted)
	outcome <- prevoir.Errorf(prevoir.EINVALID, "parse sp-fra-jour.csv line 3: bad")
	bad, _ := q.InsertIngest(ctx, "bad")
	waitState(t, q, bad, rivertype.JobStateCancelled, rivertype.JobStateCompleted)
	st, err := q.Status(ctx, bad)
	if err != nil || st.State != string(rivertype.JobStateCancelled) || !st.Done || st.Attempt != 1 || len(st.Errors) != 1 || st.FinalizedAt == nil {
		t.Errorf("rejected release: %+v, %v", st, err)
	}
	if n, err := q.FailedJobs(ctx, 100); err != nil || len(n) != 1 || n[jobs.KindIngest] != 1 {
		t.Errorf("failed jobs %v, %v; want one ingest", n, err)
	}
}
