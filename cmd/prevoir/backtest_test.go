package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/internal/testutil"
)

func TestBacktestCommand(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	dir := t.TempDir()
	out := c.ok("backtest", "--models", "naive,snaive,ets", "--from", "2022-10-02", "--to", "2022-12-11",
		"--json", filepath.Join(dir, "bt.json"), "--plot", filepath.Join(dir, "bt.svg"))
	if !strings.Contains(out, "champion:") || !strings.Contains(out, "snaive") || !strings.Contains(out, "wk rAE") {
		t.Fatalf("leaderboard:\n%s", out)
	}
	var res struct {
		Champion string `json:"champion"`
		Models   []struct {
			Name       string   `json:"name"`
			MAE        *float64 `json:"mae"`
			RMSE       *float64 `json:"rmse"`
			MASE       *float64 `json:"mase"`
			WIS        *float64 `json:"wis"`
			Coverage80 *float64 `json:"coverage_80"`
			Coverage95 *float64 `json:"coverage_95"`
			FitSeconds *float64 `json:"fit_seconds"`
			Weekly     struct {
				RelativeAE *float64 `json:"relative_ae"`
				Weeks      int      `json:"weeks"`
			} `json:"weekly"`
		} `json:"models"`
		Weekly    []json.RawMessage `json:"weekly"`
		Reference struct {
			WeeklyRows []json.RawMessage `json:"weekly_rows"`
		} `json:"reference"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "bt.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 3 || res.Champion == "" || res.Champion == "naive" {
		t.Fatalf("champion %q, %d models", res.Champion, len(res.Models))
	}
	for _, m := range res.Models {
		if m.MAE == nil || m.RMSE == nil || m.MASE == nil || m.WIS == nil || m.Coverage80 == nil || m.Coverage95 == nil || m.FitSeconds == nil ||
			*m.Coverage80 < 0 || *m.Coverage80 > 1 || *m.Coverage95 < *m.Coverage80 {
			t.Errorf("model %s: a field is missing or out of range: %+v", m.Name, m)
		}
		// 11 origins, two whole weeks each.
		if m.Weekly.RelativeAE == nil || *m.Weekly.RelativeAE <= 0 || m.Weekly.Weeks != 22 {
			t.Errorf("model %s: weekly score %+v", m.Name, m.Weekly)
		}
	}
	if len(res.Weekly) != 3*22 || len(res.Reference.WeeklyRows) != 22 {
		t.Errorf("%d weekly rows, %d reference rows", len(res.Weekly), len(res.Reference.WeeklyRows))
	}
	if svg, _ := os.ReadFile(filepath.Join(dir, "bt.svg")); !strings.HasPrefix(strings.TrimSpace(string(svg)), "<svg") && !strings.HasPrefix(strings.TrimSpace(string(svg)), "<?xml") {
		t.Error("the plot is not an SVG")
	}
	// The backtest is a run with its numbers and reports.
	runs := c.ok("runs", "list", "--kind", "backtest")
	if strings.Count(runs, "finished") != 1 {
		t.Fatalf("backtest runs:\n%s", runs)
	}
	id := strings.Fields(strings.Split(runs, "\n")[1])[0]
	show := c.ok("runs", "show", id)
	for _, want := range []string{"snaive.mae", "snaive.weekly_relative_ae", prevoir.BacktestArtifact, prevoir.BacktestPlotArtifact, "snapshot indicateurs"} {
		if !strings.Contains(show, want) {
			t.Errorf("run lacks %q:\n%s", want, show)
		}
	}
	// --json and --plot are the reports the run recorded.
	if art := c.ok("artifacts", "get", id, prevoir.BacktestArtifact); art != string(b) {
		t.Errorf("--json differs from the run's backtest.json (%d and %d bytes)", len(b), len(art))
	}
	if svg, _ := os.ReadFile(filepath.Join(dir, "bt.svg")); c.ok("artifacts", "get", id, prevoir.BacktestPlotArtifact) != string(svg) {
		t.Errorf("--plot differs from the run's backtest.svg")
	}
	if out := c.ok("backtest", "--models", "naive,snaive", "--from", "2022-10-02", "--to", "2022-12-11", "--champion-weekly"); !strings.Contains(out, "lowest weekly relative AE") {
		t.Errorf("--champion-weekly:\n%s", out)
	}
	if code, _, _ := c.run("backtest", "--models", "prophet"); code != 2 {
		t.Errorf("unknown model: exit %d", code)
	}
}

// TestBacktestTargets: --target backtests each target named on its own frame, one table per
// target under its heading, the JSON keyed by target; without --models each target has its
// own candidates; an unknown target is a usage error listing the valid ones.
func TestBacktestTargets(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	dir := t.TempDir()
	out := c.ok("backtest", "--target", "hosp", "--target", "incid_rea", "--models", "snaive,ets", "--from", "2022-11-05", "--to", "2022-12-03",
		"--json", filepath.Join(dir, "bt.json"), "--plot", filepath.Join(dir, "bt.svg"))
	hosp, icu := strings.Index(out, "== hosp: patients in hospital (patients)"), strings.Index(out, "== incid_rea: new intensive care admissions (admissions/day)")
	if hosp < 0 || icu < hosp || strings.Count(out, "\nchampion: ") != 2 {
		t.Fatalf("want a table for hosp, then one for incid_rea:\n%s", out)
	}
	var res map[string]struct {
		Models []struct {
			Name string   `json:"name"`
			MAE  *float64 `json:"mae"`
		} `json:"models"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "bt.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(res["hosp"].Models) != 2 || len(res["incid_rea"].Models) != 2 {
		t.Fatalf("JSON by target: %s", b)
	}
	// The beds are counted in thousands, ICU admissions in tens: each was scored on its own series.
	if h, r := *res["hosp"].Models[0].MAE, *res["incid_rea"].Models[0].MAE; h < 10*r {
		t.Errorf("MAE of hosp %v and incid_rea %v: the same series?", h, r)
	}
	for _, name := range []string{"bt-hosp.svg", "bt-incid_rea.svg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("plot of a target: %v", err)
		}
	}

	out = c.ok("backtest", "--target", "rea", "--from", "2022-11-26", "--to", "2022-12-03")
	rea, err := prevoir.LookupTarget("rea")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models.CandidatesFor(rea) {
		if !strings.Contains(out, m) {
			t.Errorf("rea's candidate %s not backtested:\n%s", m, out)
		}
	}
	if strings.Contains(out, "ensemble_lead") {
		t.Errorf("rea backtested the deaths' candidates:\n%s", out)
	}

	code, _, stderr := c.run("backtest", "--target", "beds", "--models", "snaive")
	if code != 2 || !strings.Contains(stderr, `unknown target "beds"`) || !strings.Contains(stderr, strings.Join(prevoir.TargetNames(), ", ")) {
		t.Errorf("unknown target: exit %d, %s", code, stderr)
	}
}
