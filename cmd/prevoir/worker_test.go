package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
)

// buildBinary compiles prevoir once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "prevoir")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTwoWorkersOnPostgres: two "prevoir worker" processes share 50 jobs on PostgreSQL; each
// job completes exactly once; a worker killed in the middle of a job leaves that job to be
// rescued and completed by the other.
func TestTwoWorkersOnPostgres(t *testing.T) {
	dbURL := testutil.PostgresURL(t)
	bin := buildBinary(t)
	ctx := context.Background()
	srv := testutil.NewDataGouvServer(t, testutil.DataDir(t))
	home := t.TempDir()

	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queue, err := jobs.Open(ctx, db, nil, jobs.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer queue.Close()

	workers := map[int]*exec.Cmd{}
	for i := range 2 {
		cmd := exec.Command(bin, "--db", dbURL, "--artifacts", filepath.Join(home, "artifacts"), "--log-format", "json", "--log-level", "warn",
			"worker", "--datagouv-url", srv.URL, "--workers", "2", "--rescue-after", "3s", "--job-timeout", "8s", "--retry-base", "1s",
			"--targets", prevoir.DefaultTarget) // the ingests' follow-ups of one target, as before targets
		logf, _ := os.Create(filepath.Join(home, fmt.Sprintf("worker%d.log", i)))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[cmd.Process.Pid] = cmd
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			logf.Close()
		}()
	}

	// The first file requests are slow, so that a worker can be killed mid-job.
	ind := srv.Sources()[0].ResourceID
	srv.Inject(ind, testutil.FaultSlow, testutil.FaultSlow)
	var ids []int64
	for i := range 50 {
		j, dup, err := queue.Insert(ctx, jobs.IngestArgs{Trigger: fmt.Sprintf("test-%d", i)})
		if err != nil || dup {
			t.Fatal(err, dup)
		}
		ids = append(ids, j.ID)
	}

	// Kill the worker that holds a running job.
	var killed *rivertype.JobRow
	deadline := time.Now().Add(90 * time.Second)
	for killed == nil && time.Now().Before(deadline) {
		for _, id := range ids {
			j, err := queue.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State != rivertype.JobStateRunning || len(j.AttemptedBy) == 0 {
				continue
			}
			by := j.AttemptedBy[len(j.AttemptedBy)-1]
			for pid, cmd := range workers {
				if strings.HasSuffix(by, fmt.Sprintf(":%d", pid)) {
					cmd.Process.Kill()
					cmd.Wait()
					delete(workers, pid)
					killed = j
				}
			}
			if killed != nil {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if killed == nil {
		for i := range 2 {
			b, _ := os.ReadFile(filepath.Join(home, fmt.Sprintf("worker%d.log", i)))
			t.Logf("worker %d log:\n%s", i, b)
		}
		t.Fatal("no job was seen running")
	}
	t.Logf("killed the worker running job %d", killed.ID)

	// Every job completes; the killed one after a second attempt by the surviving worker.
	deadline = time.Now().Add(3 * time.Minute)
	for _, id := range ids {
		for {
			j, err := queue.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State == rivertype.JobStateCompleted {
				if id == killed.ID && j.Attempt < 2 {
					t.Errorf("killed job %d completed on attempt %d", id, j.Attempt)
				}
				break
			}
			if j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateDiscarded || time.Now().After(deadline) {
				t.Fatalf("job %d: state %s, errors %v", id, j.State, j.Errors)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Exactly one finished ingest run per job.
	runs, err := sqlstore.NewRunStore(db).ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunIngest, Status: prevoir.RunFinished})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 50 {
		t.Errorf("%d finished ingest runs, want 50", len(runs))
	}
}
