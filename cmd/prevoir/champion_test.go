package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// championResult is the part of a backtest's JSON result these tests read.
type championResult struct {
	Champion string `json:"champion"`
	Decision struct {
		Reason  string `json:"reason"`
		Ranking []struct {
			Name     string `json:"name"`
			Excluded string `json:"excluded"`
		} `json:"ranking"`
	} `json:"decision"`
	Protocol struct {
		Horizon int `json:"horizon"`
	} `json:"protocol"`
	Models []struct {
		Name         string     `json:"name"`
		Points       int        `json:"points"`
		Origins      int        `json:"origins"`
		Failures     int        `json:"failures"`
		Error        string     `json:"error"`
		Coverage80   *float64   `json:"coverage_80"`
		MAEByHorizon []*float64 `json:"mae_by_horizon"`
	} `json:"models"`
}

func readResult(t *testing.T, path string) championResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res championResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBacktestLongHorizon: with --horizon 28, the +cp models and both ensembles (calibrated for
// 14 days by default) succeed and are scored on all 28 days; a network, whose output is 14
// days, fails, and the leaderboard says why, with a warning and exit code 0; when every model
// fails, the exit code is 1.
func TestBacktestLongHorizon(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	bt := filepath.Join(t.TempDir(), "bt.json")
	code, out, errs := c.run("backtest", "--models", "snaive,ets+cp,ensemble,ensemble_mean,rnn", "--epochs", "1", "--horizon", "28",
		"--from", "2022-10-02", "--to", "2022-11-27", "--every", "14", "--json", bt)
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errs)
	}
	res := readResult(t, bt)
	if res.Protocol.Horizon != 28 || len(res.Models) != 5 {
		t.Fatalf("horizon %d, %d models", res.Protocol.Horizon, len(res.Models))
	}
	for _, m := range res.Models {
		if m.Name == "rnn" {
			if m.Failures != 5 || !strings.Contains(m.Error, "horizon 28") {
				t.Errorf("rnn at 28 days: %d failures, %q", m.Failures, m.Error)
			}
			continue
		}
		if m.Failures != 0 || m.Points != 5*28 || len(m.MAEByHorizon) != 28 || m.MAEByHorizon[27] == nil {
			t.Errorf("%s: %d failures (%s), %d points, MAE by horizon %v", m.Name, m.Failures, m.Error, m.Points, m.MAEByHorizon)
		}
	}
	if res.Champion == "" || res.Champion == "rnn" {
		t.Errorf("champion %q", res.Champion)
	}
	for _, want := range []string{"-- not ranked", "rnn (failed at 5 of 5)", "rnn: 5 of 5 origins failed (2022-10-02 to 2022-11-27): rnn: horizon 28"} {
		if !strings.Contains(out, want) {
			t.Errorf("leaderboard lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "warning: 1 of 5 models failed at some origins and are not ranked: rnn (5 of 5 origins)") {
		t.Errorf("no warning:\n%s", errs)
	}
	code, out, errs = c.run("backtest", "--models", "rnn", "--epochs", "1", "--horizon", "28", "--from", "2022-10-02", "--to", "2022-11-27", "--every", "14")
	if code != 1 || !strings.Contains(errs, "every model failed at every origin") || !strings.Contains(out, "rnn: 5 of 5 origins failed") {
		t.Errorf("every model failed: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestBacktestNoObservedDay: a backtest whose forecast days have no observed value names no
// champion, even with a champion in production, says so, and exits 1.
func TestBacktestNoObservedDay(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive,ets", "--train-origins", "3", "--min-coverage", "0.01")
	bt := filepath.Join(t.TempDir(), "bt.json")
	code, out, errs := c.run("backtest", "--models", "snaive,ets+cp", "--from", "2022-12-31", "--to", "2022-12-31", "--json", bt)
	if code != 1 || !strings.Contains(errs, "no forecast day of the origins 2022-12-31 to 2022-12-31 has an observed value: nothing was scored") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "\nno champion: no forecast day of the backtest has an observed value") || strings.Contains(out, " *") || strings.Contains(out, "unchanged") {
		t.Errorf("leaderboard:\n%s", out)
	}
	if res := readResult(t, bt); res.Champion != "" {
		t.Errorf("champion %q in the JSON result", res.Champion)
	}
}

// TestPointOnlyNeverChampion: a plain network (point forecasts) has no coverage ("-", null),
// is excluded by the champion rule in a backtest as in training, and "models promote" refuses
// it unless --force, which says what it overrides and records it in the alias history. The
// promotion's --min-coverage is the training's rule.
func TestPointOnlyNeverChampion(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	bt := filepath.Join(t.TempDir(), "bt.json")
	out := c.ok("backtest", "--models", "rnn,ets+cp", "--epochs", "1", "--from", "2022-10-02", "--to", "2022-11-27", "--every", "14",
		"--min-coverage", "0.3", "--json", bt)
	res := readResult(t, bt)
	if res.Champion != "ets+cp" {
		t.Fatalf("champion %q: %s", res.Champion, res.Decision.Reason)
	}
	excluded := false
	for _, s := range res.Decision.Ranking {
		excluded = excluded || s.Name == "rnn" && s.Excluded == "point forecasts only, no prediction interval"
	}
	for _, m := range res.Models {
		if m.Name == "rnn" && m.Coverage80 != nil {
			t.Errorf("rnn coverage_80 %v, want null", *m.Coverage80)
		}
	}
	if !excluded {
		t.Errorf("rnn not excluded by the rule: %+v", res.Decision.Ranking)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 10 && f[0] == "rnn" && (f[6] != "-" || f[7] != "-" || f[8] != "-") {
			t.Errorf("rnn line %q: want - for the coverages", line)
		}
	}

	out = c.ok("run", "train", "--source-dir", data, "--models", "snaive,rnn", "--epochs", "1", "--train-origins", "3", "--min-coverage", "0.01")
	if !strings.Contains(out, "champion: snaive") || !strings.Contains(out, "rnn (point forecasts only, no prediction interval)") {
		t.Fatalf("train:\n%s", out)
	}
	var show struct {
		Versions        []prevoir.ModelVersion `json:"versions"`
		ChampionHistory []prevoir.AliasChange  `json:"champion_history"`
	}
	c.okJSON(&show, "models", "show", "incid_dchosp", "--json")
	version := map[string]int{}
	for _, v := range show.Versions {
		version[v.Family] = v.Version
		// A measure that does not exist is not recorded: the network has no coverage.
		if _, ok := v.Metrics["coverage_80"]; ok == (v.Family == "rnn") {
			t.Errorf("v%d (%s) metrics %v", v.Version, v.Family, v.Metrics)
		}
	}
	if version["rnn"] == 0 || version["snaive"] == 0 {
		t.Fatalf("versions %+v", show.Versions)
	}
	rnn, snaive := fmt.Sprint(version["rnn"]), fmt.Sprint(version["snaive"])

	code, _, errs := c.run("models", "promote", "incid_dchosp", rnn)
	if code != 1 || !strings.Contains(errs, "rnn) may not be champion: point forecasts only, no prediction interval") || !strings.Contains(errs, "--force") {
		t.Errorf("promote a network: exit %d: %s", code, errs)
	}
	// The gate's threshold is --min-coverage, as in training.
	if code, _, errs := c.run("models", "promote", "incid_dchosp", snaive, "--min-coverage", "0.999"); code != 1 || !strings.Contains(errs, "below the 100% minimum") {
		t.Errorf("promote below --min-coverage: exit %d: %s", code, errs)
	}
	if list := c.ok("models", "list"); !strings.Contains(list, "champion=v"+snaive) {
		t.Errorf("a refused promotion moved the champion:\n%s", list)
	}
	code, out, errs = c.run("models", "promote", "incid_dchosp", rnn, "--force", "--reason", "try the network")
	if code != 0 || !strings.Contains(errs, "warning: forced over the champion rule, which refuses v"+rnn+" (rnn): point forecasts only") {
		t.Fatalf("forced promotion: exit %d\n%s\n%s", code, out, errs)
	}
	c.okJSON(&show, "models", "show", "incid_dchosp", "--json")
	if r := show.ChampionHistory[0].Reason; !strings.Contains(r, "try the network") || !strings.Contains(r, "forced over the champion rule") {
		t.Errorf("alias history: %q", r)
	}
}

// TestTrainWithoutEligibleModel: a training whose models may not serve registers their
// versions, names no champion, says why and exits 1.
func TestTrainWithoutEligibleModel(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	code, out, errs := c.run("run", "train", "--source-dir", data, "--models", "rnn", "--epochs", "1", "--train-origins", "2")
	if code != 1 || !strings.Contains(errs, "no champion: no candidate is eligible (rnn (point forecasts only, no prediction interval)); there is no champion") ||
		strings.Contains(out, "champion:") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	list := c.ok("models", "list")
	if !strings.Contains(list, "incid_dchosp") || strings.Contains(list, "champion=") {
		t.Errorf("models:\n%s", list)
	}
}
