package tracking_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

type env struct {
	db      *sqlstore.DB
	tracker *tracking.Tracker
	reg     *sqlstore.Registry
	dir     string
}

func newEnv(t *testing.T, dbURL, dir string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	return &env{db: db, reg: sqlstore.NewRegistry(db), dir: dir,
		tracker: &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs, Heartbeat: 50 * time.Millisecond}}
}

// TestKilledRunIsReaped's child: start a training run, log a few epochs, say so, then hang
// until killed.
func TestMain(m *testing.M) {
	if db := os.Getenv("PREVOIR_TEST_CHILD_DB"); db != "" {
		os.Exit(child(db, os.Getenv("PREVOIR_TEST_CHILD_DIR")))
	}
	os.Exit(m.Run())
}

func child(dbURL, dir string) int {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	blobs, err := blobstore.Open(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tr := &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs}
	r, err := tr.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "tcn"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for e := range 3 {
		r.LogMetric(ctx, "loss", 1/float64(e+1), int64(e))
	}
	fmt.Println(r.ID) // the parent reads this, then kills us mid-training
	time.Sleep(time.Minute)
	return 0
}

// register finishes a run with a model artifact and makes it the champion.
func (e *env) register(t *testing.T, family string, model []byte) *prevoir.ModelVersion {
	t.Helper()
	ctx := context.Background()
	r, err := e.tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: family})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LogArtifact(ctx, "model.bin", model); err != nil {
		t.Fatal(err)
	}
	if err := r.End(ctx, nil); err != nil {
		t.Fatal(err)
	}
	v := &prevoir.ModelVersion{Model: "incid_dchosp", Family: family, RunID: r.ID, ArtifactPath: "model.bin"}
	if err := e.reg.CreateModelVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.SetAlias(ctx, v.Model, prevoir.AliasChampion, v.Version, "test"); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRunLifecycle(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := newEnv(t, dbURL, t.TempDir())
		r, err := e.tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunBacktest, Params: map[string]string{"origins": "50"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Owner != tracking.Owner() || r.CodeVersion == "" {
			t.Errorf("owner %q code %q", r.Owner, r.CodeVersion)
		}
		before := r.HeartbeatAt
		time.Sleep(150 * time.Millisecond)
		got, _ := e.tracker.Runs.FindRun(ctx, r.ID)
		if !got.HeartbeatAt.After(before) {
			t.Error("no heartbeat while running")
		}
		if _, err := r.LogArtifact(ctx, "../escape", []byte("x")); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("escaping artifact path: %v", err)
		}
		if _, err := r.LogArtifact(ctx, "plots/mae.svg", []byte("<svg/>")); err != nil {
			t.Fatal(err)
		}
		if err := r.End(ctx, context.Canceled); err != nil {
			t.Fatal(err)
		}
		got, _ = e.tracker.Runs.FindRun(ctx, r.ID)
		if got.Status != prevoir.RunKilled {
			t.Errorf("cancelled run status %s", got.Status)
		}
		b, err := e.tracker.ReadArtifact(ctx, r.ID, "plots/mae.svg")
		if err != nil || string(b) != "<svg/>" {
			t.Errorf("artifact = %q, %v", b, err)
		}
		r2, _ := e.tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain})
		r2.End(ctx, errors.New("boom"))
		if got, _ := e.tracker.Runs.FindRun(ctx, r2.ID); got.Status != prevoir.RunFailed || got.Error != "boom" {
			t.Errorf("failed run: %+v", got)
		}
	})
}

func TestCorruptArtifactNotLoaded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, testutil.SQLiteURL(t), dir)
	v := e.register(t, "ets", []byte("weights v1"))
	p := filepath.Join(dir, "runs", v.RunID, "artifacts", "model.bin")
	if err := os.WriteFile(p, []byte("weights v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := e.tracker.ReadArtifact(ctx, v.RunID, "model.bin")
	var ce *blobstore.CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "corrupted") {
		t.Errorf("corrupted artifact: %v", err)
	}
}

// TestKilledRunIsReaped: a process killed mid-run leaves its run running until the next start
// reaps it, failed, with what it recorded (its training curve) kept. What a crashed training
// leaves in the registry is flow's TestCrashedTrainingLeavesFailedRun.
func TestKilledRunIsReaped(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		dir := t.TempDir()
		e := newEnv(t, dbURL, dir)

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PREVOIR_TEST_CHILD_DB="+dbURL, "PREVOIR_TEST_CHILD_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 33)
		if _, err := out.Read(buf); err != nil {
			t.Fatal(err)
		}
		runID := strings.TrimSpace(string(buf))
		cmd.Process.Kill()
		cmd.Wait()

		if got, _ := e.tracker.Runs.FindRun(ctx, runID); got.Status != prevoir.RunRunning {
			t.Fatalf("before reaping the run is %s", got.Status)
		}
		reaped, err := e.tracker.Reap(ctx)
		if err != nil || len(reaped) != 1 || reaped[0] != runID {
			t.Fatalf("reaped %v, %v; want [%s]", reaped, err, runID)
		}
		got, _ := e.tracker.Runs.FindRun(ctx, runID)
		if got.Status != prevoir.RunFailed || !strings.Contains(got.Error, "gone") {
			t.Errorf("crashed run: %s %q", got.Status, got.Error)
		}
		if ms, _ := e.tracker.Runs.Metrics(ctx, runID, "loss"); len(ms) != 3 {
			t.Errorf("the crashed run's curve has %d points, want 3", len(ms))
		}
	})
}

// TestReapOnlyProvablyGone: a late heartbeat alone (a database outage silences every run) does
// not make a run abandoned; a process of this host that no longer exists does, and so does a
// silence far longer than any outage from a process that cannot be checked.
func TestReapOnlyProvablyGone(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := newEnv(t, dbURL, t.TempDir())
		e.tracker.AbandonAfter = 30 * time.Minute

		runs := map[string]*prevoir.Run{}
		for name, owner := range map[string]string{
			"alive here":         testutil.LiveOwner(t),
			"gone here":          testutil.GoneOwner(t),
			"silent elsewhere":   "elsewhere.invalid:7",
			"recently elsewhere": "elsewhere.invalid:8",
		} {
			r := &prevoir.Run{Kind: prevoir.RunTrain, Name: name, Owner: owner}
			if err := e.tracker.Runs.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			runs[name] = r
		}
		// Silent for minutes (the outage), far more than three beats, but less than AbandonAfter.
		seed.SilenceRun(t, e.db, runs["alive here"].ID, 5*time.Minute)
		seed.SilenceRun(t, e.db, runs["recently elsewhere"].ID, 5*time.Minute)
		seed.SilenceRun(t, e.db, runs["silent elsewhere"].ID, 31*time.Minute)

		reaped, err := e.tracker.Reap(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{runs["gone here"].ID, runs["silent elsewhere"].ID}
		slices.Sort(reaped)
		slices.Sort(want)
		if !slices.Equal(reaped, want) {
			names := map[string]string{}
			for n, r := range runs {
				names[r.ID] = n
			}
			var got []string
			for _, id := range reaped {
				got = append(got, names[id])
			}
			t.Errorf("reaped %q, want the runs gone here and silent elsewhere", got)
		}
		for name, r := range runs {
			got, _ := e.tracker.Runs.FindRun(ctx, r.ID)
			wantStatus := prevoir.RunRunning
			if slices.Contains(want, r.ID) {
				wantStatus = prevoir.RunFailed
			}
			if got.Status != wantStatus {
				t.Errorf("%s: %s, want %s", name, got.Status, wantStatus)
			}
		}
	})
}

// TestReapedRunRevivedByItsOwner: a live process's run that a reaper marked abandoned (the
// database was unreachable for longer than AbandonAfter) is running again after its next
// heartbeat, takes metrics and artifacts, and ends finished; a write that comes before the
// heartbeat revives it too.
func TestReapedRunRevivedByItsOwner(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := newEnv(t, dbURL, t.TempDir())
		var logs testutil.LogBuffer
		e.tracker.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		r, err := e.tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "tcn"})
		if err != nil {
			t.Fatal(err)
		}
		// Another command's reaper, after a long outage.
		reaper := &tracking.Tracker{Runs: e.tracker.Runs, AbandonAfter: time.Minute}
		seed.SilenceRun(t, e.db, r.ID, 2*time.Minute)
		if reaped, err := reaper.Reap(ctx); err != nil || len(reaped) != 1 {
			t.Fatalf("reaped %v, %v", reaped, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := e.tracker.Runs.FindRun(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == prevoir.RunRunning {
				if got.Error != "" || !got.EndedAt.IsZero() {
					t.Errorf("revived run keeps its end: %q %v", got.Error, got.EndedAt)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the owner's heartbeats did not revive the run: %s %q", got.Status, got.Error)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(logs.String(), "is running again") {
			t.Errorf("no log line says the run was revived:\n%s", logs.String())
		}
		if err := r.LogMetric(ctx, "loss", 0.5, 1); err != nil {
			t.Errorf("revived run refuses a metric: %v", err)
		}

		// Reaped again, and written to before any heartbeat: the write revives it.
		quiet := *e.tracker
		quiet.Heartbeat = time.Hour
		r2, err := quiet.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "ets"})
		if err != nil {
			t.Fatal(err)
		}
		seed.SilenceRun(t, e.db, r2.ID, 2*time.Minute)
		if reaped, err := reaper.Reap(ctx); err != nil || !slices.Contains(reaped, r2.ID) {
			t.Fatalf("reaped %v, %v", reaped, err)
		}
		if _, err := r2.LogArtifact(ctx, "model.bin", []byte("weights")); err != nil {
			t.Errorf("reaped run refuses its owner's artifact: %v", err)
		}
		for _, run := range []*tracking.Run{r, r2} {
			if err := run.End(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.tracker.Runs.FindRun(ctx, run.ID); got.Status != prevoir.RunFinished {
				t.Errorf("run %s ended %s", got.Name, got.Status)
			}
		}
	})
}

// TestEndRidesOutAnOutage: a run that ends while the database is unreachable is ended once it
// is back, within RetryFor, instead of staying "running"; past RetryFor, End gives up with a
// transient error.
func TestEndRidesOutAnOutage(t *testing.T) {
	ctx := context.Background()
	direct := testutil.PostgresURL(t)
	proxy, proxied := testutil.ProxyTo(t, direct)
	e := newEnv(t, proxied, t.TempDir())
	var logs testutil.LogBuffer
	e.tracker.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	e.tracker.RetryFor = time.Minute
	r, err := e.tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "tcn"})
	if err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	ended := make(chan error, 1)
	go func() { ended <- r.End(ctx, nil) }()
	for !strings.Contains(logs.String(), "end run failed, retrying") {
		select {
		case err := <-ended:
			t.Fatalf("End returned %v while the database was down", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	proxy.Up()
	if err := <-ended; err != nil {
		t.Fatalf("End after the outage: %v", err)
	}
	check := newEnv(t, direct, t.TempDir())
	if got, err := check.tracker.Runs.FindRun(ctx, r.ID); err != nil || got.Status != prevoir.RunFinished {
		t.Errorf("run after the outage: %+v, %v", got, err)
	}

	e.tracker.RetryFor = 200 * time.Millisecond
	r2, err := e.tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "ets"})
	if err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	err = r2.End(ctx, nil)
	if err == nil || !prevoir.Transient(err) {
		t.Errorf("End past RetryFor: %v, want a transient error", err)
	}
	proxy.Up()
}
