package backup_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backup"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// openHome opens a home's stores as prevoir does, closed when the test ends.
func openHome(t *testing.T, h backup.Home) (*sqlstore.DB, *tracking.Tracker) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+h.DB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.Open(ctx, h.Artifacts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	return db, &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs, Heartbeat: time.Hour}
}

func newHome(t *testing.T) backup.Home {
	dir := t.TempDir()
	return backup.Home{DB: filepath.Join(dir, "prevoir.db"), Artifacts: filepath.Join(dir, "artifacts")}
}

// logRun records one finished run with a metric and two artifacts, as a training does.
func logRun(ctx context.Context, tr *tracking.Tracker, i int) (string, error) {
	r, err := tr.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: fmt.Sprintf("model-%d", i)})
	if err != nil {
		return "", err
	}
	model := make([]byte, 2048+rand.IntN(4096))
	for j := range model {
		model[j] = byte(rand.Uint32())
	}
	_, err = r.LogArtifact(ctx, "model.bin", model)
	if err == nil {
		err = r.LogMetric(ctx, "mae", float64(i), 0)
	}
	if err == nil {
		_, err = r.LogArtifact(ctx, "report.json", []byte(fmt.Sprintf(`{"run":%d}`, i)))
	}
	if eerr := r.End(ctx, err); err == nil {
		err = eerr
	}
	return r.ID, err
}

// TestBackupWhileWriting backs up a home while four goroutines keep logging runs with
// artifacts, restores the backup into a new home, and checks that the restored database opens,
// holds every run that had finished before the backup started, and that every artifact of every
// run it holds reads back with its recorded SHA-256.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	src := newHome(t)
	_, tr := openHome(t, src)

	var (
		mu       sync.Mutex
		finished []string // IDs of the runs whose End returned, in order
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		errc     = make(chan error, 4)
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id, err := logRun(ctx, tr, w*10000+i)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				finished = append(finished, id)
				mu.Unlock()
			}
		}()
	}
	waitRuns := func(n int) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			got := len(finished)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d runs logged", got)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitRuns(20)
	mu.Lock()
	before := append([]string(nil), finished...)
	mu.Unlock()
	dir := filepath.Join(t.TempDir(), "backup")
	m, err := backup.Create(ctx, src, dir, backup.Options{Prevoir: "test"})
	if err != nil {
		t.Fatal(err)
	}
	waitRuns(len(before) + 10) // writes went on during the backup and after it
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if m.SchemaVersion != sqlstore.SchemaVersion() || len(m.Artifacts) < 2*len(before) {
		t.Fatalf("manifest: schema %d, %d artifacts for %d runs", m.SchemaVersion, len(m.Artifacts), len(before))
	}

	dst := newHome(t)
	if _, err := backup.Restore(ctx, dir, dst, backup.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	db, rtr := openHome(t, dst)
	for _, id := range before {
		r, err := rtr.Runs.FindRun(ctx, id)
		if err != nil {
			t.Fatalf("run %s, finished before the backup, is not in the restored database: %v", id, err)
		}
		if r.Status != prevoir.RunFinished {
			t.Errorf("run %s: status %s", id, r.Status)
		}
	}
	all, err := sqlstore.NewRunStore(db).ListRuns(ctx, prevoir.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	verified := 0
	for _, r := range all {
		arts, err := rtr.Runs.Artifacts(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			if _, err := rtr.ReadArtifact(ctx, r.ID, a.Path); err != nil {
				t.Errorf("restored run %s (%s): artifact %s: %v", r.ID, r.Status, a.Path, err)
			}
			verified++
		}
	}
	t.Logf("%d runs finished before the backup; restored %d runs, %d artifacts verified", len(before), len(all), verified)
	// The restored home is a working home: new runs can be logged.
	if _, err := logRun(ctx, rtr, -1); err != nil {
		t.Fatal(err)
	}
}

// smallBackup makes a home with two runs and backs it up.
func smallBackup(t *testing.T) (src backup.Home, dir string) {
	t.Helper()
	ctx := context.Background()
	src = newHome(t)
	_, tr := openHome(t, src)
	for i := range 2 {
		if _, err := logRun(ctx, tr, i); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(t.TempDir(), "backup")
	if _, err := backup.Create(ctx, src, dir, backup.Options{}); err != nil {
		t.Fatal(err)
	}
	// The backup holds exactly its three entries: no SQLite side files, no temporary files.
	if names, want := dirNames(t, dir), []string{backup.ArtifactsName, backup.ManifestName, backup.DatabaseName}; !slices.Equal(names, want) {
		t.Errorf("backup directory holds %q, want %q", names, want)
	}
	return src, dir
}

// readManifest reads the manifest of the backup in dir.
func readManifest(t *testing.T, dir string) *backup.Manifest {
	t.Helper()
	m, err := backup.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dirNames returns the names of the entries of dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRestoreRefusesCorruptBackup(t *testing.T) {
	ctx := context.Background()
	_, dir := smallBackup(t)
	m := readManifest(t, dir)
	file := filepath.Join(dir, backup.ArtifactsName, filepath.FromSlash(m.Artifacts[0].Path))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := newHome(t)
	_, err = backup.Restore(ctx, dir, dst, backup.RestoreOptions{})
	if prevoir.ErrorCode(err) != prevoir.EINVALID {
		t.Fatalf("restore of a corrupted backup: %v", err)
	}
	if _, err := os.Stat(dst.DB); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was written by a refused restore: %v", err)
	}
	// A backup without its manifest is incomplete.
	if err := os.Remove(filepath.Join(dir, backup.ManifestName)); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(ctx, dir); prevoir.ErrorCode(err) != prevoir.EINVALID {
		t.Errorf("verify without a manifest: %v", err)
	}
}

func TestRestoreIntoUsedHome(t *testing.T) {
	ctx := context.Background()
	src, dir := smallBackup(t)
	// The source home is in use (a database and artifacts): refused without --force.
	if _, err := backup.Restore(ctx, dir, src, backup.RestoreOptions{}); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
		t.Fatalf("restore into a used home: %v", err)
	}
	// Another home with other runs, replaced with --force: only the backup's runs remain.
	other, _ := usedHome(t)
	if _, err := backup.Restore(ctx, dir, other, backup.RestoreOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	rdb, rtr := openHome(t, other)
	runs, err := sqlstore.NewRunStore(rdb).ListRuns(ctx, prevoir.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs after a forced restore, want the backup's 2", len(runs))
	}
	for _, r := range runs {
		if _, err := rtr.ReadArtifact(ctx, r.ID, "model.bin"); err != nil {
			t.Error(err)
		}
	}
	// A backup directory is never overwritten.
	if _, err := backup.Create(ctx, src, dir, backup.Options{}); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
		t.Errorf("backup into a used directory: %v", err)
	}
}

func TestParseHome(t *testing.T) {
	for _, tc := range []struct {
		db, artifacts string
		want          backup.Home
		ok            bool
	}{
		{"sqlite:/h/prevoir.db", "/h/artifacts", backup.Home{DB: "/h/prevoir.db", Artifacts: "/h/artifacts"}, true},
		{"sqlite:///h/prevoir.db", "file:///h/arts?no_tmp_dir=1", backup.Home{DB: "/h/prevoir.db", Artifacts: "/h/arts"}, true},
		{"h/prevoir.db", "arts", backup.Home{DB: "h/prevoir.db", Artifacts: "arts"}, true},
		{"postgres://u:p@db/prevoir", "/h/artifacts", backup.Home{}, false},
		{"sqlite:/h/prevoir.db", "s3://bucket?region=eu-west-3", backup.Home{}, false},
		{"mysql://x", "/a", backup.Home{}, false},
	} {
		got, err := backup.ParseHome(tc.db, tc.artifacts)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseHome(%q, %q) = %+v, %v", tc.db, tc.artifacts, got, err)
		}
	}
}
