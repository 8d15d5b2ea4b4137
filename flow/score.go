package flow

import (
	"context"
	"math"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/monitor"
	"github.com/prevoir/prevoir/tracking"
)

// ScoreReport is what the score flow did.
type ScoreReport struct {
	RunID     string
	Forecasts int // forecasts with at least one newly observable day
	Days      int // forecast days scored
	// MAE and coverage over the last prevoir.LiveWindow scored dates of the registered model
	// (prevoir.Live).
	LiveMAE                  float64
	LiveCover80, LiveCover95 float64
	// Alerts are the monitoring alerts after scoring (package monitor).
	Alerts []monitor.Alert
}

// Score scores every stored forecast whose days have since been observed, against the current
// frame (a revised actual re-scores the day), so that the live error of each model version is
// known, not only its backtest error. Scoring again with the same data writes the same scores.
func (f *Flows) Score(ctx context.Context) (*ScoreReport, error) {
	rep := &ScoreReport{}
	err := f.track(ctx, &prevoir.Run{Kind: prevoir.RunScore, Name: "score"}, func(run *tracking.Run) error {
		rep.RunID = run.ID
		frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
		if err != nil {
			return err
		}
		actual := map[prevoir.Date]float64{}
		for i, v := range frame.TargetValues() {
			if !math.IsNaN(v) {
				actual[frame.Dates[i]] = v
			}
		}
		first := frame.Dates[0]
		// Of a version's forecasts from one origin, only the last (made on the latest frame) is
		// scored, as ForecastStore.Scores counts it.
		fcs, err := f.Forecasts.ListForecasts(ctx, prevoir.ForecastFilter{Model: f.RegisteredModel, Since: first, Current: true})
		if err != nil {
			return err
		}
		var scores []prevoir.ForecastScore
		for _, fc := range fcs {
			n := 0
			for i, d := range fc.Dates {
				y, ok := actual[d]
				if !ok {
					continue
				}
				s := prevoir.ForecastScore{ForecastID: fc.ID, Date: d, Horizon: i + 1, Actual: y, Point: fc.Point[i], AbsError: math.Abs(y - fc.Point[i])}
				if lo, hi, ok := fc.Interval(i, 0.8); ok {
					s.In80 = lo <= y && y <= hi
				}
				if lo, hi, ok := fc.Interval(i, 0.95); ok {
					s.In95 = lo <= y && y <= hi
				}
				scores = append(scores, s)
				n++
			}
			if n > 0 {
				rep.Forecasts++
			}
		}
		if err := f.Forecasts.SaveScores(ctx, scores); err != nil {
			return err
		}
		rep.Days = len(scores)
		live := prevoir.Live(scores)
		rep.LiveMAE, rep.LiveCover80, rep.LiveCover95 = live.MAE, live.Coverage80, live.Coverage95
		// New scores are what the model-drift alert watches: check after each scoring.
		if rep.Alerts, err = f.raiseAlerts(ctx, run.ID); err != nil {
			return err
		}
		return run.LogMetrics(ctx, map[string]float64{"scored_days": float64(rep.Days), "scored_forecasts": float64(rep.Forecasts),
			"live_mae_14d": rep.LiveMAE, "live_coverage_80_14d": rep.LiveCover80, "live_coverage_95_14d": rep.LiveCover95,
			"alerts": float64(len(rep.Alerts))})
	})
	return rep, err
}
