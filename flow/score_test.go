package flow_test

import (
	"context"
	"math"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// storeForecast stores, under a recorded forecast run, version v's forecast from origin whose
// point for day i is the actual value plus miss(i), with 80% and 95% intervals 2 and 4 wide
// around the point.
func storeForecast(t *testing.T, e *seed.Env, frame *prevoir.Frame, v *prevoir.ModelVersion, origin prevoir.Date, miss func(i int) float64) {
	t.Helper()
	ctx := context.Background()
	y := frame.TargetValues()
	fc := prevoir.Forecast{Model: v.Family, Origin: origin, Quantiles: []float64{0.025, 0.1, 0.5, 0.9, 0.975}}
	for i := range prevoir.DefaultHorizon {
		d := origin + prevoir.Date(i+1)
		actual := y[d-frame.Dates[0]]
		if math.IsNaN(actual) {
			t.Fatalf("no actual value on %s", d)
		}
		p := actual + miss(i)
		fc.Dates = append(fc.Dates, d)
		fc.Point = append(fc.Point, p)
		fc.Values = append(fc.Values, []float64{p - 2, p - 1, p, p + 1, p + 2})
	}
	r, err := e.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunForecast, Name: v.Family})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Forecasts.SaveForecast(ctx, &prevoir.StoredForecast{Model: seed.Model, Version: v.Version, Family: v.Family, RunID: r.ID, Forecast: fc}); err != nil {
		t.Fatal(err)
	}
	if err := r.End(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// TestScoreLiveError: the score flow counts a day inside an interval only when the actual
// value is between both its bounds, and measures the live error on the last 14 scored days,
// not on older ones.
func TestScoreLiveError(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	frame := e.Ingest(t)
	v := e.Train(t, "ets", 10)
	last := frame.Dates[frame.Len()-1]
	// An old forecast far off, 100 above every actual value.
	storeForecast(t, e, frame, v, last-40, func(int) float64 { return 100 })
	// The last 14 scored days (last-19 .. last-6): one day in three inside both intervals,
	// the others 7 above or 7 below the actual, so that the actual is outside on one side.
	storeForecast(t, e, frame, v, last-20, func(i int) float64 { return []float64{0, 7, -7}[i%3] })

	rep, err := e.Flows.Score(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Forecasts != 2 || rep.Days != 28 {
		t.Errorf("scored %d forecasts, %d days; want 2 and 28", rep.Forecasts, rep.Days)
	}
	// Days 1, 4, 7, 10 and 13 are inside: 5 of 14; the error is 7 on the other 9.
	if rep.LiveMAE != 4.5 || rep.LiveCover80 != 5.0/14 || rep.LiveCover95 != 5.0/14 {
		t.Errorf("live MAE %v, coverage %v (80%%) and %v (95%%); want 4.5 and 5/14 = %v, on the last 14 days only",
			rep.LiveMAE, rep.LiveCover80, rep.LiveCover95, 5.0/14)
	}
	scores, err := e.Forecasts.Scores(ctx, seed.Model, last-19)
	if err != nil || len(scores) != 14 {
		t.Fatalf("%d scores since %s (%v), want 14", len(scores), last-19, err)
	}
	for _, s := range scores {
		inside := (s.Horizon-1)%3 == 0
		if s.In80 != inside || s.In95 != inside {
			t.Errorf("day %d (%s): actual %v, point %v: in 80%% %v, in 95%% %v; want %v", s.Horizon, s.Date, s.Actual, s.Point, s.In80, s.In95, inside)
		}
	}
}
