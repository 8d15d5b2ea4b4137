package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/sqlstore"
	"github.com/prevoir/prevoir/tracking"
)

// seedRegistry records two finished training runs in the CLI's home, registers them as
// versions 1 and 2 of incid_dchosp and makes version 2 the champion after version 1.
func seedRegistry(t *testing.T, c *cli) (runIDs []string) {
	t.Helper()
	ctx := context.Background()
	db, blobs := c.stores()
	tr := &tracking.Tracker{Runs: sqlstore.NewRunStore(db), Blobs: blobs}
	reg := sqlstore.NewRegistry(db)
	for i, fam := range []string{"ets", "tcn"} {
		r, err := tr.Start(ctx, &prevoir.Run{Kind: prevoir.RunTrain, Name: fam, Params: map[string]string{"family": fam}})
		if err != nil {
			t.Fatal(err)
		}
		r.LogMetric(ctx, "loss", 0.5, 0)
		r.LogMetric(ctx, "loss", 0.25, 1)
		if _, err := r.LogArtifact(ctx, "model.bin", []byte("weights of "+fam)); err != nil {
			t.Fatal(err)
		}
		r.End(ctx, nil)
		v := &prevoir.ModelVersion{Model: "incid_dchosp", Family: fam, RunID: r.ID, ArtifactPath: "model.bin", Metrics: map[string]float64{"mae": 20 - float64(i), "coverage_80": 0.8}}
		if err := reg.CreateModelVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.SetAlias(ctx, v.Model, prevoir.AliasChampion, v.Version, "champion rule: best MAE"); err != nil {
			t.Fatal(err)
		}
		runIDs = append(runIDs, r.ID)
	}
	return runIDs
}

func TestRunsAndModelsCommands(t *testing.T) {
	c := newCLI(t)
	ids := seedRegistry(t, c)

	out := c.ok("runs", "list")
	if !strings.Contains(out, ids[0]) || !strings.Contains(out, ids[1]) || strings.Count(out, "finished") != 2 {
		t.Errorf("runs list:\n%s", out)
	}
	var list []prevoir.Run
	if err := json.Unmarshal([]byte(c.ok("runs", "list", "--json", "--name", "tcn")), &list); err != nil || len(list) != 1 || list[0].ID != ids[1] {
		t.Errorf("runs list --json --name tcn: %+v %v", list, err)
	}
	out = c.ok("runs", "show", ids[1])
	for _, want := range []string{"family", "tcn", "loss", "2 steps", "model.bin"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs show lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := c.run("runs", "show", strings.Repeat("f", 32)); code != 1 || !strings.Contains(errs, "no run") {
		t.Errorf("unknown run: %d %q", code, errs)
	}

	out = c.ok("models", "list")
	if !strings.Contains(out, "incid_dchosp") || !strings.Contains(out, "champion=v2") {
		t.Errorf("models list:\n%s", out)
	}
	out = c.ok("models", "rollback", "incid_dchosp")
	if !strings.Contains(out, "v2 -> v1") {
		t.Errorf("rollback: %s", out)
	}
	out = c.ok("models", "promote", "incid_dchosp", "2", "--reason", "back to the TCN")
	if !strings.Contains(out, "v1 -> v2") {
		t.Errorf("promote: %s", out)
	}
	out = c.ok("models", "show", "incid_dchosp")
	if !strings.Contains(out, "back to the TCN") || !strings.Contains(out, "rolled back by hand") || !strings.Contains(out, "champion") {
		t.Errorf("models show:\n%s", out)
	}
	if code, _, errs := c.run("models", "promote", "incid_dchosp", "7"); code != 1 || !strings.Contains(errs, "no version 7") {
		t.Errorf("promote a missing version: %d %q", code, errs)
	}
	if code, _, _ := c.run("models", "promote", "incid_dchosp", "two"); code != 2 {
		t.Errorf("promote with a bad version: exit %d", code)
	}

	if got := c.ok("artifacts", "get", ids[0], "model.bin"); got != "weights of ets" {
		t.Errorf("artifacts get = %q", got)
	}
	dir := t.TempDir()
	if out := c.ok("runs", "export", "--format", "mlflow", dir); !strings.Contains(out, "exported 2 runs") {
		t.Errorf("export: %s", out)
	}

	// Corrupted bytes are reported, not written out (nor exported).
	p := filepath.Join(c.home, "artifacts", "runs", ids[0], "artifacts", "model.bin")
	os.WriteFile(p, []byte("tampered"), 0o644)
	if code, out, errs := c.run("artifacts", "get", ids[0], "model.bin"); code != 1 || out != "" || !strings.Contains(errs, "corrupted") {
		t.Errorf("corrupted artifact: exit %d, out %q, err %q", code, out, errs)
	}
	if code, _, errs := c.run("runs", "export", t.TempDir()); code != 1 || !strings.Contains(errs, "corrupted") {
		t.Errorf("export of a corrupted artifact: exit %d, %q", code, errs)
	}

}
