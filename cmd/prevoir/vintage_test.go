package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
)

// ingestRows returns the ingest table's line of each source.
func ingestRows(t *testing.T, out string) map[string]string {
	t.Helper()
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && (f[0] == prevoir.SourceIndicators || f[0] == prevoir.SourceSIDEP) {
			rows[f[0]] = l
		}
	}
	if len(rows) != 2 {
		t.Fatalf("ingest output:\n%s", out)
	}
	return rows
}

// frameSnapshots returns the snapshot each source's frame is built from.
func (c *cli) frameSnapshots() map[string]int64 {
	c.t.Helper()
	var f struct {
		Sources []prevoir.FrameSource `json:"sources"`
	}
	c.okJSON(&f, "frame", "--format", "json")
	out := map[string]int64{}
	for _, s := range f.Sources {
		out[s.Source] = s.SnapshotID
	}
	return out
}

// TestOldVintageAfterNewStaysCurrent: ingesting archived releases after the newer ones stores
// them as "older" and keeps the newer current (the CLI says which and why); ingesting known
// bytes again is "unchanged"; an operator's pin overrides the dates until removed.
func TestOldVintageAfterNewStaysCurrent(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	newest := c.frameSnapshots()
	old := copyData(t, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", "vintages/sp-fra-jour-2022-08-05-19h01.csv")
	rows := ingestRows(t, c.ok("ingest", "--source-dir", old))
	for src, last := range map[string]string{prevoir.SourceIndicators: "2022-12-31", prevoir.SourceSIDEP: "2022-08-23"} {
		want := fmt.Sprintf("not current: snapshot %d stays current (newer: to %s)", newest[src], last)
		if f := strings.Fields(rows[src]); f[1] != "older" || !strings.Contains(rows[src], want) {
			t.Errorf("%s after its newer release: %q, want status older and %q", src, rows[src], want)
		}
	}
	if got := c.frameSnapshots(); got[prevoir.SourceIndicators] != newest[prevoir.SourceIndicators] || got[prevoir.SourceSIDEP] != newest[prevoir.SourceSIDEP] {
		t.Errorf("frame built from %v after the old vintages, want %v", got, newest)
	}
	snaps := c.snapshots()
	if len(snaps) != 4 {
		t.Fatalf("%d snapshots, want 4", len(snaps))
	}
	// The same bytes again, old or new: unchanged, nothing stored.
	for _, dir := range []string{old, testutil.DataDir(t)} {
		for src, row := range ingestRows(t, c.ok("ingest", "--source-dir", dir)) {
			if strings.Fields(row)[1] != "unchanged" {
				t.Errorf("%s ingested again: %q, want unchanged", src, row)
			}
		}
	}
	if n := len(c.snapshots()); n != 4 {
		t.Errorf("%d snapshots after ingesting known bytes, want 4", n)
	}

	// An operator pins the archived indicators release: it is current, and says so.
	var oldInd int64
	for _, s := range snaps {
		if s.Source == prevoir.SourceIndicators && s.LastDate.String() == "2022-08-26" {
			oldInd = s.ID
		}
	}
	out := c.ok("snapshots", "pin", fmt.Sprint(oldInd), "--by", "alice", "--reason", "reproduce August")
	if !strings.Contains(out, "pinned by alice") {
		t.Errorf("pin: %s", out)
	}
	if got := c.frameSnapshots()[prevoir.SourceIndicators]; got != oldInd {
		t.Errorf("frame built from indicators snapshot %d while %d is pinned", got, oldInd)
	}
	if list := c.ok("snapshots"); !strings.Contains(list, "* pinned") || !strings.Contains(list, "pinned by alice") {
		t.Errorf("snapshots do not show the pin:\n%s", list)
	}
	row := ingestRows(t, c.ok("ingest", "--source-dir", testutil.DataDir(t)))[prevoir.SourceIndicators]
	if !strings.Contains(row, fmt.Sprintf("not current: snapshot %d stays current (pinned by alice)", oldInd)) {
		t.Errorf("newer release while pinned: %q", row)
	}
	c.ok("snapshots", "unpin", prevoir.SourceIndicators)
	if got := c.frameSnapshots()[prevoir.SourceIndicators]; got != newest[prevoir.SourceIndicators] {
		t.Errorf("after the unpin the frame uses %d, want the newest %d", got, newest[prevoir.SourceIndicators])
	}
	if code, _, errs := c.run("snapshots", "unpin", prevoir.SourceIndicators); code != 1 || !strings.Contains(errs, "no snapshot pinned") {
		t.Errorf("unpin twice: exit %d, %s", code, errs)
	}
}

// TestRevisionSummaryUsedColumnsFirst: a revision's summary names the columns the frame uses
// before those it does not, however many dates the latter changed.
func TestRevisionSummaryUsedColumnsFirst(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--sources", prevoir.SourceIndicators, "--source-dir",
		copyData(t, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", "sp-fra-jour.csv"))
	row := ingestRows(t, c.ok("ingest", "--source-dir", testutil.DataDir(t)))[prevoir.SourceIndicators]
	used, notUsed := strings.Index(row, "(used: "), strings.Index(row, "not used: ")
	if !strings.Contains(row, " revised ") || used < 0 || notUsed < used {
		t.Fatalf("revision summary: %q, want the used columns, then the others", row)
	}
	first := strings.Fields(row[used+len("(used: "):])[0]
	if !strings.Contains(","+strings.Join(prevoir.DefaultFrameOptions().Columns(), ",")+",", ","+first+",") {
		t.Errorf("first column listed %q is not one the frame uses: %q", first, row)
	}
	if list := c.ok("snapshots", "--source", prevoir.SourceIndicators); !strings.Contains(list, "(used: "+first) {
		t.Errorf("snapshots list another summary:\n%s", list)
	}
}

// TestTyposAreUsageErrors: a misspelt value is a usage error (exit 2) naming it and the
// valid ones, never an empty answer.
func TestTyposAreUsageErrors(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"snapshots", "--source", "bogus"}, []string{`--source "bogus"`, "indicateurs, sidep"}},
		{[]string{"runs", "list", "--kind", "bogus"}, []string{`--kind "bogus"`, "train, select, backtest, forecast, ingest, score"}},
		{[]string{"runs", "list", "--status", "bogus"}, []string{`--status "bogus"`, "running, finished, failed, killed"}},
		{[]string{"frame", "--covariates", "hosp,nope"}, []string{`covariate "nope"`, "incid_hosp", "Tp"}},
		{[]string{"frame", "--target", "incid_dchosb"}, []string{`target "incid_dchosb"`, "incid_dchosp"}},
		{[]string{"backtest", "--models", "naive", "--to", "2023-01-05"}, []string{"--to 2023-01-05", "2020-03-19 to 2022-12-31", "2022-12-17"}},
		{[]string{"backtest", "--models", "naive", "--from", "2019-01-06", "--to", "2022-12-11"}, []string{"--from 2019-01-06", "2020-03-19 to 2022-12-31"}},
		{[]string{"backtest", "--models", "ets+hol+hols"}, []string{`unknown suffix "+hols"`, "+hol or +cp"}},
		{[]string{"backtest", "--models", "ets+cp+cp"}, []string{"+cp written twice"}},
		{[]string{"snapshots", "unpin", "bogus"}, []string{`source "bogus"`, "indicateurs, sidep"}},
	} {
		code, out, errs := c.run(tt.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s%s", tt.args, code, exitUsage, out, errs)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: %q does not say %q", tt.args, errs, w)
			}
		}
	}
	// Nothing was recorded by the refused backtests.
	if runs := c.ok("runs", "list", "--kind", "backtest"); strings.Contains(runs, "backtest ") {
		t.Errorf("a refused backtest was recorded:\n%s", runs)
	}
}

// TestSuffixesInAnyOrderBacktest: ets+cp+hol and ensemble+hol are accepted and recorded under
// their canonical names.
func TestSuffixesInAnyOrderBacktest(t *testing.T) {
	c := newCLI(t)
	c.ok("ingest", "--source-dir", testutil.DataDir(t))
	out := c.ok("backtest", "--models", "ets+cp+hol,ensemble+hol", "--from", "2022-12-11", "--to", "2022-12-11")
	for _, want := range []string{"ets+hol+cp", "ensemble"} {
		if !strings.Contains(out, want) {
			t.Errorf("leaderboard lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ets+cp+hol") || strings.Contains(out, "ensemble+hol") {
		t.Errorf("leaderboard names a model by its spelling, not its canonical name:\n%s", out)
	}
	runs := c.ok("runs", "list", "--kind", "backtest")
	id := strings.Fields(strings.Split(runs, "\n")[1])[0]
	var run prevoir.Run
	c.okJSON(&run, "runs", "show", id, "--json")
	if run.Params["models"] != "ets+hol+cp,ensemble" {
		t.Errorf("run records models %q, want the canonical ets+hol+cp,ensemble", run.Params["models"])
	}
}
