package tracking_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "gocloud.dev/blob/s3blob" // s3:// buckets

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/s3server"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// sweepWorld is a store with one of everything a sweep must tell apart.
type sweepWorld struct {
	e *env
	// Removed once old: a failed run's artifacts, and the bytes of a write whose record never
	// landed.
	failedKeys []string
	orphanKey  string
	// Kept whatever their age: what a model version, a forecast, a running run or a snapshot
	// refers to, and a finished run's artifacts.
	keptKeys []string
}

func newSweepWorld(t *testing.T, e *env) *sweepWorld {
	t.Helper()
	ctx := context.Background()
	w := &sweepWorld{e: e}
	art := func(r *tracking.Run, p string, data string) string {
		t.Helper()
		a, err := r.LogArtifact(ctx, p, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return a.BlobKey
	}
	start := func(kind prevoir.RunKind) *tracking.Run {
		t.Helper()
		r, err := e.tracker.Start(ctx, &prevoir.Run{Kind: kind, Name: string(kind)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	end := func(r *tracking.Run, err error) {
		t.Helper()
		if err := r.End(ctx, err); err != nil {
			t.Fatal(err)
		}
	}

	// A training that failed after writing its backtest, and one killed mid-way.
	failed := start(prevoir.RunTrain)
	w.failedKeys = append(w.failedKeys, art(failed, prevoir.BacktestArtifact, "a failed backtest"), art(failed, prevoir.ModelSpecArtifact, "{}"))
	end(failed, errors.New("boom"))
	killed := start(prevoir.RunTrain)
	w.failedKeys = append(w.failedKeys, art(killed, "model.bin", "half the weights"))
	end(killed, context.Canceled)

	// A registered model: its run finished.
	v := e.register(t, "ets", []byte("champion weights"))
	w.keptKeys = append(w.keptKeys, tracking.ArtifactKey(v.RunID, "model.bin"))

	// A forecast run that stored its forecast, then failed (its alerts could not be raised):
	// the forecast still refers to it.
	fr := start(prevoir.RunForecast)
	w.keptKeys = append(w.keptKeys, art(fr, "forecast.json", "the forecast"))
	origin := prevoir.Date(19000)
	fc := &prevoir.StoredForecast{Model: v.Model, Version: v.Version, Family: v.Family, RunID: fr.ID,
		Forecast: prevoir.Forecast{Model: v.Family, Origin: origin, Dates: []prevoir.Date{origin + 1}, Point: []float64{10},
			Quantiles: []float64{0.5}, Values: [][]float64{{10}}}}
	if _, err := sqlstore.NewForecastStore(e.db).SaveForecast(ctx, fc); err != nil {
		t.Fatal(err)
	}
	end(fr, errors.New("monitoring checks: boom"))

	// A registered version whose run is marked failed after the fact (by hand, or an older
	// binary's reaper): the version refers to it, so its artifacts stay.
	v2 := e.register(t, "theta", []byte("theta weights"))
	if _, err := e.db.SQL().ExecContext(ctx, `UPDATE runs SET status = 'failed', error = 'marked by hand' WHERE id = '`+v2.RunID+`'`); err != nil {
		t.Fatal(err)
	}
	w.keptKeys = append(w.keptKeys, tracking.ArtifactKey(v2.RunID, "model.bin"))

	// A run still running.
	running := start(prevoir.RunTrain)
	w.keptKeys = append(w.keptKeys, art(running, prevoir.BacktestArtifact, "in progress"))
	t.Cleanup(func() { running.End(context.Background(), nil) })

	// The bytes of a write whose record never landed (the process was killed in between).
	w.orphanKey = tracking.ArtifactKey(prevoir.NewRunID(), "model.bin")
	if err := e.tracker.Blobs.Put(ctx, w.orphanKey, []byte("nobody's weights")); err != nil {
		t.Fatal(err)
	}
	// Outside runs/: a snapshot's bytes are not the sweep's business, recorded or not.
	if err := e.tracker.Blobs.Put(ctx, "snapshots/sidep/unrecorded.csv", []byte("a,b\n")); err != nil {
		t.Fatal(err)
	}
	w.keptKeys = append(w.keptKeys, "snapshots/sidep/unrecorded.csv")
	return w
}

// exists reports which of keys are in the store.
func (w *sweepWorld) exists(t *testing.T, keys []string) []bool {
	t.Helper()
	var out []bool
	for _, k := range keys {
		ok, err := w.e.tracker.Blobs.Exists(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ok)
	}
	return out
}

func sweptKeys(list []tracking.Swept) []string {
	var keys []string
	for _, s := range list {
		keys = append(keys, s.Key)
	}
	slices.Sort(keys)
	return keys
}

// TestSweep: on both databases and on a local folder and an S3 server, a sweep removes the
// artifacts of failed and killed runs and the objects no record refers to once they are older
// than the grace period, and nothing else: not what a model version or a forecast refers to,
// not a running run's, not a fresh orphan (a write in progress), not outside runs/. A dry run
// reports the same and removes nothing; a second sweep finds nothing.
func TestSweep(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		stores := map[string]func(t *testing.T) string{
			"file": func(t *testing.T) string { return filepath.Join(t.TempDir(), "artifacts") },
			"s3": func(t *testing.T) string {
				srv := s3server.Start(t, "artifacts")
				srv.SetEnv(t)
				return srv.BucketURL("artifacts")
			},
		}
		for name, store := range stores {
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				e := newEnv(t, dbURL, store(t))
				w := newSweepWorld(t, e)
				wantFailed := slices.Sorted(slices.Values(w.failedKeys))
				failedArts := func() int {
					t.Helper()
					n := 0
					for _, k := range w.failedKeys {
						var c int
						if err := e.db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM run_artifacts WHERE blob_key = '"+k+"'").Scan(&c); err != nil {
							t.Fatal(err)
						}
						n += c
					}
					return n
				}

				// Everything is fresh: within the grace period nothing goes.
				rep, err := e.tracker.Sweep(ctx, tracking.SweepOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Objects != 0 || len(rep.FailedRunArtifacts)+len(rep.Unreferenced) != 0 {
					t.Errorf("sweep within the grace period removed %+v", rep)
				}
				if got := w.exists(t, append(w.failedKeys, w.orphanKey)); !slices.Equal(got, slices.Repeat([]bool{true}, len(w.failedKeys)+1)) {
					t.Fatalf("within the grace period: failed runs' artifacts and the fresh orphan exist %v, want all", got)
				}

				// Later (the cutoff after everything was written): a dry run says what would go.
				later := time.Now().Add(time.Minute)
				rep, err = e.tracker.Sweep(ctx, tracking.SweepOptions{Before: later, DryRun: true})
				if err != nil {
					t.Fatal(err)
				}
				if got := sweptKeys(rep.FailedRunArtifacts); !slices.Equal(got, wantFailed) {
					t.Errorf("dry run: failed runs' artifacts %q, want %q", got, wantFailed)
				}
				if got := sweptKeys(rep.Unreferenced); !slices.Equal(got, []string{w.orphanKey}) {
					t.Errorf("dry run: unreferenced %q, want %q", got, w.orphanKey)
				}
				if got := w.exists(t, append(w.failedKeys, w.orphanKey)); !slices.Equal(got, slices.Repeat([]bool{true}, len(w.failedKeys)+1)) {
					t.Errorf("the dry run removed objects: exist %v", got)
				}
				if n := failedArts(); n != len(w.failedKeys) {
					t.Errorf("the dry run removed records: %d of %d left", n, len(w.failedKeys))
				}
				wantBytes := int64(len("a failed backtest") + len("{}") + len("half the weights") + len("nobody's weights"))
				if rep.Objects != len(w.failedKeys)+1 || rep.Bytes != wantBytes {
					t.Errorf("dry run: %d objects, %d bytes; want %d, %d", rep.Objects, rep.Bytes, len(w.failedKeys)+1, wantBytes)
				}

				// The sweep itself.
				rep, err = e.tracker.Sweep(ctx, tracking.SweepOptions{Before: later})
				if err != nil {
					t.Fatal(err)
				}
				if got := sweptKeys(rep.FailedRunArtifacts); !slices.Equal(got, wantFailed) || rep.Bytes != wantBytes {
					t.Errorf("sweep: failed runs' artifacts %q (%d bytes in all), want %q (%d)", got, rep.Bytes, wantFailed, wantBytes)
				}
				if got := w.exists(t, append(w.failedKeys, w.orphanKey)); !slices.Equal(got, slices.Repeat([]bool{false}, len(w.failedKeys)+1)) {
					t.Errorf("after the sweep, failed runs' artifacts and the orphan exist %v, want none", got)
				}
				if n := failedArts(); n != 0 {
					t.Errorf("after the sweep, %d records of failed runs' artifacts are left", n)
				}
				if got := w.exists(t, w.keptKeys); !slices.Equal(got, slices.Repeat([]bool{true}, len(w.keptKeys))) {
					t.Errorf("the sweep removed what is needed: %q exist %v", w.keptKeys, got)
				}
				// Every record left still has its object.
				for _, k := range w.keptKeys[:len(w.keptKeys)-1] { // the last is the unrecorded snapshot
					var c int
					if err := e.db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM run_artifacts WHERE blob_key = '"+k+"'").Scan(&c); err != nil || c != 1 {
						t.Errorf("record of %s: %d, %v", k, c, err)
					}
				}

				rep, err = e.tracker.Sweep(ctx, tracking.SweepOptions{Before: later})
				if err != nil || rep.Objects != 0 {
					t.Errorf("a second sweep: %+v, %v", rep, err)
				}
			})
		}
	})
}

// TestSweepAbandonedWrites: on a local folder, the temporary file of a write killed mid-way and
// a record deleted before its object (a sweep that crashed in between) leave objects no
// record refers to; the next sweep removes the old ones and keeps a fresh one.
func TestSweepAbandonedWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := newEnv(t, testutil.SQLiteURL(t), dir)
	old := time.Now().Add(-48 * time.Hour)
	write := func(key string, mtime time.Time) string {
		t.Helper()
		testutil.WriteFileAt(t, filepath.Join(dir, filepath.FromSlash(key)), []byte("bytes"), mtime)
		return key
	}
	id := prevoir.NewRunID()
	tmp := write(tracking.ArtifactKey(id, "model.bin")+".17e3a0c1.tmp", old)
	leftover := write(tracking.ArtifactKey(id, prevoir.BacktestArtifact), old)
	fresh := write(tracking.ArtifactKey(prevoir.NewRunID(), "model.bin"), time.Now())

	rep, err := e.tracker.Sweep(ctx, tracking.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sweptKeys(rep.Unreferenced), slices.Sorted(slices.Values([]string{tmp, leftover})); !slices.Equal(got, want) {
		t.Errorf("swept %q, want %q", got, want)
	}
	for key, want := range map[string]bool{tmp: false, leftover: false, fresh: true} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key))); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", key, err == nil, want)
		}
	}
}
