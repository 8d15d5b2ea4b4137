package flow_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// The crashing training's process (TestCrashedTrainingChild) hangs where it records its model
// spec and says so on stdout with this prefix and the run's ID.
const crashMarker = "crashed training run: "

// TestCrashedTrainingLeavesFailedRun: a training process killed after its backtest, while it
// records its model, leaves a run that the next start marks failed, and registers nothing: the
// champion stays, and the forecast flow still serves it.
func TestCrashedTrainingLeavesFailedRun(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		e.Ingest(t)
		champ, err := e.Flows.TrainModel(ctx, "b1", "snaive", flow.TrainOptions{Origins: 2})
		if err != nil {
			t.Fatal(err)
		}
		e.Promote(t, champ.Version.Version, "test")

		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedTrainingChild$")
		cmd.Env = append(os.Environ(), "PREVOIR_TEST_CRASH_DB="+dbURL, "PREVOIR_TEST_CRASH_ARTIFACTS="+e.Blobs.String(),
			"TMPDIR="+t.TempDir()) // what the killed child leaves is removed with the test
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var childErr strings.Builder
		cmd.Stderr = &childErr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		runID := ""
		for sc := bufio.NewScanner(out); runID == "" && sc.Scan(); {
			runID, _ = strings.CutPrefix(sc.Text(), crashMarker)
		}
		cmd.Process.Kill()
		cmd.Wait()
		if runID == "" {
			t.Fatalf("the child never reached its model spec:\n%s", childErr.String())
		}

		// What the killed process left: a training run still marked running, with its backtest
		// recorded and no model spec; the next start's reaper marks it failed.
		run, err := e.Runs.FindRun(ctx, runID)
		if err != nil || run.Kind != prevoir.RunTrain || run.Status != prevoir.RunRunning || run.Name != "theta" {
			t.Fatalf("the crashed run: %+v, %v; want theta's training, running", run, err)
		}
		arts, err := e.Runs.Artifacts(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		paths := make([]string, len(arts))
		for i, a := range arts {
			paths[i] = a.Path
		}
		if !slices.Contains(paths, prevoir.BacktestArtifact) || slices.Contains(paths, prevoir.ModelSpecArtifact) {
			t.Errorf("the crashed run's artifacts %v: want its backtest and no model spec", paths)
		}
		reaped, err := e.Tracker.Reap(ctx)
		if err != nil || !slices.Contains(reaped, runID) {
			t.Fatalf("reaped %v, %v; want %s", reaped, err, runID)
		}
		if run, _ := e.Runs.FindRun(ctx, runID); run.Status != prevoir.RunFailed || !strings.Contains(run.Error, "gone") {
			t.Errorf("after reaping: %s %q; want failed, its process gone", run.Status, run.Error)
		}

		// Nothing registered: a version is registered only once its run has finished.
		versions, err := e.Registry.ListModelVersions(ctx, seed.Model)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range versions {
			if v.RunID == runID || v.Family == "theta" {
				t.Errorf("the crashed training registered v%d (%s, run %s)", v.Version, v.Family, v.RunID)
			}
		}
		cur, err := e.Registry.ResolveAlias(ctx, seed.Model, prevoir.AliasChampion)
		if err != nil || cur.Version != champ.Version.Version {
			t.Fatalf("champion %+v, %v; want v%d", cur, err, champ.Version.Version)
		}
		fc, err := e.Flows.Forecast(ctx)
		if err != nil || fc.Forecast.Version != champ.Version.Version {
			t.Errorf("forecast after the crash: %+v, %v; want the champion's", fc, err)
		}
	})
}

// TestCrashedTrainingChild is the crashing training of TestCrashedTrainingLeavesFailedRun, run
// in a process of its own: it trains theta on the parent's stores and hangs when it records
// the model spec, until the parent kills it.
func TestCrashedTrainingChild(t *testing.T) {
	dbURL := os.Getenv("PREVOIR_TEST_CRASH_DB")
	if dbURL == "" {
		t.Skip("the child process of TestCrashedTrainingLeavesFailedRun")
	}
	ctx := context.Background()
	e := seed.Open(t, dbURL)
	blobs, err := blobstore.Open(ctx, os.Getenv("PREVOIR_TEST_CRASH_ARTIFACTS"))
	if err != nil {
		t.Fatal(err)
	}
	e.Tracker.Blobs, e.Ingester.Blobs = blobs, blobs // the parent's artifact store
	e.Tracker.Runs = hangingRuns{e.Runs}
	_, err = e.Flows.TrainModel(ctx, "b2", "theta", flow.TrainOptions{Origins: 2})
	t.Fatalf("the training ended (%v) instead of hanging at its model spec", err)
}

// hangingRuns is a run store whose process hangs, as one stuck or killed there would, when a
// run records its model spec.
type hangingRuns struct{ prevoir.RunStore }

func (h hangingRuns) LogArtifact(ctx context.Context, a prevoir.Artifact) error {
	if a.Path == prevoir.ModelSpecArtifact {
		fmt.Println(crashMarker + a.RunID)
		time.Sleep(time.Minute) // killed before
	}
	return h.RunStore.LogArtifact(ctx, a)
}
