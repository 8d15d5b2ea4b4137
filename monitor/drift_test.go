package monitor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/monitor"
)

// driftStores returns stores holding two versions of the default model, both with a backtest
// MAE of 10, v1 the champion; each has one forecast from firstDay-1 whose days from firstDay on
// were scored with the absolute errors given (one per day).
func driftStores(t *testing.T, url string, champion, other []float64) monitor.Stores {
	t.Helper()
	ctx := context.Background()
	st := openStores(t, url)
	model := prevoir.DefaultTarget
	origin := prevoir.MustParseDate("2022-10-31")
	for v, errs := range [][]float64{champion, other} {
		run := &prevoir.Run{Kind: prevoir.RunTrain}
		if err := st.Runs.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if err := st.Runs.LogArtifact(ctx, prevoir.Artifact{RunID: run.ID, Path: prevoir.ModelSpecArtifact, BlobKey: "runs/" + run.ID + "/" + prevoir.ModelSpecArtifact,
			SHA256: strings.Repeat("0", 64), Size: 1}); err != nil {
			t.Fatal(err)
		}
		if err := st.Runs.EndRun(ctx, run.ID, prevoir.RunFinished, ""); err != nil {
			t.Fatal(err)
		}
		mv := &prevoir.ModelVersion{Model: model, Family: "ets", RunID: run.ID, ArtifactPath: prevoir.ModelSpecArtifact, Metrics: map[string]float64{"mae": 10}}
		if err := st.Registry.CreateModelVersion(ctx, mv); err != nil {
			t.Fatal(err)
		}
		if v == 0 {
			if _, err := st.Registry.SetAlias(ctx, model, prevoir.AliasChampion, mv.Version, "test"); err != nil {
				t.Fatal(err)
			}
		}
		if len(errs) == 0 {
			continue
		}
		fc := &prevoir.StoredForecast{Model: model, Version: mv.Version, Family: "ets", RunID: run.ID,
			Forecast: prevoir.Forecast{Model: "ets", Origin: origin, Quantiles: []float64{0.1, 0.5, 0.9}}}
		for i := range errs {
			fc.Dates = append(fc.Dates, origin+prevoir.Date(i+1))
			fc.Point = append(fc.Point, 100)
			fc.Values = append(fc.Values, []float64{80, 100, 120})
		}
		if _, err := st.Forecasts.SaveForecast(ctx, fc); err != nil {
			t.Fatal(err)
		}
		var scores []prevoir.ForecastScore
		for i, e := range errs {
			scores = append(scores, prevoir.ForecastScore{ForecastID: fc.ID, Date: fc.Dates[i], Horizon: i + 1,
				Actual: 100 + e, Point: 100, AbsError: e})
		}
		if err := st.Forecasts.SaveScores(ctx, scores); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// repeat returns n copies of v followed by the values of rest.
func repeat(n int, v float64, rest ...float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return append(out, rest...)
}

// TestDriftAlert: the drift alert compares the champion's own live error, over its last
// prevoir.LiveWindow scored days, with 1.5 times its backtest MAE (10 here), once it has
// MinScored days: another version's errors, errors older than the window, and too few days
// raise nothing.
func TestDriftAlert(t *testing.T) {
	tests := []struct {
		name            string
		champion, other []float64 // absolute errors, one per scored day
		alert           bool
		value           float64 // the live MAE the alert reports
	}{
		{"champion drifted", repeat(14, 30), nil, true, 30},
		{"just within the limit", repeat(14, 15), nil, false, 0},
		// v2's errors are its own: the champion is fine.
		{"another version drifted", repeat(14, 5), repeat(14, 100), false, 0},
		{"champion drifted beside a good version", repeat(14, 30), repeat(14, 1), true, 30},
		// Only the last 14 scored days count: bad days before them are forgotten, and good days
		// before them do not dilute a drift.
		{"bad days before the window", repeat(20, 100, repeat(14, 5)...), nil, false, 0},
		{"good days before the window", repeat(20, 1, repeat(14, 30)...), nil, true, 30},
		// Seven scored days are needed to judge; six are not enough, whatever their error.
		{"six scored days", repeat(6, 100), nil, false, 0},
		{"seven scored days", repeat(7, 100), nil, true, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.ForEachDatabase(t, func(t *testing.T, url string) {
				st := driftStores(t, url, tt.champion, tt.other)
				alerts, err := monitor.Check(context.Background(), st, monitor.Options{Sources: []string{}, Flows: []prevoir.RunKind{}})
				if err != nil {
					t.Fatal(err)
				}
				if !tt.alert {
					if len(alerts) != 0 {
						t.Errorf("alerts %+v, want none", alerts)
					}
					return
				}
				want := fmt.Sprintf("%s v1 (ets)", prevoir.DefaultTarget)
				if len(alerts) != 1 || alerts[0].Kind != monitor.KindModelDrift || alerts[0].Subject != want || !alerts[0].Retrain ||
					alerts[0].Value != tt.value || alerts[0].Limit != 15 || !strings.Contains(alerts[0].Message, " deaths/day, more than") {
					t.Errorf("alerts %+v, want one model drift of %s at %v deaths/day over the limit 15", alerts, want, tt.value)
				}
			})
		})
	}
}

// TestFailingFlowNeedsTwoFailuresInARow: a flow alerts when its last two finished runs failed,
// a run still going set aside; one failure, or a failure before a success, does not.
func TestFailingFlowNeedsTwoFailuresInARow(t *testing.T) {
	const (
		ok      = "ok"
		failed  = "failed"
		running = "running"
	)
	tests := []struct {
		name  string
		runs  []string // oldest first
		alert bool
	}{
		{"one failure", []string{failed}, false},
		{"success then one failure", []string{ok, failed}, false},
		{"failure then success", []string{failed, failed, ok}, false},
		{"two failures", []string{ok, failed, failed}, true},
		{"two failures around a running one", []string{failed, running, failed}, true},
		{"two failures then a running one", []string{failed, failed, running}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.ForEachDatabase(t, func(t *testing.T, url string) {
				ctx := context.Background()
				st := openStores(t, url)
				start := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
				for i, r := range tt.runs {
					run := &prevoir.Run{Kind: prevoir.RunIngest, StartedAt: start.Add(time.Duration(i) * time.Hour)}
					if err := st.Runs.CreateRun(ctx, run); err != nil {
						t.Fatal(err)
					}
					switch r {
					case ok:
						err := st.Runs.EndRun(ctx, run.ID, prevoir.RunFinished, "")
						if err != nil {
							t.Fatal(err)
						}
					case failed:
						if err := st.Runs.EndRun(ctx, run.ID, prevoir.RunFailed, fmt.Sprintf("source down (run %d)", i+1)); err != nil {
							t.Fatal(err)
						}
					}
				}
				alerts, err := monitor.Check(ctx, st, monitor.Options{Sources: []string{}, Flows: []prevoir.RunKind{prevoir.RunIngest}})
				if err != nil {
					t.Fatal(err)
				}
				if !tt.alert {
					if len(alerts) != 0 {
						t.Errorf("runs %v: alerts %+v, want none", tt.runs, alerts)
					}
					return
				}
				i := -1 // the last failure
				for j, r := range tt.runs {
					if r == failed {
						i = j
					}
				}
				last := fmt.Sprintf("last error: source down (run %d)", i+1)
				if len(alerts) != 1 || alerts[0].Kind != monitor.KindFlowFailing || alerts[0].Subject != string(prevoir.RunIngest) ||
					!strings.Contains(alerts[0].Message, last) {
					t.Errorf("runs %v: alerts %+v, want one failing ingest flow saying %q", tt.runs, alerts, last)
				}
			})
		})
	}
}

// TestFailingFlowOfItsTarget: two failed trainings of one target alert that target's monitor,
// not another target's, whose own trainings went well.
func TestFailingFlowOfItsTarget(t *testing.T) {
	ctx := context.Background()
	st := openStores(t, testutil.SQLiteURL(t))
	start := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	for i, r := range []struct {
		target string
		failed bool
	}{{prevoir.DefaultTarget, false}, {prevoir.TargetHospitalised, true}, {prevoir.TargetHospitalised, true}} {
		run := &prevoir.Run{Kind: prevoir.RunTrain, Target: r.target, StartedAt: start.Add(time.Duration(i) * time.Hour)}
		if err := st.Runs.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		status, msg := prevoir.RunFinished, ""
		if r.failed {
			status, msg = prevoir.RunFailed, "boom"
		}
		if err := st.Runs.EndRun(ctx, run.ID, status, msg); err != nil {
			t.Fatal(err)
		}
	}
	for target, want := range map[string]int{prevoir.DefaultTarget: 0, prevoir.TargetHospitalised: 1} {
		alerts, err := monitor.Check(ctx, st, monitor.Options{Model: target, Sources: []string{}, Flows: []prevoir.RunKind{prevoir.RunTrain}})
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts) != want || want == 1 && alerts[0].Kind != monitor.KindFlowFailing {
			t.Errorf("%s's monitor: alerts %+v; want %d failing training", target, alerts, want)
		}
	}
}
