package tracking_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
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

// The crash test's child: start a training run, log a few epochs, say so, then hang until
// killed.
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

// TestCrashedTrainingLeavesFailedRun: a training process killed mid-run leaves a failed run
// (found at the next start) and no registered version; the previous champion still serves.
func TestCrashedTrainingLeavesFailedRun(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		dir := t.TempDir()
		e := newEnv(t, dbURL, dir)
		champ := e.register(t, "ets", []byte("good weights"))

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
		versions, _ := e.reg.ListModelVersions(ctx, "incid_dchosp")
		for _, v := range versions {
			if v.RunID == runID {
				t.Error("the crashed run was registered")
			}
		}
		cur, err := e.reg.ResolveAlias(ctx, "incid_dchosp", prevoir.AliasChampion)
		if err != nil || cur.Version != champ.Version {
			t.Fatalf("champion %+v, %v", cur, err)
		}
		if b, err := e.tracker.ReadArtifact(ctx, cur.RunID, cur.ArtifactPath); err != nil || string(b) != "good weights" {
			t.Errorf("champion artifact %q, %v", b, err)
		}
	})
}
