package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir/jobs"
)

// TestJobsCommand: "prevoir jobs" shows the process running each job, and --json prints the
// arguments as JSON objects under River's field names, with the process.
func TestJobsCommand(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	db, _ := c.stores()
	started, release := make(chan struct{}), make(chan struct{})
	cfg := jobs.DefaultConfig()
	cfg.ID = "testhost:4242"
	q, err := jobs.Open(ctx, db, &jobs.Handlers{Ingest: func(ctx context.Context) error {
		close(started)
		<-release
		return nil
	}}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	// Queued before the queue starts, with no worker for its kind: never attempted.
	waiting, _, err := q.Insert(ctx, jobs.ForecastArgs{Trigger: "waiting"})
	if err != nil {
		t.Fatal(err)
	}
	running, _, err := q.Insert(ctx, jobs.IngestArgs{Trigger: "jobs-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		q.Stop(stopCtx)
	}()
	defer close(release)
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the ingest job never started")
	}
	// River records the attempt when it fetches the job, before the handler runs.
	if j, err := q.Job(ctx, running.ID); err != nil || j.State != rivertype.JobStateRunning {
		t.Fatalf("ingest job: %+v, %v", j, err)
	}

	rows := map[string][]string{}
	for _, line := range strings.Split(c.ok("jobs"), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			rows[f[1]] = f
		}
	}
	if h := rows["KIND"]; len(h) < 4 || h[3] != "PROCESS" {
		t.Errorf("header %q: want PROCESS as the fourth column", h)
	}
	if r := rows["ingest"]; len(r) < 4 || r[2] != "running" || r[3] != "testhost:4242" {
		t.Errorf("ingest row %q: want running by testhost:4242", r)
	}
	if r := rows["forecast"]; len(r) < 4 || r[2] != "available" || r[3] != "-" {
		t.Errorf("forecast row %q: want available, no process", r)
	}

	var list []map[string]json.RawMessage
	c.okJSON(&list, "jobs", "--json")
	byID := map[int64]map[string]json.RawMessage{}
	for _, j := range list {
		var id int64
		json.Unmarshal(j["id"], &id)
		byID[id] = j
	}
	for _, tc := range []struct {
		id      int64
		trigger string
		process string
	}{{running.ID, "jobs-test", "testhost:4242"}, {waiting.ID, "waiting", ""}} {
		j := byID[tc.id]
		if j == nil {
			t.Fatalf("job %d missing from %v", tc.id, list)
		}
		var args struct{ Trigger string }
		var process string
		if err := json.Unmarshal(j["args"], &args); err != nil || args.Trigger != tc.trigger {
			t.Errorf("job %d: args %s (%v), want an object with trigger %q", tc.id, j["args"], err, tc.trigger)
		}
		if err := json.Unmarshal(j["process"], &process); err != nil || process != tc.process {
			t.Errorf("job %d: process %s, want %q", tc.id, j["process"], tc.process)
		}
		for _, name := range []string{"kind", "state", "attempt", "max_attempts", "attempted_by", "created_at", "scheduled_at", "errors"} {
			if _, ok := j[name]; !ok {
				t.Errorf("job %d: no field %s", tc.id, name)
			}
		}
	}
}
