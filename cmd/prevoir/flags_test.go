package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// writeConfig writes a YAML config file and points PREVOIR_CONFIG at it.
func (c *cli) writeConfig(body string) string {
	c.t.Helper()
	p := filepath.Join(c.t.TempDir(), "prevoir.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.env["PREVOIR_CONFIG"] = p
	return p
}

// configRow returns the fields of the row of "prevoir config" for setting name whose value is
// value, or nil.
func configRow(out, name, value string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name && f[1] == value {
			return f
		}
	}
	return nil
}

// TestNumericSettingBounds gives every numeric setting values just outside its range (a usage
// error, exit 2, naming the setting, the value and the range), from the command line, the
// environment and the config file, and its boundary values (accepted).
func TestNumericSettingBounds(t *testing.T) {
	for _, tc := range []struct {
		cmd     []string
		flag    string
		bad, ok []string
		want    string // the range, as the errors say it
		cliOnly bool   // a command-line only setting: the environment and the file refuse it
	}{
		{cmd: []string{"backtest"}, flag: "every", bad: []string{"0", "-7"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"backtest"}, flag: "horizon", bad: []string{"0", "-1"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"backtest"}, flag: "window", bad: []string{"-1"}, ok: []string{"0"}, want: "want an integer at least 0"},
		{cmd: []string{"backtest"}, flag: "fit-workers", bad: []string{"0", "-1"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"backtest"}, flag: "champion-window", bad: []string{"0"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"backtest"}, flag: "champion-margin", bad: []string{"-0.01", "1.5", "NaN"}, ok: []string{"0", "1"}, want: "want a number from 0 to 1"},
		{cmd: []string{"backtest"}, flag: "epochs", bad: []string{"0", "-1"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"backtest"}, flag: "stale-after", bad: []string{"-1"}, ok: []string{"0"}, want: "want an integer at least 0"},
		{cmd: []string{"run", "train"}, flag: "epochs", bad: []string{"-1"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"run", "train"}, flag: "train-origins", bad: []string{"0"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"run", "train"}, flag: "champion-margin", bad: []string{"-1"}, ok: []string{"0"}, want: "want a number from 0 to 1"},
		{cmd: []string{"run", "train"}, flag: "min-coverage", bad: []string{"-0.1", "1.1"}, ok: []string{"0", "1"}, want: "want a number from 0 to 1"},
		{cmd: []string{"run", "score"}, flag: "alert-drift-factor", bad: []string{"0", "-1"}, ok: []string{"0.01"}, want: "want a number greater than 0"},
		{cmd: []string{"run", "ingest"}, flag: "alert-stale-after", bad: []string{"0s", "-1h"}, ok: []string{"1s"}, want: "want a duration greater than 0s"},
		{cmd: []string{"worker"}, flag: "job-workers", bad: []string{"0"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"worker"}, flag: "max-attempts", bad: []string{"0"}, ok: []string{"1"}, want: "want an integer at least 1"},
		{cmd: []string{"worker"}, flag: "retry-base", bad: []string{"0s"}, ok: []string{"1ms"}, want: "want a duration greater than 0s"},
		{cmd: []string{"worker"}, flag: "rescue-after", bad: []string{"999ms", "0s"}, ok: []string{"1s"}, want: "want a duration at least 1s"},
		{cmd: []string{"worker"}, flag: "job-timeout", bad: []string{"0s"}, ok: []string{"1s"}, want: "want a duration greater than 0s"},
		{cmd: []string{"worker"}, flag: "nice", bad: []string{"-1", "20"}, ok: []string{"0", "19"}, want: "want an integer from 0 to 19"},
		{cmd: []string{"serve"}, flag: "refresh-every", bad: []string{"0s"}, ok: []string{"1s"}, want: "want a duration greater than 0s"},
		{cmd: []string{"frame"}, flag: "stale-after", bad: []string{"-1"}, ok: []string{"0"}, want: "want an integer at least 0"},
		{cmd: []string{"snapshots"}, flag: "abandon-after", bad: []string{"0s"}, ok: []string{"1ns"}, want: "want a duration greater than 0s"},
		{cmd: []string{"runs", "list"}, flag: "limit", bad: []string{"-1"}, ok: []string{"0"}, want: "want an integer at least 0", cliOnly: true},
		{cmd: []string{"snapshots"}, flag: "limit", bad: []string{"-1"}, ok: []string{"0"}, want: "want an integer at least 0", cliOnly: true},
		{cmd: []string{"jobs"}, flag: "limit", bad: []string{"0", "10001"}, ok: []string{"1", "10000"}, want: "want an integer from 1 to 10000", cliOnly: true},
		{cmd: []string{"artifacts", "sweep"}, flag: "older-than", bad: []string{"-1s"}, ok: []string{"0s"}, want: "want a duration at least 0s", cliOnly: true},
		{cmd: []string{"bench", "train"}, flag: "threads", bad: []string{"0"}, ok: []string{"1"}, want: "want an integer at least 1", cliOnly: true},
		{cmd: []string{"bench", "train"}, flag: "lr", bad: []string{"0", "-1"}, ok: []string{"1e-9"}, want: "want a number greater than 0", cliOnly: true},
	} {
		t.Run(strings.Join(tc.cmd, "_")+"_"+tc.flag, func(t *testing.T) {
			c := newCLI(t)
			// A command whose settings were wrongly accepted stops at once instead of serving
			// or working until stopped.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			c.ctx = ctx
			refused := func(where string, args ...string) string {
				t.Helper()
				code, _, errs := c.run(args...)
				if code != 2 || !strings.Contains(errs, tc.want) || !strings.Contains(errs, where) {
					t.Errorf("prevoir %v (env %v): exit %d, stderr %q; want exit 2 naming %q and saying %q", args, c.env, code, errs, where, tc.want)
				}
				return errs
			}
			flag, env := "--"+tc.flag, envName(tc.flag)
			for _, v := range tc.bad {
				errs := refused(flag, append(slices.Clone(tc.cmd), flag, v)...)
				if !strings.Contains(errs, `"`+v+`"`) {
					t.Errorf("%s %s: the error does not quote the value: %q", flag, v, errs)
				}
			}
			for _, v := range tc.ok {
				// --help stops after the command line is parsed, before the command runs.
				if code, _, errs := c.run(append(slices.Clone(tc.cmd), flag, v, "--help")...); code != 0 {
					t.Errorf("%s %s: exit %d %q", flag, v, code, errs)
				}
			}
			if tc.cliOnly {
				c.env[env] = tc.ok[0]
				if code, _, errs := c.run(tc.cmd...); code != 2 || !strings.Contains(errs, env) || !strings.Contains(errs, "command-line only") {
					t.Errorf("%s=%s: exit %d %q; want 2, command-line only", env, tc.ok[0], code, errs)
				}
				delete(c.env, env)
				path := c.writeConfig(tc.flag + ": " + tc.ok[0] + "\n")
				if code, _, errs := c.run(tc.cmd...); code != 2 || !strings.Contains(errs, path+":1") || !strings.Contains(errs, "command-line only") {
					t.Errorf("config %s: exit %d %q; want 2, command-line only", tc.flag, code, errs)
				}
				return
			}
			for _, v := range tc.bad {
				c.env[env] = v
				refused("env "+env, tc.cmd...)
				delete(c.env, env)
				path := c.writeConfig(tc.flag + ": " + v + "\n")
				refused(path+":1: "+tc.flag, tc.cmd...)
				delete(c.env, "PREVOIR_CONFIG")
			}
			for _, v := range tc.ok {
				c.env[env] = v
				if row := configRow(c.ok("config"), tc.flag, v); row == nil || !slices.Contains(row, env) {
					t.Errorf("%s=%s: prevoir config row %v", env, v, row)
				}
				delete(c.env, env)
			}
		})
	}
}

// backtestJSON is what these tests read of a backtest's JSON.
type backtestJSON struct {
	Decision struct {
		Champion string  `json:"champion"`
		Current  string  `json:"current"`
		Changed  bool    `json:"changed"`
		Margin   float64 `json:"margin"`
	} `json:"decision"`
	Protocol struct {
		Origins []prevoir.Date `json:"origins"`
		Every   int            `json:"every_days"`
		Horizon int            `json:"horizon"`
	} `json:"protocol"`
	Models    []struct{ Name string } `json:"models"`
	Forecasts []struct{ Horizon int } `json:"forecasts"`
}

func (c *cli) backtest(args ...string) backtestJSON {
	c.t.Helper()
	p := filepath.Join(c.t.TempDir(), "bt.json")
	c.ok(append([]string{"backtest", "--json", p}, args...)...)
	b, err := os.ReadFile(p)
	if err != nil {
		c.t.Fatal(err)
	}
	var res backtestJSON
	if err := json.Unmarshal(b, &res); err != nil {
		c.t.Fatal(err)
	}
	return res
}

// runsOf returns the runs of a kind, newest first, with their parameters.
func (c *cli) runsOf(kind prevoir.RunKind) []prevoir.Run {
	c.t.Helper()
	var rs []prevoir.Run
	c.okJSON(&rs, "runs", "list", "--kind", string(kind), "--json")
	for i, r := range rs {
		c.okJSON(&rs[i], "runs", "show", r.ID, "--json")
	}
	return rs
}

// TestChampionMarginZeroIsZero: a margin of 0 lets a challenger better by any amount replace
// the champion, whether the 0 comes from the command line or the environment, and the runs
// record the margin that was applied.
func TestChampionMarginZeroIsZero(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	// drift becomes the champion. Over the 11 origins below, naive's MAE (60.57) is 0.3% lower
	// than drift's (60.72): within the default 2% margin, beyond a margin of 0.
	if out := c.ok("run", "train", "--models", "drift", "--train-origins", "2", "--champion-margin", "0"); !strings.Contains(out, "champion: drift v1") {
		t.Fatalf("run train:\n%s", out)
	}
	if sel := c.runsOf(prevoir.RunSelect); len(sel) != 1 || sel[0].Params["champion_margin"] != "0" || sel[0].Params["min_coverage"] != "0.6" {
		t.Errorf("select run params: %+v", sel)
	}
	args := []string{"--models", "naive,drift", "--from", "2022-10-02", "--to", "2022-12-11", "--champion-window", "11"}
	if d := c.backtest(args...).Decision; d.Champion != "drift" || d.Current != "drift" || d.Changed || d.Margin != 0.02 {
		t.Errorf("default margin: %+v; want drift kept within 2%%", d)
	}
	if d := c.backtest(append(args, "--champion-margin", "0")...).Decision; d.Champion != "naive" || !d.Changed || d.Margin != 0 {
		t.Errorf("--champion-margin 0: %+v; want naive", d)
	}
	c.env["PREVOIR_CHAMPION_MARGIN"] = "0"
	if d := c.backtest(args...).Decision; d.Champion != "naive" || d.Margin != 0 {
		t.Errorf("PREVOIR_CHAMPION_MARGIN=0: %+v; want naive", d)
	}
	bt := c.runsOf(prevoir.RunBacktest)
	if len(bt) != 3 {
		t.Fatalf("%d backtest runs", len(bt))
	}
	for i, want := range []string{"0", "0", "0.02"} { // newest first
		if got := bt[i].Params["champion_margin"]; got != want {
			t.Errorf("backtest run %d: champion_margin %q, want %q", i, got, want)
		}
	}
}

// TestBacktestRecordsWhatRan: the horizon and the spacing of origins recorded are those the
// backtest ran with.
func TestBacktestRecordsWhatRan(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	res := c.backtest("--models", "snaive", "--horizon", "7", "--every", "14", "--from", "2022-10-02", "--to", "2022-12-11")
	p := res.Protocol
	if p.Horizon != 7 || p.Every != 14 || len(p.Origins) != 6 || p.Origins[1]-p.Origins[0] != 14 {
		t.Errorf("protocol: %+v", p)
	}
	maxH := 0
	for _, f := range res.Forecasts {
		maxH = max(maxH, f.Horizon)
	}
	if maxH != 7 {
		t.Errorf("forecasts up to %d days ahead, want 7", maxH)
	}
	runs := c.runsOf(prevoir.RunBacktest)
	if len(runs) != 1 || runs[0].Params["horizon"] != "7" || runs[0].Params["every"] != "14" {
		t.Errorf("backtest run: %+v", runs)
	}
}

// TestConfigFileRefusesWhatDoesNotApply: a key of the config file, or a variable, that no
// command reads from there is a usage error naming the file and line (or the variable).
func TestConfigFileRefusesWhatDoesNotApply(t *testing.T) {
	c := newCLI(t)
	for body, want := range map[string]string{
		"horizon: 21\njson: bt.json\n":  `:2: key "json": --json is command-line only`,
		"from: 2022-10-02\n":            `:1: key "from": --from is command-line only`,
		"stale-after: 3\nplot: x.svg\n": `:2: key "plot": --plot is command-line only`,
		"horizon: 21\nhorizons: 28\n":   `:2: unknown key "horizons"`,
	} {
		path := c.writeConfig(body)
		for _, cmd := range [][]string{{"backtest"}, {"frame"}, {"config"}} {
			if code, _, errs := c.run(cmd...); code != 2 || !strings.Contains(errs, path+want) {
				t.Errorf("prevoir %v with %q: exit %d %q; want 2 and %q", cmd, body, code, errs, path+want)
			}
		}
	}
	delete(c.env, "PREVOIR_CONFIG")
	c.env["PREVOIR_PLOT"] = "x.svg"
	if code, _, errs := c.run("backtest"); code != 2 || !strings.Contains(errs, "env PREVOIR_PLOT: --plot is command-line only") {
		t.Errorf("PREVOIR_PLOT: exit %d %q", code, errs)
	}
}

// TestConfigModelsApplyToBacktest: models set in the config file are those backtest compares,
// as prevoir config says.
func TestConfigModelsApplyToBacktest(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	path := c.writeConfig("models: [naive, snaive]\n")
	row := configRow(c.ok("config"), "models", "naive,snaive")
	if row == nil || row[3] != "config" || row[4] != path+":1" || !strings.Contains(row[5], "backtest") {
		t.Errorf("prevoir config row for models: %v", row)
	}
	res := c.backtest("--from", "2022-11-06", "--to", "2022-12-11")
	var names []string
	for _, m := range res.Models {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"naive", "snaive"}) {
		t.Errorf("backtest compared %v, want the config file's naive, snaive", names)
	}
	if runs := c.runsOf(prevoir.RunBacktest); len(runs) != 1 || runs[0].Params["models"] != "naive,snaive" {
		t.Errorf("backtest run params: %+v", runs)
	}
}

// TestFrameSettingsReachEveryCommand: the frame that backtest and run train learn from is the
// frame prevoir frame shows under the same settings (same hash), and frame takes --sources.
func TestFrameSettingsReachEveryCommand(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	hash := func(csv string) string { h := sha256.Sum256([]byte(csv)); return hex.EncodeToString(h[:]) }
	plain := hash(c.ok("frame"))
	c.writeConfig("covariates: [hosp, rea, pos]\nstale-covariates: flag\n")
	c.env["PREVOIR_STALE_AFTER"] = "3"
	want := hash(c.ok("frame"))
	if want == plain {
		t.Fatal("the settings do not change the frame: the test shows nothing")
	}
	c.backtest("--models", "snaive", "--from", "2022-11-06", "--to", "2022-12-11")
	c.ok("run", "train", "--models", "snaive", "--train-origins", "2")
	for _, kind := range []prevoir.RunKind{prevoir.RunBacktest, prevoir.RunTrain} {
		if rs := c.runsOf(kind); len(rs) != 1 || rs[0].FrameSHA256 != want {
			t.Errorf("%s run's frame: %+v, want the frame shown (%s)", kind, rs, want)
		}
	}

	// frame --sources, as backtest has: the frame of the national indicators alone.
	var fj struct {
		Sources []prevoir.FrameSource `json:"sources"`
	}
	c.okJSON(&fj, "frame", "--sources", "indicateurs", "--covariates", "hosp,rea", "--format", "json")
	if len(fj.Sources) != 1 || fj.Sources[0].Source != "indicateurs" {
		t.Errorf("frame --sources indicateurs: sources %+v", fj.Sources)
	}
}

// TestHelpListsOnlyUsedSettings: each command's help lists the settings it uses and no other.
func TestHelpListsOnlyUsedSettings(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		cmd       []string
		has, hasn []string
	}{
		{[]string{"backtest"}, []string{"--fit-workers", "--champion-margin", "--min-coverage", "--models", "--sources", "--stale-after", "--covariates", "--epochs"},
			[]string{"--alert-drift-factor", "--alert-stale-after", "--source-dir", "--datagouv-url", "--retrain-on-drift", "--workers", "--job-workers"}},
		{[]string{"run"}, []string{"--alert-drift-factor", "--alert-stale-after", "--source-dir", "--min-coverage", "--stale-covariates"},
			[]string{"--retrain-on-drift", "--workers", "--job-workers", "--fit-workers"}},
		{[]string{"worker"}, []string{"--job-workers", "--retrain-on-drift", "--alert-drift-factor", "--covariates"}, []string{"--workers", "--fit-workers"}},
		{[]string{"serve"}, []string{"--job-workers", "--retrain-on-drift", "--refresh-every"}, []string{"--workers", "--fit-workers"}},
		{[]string{"frame"}, []string{"--sources", "--stale-after", "--covariates"}, []string{"--source-dir", "--registered-model"}},
	} {
		out := c.ok(append(tc.cmd, "--help")...)
		for _, f := range tc.has {
			if !strings.Contains(out, f+" ") {
				t.Errorf("prevoir %v --help lacks %s", tc.cmd, f)
			}
		}
		for _, f := range tc.hasn {
			if strings.Contains(out, f+" ") {
				t.Errorf("prevoir %v --help lists %s, which it does not use", tc.cmd, f)
			}
		}
	}
}

// TestWorkersSplit: the fits of a backtest and the jobs of a worker are two settings, each with
// its variable; the old variable, which set both, is refused with what replaces it, and the old
// flag still works on the command line, with a warning.
func TestWorkersSplit(t *testing.T) {
	c := newCLI(t)
	c.env["PREVOIR_FIT_WORKERS"] = "3"
	c.env["PREVOIR_JOB_WORKERS"] = "1"
	out := c.ok("config")
	if row := configRow(out, "fit-workers", "3"); row == nil || row[len(row)-1] != "backtest" {
		t.Errorf("fit-workers row: %v\n%s", row, out)
	}
	if row := configRow(out, "job-workers", "1"); row == nil || row[len(row)-1] != "serve,worker" {
		t.Errorf("job-workers row: %v\n%s", row, out)
	}
	if configRow(out, "workers", "2") != nil || strings.Contains(out, "PREVOIR_WORKERS ") {
		t.Errorf("prevoir config still shows workers:\n%s", out)
	}

	c.env["PREVOIR_WORKERS"] = "4"
	for _, cmd := range [][]string{{"backtest"}, {"worker"}, {"config"}} {
		if code, _, errs := c.run(cmd...); code != 2 || !strings.Contains(errs, "env PREVOIR_WORKERS: no longer read") ||
			!strings.Contains(errs, "PREVOIR_FIT_WORKERS") || !strings.Contains(errs, "PREVOIR_JOB_WORKERS") {
			t.Errorf("prevoir %v with PREVOIR_WORKERS: exit %d %q", cmd, code, errs)
		}
	}
	delete(c.env, "PREVOIR_WORKERS")
	path := c.writeConfig("horizon: 14\nworkers: 4\n")
	if code, _, errs := c.run("worker"); code != 2 || !strings.Contains(errs, path+`:2: key "workers": no longer read`) {
		t.Errorf("workers in the config file: exit %d %q", code, errs)
	}
	delete(c.env, "PREVOIR_CONFIG")

	// The old flag is the new one, with a warning.
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	delete(c.env, "PREVOIR_FIT_WORKERS")
	code, _, errs := c.run("backtest", "--models", "snaive", "--from", "2022-12-04", "--to", "2022-12-11", "--workers", "1")
	if code != 0 || !strings.Contains(errs, "--workers is deprecated: use --fit-workers") {
		t.Errorf("backtest --workers: exit %d %q", code, errs)
	}
	var cfg map[string]string
	if rs := c.runsOf(prevoir.RunBacktest); len(rs) != 1 || json.Unmarshal([]byte(rs[0].Config), &cfg) != nil || cfg["fit-workers"] != "1" {
		t.Errorf("backtest --workers 1 recorded fit-workers %q", cfg["fit-workers"])
	}
}

// TestEveryNumericFlagHasARange: every numeric flag of every command checks its range, so that
// a new one cannot take any number silently. A seed is the exception: every value is one.
func TestEveryNumericFlagHasARange(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }}
	for name, fs := range settingDefs(a.rootCommand()) {
		for _, f := range fs {
			switch f.Value.(type) {
			case intValue, floatValue, durationValue:
				continue
			}
			if typ := f.Value.Type(); name != "seed" && (strings.Contains(typ, "int") || strings.Contains(typ, "float") || typ == "duration") {
				t.Errorf("--%s (%s) has no range", name, typ)
			}
		}
	}
}
