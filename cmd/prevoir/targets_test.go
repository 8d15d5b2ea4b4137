package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// registeredModels returns the names models list prints with --json, and extra flags.
func (c *cli) registeredModels(extra ...string) []string {
	c.t.Helper()
	var ms []prevoir.RegisteredModel
	c.okJSON(&ms, append([]string{"models", "list", "--json"}, extra...)...)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// TestTargetFlag: train, forecast and score with --target hosp record everything under the
// registered model "hosp" and nothing under the default target; forecast show, export and the
// models commands read hosp with --target, and a promotion and a rollback move hosp's champion
// only. Several targets: a heading per target, each trained with the models given.
func TestTargetFlag(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	out := c.ok("run", "train", "--source-dir", data, "--target", "hosp", "--models", "snaive,ets", "--train-origins", "1")
	if strings.Contains(out, "==") || !strings.Contains(out, "forecast of hosp v") {
		t.Errorf("run train --target hosp:\n%s", out)
	}
	if got := c.registeredModels(); !slices.Equal(got, []string{"hosp"}) {
		t.Fatalf("registered models after training hosp: %v", got)
	}
	// The forecast run names hosp's registered model.
	frs := c.runsOf(prevoir.RunForecast)
	if len(frs) != 1 {
		t.Fatalf("%d forecast runs after training hosp, want its new champion's", len(frs))
	}
	for _, r := range frs {
		if r.Params["model"] != "hosp" {
			t.Errorf("forecast run %s: model %q, want hosp", r.ID, r.Params["model"])
		}
	}

	out = c.ok("run", "forecast", "--source-dir", data, "--target", "hosp")
	if !strings.HasPrefix(out, "Forecast of hosp from ") || strings.Contains(out, "Weekly totals") {
		t.Errorf("run forecast --target hosp (an occupancy: no weekly totals):\n%s", out)
	}
	if out := c.ok("run", "score", "--source-dir", data, "--target", "hosp"); !strings.HasPrefix(out, "scored ") {
		t.Errorf("run score --target hosp:\n%s", out)
	}

	// The runs of hosp, and only they, are listed under hosp; the default target has none.
	var runs []*prevoir.Run
	c.okJSON(&runs, "runs", "list", "--target", "hosp", "--limit", "0", "--json")
	kinds := map[prevoir.RunKind]bool{}
	for _, r := range runs {
		if r.Target != "hosp" {
			t.Errorf("runs list --target hosp lists run %s of target %q", r.ID, r.Target)
		}
		kinds[r.Kind] = true
	}
	if !kinds[prevoir.RunTrain] || !kinds[prevoir.RunForecast] {
		t.Errorf("runs list --target hosp: kinds %v, want the trainings and the forecast", kinds)
	}
	c.okJSON(&runs, "runs", "list", "--target", "incid_dchosp", "--json")
	if len(runs) != 0 {
		t.Errorf("runs list --target incid_dchosp: %d runs, want none", len(runs))
	}

	var shown struct {
		Model  string `json:"registered_model"`
		Target string `json:"target"`
		Family string `json:"family"`
	}
	c.okJSON(&shown, "forecast", "show", "--target", "hosp", "--json")
	if shown.Model != "hosp" || shown.Target != "hosp" {
		t.Errorf("forecast show --target hosp: %+v", shown)
	}
	// The default target has nothing yet.
	if code, _, errs := c.run("forecast", "show"); code != 1 || !strings.Contains(errs, "incid_dchosp has no champion") {
		t.Errorf("forecast show of the untrained default target: exit %d %q", code, errs)
	}

	var exported bytes.Buffer
	exported.WriteString(c.ok("forecast", "export", "--target", "hosp"))
	rows, err := csv.NewReader(&exported).ReadAll()
	if err != nil || len(rows) != 1+14*23 {
		t.Fatalf("forecast export --target hosp: %d rows, %v", len(rows), err)
	}
	for _, r := range rows[1:] {
		if r[1] != "hosp occupancy" {
			t.Fatalf("exported row %v: want target hosp occupancy", r)
		}
	}
	if code, _, errs := c.run("forecast", "export", "--target", "hosp", "--weekly"); code != 1 || !strings.Contains(errs, "is an occupancy") {
		t.Errorf("weekly export of an occupancy: exit %d %q", code, errs)
	}

	var versions struct {
		Versions []prevoir.ModelVersion `json:"versions"`
	}
	c.okJSON(&versions, "models", "show", "--target", "hosp", "--json")
	if len(versions.Versions) != 2 {
		t.Fatalf("models show --target hosp: %d versions", len(versions.Versions))
	}
	champion := func() int {
		var ms []prevoir.RegisteredModel
		c.okJSON(&ms, "models", "list", "--target", "hosp", "--json")
		return ms[0].Aliases[prevoir.AliasChampion]
	}
	before := champion()
	other := 3 - before
	if out := c.ok("models", "promote", "--target", "hosp", "--force", "v"+strconv.Itoa(other)); !strings.Contains(out, "hosp champion: v") {
		t.Errorf("models promote --target hosp:\n%s", out)
	}
	if got := champion(); got != other {
		t.Errorf("champion after promote: v%d, want v%d", got, other)
	}
	c.ok("models", "rollback", "--target", "hosp")
	if got := champion(); got != before {
		t.Errorf("champion after rollback: v%d, want v%d", got, before)
	}

	// Several targets: each with the models given, under a heading.
	out = c.ok("run", "train", "--source-dir", data, "--target", "incid_dchosp,incid_rea", "--models", "snaive", "--train-origins", "1")
	for _, h := range []string{"== incid_dchosp: new deaths in hospital (deaths/day)", "== incid_rea: new intensive care admissions (admissions/day)"} {
		if !strings.Contains(out, h) {
			t.Errorf("run train on two targets lacks %q:\n%s", h, out)
		}
	}
	if got := c.registeredModels(); !slices.Equal(got, []string{"hosp", "incid_dchosp", "incid_rea"}) {
		t.Errorf("registered models: %v", got)
	}
	if got := c.registeredModels("--target", "incid_rea"); !slices.Equal(got, []string{"incid_rea"}) {
		t.Errorf("models list --target incid_rea: %v", got)
	}
}

// TestForecastShowAllTargets: forecast show --target all prints a block per target, headed by
// its label and unit, and its JSON is an object keyed by target name; the targets without a
// forecast say why and make the command exit non-zero. export --target all writes one file
// with every target's rows, and refuses when one has no forecast, writing nothing.
func TestForecastShowAllTargets(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--target", "incid_dchosp", "--target", "rea", "--models", "snaive", "--train-origins", "1")

	// run forecast on every target: the trained ones forecast (already done after training),
	// the others fail without stopping them, and the command names them.
	code, out, errs := c.run("run", "forecast", "--source-dir", data, "--target", "all")
	if code != 1 || !strings.Contains(errs, "3 of 5 targets failed (incid_hosp, incid_rea, hosp)") ||
		strings.Count(out, "(already forecast from this origin by this version") != 2 || strings.Count(out, "\n== ") != 4 {
		t.Errorf("run forecast --target all: exit %d %q\n%s", code, errs, out)
	}

	code, out, errs = c.run("forecast", "show", "--target", "all")
	if code != 1 || !strings.Contains(errs, "no forecast served for incid_hosp, incid_rea, hosp") {
		t.Errorf("forecast show --target all: exit %d %q", code, errs)
	}
	var at []int
	for _, tg := range prevoir.Targets() {
		i := strings.Index(out, "== "+tg.Name+": "+tg.Label+" ("+tg.Unit+")")
		if i < 0 {
			t.Fatalf("no block for %s:\n%s", tg.Name, out)
		}
		at = append(at, i)
	}
	if !slices.IsSorted(at) {
		t.Errorf("blocks out of order: %v", at)
	}
	if !strings.Contains(out, "Forecast of rea from ") || !strings.Contains(out, "Forecast of incid_dchosp from ") ||
		!strings.Contains(out, "incid_hosp has no champion") {
		t.Errorf("forecast show --target all:\n%s", out)
	}

	code, out, _ = c.run("forecast", "show", "--target", "all", "--json")
	var byTarget map[string]struct {
		Model  string `json:"registered_model"`
		Target string `json:"target"`
		Note   string `json:"note"`
	}
	if err := json.Unmarshal([]byte(out), &byTarget); code != 1 || err != nil || len(byTarget) != 5 {
		t.Fatalf("forecast show --target all --json: exit %d, %v, %d targets:\n%s", code, err, len(byTarget), out)
	}
	for name, s := range byTarget {
		has := name == "incid_dchosp" || name == "rea"
		if s.Target != name || has != (s.Model == name) || has == (s.Note != "") {
			t.Errorf("%s: %+v", name, s)
		}
	}

	out = c.ok("forecast", "export", "--target", "rea", "--target", "incid_dchosp")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 1+2*14*23 || rows[1][1] != "icu occupancy" || rows[len(rows)-1][1] != "inc death" {
		t.Fatalf("export of two targets: %d rows, %v", len(rows), err)
	}
	if code, out, errs := c.run("forecast", "export", "--target", "all"); code != 1 || out != "" || !strings.Contains(errs, "incid_hosp has no champion") {
		t.Errorf("export --target all with targets untrained: exit %d %q %q", code, out, errs)
	}
}

// TestUnknownTarget: an unknown target is a usage error listing the valid ones, on every
// command that takes --target, before anything is done.
func TestUnknownTarget(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		{"run", "train", "--target", "hosp,beds"},
		{"run", "forecast", "--target", "beds"},
		{"run", "score", "--target", "beds"},
		{"forecast", "show", "--target", "beds"},
		{"forecast", "export", "--target", "beds"},
		{"models", "list", "--target", "beds"},
		{"models", "show", "--target", "beds"},
		{"models", "show", "beds"},
		{"models", "promote", "--target", "beds", "1"},
		{"models", "rollback", "beds"},
		{"runs", "list", "--target", "beds"},
	} {
		code, _, errs := c.run(args...)
		if code != 2 || !strings.Contains(errs, `"beds"`) || !strings.Contains(errs, strings.Join(prevoir.TargetNames(), ", ")) {
			t.Errorf("prevoir %v: exit %d %q", args, code, errs)
		}
	}
	if code, _, errs := c.run("models", "show", "--target", "all"); code != 2 || !strings.Contains(errs, "reads one target, got 5") {
		t.Errorf("models show --target all: exit %d %q", code, errs)
	}
	if code, _, errs := c.run("models", "show", "hosp", "--target", "rea"); code != 2 || !strings.Contains(errs, "disagree") {
		t.Errorf("models show hosp --target rea: exit %d %q", code, errs)
	}
}

// TestRegisteredModelAlias: the deprecated --registered-model, from the command line, the
// environment or a config file written before targets, names the target of that name, with a
// warning; one that names no target is a usage error listing the targets; --target wins.
func TestRegisteredModelAlias(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--registered-model", "incid_hosp", "--models", "snaive", "--train-origins", "1")
	if got := c.registeredModels(); !slices.Equal(got, []string{"incid_hosp"}) {
		t.Fatalf("run train --registered-model incid_hosp registered %v", got)
	}
	model := func(args ...string) string {
		t.Helper()
		code, out, errs := c.run(append([]string{"forecast", "show", "--json"}, args...)...)
		if !strings.Contains(errs, "setting registered-model is deprecated: use --target") {
			t.Errorf("forecast show %v: no deprecation warning: %q", args, errs)
		}
		var s struct {
			Model string `json:"registered_model"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &s) != nil {
			t.Fatalf("forecast show %v: exit %d %q", args, code, errs)
		}
		return s.Model
	}
	if got := model("--registered-model", "incid_hosp"); got != "incid_hosp" {
		t.Errorf("--registered-model incid_hosp served %q", got)
	}
	c.env["PREVOIR_REGISTERED_MODEL"] = "incid_hosp"
	if got := model(); got != "incid_hosp" {
		t.Errorf("PREVOIR_REGISTERED_MODEL=incid_hosp served %q", got)
	}
	delete(c.env, "PREVOIR_REGISTERED_MODEL")
	// PREVOIR_TARGET names targets; frame's --target, a column, is a command-line setting only.
	c.env["PREVOIR_TARGET"] = "all"
	if code, out, errs := c.run("frame", "--format", "json"); code != 0 || !strings.Contains(out, `"target": "incid_dchosp"`) {
		t.Errorf("frame with PREVOIR_TARGET=all: exit %d %q", code, errs)
	}
	delete(c.env, "PREVOIR_TARGET")
	path := c.writeConfig("registered-model: incid_hosp\n")
	if got := model(); got != "incid_hosp" {
		t.Errorf("registered-model in the config file served %q", got)
	}
	// --target wins over the old setting.
	if code, _, errs := c.run("forecast", "show", "--target", "incid_dchosp"); code != 1 || !strings.Contains(errs, "incid_dchosp has no champion") {
		t.Errorf("--target over the config's registered-model: exit %d %q", code, errs)
	}
	c.writeConfig("registered-model: deaths\n")
	for _, args := range [][]string{{"forecast", "show"}, {"run", "forecast", "--source-dir", data}, {"models", "show"}} {
		if code, _, errs := c.run(args...); code != 2 || !strings.Contains(errs, `--registered-model (deprecated: use --target) names no target: unknown target "deaths"`) ||
			!strings.Contains(errs, strings.Join(prevoir.TargetNames(), ", ")) {
			t.Errorf("prevoir %v with registered-model: deaths in %s: exit %d %q", args, path, code, errs)
		}
	}
}
