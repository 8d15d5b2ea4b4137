package naive

import (
	"context"
	"fmt"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
)

// Forecaster fits a benchmark method to a frame's target; it implements prevoir.Forecaster.
// The zero value of every field but Method is a sensible default.
//
// The series is the target on a daily calendar ending at the origin, gaps kept as NaN: the
// methods handle them exactly (see the package documentation), so nothing is interpolated.
// Forecasts and quantiles are clipped at 0 and the quantiles kept monotone.
type Forecaster struct {
	Method Method
	// Period is the seasonal naive period; 0 means DefaultPeriod (7).
	Period int
	// K is the width of the moving average; 0 means DefaultWindow (7).
	K int
	// Window is the number of days of history used, ending at the origin; 0 uses all of
	// it. It only changes σ (the point forecasts use at most the last cycle, except drift's
	// line): a recent window gives intervals that reflect the current noise level.
	Window int
	// Label overrides the name; by default naive, snaive (snaive<m> for m ≠ 7), mean<k>
	// (mean7) and drift.
	Label string
}

// Name returns the model's name.
func (fc Forecaster) Name() string {
	if fc.Label != "" {
		return fc.Label
	}
	switch fc.Method {
	case MethodSeasonalNaive:
		if p := fc.period(); p != DefaultPeriod {
			return fmt.Sprintf("snaive%d", p)
		}
		return "snaive"
	case MethodMean:
		return fmt.Sprintf("mean%d", fc.k())
	}
	return fc.Method.String()
}

func (fc Forecaster) period() int {
	if fc.Period == 0 {
		return DefaultPeriod
	}
	return fc.Period
}

func (fc Forecaster) k() int {
	if fc.K == 0 {
		return DefaultWindow
	}
	return fc.K
}

// Fit fits the method to the frame's target up to its last date.
func (fc Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := adapt.Target(f, adapt.Options{Window: fc.Window})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	var md *Model
	switch fc.Method {
	case MethodNaive:
		md, err = Naive(s.Values)
	case MethodSeasonalNaive:
		md, err = SeasonalNaive(s.Values, fc.period())
	case MethodMean:
		md, err = Mean(s.Values, fc.k())
	case MethodDrift:
		md, err = Drift(s.Values)
	default:
		err = fmt.Errorf("unknown method %v", fc.Method)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	return &fitted{Fitted: adapt.Fitted{Name: fc.Name(), Origin: s.Origin, Model: md}, md: md, fc: fc}, nil
}

type fitted struct {
	adapt.Fitted
	md *Model
	fc Forecaster
}

// Describe says how the model was fitted, for the run record.
func (ft *fitted) Describe() string {
	return fmt.Sprintf("%s sigma=%.4g", ft.md.Method(), ft.md.Sigma())
}
