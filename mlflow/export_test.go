package mlflow_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/blobstore"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/mlflow"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

func TestExportFileStore(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, testutil.SQLiteURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	blobs, err := blobstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tr := &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs}
	r, err := tr.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: "tcn", Target: "hosp", Params: map[string]string{"epochs": "100"},
		Lineage: prevoir.Lineage{Snapshots: map[string]string{"sidep": strings.Repeat("a", 64)}}})
	if err != nil {
		t.Fatal(err)
	}
	for e := range 3 {
		r.LogMetric(ctx, "loss", 0.5/float64(e+1), int64(e))
	}
	r.LogArtifact(ctx, "model/weights.bin", []byte("w"))
	r.End(ctx, nil)

	dir := t.TempDir()
	n, err := mlflow.Export(ctx, dir, tr.Runs, tr, prevoir.RunFilter{})
	if err != nil || n != 1 {
		t.Fatalf("export: %d, %v", n, err)
	}
	runDir := filepath.Join(dir, "mlruns", "1", r.ID)
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(runDir, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	meta := read("meta.yaml")
	for _, want := range []string{"run_id: " + r.ID, "status: 3", "experiment_id: '1'", "run_name: 'tcn'", "lifecycle_stage: active"} {
		if !strings.Contains(meta, want) {
			t.Errorf("meta.yaml lacks %q:\n%s", want, meta)
		}
	}
	if read("params/epochs") != "100" || read("tags/prevoir.snapshot.sidep") != strings.Repeat("a", 64) || read("tags/mlflow.runName") != "tcn" || read("tags/prevoir.target") != "hosp" {
		t.Error("params or tags wrong")
	}
	lines := strings.Split(strings.TrimSpace(read("metrics/loss")), "\n")
	if len(lines) != 3 || len(strings.Fields(lines[2])) != 3 || !strings.HasSuffix(lines[2], " 0.16666666666666666 2") {
		t.Errorf("metrics/loss = %q", lines)
	}
	if read("artifacts/model/weights.bin") != "w" {
		t.Error("artifact bytes differ")
	}
	exp, err := os.ReadFile(filepath.Join(dir, "mlruns", "1", "meta.yaml"))
	if err != nil || !strings.Contains(string(exp), "name: 'prevoir'") {
		t.Errorf("experiment meta: %s %v", exp, err)
	}
	// A second export into the same directory refuses to overwrite.
	if _, err := mlflow.Export(ctx, dir, tr.Runs, tr, prevoir.RunFilter{}); prevoir.ErrorCode(err) != prevoir.ECONFLICT {
		t.Errorf("second export: %v", err)
	}
}
