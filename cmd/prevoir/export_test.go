package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/sqlstore"
)

// hubLevels returns the 23 quantile levels the forecast hubs ask for, written out here
// rather than taken from the code under test.
func hubLevels() []string {
	return []string{"0.01", "0.025", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3", "0.35", "0.4", "0.45", "0.5",
		"0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95", "0.975", "0.99"}
}

// checkHubverse checks a model-output file against the hubverse rules for a quantile
// forecast of France from origin: exactly the seven columns; one row per target, horizon and
// level; the 23 levels for each target and horizon; values finite, non-negative and
// non-decreasing in level; location FR, output type quantile. Targets are "inc death" with
// horizons 1..days, or with weekly "N wk ahead inc death" with horizon N for N = 1..weeks. It
// returns the values by target and horizon, in level order.
func checkHubverse(t *testing.T, b []byte, origin string, weekly bool, n int) map[string][]float64 {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], []string{"origin_date", "target", "horizon", "location", "output_type", "output_type_id", "value"}) {
		t.Fatalf("columns %v", rows[0])
	}
	values := map[string][]float64{}
	levels := map[string][]string{}
	for i, r := range rows[1:] {
		h, err := strconv.Atoi(r[2])
		if err != nil || h < 1 || h > n {
			t.Fatalf("row %d: horizon %q, want 1..%d", i+2, r[2], n)
		}
		target := "inc death"
		if weekly {
			target = r[2] + " wk ahead inc death"
		}
		if r[0] != origin || r[1] != target || r[3] != "FR" || r[4] != "quantile" {
			t.Fatalf("row %d: %v; want origin %s, target %q, FR, quantile", i+2, r, origin, target)
		}
		v, err := strconv.ParseFloat(r[6], 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("row %d: value %q, want a non-negative number", i+2, r[6])
		}
		key := r[1] + "/" + r[2]
		if slices.Contains(levels[key], r[5]) {
			t.Fatalf("row %d: %s level %s twice", i+2, key, r[5])
		}
		levels[key] = append(levels[key], r[5])
		values[key] = append(values[key], v)
	}
	if len(values) != n {
		t.Fatalf("%d targets/horizons, want %d", len(values), n)
	}
	want := hubLevels()
	for key, ls := range levels {
		if !slices.Equal(ls, want) {
			t.Fatalf("%s: levels %v, want the 23 %v in order", key, ls, want)
		}
		if !slices.IsSorted(values[key]) {
			t.Fatalf("%s: quantiles %v decrease with the level", key, values[key])
		}
	}
	return values
}

// restore stores fc as the newest forecast of its version and origin (as a forecast made
// after a revision that kept the last date is), so that it is the one served.
func restore(t *testing.T, db *sqlstore.DB, fc prevoir.StoredForecast, frame string) {
	t.Helper()
	fc.ID, fc.FrameSHA256 = 0, strings.Repeat(frame, 64)
	if created, err := sqlstore.NewForecastStore(db).SaveForecast(context.Background(), &fc); err != nil || !created {
		t.Fatalf("store forecast: %v, %v", created, err)
	}
}

// TestForecastExportHubverse: the export of the served forecast passes the hubverse rules,
// holds the served forecast's numbers, and with --weekly is refused without weekly totals
// and written from them with them; a forecast with the 7 levels of earlier prevoir versions
// and a bad format are refused, and a refused export to a file leaves the file as it was.
func TestForecastExportHubverse(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive", "--train-origins", "1")
	served := c.shownForecast()
	if !slices.Equal(served.Quantiles, prevoir.DefaultQuantiles()) {
		t.Fatalf("served forecast levels %v", served.Quantiles)
	}
	origin := served.Origin.String()
	daily := checkHubverse(t, []byte(c.ok("forecast", "export", "--format", "hubverse")), origin, false, len(served.Dates))
	for i, row := range served.Values {
		for j, v := range row {
			if got := daily["inc death/"+strconv.Itoa(i+1)][j]; got != max(v, 0) {
				t.Fatalf("day %d level %v: exported %v, served %v", i+1, served.Quantiles[j], got, v)
			}
		}
	}

	db, _ := c.stores()
	// Without weekly totals --weekly is refused, with them it writes them.
	plain := served.StoredForecast
	plain.Weekly = nil
	restore(t, db, plain, "1")
	code, out, errs := c.run("forecast", "export", "--weekly")
	if code != 1 || out != "" || !strings.Contains(errs, "no weekly totals") || !strings.Contains(errs, "without --weekly") {
		t.Errorf("--weekly without weekly totals: exit %d, %q, %s", code, out, errs)
	}
	withWeeks := plain
	withWeeks.Weekly = &prevoir.Weeks{}
	for w := range withWeeks.Weeks() {
		total := prevoir.WeekTotal(withWeeks.Point, w)
		row := make([]float64, len(withWeeks.Quantiles))
		for j, p := range withWeeks.Quantiles {
			row[j] = max(0, total+(p-0.5)*total)
		}
		withWeeks.Weekly.Point = append(withWeeks.Weekly.Point, total)
		withWeeks.Weekly.Values = append(withWeeks.Weekly.Values, row)
	}
	restore(t, db, withWeeks, "2")
	file := filepath.Join(t.TempDir(), "2022-12-31-prevoir-ets.csv")
	if out := c.ok("forecast", "export", "--weekly", "-o", file); out != "" {
		t.Errorf("export -o printed %q", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	weeks := checkHubverse(t, b, origin, true, 2)
	for w := range 2 {
		if got := weeks[strconv.Itoa(w+1)+" wk ahead inc death/"+strconv.Itoa(w+1)]; !slices.Equal(got, withWeeks.Weekly.Values[w]) {
			t.Errorf("week %d: exported %v, stored %v", w+1, got, withWeeks.Weekly.Values[w])
		}
	}
	var shown shownForecast
	c.okJSON(&shown, "forecast", "show", "--json")
	if shown.Weekly == nil || !slices.Equal(shown.Weekly.Values[1], withWeeks.Weekly.Values[1]) {
		t.Errorf("forecast show --json weekly = %+v", shown.Weekly)
	}
	if out := c.ok("forecast", "show"); !strings.Contains(out, "Weekly totals") || !strings.Contains(out, "WEEK") {
		t.Errorf("forecast show has no weekly totals:\n%s", out)
	}

	// A forecast stored with the 7 levels of earlier versions: refused, the file kept.
	old := plain
	old.Quantiles = []float64{0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975}
	old.Values = nil
	for i := range plain.Values {
		old.Values = append(old.Values, []float64{plain.Values[i][1], plain.Values[i][3], plain.Values[i][6], plain.Values[i][11],
			plain.Values[i][16], plain.Values[i][19], plain.Values[i][21]})
	}
	restore(t, db, old, "3")
	code, _, errs = c.run("forecast", "export", "-o", file)
	if code != 1 || !strings.Contains(errs, "7 quantile levels") || !strings.Contains(errs, "re-run the forecast") {
		t.Errorf("export of a 7-level forecast: exit %d, %s", code, errs)
	}
	if after, err := os.ReadFile(file); err != nil || !bytes.Equal(after, b) {
		t.Errorf("the refused export changed %s: %v", file, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*")); len(left) != 1 {
		t.Errorf("files left: %v", left)
	}

	code, out, errs = c.run("forecast", "export", "--format", "csv")
	if code != 2 || out != "" || !strings.Contains(errs, `--format "csv": want one of hubverse`) {
		t.Errorf("--format csv: exit %d, %q, %s", code, out, errs)
	}
}
