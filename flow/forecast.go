package flow

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/tracking"
)

// ForecastReport is what the forecast flow did.
type ForecastReport struct {
	RunID    string
	Forecast *prevoir.StoredForecast
	// Existing is true when this champion version had already forecast from this frame: the
	// stored forecast is returned and nothing is recomputed.
	Existing bool
	// Inputs say where the columns the champion reads ahead of the origin were forecast (the
	// run's "input." params record them); nil when it reads none, or when Existing.
	Inputs []prevoir.CovariateInput
}

// Forecast loads the champion, forecasts the 14 days after the last observed day with
// quantiles, and stores the forecast dated by its origin, unless the champion has already
// forecast from the same frame.
//
// A champion that reads a column ahead of the origin (the deaths' delay model reads hospital
// admissions up to the day it forecasts) is handed the forecast of that column by the champion
// of the column's target from the same origin, made first when it is missing (leadingInputs),
// so the targets' forecasts agree whatever order they are run in; the run records it.
func (f *Flows) Forecast(ctx context.Context) (*ForecastReport, error) {
	return f.forecast(ctx, nil)
}

// forecast is Forecast; waiting names the targets whose forecasts wait on this one, which a
// leading target's forecast must not wait on in turn.
func (f *Flows) forecast(ctx context.Context, waiting []string) (*ForecastReport, error) {
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
			inputs, err := f.leadingInputs(ctx, v, frame, append(slices.Clone(waiting), f.RegisteredModel))
			if err != nil {
				return err
			}
			params := map[string]string{}
			for _, in := range inputs {
				maps.Copy(params, in.Params())
			}
			if len(params) > 0 {
				if err := run.LogParams(ctx, params); err != nil {
					return err
				}
			}
			rep.Inputs = inputs
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

// leadingInputs hands version v, in frame.Ahead, the forecasts of the columns it reads ahead of
// the origin: for each, the forecast from the same origin by the champion of the target whose
// column it is, made by that target's forecast flow when it is missing (the flow finds it when
// it exists). When there is none — no target is that column, the target has no champion, its
// forecast failed or starts on another day, or that target waits on this one — the model
// forecasts the column itself, the input says why and the log warns.
func (f *Flows) leadingInputs(ctx context.Context, v *prevoir.ModelVersion, frame *prevoir.Frame, waiting []string) ([]prevoir.CovariateInput, error) {
	cols, err := f.readsAhead(ctx, v)
	if err != nil || len(cols) == 0 {
		return nil, err
	}
	origin := frame.Dates[frame.Len()-1]
	inputs := make([]prevoir.CovariateInput, 0, len(cols))
	for _, col := range cols {
		in := prevoir.CovariateInput{Column: col}
		if in.Forecast, in.Reason, err = f.leadingForecast(ctx, col, origin, waiting); err != nil {
			return nil, err
		}
		if in.Forecast != nil {
			if frame.Ahead == nil {
				frame.Ahead = map[string]*prevoir.CovariateForecast{}
			}
			frame.Ahead[col] = in.Forecast
			f.logger().InfoContext(ctx, "leading indicator forecast by its target's champion", "target", f.RegisteredModel,
				"column", col, "from", in.Forecast.Target, "version", in.Forecast.Version, "forecast_id", in.Forecast.ForecastID, "origin", origin.String())
		} else {
			f.logger().WarnContext(ctx, "leading indicator forecast by the model itself", "target", f.RegisteredModel,
				"column", col, "origin", origin.String(), "reason", in.Reason)
		}
		inputs = append(inputs, in)
	}
	return inputs, nil
}

// leadingForecast returns the forecast of column col from origin by the champion of its
// target, or why there is none. The error is the context's: anything else falls back. The
// target's flows are derived from these by For, which leaves out of the frame only that
// target's column: from the default target's flows (the deaths', whose column the configured
// covariates never hold) that is the frame the target's own flows build, so its own forecast
// flow finds the forecast made here.
func (f *Flows) leadingForecast(ctx context.Context, col string, origin prevoir.Date, waiting []string) (*prevoir.CovariateForecast, string, error) {
	i := slices.IndexFunc(prevoir.Targets(), func(t prevoir.Target) bool { return t.Column == col })
	if i < 0 {
		return nil, fmt.Sprintf("no target forecasts %s", col), nil
	}
	t := prevoir.Targets()[i]
	if slices.Contains(waiting, t.Name) {
		return nil, fmt.Sprintf("%s waits on this forecast (%s)", t.Name, strings.Join(waiting, " -> ")), nil
	}
	rep, err := f.For(t).forecast(ctx, waiting)
	switch {
	case ctx.Err() != nil:
		return nil, "", ctx.Err()
	case prevoir.ErrorCode(err) == prevoir.ENOTFOUND:
		return nil, fmt.Sprintf("%s has no champion", t.Name), nil
	case err != nil:
		return nil, fmt.Sprintf("the forecast of %s failed: %v", t.Name, err), nil
	}
	switch sf := rep.Forecast; {
	case sf.Origin != origin:
		return nil, fmt.Sprintf("the champion of %s forecasts from %s, not from %s", t.Name, sf.Origin, origin), nil
	case len(sf.Dates) < prevoir.DefaultHorizon:
		return nil, fmt.Sprintf("the forecast %d of %s has %d days, not %d", sf.ID, t.Name, len(sf.Dates), prevoir.DefaultHorizon), nil
	}
	return prevoir.CovariateForecastOf(rep.Forecast), "", nil
}

// readsAhead returns the columns version v reads ahead of the origin (models.ReadsAhead on its
// pinned state; loadVersion checks the state's hash). A version registered before pinning
// reads none: the secondary models came after pinning.
func (f *Flows) readsAhead(ctx context.Context, v *prevoir.ModelVersion) ([]string, error) {
	spec, err := ReadSpec(ctx, f.Tracker, v)
	if err != nil || spec.Pinned == nil {
		return nil, err
	}
	state, err := f.Tracker.ReadArtifact(ctx, v.RunID, spec.Pinned.Artifact)
	if err != nil {
		return nil, fmt.Errorf("load %s v%d: %w", v.Model, v.Version, err)
	}
	cols, err := models.ReadsAhead(state)
	if err != nil {
		return nil, fmt.Errorf("%s v%d (%s): %w", v.Model, v.Version, spec.Family, err)
	}
	return cols, nil
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}
