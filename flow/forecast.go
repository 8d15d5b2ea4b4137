package flow

import (
	"context"
	"fmt"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/tracking"
)

// ForecastReport is what the forecast flow did.
type ForecastReport struct {
	RunID    string
	Forecast *prevoir.StoredForecast
	// Existing is true when this champion version had already forecast from this frame: the
	// stored forecast is returned and nothing is recomputed.
	Existing bool
}

// Forecast loads the champion, forecasts the 14 days after the last observed day with
// quantiles, and stores the forecast dated by its origin, unless the champion has already
// forecast from the same frame.
func (f *Flows) Forecast(ctx context.Context) (*ForecastReport, error) {
	v, err := f.Registry.ResolveAlias(ctx, f.RegisteredModel, prevoir.AliasChampion)
	if err != nil {
		if prevoir.ErrorCode(err) == prevoir.ENOTFOUND {
			return nil, prevoir.Errorf(prevoir.ENOTFOUND, "no model trained yet: %s has no champion (run prevoir run train)", f.RegisteredModel)
		}
		return nil, err
	}
	frame, err := f.Ingester.Frame(ctx, f.Sources, f.FrameOptions)
	if err != nil {
		return nil, err
	}
	origin := frame.Dates[frame.Len()-1]
	lin := f.Lineage(frame)
	// The champion's own forecast from this origin and frame, whatever was forecast since (by
	// another version, before a promotion back to this one): the frame's hash, not only its
	// last date, since a revision of past values that keeps the last date changes the model's
	// inputs, so it is forecast again.
	switch done, err := f.Forecasts.FindForecast(ctx, f.RegisteredModel, v.Version, origin, lin.FrameSHA256); {
	case err == nil:
		return &ForecastReport{Forecast: done, Existing: true}, nil
	case prevoir.ErrorCode(err) != prevoir.ENOTFOUND:
		return nil, err
	}
	rep := &ForecastReport{}
	err = f.track(ctx, &prevoir.Run{Kind: prevoir.RunForecast, Name: v.Family, Lineage: lin,
		Params: map[string]string{"model": f.RegisteredModel, "version": fmt.Sprint(v.Version), "family": v.Family, "origin": origin.String()}},
		func(run *tracking.Run) error {
			rep.RunID = run.ID
			fitted, err := f.loadVersion(ctx, v, frame)
			if err != nil {
				return err
			}
			pred, err := fitted.Predict(ctx, prevoir.DefaultHorizon, prevoir.DefaultQuantiles())
			if err != nil {
				return err
			}
			sf := &prevoir.StoredForecast{Model: f.RegisteredModel, Version: v.Version, Family: v.Family, RunID: run.ID,
				Snapshots: lin.Snapshots, FrameSHA256: lin.FrameSHA256, Forecast: *pred}
			created, err := f.Forecasts.SaveForecast(ctx, sf)
			if err != nil {
				return err
			}
			rep.Forecast, rep.Existing = sf, !created
			return run.LogMetrics(ctx, map[string]float64{"point_day1": pred.Point[0], "point_sum": sum(pred.Point)})
		})
	return rep, err
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}
