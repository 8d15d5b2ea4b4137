package ets

import (
	"context"
	"fmt"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
)

// Forecaster fits ETS to a frame's target; it implements prevoir.Forecaster. The zero value
// is AutoETS on the whole history with forecast::ets's settings.
//
// ETS needs a complete series, so interior gaps of at most MaxGap days are interpolated on the
// weekly cycle and only the data after a longer gap are used; when the origin's own value is
// missing the model forecasts from the last observed day (see package
// forecast/internal/adapt). Forecasts and quantiles are clipped at 0.
type Forecaster struct {
	// Label is the model's name; "ets" when empty.
	Label string
	// Window is the number of days of history used, ending at the origin; 0 uses all of it.
	// On the hospital series the last 365 days suit the multiplicative models AutoETS picks
	// (see docs/protocols/ets.md).
	Window int
	// Spec fixes the model; nil selects it by AICc (Auto).
	Spec *Spec
	// Options are the fitting options (Period, Tol, Transform, ...).
	Options Options
	// MaxGap is the longest gap interpolated; 0 means 14 days.
	MaxGap int
}

// Name returns the model's name.
func (fc Forecaster) Name() string {
	if fc.Label == "" {
		return "ets"
	}
	return fc.Label
}

// Fit fits the model to the frame's target up to its last date.
func (fc Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	s, err := adapt.Target(f, adapt.Options{Window: fc.Window, Period: fc.Options.period(), Fill: true, MaxGap: fc.MaxGap, MinLen: 4})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	var md *Model
	if fc.Spec != nil {
		md, err = Fit(ctx, s.Values, *fc.Spec, fc.Options)
	} else {
		md, err = Auto(ctx, s.Values, fc.Options)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	return &fitted{Fitted: adapt.Fitted{Name: fc.Name(), Origin: s.Origin, Lead: s.Lead, Model: md}, s: s, md: md,
		fill: fc.Options.period(), maxGap: fc.MaxGap}, nil
}

type fitted struct {
	adapt.Fitted
	s  *adapt.Series
	md *Model
	// fill and maxGap are the gap interpolation's cycle and longest gap, kept for Pin.
	fill, maxGap int
}

// Describe says which model was fitted and on what, for the run record.
func (ft *fitted) Describe() string {
	d := fmt.Sprintf("%v on %d days from %s", ft.md.Spec(), len(ft.s.Values), ft.s.Start)
	if ft.md.tr != nil {
		d += fmt.Sprintf(", Box-Cox lambda=%g shift=%g", ft.md.tr.Lambda, ft.md.tr.Shift)
	}
	if ft.s.Filled > 0 {
		d += fmt.Sprintf(", %d days interpolated", ft.s.Filled)
	}
	if ft.s.Lead > 0 {
		d += fmt.Sprintf(", last %d days missing", ft.s.Lead)
	}
	return d
}
