package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/s3server"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
)

// teamProcess is a prevoir process started by a test, with its log in a file.
type teamProcess struct {
	name    string
	cmd     *exec.Cmd
	log     string
	stopped bool
	done    chan struct{} // closed when the process has exited; then err is its exit status
	err     error
}

// startProcess starts the prevoir binary with env added to the test's environment, and stops it
// with SIGTERM when the test ends.
func startProcess(t *testing.T, bin, name string, env []string, args ...string) *teamProcess {
	t.Helper()
	p := &teamProcess{name: name, cmd: exec.Command(bin, args...), log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		logf.Close()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.output())
		}
	})
	return p
}

// stop stops the process with SIGTERM, once, and waits for it to exit. A process the test
// stopped itself (killed, or signalled and left to exit) is only made sure to be gone.
func (p *teamProcess) stop(t *testing.T) {
	t.Helper()
	if p.stopped {
		p.wait(30 * time.Second)
		return
	}
	p.terminate()
	if !p.wait(30 * time.Second) {
		t.Errorf("%s did not stop on SIGTERM", p.name)
	} else if p.err != nil && !t.Failed() {
		t.Errorf("%s exited with %v:\n%s", p.name, p.err, p.output())
	}
}

// terminate sends the process SIGTERM; the test waits for it (the cleanup's stop only makes
// sure it is gone).
func (p *teamProcess) terminate() {
	p.stopped = true
	p.cmd.Process.Signal(syscall.SIGTERM)
}

// wait waits up to timeout for the process to exit, and kills it if it has not; it reports
// whether the process exited by itself.
func (p *teamProcess) wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// kill kills the process with SIGKILL, as a crash or the OOM killer would, and waits for it.
func (p *teamProcess) kill() {
	p.stopped = true
	p.cmd.Process.Kill()
	<-p.done
}

// exited reports whether the process has exited.
func (p *teamProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *teamProcess) pid() int { return p.cmd.Process.Pid }

func (p *teamProcess) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// TestTeamDeployment runs the team deployment for real: "prevoir serve --no-worker" and two
// "prevoir worker" processes configured only through PREVOIR_* variables, on PostgreSQL and an
// S3-compatible server on a loopback port. A refresh and a retraining are asked for through the
// API with the admin token; the workers run the ingest, the training of two targets fanned out
// into one job per (target, model), each target's champion selection and the forecast; the artifacts land in the bucket; and the
// champion's forecast and model file are served by the server and read by another process.
func TestTeamDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	dbURL := testutil.PostgresURL(t)
	s3 := s3server.Start(t, "prevoir")
	s3.SetEnv(t)
	artifactsURL := s3.BucketURL("prevoir")
	gouv := testutil.NewDataGouvServer(t, testutil.DataDir(t))
	bin := buildBinary(t)
	ctx := context.Background()

	// The database schema and the queue's tables exist before the processes start, as after
	// a first "prevoir serve"; the test reads the queue and the registry through them.
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

	const token = "team-s3cret-admin-token"
	env := append(s3.Env(),
		"PREVOIR_DB="+dbURL,
		"PREVOIR_ARTIFACTS="+artifactsURL,
		"PREVOIR_DATAGOUV_URL="+gouv.URL,
		"PREVOIR_MODELS=snaive,ets",
		// Two targets: a training fans out per (target, model).
		"PREVOIR_TARGETS="+prevoir.DefaultTarget+","+prevoir.TargetHospitalised,
		"PREVOIR_TRAIN_ORIGINS=3",
		"PREVOIR_LOG_FORMAT=json",
		"PREVOIR_LOG_LEVEL=warn",
	)
	addr := testutil.FreeAddr(t)
	server := startProcess(t, bin, "server", append(env, "PREVOIR_ADMIN_TOKEN="+token, "PREVOIR_ADDR="+addr, "PREVOIR_REFRESH_EVERY=1s"),
		"serve", "--no-worker")
	var workerPIDs []int
	for i := range 2 {
		w := startProcess(t, bin, fmt.Sprintf("worker%d", i), append(env, "PREVOIR_JOB_WORKERS=1", "PREVOIR_RETRY_BASE=1s"), "worker")
		workerPIDs = append(workerPIDs, w.pid())
	}

	base := "http://" + addr
	waitForOK(t, 20*time.Second, base+"/healthz", server)

	// 1. Ingest. (The forecast it queues has no champion yet and is cancelled: expected.)
	ingestJob := waitJob(t, queue, postAction(t, base, token, "refresh", server), 30*time.Second)
	checkWorkedByWorker(t, ingestJob, workerPIDs)

	// 2. Train: one train_model job per (target, model), shared by the workers, then each
	// target's champion rule.
	trainJob := waitJob(t, queue, postAction(t, base, token, "retrain?target=all", server), 20*time.Second)
	checkWorkedByWorker(t, trainJob, workerPIDs)
	var batch []*rivertype.JobRow
	waitFor(t, 90*time.Second, "the training batch to finish", func() bool {
		batch = batchJobs(t, queue, trainJob.ID)
		done := 0
		for _, j := range batch {
			if j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateDiscarded {
				t.Fatalf("job %d (%s): %s: %v", j.ID, j.Kind, j.State, j.Errors)
			}
			if j.State == rivertype.JobStateCompleted {
				done++
			}
		}
		return len(batch) == 6 && done == 6 // 2 targets x (2 models + the selection)
	})
	by := map[string]bool{}
	for _, j := range batch {
		checkWorkedByWorker(t, j, workerPIDs)
		by[j.AttemptedBy[len(j.AttemptedBy)-1]] = true
	}
	t.Logf("training batch of %d jobs worked by %d worker(s)", len(batch), len(by))
	champion, err := sqlstore.NewRegistry(db).ResolveAlias(ctx, prevoir.DefaultTarget, prevoir.AliasChampion)
	if err != nil {
		t.Fatalf("no champion after training: %v", err)
	}
	if _, err := sqlstore.NewRegistry(db).ResolveAlias(ctx, prevoir.TargetHospitalised, prevoir.AliasChampion); err != nil {
		t.Fatalf("no champion of %s after training: %v", prevoir.TargetHospitalised, err)
	}

	// 3. Forecast: the champion selection queued the champion's forecast, so there is one
	// without waiting for the next refresh. The server (no worker of its own) serves it once
	// it reloads.
	checkForecast(t, waitForecast(t, base, 30*time.Second, server))

	// The artifacts are in the bucket: both snapshots, and the runs' artifacts.
	bucket, err := blobstore.Open(ctx, artifactsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	snaps, err := bucket.List(ctx, "snapshots/")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Errorf("snapshots in the bucket: %q", snaps)
	}
	runKeys, err := bucket.List(ctx, "runs/")
	if err != nil {
		t.Fatal(err)
	}
	modelKey := "runs/" + champion.RunID + "/artifacts/" + champion.ArtifactPath
	if !slices.Contains(runKeys, modelKey) {
		t.Errorf("the champion's model %s is not in the bucket: %q", modelKey, runKeys)
	}

	// Any process reads the champion: another prevoir process, on the same settings.
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("prevoir %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	if out := cli("forecast", "show"); !strings.Contains(out, "2023-01-14") || !strings.Contains(out, champion.Family) {
		t.Errorf("forecast show:\n%s", out)
	}
	model := cli("artifacts", "get", champion.RunID, champion.ArtifactPath)
	want, err := bucket.Get(ctx, modelKey)
	if err != nil {
		t.Fatal(err)
	}
	if model != string(want) || !json.Valid(want) {
		t.Errorf("artifacts get returned %d bytes, the bucket holds %d", len(model), len(want))
	}
}

// postAction asks the server for an action (refresh, retrain) with the admin token and returns
// the ID of the job it queued.
func postAction(t *testing.T, base, token, name string, server *teamProcess) int64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/actions/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		JobID int64 `json:"job_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusAccepted || out.JobID == 0 {
		t.Fatalf("POST %s: %d %v %+v\n%s", name, resp.StatusCode, err, out, server.output())
	}
	return out.JobID
}

// waitJob waits for a job to complete and returns it; a cancelled or discarded job fails the
// test at once. The queue may be unreachable for a while (an outage): reads are retried.
func waitJob(t *testing.T, queue *jobs.Queue, id int64, timeout time.Duration) *rivertype.JobRow {
	t.Helper()
	var j *rivertype.JobRow
	waitFor(t, timeout, fmt.Sprintf("job %d to complete", id), func() bool {
		got, err := queue.Job(context.Background(), id)
		if err != nil {
			return false
		}
		j = got
		if j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateDiscarded {
			t.Fatalf("job %d (%s): %s: %v", id, j.Kind, j.State, j.Errors)
		}
		return j.State == rivertype.JobStateCompleted
	})
	return j
}

// servedForecast is the part of /api/v1/forecast the tests read.
type servedForecast struct {
	Origin string `json:"origin"`
	Days   []struct {
		Date  string  `json:"date"`
		Point float64 `json:"point"`
	} `json:"days"`
}

// currentOrigin is the last day of the current data files.
const currentOrigin = "2022-12-31"

// waitForecast waits until the server at base serves a 14-day forecast from currentOrigin (a
// forecast from older data may be served before: a training forecasts at once), and returns
// it.
func waitForecast(t *testing.T, base string, timeout time.Duration, procs ...*teamProcess) servedForecast {
	t.Helper()
	var fc servedForecast
	waitFor(t, timeout, "the server to serve the forecast from "+currentOrigin, func() bool {
		r, err := http.Get(base + "/api/v1/forecast")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		return r.StatusCode == http.StatusOK && json.NewDecoder(r.Body).Decode(&fc) == nil && len(fc.Days) == 14 && fc.Origin == currentOrigin
	}, procs...)
	return fc
}

// checkForecast checks a forecast served from the last day of the current files.
func checkForecast(t *testing.T, fc servedForecast) {
	t.Helper()
	if fc.Origin != currentOrigin || fc.Days[0].Date != "2023-01-01" {
		t.Errorf("forecast from %s, first day %s; want from the current release's last day 2022-12-31", fc.Origin, fc.Days[0].Date)
	}
}

// waitFor polls cond every 100 ms until it holds, failing the test (with the logs of procs)
// after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, procs ...*teamProcess) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			for _, p := range procs {
				t.Logf("%s log:\n%s", p.name, p.output())
			}
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpOK reports whether a GET of url answers 200.
func httpOK(url string) bool {
	r, err := http.Get(url)
	if err != nil {
		return false
	}
	r.Body.Close()
	return r.StatusCode == http.StatusOK
}

// waitForOK waits until a GET of url answers 200, failing the test (with the logs of procs)
// after timeout.
func waitForOK(t *testing.T, timeout time.Duration, url string, procs ...*teamProcess) {
	t.Helper()
	waitFor(t, timeout, url+" to answer 200", func() bool {
		return httpOK(url)
	}, procs...)
}

// checkWorkedByWorker checks that a job was worked by one of the worker processes (named
// host:PID, in River's tables as in runs), not by the server.
func checkWorkedByWorker(t *testing.T, j *rivertype.JobRow, workerPIDs []int) {
	t.Helper()
	if len(j.AttemptedBy) == 0 {
		t.Errorf("job %d (%s) was never attempted", j.ID, j.Kind)
		return
	}
	if !slices.Contains(workerPIDs, lastPID(j)) {
		t.Errorf("job %d (%s) was worked by %q, not by a worker (pids %d)", j.ID, j.Kind, j.AttemptedBy[len(j.AttemptedBy)-1], workerPIDs)
	}
}

// batchJobs returns the train_model and select_champion jobs of the training queued by job
// trainID.
func batchJobs(t *testing.T, queue *jobs.Queue, trainID int64) []*rivertype.JobRow {
	t.Helper()
	all, err := queue.Jobs(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("train-%d", trainID)
	var out []*rivertype.JobRow
	for _, j := range all {
		var args struct {
			Batch string `json:"batch"`
		}
		if (j.Kind == jobs.KindTrainModel || j.Kind == jobs.KindSelectChampion) && json.Unmarshal(j.EncodedArgs, &args) == nil && args.Batch == want {
			out = append(out, j)
		}
	}
	return out
}
