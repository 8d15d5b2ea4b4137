package neural

import (
	"context"
	"fmt"
	"slices"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
)

// Forecaster trains a network on a frame; it implements prevoir.Forecaster for the names
// rnn, lstm, gru, tcn and transformer.
//
// The network learns from the frame's target and all its other columns (covariates and
// availability flags) on the frame's last run of complete days (see DatasetFromFrame), and
// forecasts from the last InputLen of them. When the origin's own values are not published
// yet, that run ends before the origin and the network forecasts the extra days, which are
// dropped, so forecast i is still for origin+i; the horizon plus those days must not exceed
// OutputLen.
//
// Forecasts are clipped at 0. The quantiles are, for now, degenerate: every quantile equals
// the point forecast (a network trained on MSE gives no distribution). Calibrated intervals
// are to come from backtest residuals (conformal prediction) in a later step.
type Forecaster struct {
	// Arch is the architecture.
	Arch Arch
	// Config overrides DefaultConfig(Arch) when its Arch is set.
	Config Config
	// Options are the training options (zero values: Darts' defaults).
	Options TrainOptions
	// Label is the model's name; string(Arch) when empty.
	Label string
}

// NewForecaster returns the forecaster of the named architecture at Darts' defaults.
func NewForecaster(name string) (Forecaster, error) {
	a, err := ParseArch(name)
	if err != nil {
		return Forecaster{}, err
	}
	return Forecaster{Arch: a}, nil
}

// Name returns the model's name.
func (fc Forecaster) Name() string {
	if fc.Label != "" {
		return fc.Label
	}
	return string(fc.Arch)
}

// Fit trains the network on the frame.
func (fc Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := fc.Config
	if cfg.Arch == "" {
		if _, err := ParseArch(string(fc.Arch)); err != nil {
			return nil, err
		}
		cfg = DefaultConfig(fc.Arch)
	}
	if f.Len() == 0 {
		return nil, fmt.Errorf("%s: empty frame", fc.Name())
	}
	ds, err := DatasetFromFrame(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	m, _, err := Train(ctx, cfg, ds, fc.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	n := ds.Len()
	origin := f.Dates[f.Len()-1]
	return &Fitted{
		name:   fc.Name(),
		model:  m,
		input:  slices.Clone(ds.Rows[n-m.cfg.InputLen:]),
		origin: origin,
		lead:   int(origin - ds.Dates[n-1]),
	}, nil
}

// Fitted is a network trained on a frame; it implements prevoir.Fitted.
type Fitted struct {
	name   string
	model  *Model
	input  [][]float64
	origin prevoir.Date
	lead   int // days between the last complete day and the origin
}

// Model returns the trained network (to save it, for instance).
func (ft *Fitted) Model() *Model { return ft.model }

// Predict forecasts the h days after the origin. Every quantile is the point forecast (see
// Forecaster).
func (ft *Fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := ft.model.cfg.OutputLen
	if h < 1 || h+ft.lead > out {
		return nil, fmt.Errorf("%s: horizon %d: the network forecasts %d days from %s, %d of them before the origin %s",
			ft.name, h, out, ft.origin-prevoir.Date(ft.lead), ft.lead, ft.origin)
	}
	for i, q := range quantiles {
		if !(q > 0 && q < 1) || (i > 0 && q <= quantiles[i-1]) {
			return nil, fmt.Errorf("%s: quantiles %v: want strictly increasing probabilities in (0, 1)", ft.name, quantiles)
		}
	}
	point, err := ft.model.Predict(ft.input)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ft.name, err)
	}
	q := make([][]float64, len(point))
	for i, v := range point {
		q[i] = make([]float64, len(quantiles))
		for j := range q[i] {
			q[i][j] = v
		}
	}
	return adapt.Forecast(ft.name, ft.origin, ft.lead, h, point, q, quantiles)
}

// Describe says how the model was fitted, for the run record.
func (ft *Fitted) Describe() string {
	c := ft.model.cfg
	return fmt.Sprintf("%s %d params, input %d days x %d features, output %d days; quantiles = point (no intervals yet)",
		c.Arch, ft.model.NumParams(), c.InputLen, c.InputSize, c.OutputLen)
}

var (
	_ prevoir.Forecaster = Forecaster{}
	_ prevoir.Fitted     = (*Fitted)(nil)
)
