package jobs_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
)

// storeErrors returns what a store answers when its database is down (a PostgreSQL that
// refuses connections) and when the write itself is wrong (a unique violation in SQLite): the
// libraries' own errors, without prevoir's codes.
func storeErrors(t *testing.T) (down, wrong error) {
	t.Helper()
	ctx := context.Background()
	pg, err := sql.Open("pgx", "postgres://prevoir@"+testutil.FreeAddr(t)+"/prevoir?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	_, down = pg.BeginTx(ctx, nil)

	lite, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	lite.ExecContext(ctx, "CREATE TABLE t (k TEXT PRIMARY KEY)")
	lite.ExecContext(ctx, "INSERT INTO t VALUES ('a')")
	_, wrong = lite.ExecContext(ctx, "INSERT INTO t VALUES ('a')")
	if down == nil || wrong == nil {
		t.Fatalf("the stores did not fail: %v, %v", down, wrong)
	}
	return down, wrong
}

// TestStoreOutageIsRetried: a job that fails because the database is unreachable is retried
// (and completes once it is back); one that fails on a write that cannot succeed is cancelled
// at once.
func TestStoreOutageIsRetried(t *testing.T) {
	down, wrong := storeErrors(t)
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		q, outcome, _ := outcomeQueue(t, dbURL, 50*time.Millisecond)

		outcome <- down
		outcome <- down
		job, _, err := q.Insert(ctx, jobs.IngestArgs{Trigger: "outage"})
		if err != nil {
			t.Fatal(err)
		}
		done := waitState(t, q, job.ID, rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded)
		if done.State != rivertype.JobStateCompleted || done.Attempt != 3 {
			t.Errorf("database down twice: %s after %d attempts, errors %v; want completed after 3", done.State, done.Attempt, done.Errors)
		}
		if len(done.Errors) == 0 || !strings.Contains(done.Errors[0].Error, "connection refused") {
			t.Errorf("the outage is not in the job's errors: %v", done.Errors)
		}

		outcome <- wrong
		job, _, _ = q.Insert(ctx, jobs.IngestArgs{Trigger: "wrong"})
		bad := waitState(t, q, job.ID, rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded)
		if bad.State != rivertype.JobStateCancelled || bad.Attempt != 1 {
			t.Errorf("unique violation: %s after %d attempts; want cancelled after 1", bad.State, bad.Attempt)
		}
	})
}
