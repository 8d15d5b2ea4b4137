package theta

import (
	"context"
	"fmt"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
)

// Forecaster fits the Theta method to a frame's target; it implements prevoir.Forecaster. The
// zero value is forecast::thetaf on the whole history.
//
// Gaps are handled as for ETS: interior gaps of at most MaxGap days are interpolated on the
// weekly cycle, only the data after a longer gap are used, and a missing origin value makes
// the model forecast from the last observed day (see package forecast/internal/adapt).
// Forecasts and quantiles are clipped at 0.
type Forecaster struct {
	// Label is the model's name; "theta" when empty.
	Label string
	// Window is the number of days of history used, ending at the origin; 0 uses all of it.
	Window int
	// Options are the fitting options (Period, Optimize).
	Options Options
	// MaxGap is the longest gap interpolated; 0 means 14 days.
	MaxGap int
}

// Name returns the model's name.
func (fc Forecaster) Name() string {
	if fc.Label == "" {
		return "theta"
	}
	return fc.Label
}

// Fit fits the model to the frame's target up to its last date.
func (fc Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	period := fc.Options.Period
	if period == 0 {
		period = DefaultPeriod
	}
	s, err := adapt.Target(f, adapt.Options{Window: fc.Window, Period: period, Fill: true, MaxGap: fc.MaxGap, MinLen: 4})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	md, err := Fit(s.Values, fc.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	return &fitted{Fitted: adapt.Fitted{Name: fc.Name(), Origin: s.Origin, Lead: s.Lead, Model: md}, s: s, md: md,
		fill: period, maxGap: fc.MaxGap}, nil
}

type fitted struct {
	adapt.Fitted
	s  *adapt.Series
	md *Model
	// fill and maxGap are the gap interpolation's cycle and longest gap, kept for Pin.
	fill, maxGap int
}

// Describe says how the model was fitted, for the run record.
func (ft *fitted) Describe() string {
	d := fmt.Sprintf("theta=%.4g alpha=%.4g seasonal=%v on %d days from %s",
		ft.md.Theta(), ft.md.Alpha(), ft.md.Seasonal(), len(ft.s.Values), ft.s.Start)
	if ft.s.Filled > 0 {
		d += fmt.Sprintf(", %d days interpolated", ft.s.Filled)
	}
	if ft.s.Lead > 0 {
		d += fmt.Sprintf(", last %d days missing", ft.s.Lead)
	}
	return d
}
