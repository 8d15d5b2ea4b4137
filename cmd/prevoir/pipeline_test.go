package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/datagouv"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/ingest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// TestEndToEnd: from an empty home, ingest, train and forecast: a champion is registered and a
// 14-day forecast with intervals is stored; the flows are idempotent.
func TestEndToEnd(t *testing.T) {
	c := newCLI(t)
	c.ok("run", "ingest", "--source-dir", testutil.DataDir(t))
	out := c.ok("run", "train", "--source-dir", testutil.DataDir(t), "--models", "snaive,ets,theta", "--train-origins", "6")
	if !strings.Contains(out, "champion: ") || !strings.Contains(out, "changed: true") {
		t.Fatalf("train:\n%s", out)
	}
	c.ok("run", "forecast", "--source-dir", testutil.DataDir(t))
	var fc prevoir.StoredForecast
	c.okJSON(&fc, "forecast", "show", "--json")
	if err := fc.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(fc.Dates) != 14 || fc.Origin.String() != "2022-12-31" || fc.Version == 0 || fc.RunID == "" || len(fc.Snapshots) != 2 {
		t.Errorf("forecast: %d days from %s by v%d, run %q, snapshots %v", len(fc.Dates), fc.Origin, fc.Version, fc.RunID, fc.Snapshots)
	}
	for i := range fc.Dates {
		lo, hi, ok := fc.Interval(i, 0.95)
		if !ok || !(lo < hi) || fc.Point[i] < 0 {
			t.Errorf("day %d: point %v, 95%% interval %v..%v", i+1, fc.Point[i], lo, hi)
		}
	}
	models := c.ok("models", "list")
	if !strings.Contains(models, "champion=v") || !strings.Contains(models, "incid_dchosp") {
		t.Errorf("models:\n%s", models)
	}
	// Idempotent: the same forecast again computes nothing; ingest again stores nothing.
	if out := c.ok("run", "forecast", "--source-dir", testutil.DataDir(t)); !strings.Contains(out, "nothing recomputed") {
		t.Errorf("second forecast:\n%s", out)
	}
	if out := c.ok("run", "ingest", "--source-dir", testutil.DataDir(t)); strings.Count(out, "unchanged") != 2 {
		t.Errorf("second ingest:\n%s", out)
	}
	// Scoring: no forecast day is observed yet (the data end on the origin).
	if out := c.ok("run", "score"); !strings.Contains(out, "scored 0 forecast days") {
		t.Errorf("score:\n%s", out)
	}
	// Every step is a run; none is left running.
	runs := c.ok("runs", "list", "--limit", "0")
	for _, kind := range []string{"ingest", "train", "select", "forecast", "score"} {
		if !strings.Contains(runs, kind) {
			t.Errorf("no %s run:\n%s", kind, runs)
		}
	}
	if strings.Contains(runs, "running") || strings.Contains(runs, "failed") {
		t.Errorf("runs:\n%s", runs)
	}
	if code, _, errs := c.run("run", "dance"); code != 2 || !strings.Contains(errs, "unknown flow") {
		t.Errorf("unknown flow: %d %q", code, errs)
	}
}

// TestForecastWithoutChampion: a clear "no model trained yet", not a crash.
func TestForecastWithoutChampion(t *testing.T) {
	c := newCLI(t)
	c.ok("run", "ingest", "--source-dir", testutil.DataDir(t))
	if code, _, errs := c.run("run", "forecast"); code != 1 || !strings.Contains(errs, "no model trained yet") {
		t.Errorf("forecast without champion: %d %q", code, errs)
	}
	if code, _, errs := c.run("forecast", "show"); code != 1 || !strings.Contains(errs, "no forecast yet") {
		t.Errorf("forecast show without forecast: %d %q", code, errs)
	}
}

// TestSourceDownIngestJobRetriesThenFails: with data.gouv.fr unreachable, the ingest job is
// retried with backoff, then fails visibly (discarded with its errors, failed ingest runs),
// and the previous forecast is still served.
func TestSourceDownIngestJobRetriesThenFails(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive", "--train-origins", "2")
	c.ok("run", "forecast", "--source-dir", data)
	before := c.ok("forecast", "show")

	// A server that is gone: connections are refused.
	dead := httptest.NewServer(nil)
	dead.Close()
	ctx := context.Background()
	db, blobs := c.stores()
	srcs := prevoir.DefaultSources()
	for i := range srcs {
		srcs[i].URL = prevoir.StableURL(dead.URL, srcs[i].ResourceID)
	}
	runs := sqlstore.NewRunStore(db)
	f := &flow.Flows{Sources: srcs, Tracker: &tracking.Tracker{Runs: runs, Blobs: blobs},
		Ingester: &ingest.Service{Snapshots: sqlstore.NewSnapshotStore(db), Blobs: blobs,
			Client: &datagouv.Client{MaxAttempts: 2, Backoff: time.Millisecond}},
		Registry: sqlstore.NewRegistry(db), Forecasts: sqlstore.NewForecastStore(db), RegisteredModel: prevoir.DefaultTarget,
		FrameOptions: prevoir.DefaultFrameOptions()}
	cfg := jobs.DefaultConfig()
	cfg.MaxAttempts, cfg.RetryBase = 3, 50*time.Millisecond
	q, err := jobs.Open(ctx, db, &jobs.Handlers{Ingest: func(ctx context.Context) error { _, err := f.Ingest(ctx); return err }}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	job, _, err := q.Insert(ctx, jobs.IngestArgs{Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		j, err := q.Job(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == rivertype.JobStateDiscarded {
			if j.Attempt != 3 || len(j.Errors) != 3 || !strings.Contains(j.Errors[2].Error, "connection refused") {
				t.Errorf("discarded after %d attempts, errors %v", j.Attempt, j.Errors)
			}
			break
		}
		if j.State == rivertype.JobStateCompleted || j.State == rivertype.JobStateCancelled || time.Now().After(deadline) {
			t.Fatalf("job state %s, errors %v", j.State, j.Errors)
		}
		time.Sleep(50 * time.Millisecond)
	}
	failed, _ := runs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunIngest, Status: prevoir.RunFailed})
	if len(failed) != 3 {
		t.Errorf("%d failed ingest runs, want 3", len(failed))
	}
	if got := c.ok("forecast", "show"); got != before {
		t.Errorf("the previous forecast is not served:\n%s\nwant\n%s", got, before)
	}
	if jobsOut := c.ok("jobs"); !strings.Contains(jobsOut, "discarded") || !strings.Contains(jobsOut, "ingest indicateurs: fetch") {
		t.Errorf("jobs:\n%s", jobsOut)
	}
}

// TestTrainNetworks: a network is trained with the others, registered with its weights, and
// not made champion while its intervals are not calibrated; promoted by hand (--force), it
// forecasts from its stored weights.
func TestTrainNetworks(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	out := c.ok("run", "train", "--source-dir", data, "--models", "snaive,rnn", "--epochs", "2", "--train-origins", "4")
	if !strings.Contains(out, "champion: snaive") || !strings.Contains(out, "not eligible") || !strings.Contains(out, "rnn (point forecasts only, no prediction interval)") {
		t.Fatalf("train:\n%s", out)
	}
	var versions struct {
		Versions []prevoir.ModelVersion `json:"versions"`
	}
	c.okJSON(&versions, "models", "show", "incid_dchosp", "--json")
	var rnn *prevoir.ModelVersion
	for i, v := range versions.Versions {
		if v.Family == "rnn" {
			rnn = &versions.Versions[i]
		}
	}
	if rnn == nil {
		t.Fatalf("no rnn version: %+v", versions)
	}
	if w := c.ok("artifacts", "get", rnn.RunID, "model.bin"); !strings.HasPrefix(w, "PREVOIRNN") {
		t.Errorf("weights artifact starts %q", w[:min(12, len(w))])
	}
	if show := c.ok("runs", "show", rnn.RunID); !strings.Contains(show, "train_mse") {
		t.Errorf("no training curve:\n%s", show)
	}
	c.ok("models", "promote", "incid_dchosp", fmt.Sprint(rnn.Version), "--force")
	c.ok("run", "forecast", "--source-dir", data)
	var fc prevoir.StoredForecast
	c.okJSON(&fc, "forecast", "show", "--json")
	if fc.Family != "rnn" || len(fc.Point) != 14 {
		t.Errorf("forecast by %s, %d days", fc.Family, len(fc.Point))
	}
}

// TestTrainingKilledMidRun: a training process killed mid-run leaves a failed run (marked at
// the next start of a command that writes), no registered version, and the previous champion
// still serves.
func TestTrainingKilledMidRun(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive", "--train-origins", "2")
	c.ok("run", "forecast", "--source-dir", data)
	modelsBefore := c.ok("models", "show", "incid_dchosp")
	forecastBefore := c.ok("forecast", "show")

	bin := buildBinary(t)
	cmd := exec.Command(bin, "--home", c.home, "--log-level", "warn", "run", "train", "--source-dir", data,
		"--models", "transformer", "--epochs", "1000", "--train-origins", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once its training run has started.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(c.ok("runs", "list", "--kind", "train", "--status", "running"), "transformer") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the training run never started")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	// A read-only command writes nothing, so it does not reap the run; the next command that
	// writes marks it failed.
	if runs := c.ok("runs", "list", "--kind", "train", "--name", "transformer"); !strings.Contains(runs, "running") {
		t.Errorf("a read-only command changed the killed run:\n%s", runs)
	}
	c.ok("ingest", "--source-dir", data)
	runs := c.ok("runs", "list", "--kind", "train", "--name", "transformer")
	if !strings.Contains(runs, "failed") || !strings.Contains(runs, "abandoned") {
		t.Errorf("the killed run:\n%s", runs)
	}
	if got := c.ok("models", "show", "incid_dchosp"); got != modelsBefore {
		t.Errorf("the registry changed:\n%s\nwas\n%s", got, modelsBefore)
	}
	if got := c.ok("forecast", "show"); got != forecastBefore {
		t.Error("the served forecast changed")
	}
	c.ok("run", "forecast", "--source-dir", data) // the previous champion still forecasts
}

// TestNetworkWithConformalIntervals: a network trained with +cp keeps its calibration with its
// weights and forecasts with real intervals, without training or refitting at forecast time.
func TestNetworkWithConformalIntervals(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "rnn+cp", "--epochs", "2", "--train-origins", "3", "--min-coverage", "0.01")
	var fc prevoir.StoredForecast
	c.ok("run", "forecast", "--source-dir", data)
	c.okJSON(&fc, "forecast", "show", "--json")
	if fc.Family != "rnn+cp" {
		t.Fatalf("forecast by %s", fc.Family)
	}
	for i := range fc.Dates {
		lo, hi, ok := fc.Interval(i, 0.8)
		if !ok || !(lo < hi) {
			t.Errorf("day %d: 80%% interval %v..%v", i+1, lo, hi)
		}
	}
}

// TestPartialBatchKeepsChampion: a training of a single worse model does not dethrone a
// champion it did not retrain: the champion competes with its own backtest on the same origins.
func TestPartialBatchKeepsChampion(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	out := c.ok("run", "train", "--source-dir", data, "--models", "snaive,ets", "--train-origins", "4")
	if !strings.Contains(out, "champion: ") {
		t.Fatal(out)
	}
	before := c.ok("models", "list")
	out = c.ok("run", "train", "--source-dir", data, "--models", "naive", "--train-origins", "4")
	if !strings.Contains(out, "(changed: false)") {
		t.Errorf("a worse single model changed the champion:\n%s", out)
	}
	after := c.ok("models", "list")
	if strings.Fields(strings.Split(after, "\n")[1])[2] != strings.Fields(strings.Split(before, "\n")[1])[2] {
		t.Errorf("champion moved:\n%s\nwas\n%s", after, before)
	}
}
