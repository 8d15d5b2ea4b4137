package flow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/monitor"
)

// TestScoreAndDecide: the score job asks for an early training when the champion's live error
// drifts from its backtest error and RetrainOnDrift is set, and not when it is unset (the alert
// is still raised) or when the champion does not drift.
func TestScoreAndDecide(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		frame := e.Ingest(t)
		last := frame.Dates[frame.Len()-1]
		// champion promotes a version with the given backtest MAE and stores its forecast of
		// the last 14 observed days, which the score flow then scores.
		champion := func(mae float64) {
			v := e.Train(t, "snaive", mae)
			e.Promote(t, v.Version, "test")
			e.Forecast(t, frame, v, last-prevoir.DefaultHorizon)
		}
		decide := func(on bool) (retrain, drifted bool) {
			t.Helper()
			f := *e.Flows
			f.RetrainOnDrift = on
			retrain, err := f.ScoreAndDecide(ctx)
			if err != nil {
				t.Fatal(err)
			}
			runs, err := e.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunScore, Limit: 1})
			if err != nil || len(runs) != 1 {
				t.Fatalf("score runs: %v, %v", runs, err)
			}
			run, err := e.Runs.FindRun(ctx, runs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			for k := range run.Tags {
				drifted = drifted || strings.HasPrefix(k, "alert."+monitor.KindModelDrift+".")
			}
			return retrain, drifted
		}

		// A backtest MAE of half a death a day: the live error is far beyond 1.5 times it.
		champion(0.5)
		if retrain, drifted := decide(true); !retrain || !drifted {
			t.Errorf("drift, retrain on drift: retrain %v, drift alert %v; want both", retrain, drifted)
		}
		if retrain, drifted := decide(false); retrain || !drifted {
			t.Errorf("drift, no retrain on drift: retrain %v, drift alert %v; want the alert only", retrain, drifted)
		}

		// A new champion whose backtest MAE no live error reaches.
		champion(1e6)
		if retrain, drifted := decide(true); retrain || drifted {
			t.Errorf("no drift, retrain on drift: retrain %v, drift alert %v; want neither", retrain, drifted)
		}
	})
}
