package neural

import (
	"context"
	"fmt"
	"slices"
	"sync"

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
	// Refit, when set, makes backtests affordable (see Refit).
	Refit *Refit
}

// Refit is the retraining policy of a network evaluated at many origins (a backtest): it is
// trained only at the origins of a fixed grid, every Every days (Sundays from 1970-01-04 when
// Every is a multiple of 7), and at an origin between two grid days it forecasts from the
// newer data with the network trained at the latest grid day before it. A network never sees
// data after its origin: the grid day is never later than the origin, and it is trained on the
// frame cut at that day. One Refit value caches its trainings; share it between the fits of
// one backtest, not across frames (a cached network is keyed by its grid day only).
type Refit struct {
	Every int
	mu    sync.Mutex
	nets  map[prevoir.Date]*refitEntry
}

type refitEntry struct {
	once  sync.Once
	m     *Model
	curve []float64 // the training's per-epoch loss (Report.EpochMSE), under Refit.mu
	err   error
}

// NewRefit returns a policy retraining every every days.
func NewRefit(every int) *Refit { return &Refit{Every: every, nets: map[prevoir.Date]*refitEntry{}} }

// Curve returns the per-epoch training loss (Report.EpochMSE) of the network r trained for
// origin's grid day, nil when r trained none: how the fit a training registers reports the
// training of the network it serves, which its backtest trained (training it again would give
// the same weights: training is deterministic).
func (r *Refit) Curve(origin prevoir.Date) []float64 {
	if r.Every <= 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.nets[r.gridDay(origin)]; e != nil {
		return slices.Clone(e.curve)
	}
	return nil
}

// refitAnchor is a Sunday, so that a weekly grid falls on Sundays like the backtest origins.
const refitAnchor = prevoir.Date(3) // 1970-01-04

func (r *Refit) gridDay(origin prevoir.Date) prevoir.Date {
	off := int(origin-refitAnchor) % r.Every
	if off < 0 {
		off += r.Every
	}
	return origin - prevoir.Date(off)
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
	if r := fc.Refit; r != nil && r.Every > 0 {
		origin := f.Dates[f.Len()-1]
		day := r.gridDay(origin)
		if day >= f.Dates[0] {
			r.mu.Lock()
			e := r.nets[day]
			if e == nil {
				e = &refitEntry{}
				r.nets[day] = e
			}
			r.mu.Unlock()
			e.once.Do(func() {
				cut, err := f.Until(day)
				if err != nil {
					e.err = err
					return
				}
				ft, rep, err := fc.train(ctx, cfg, cut)
				if err != nil {
					e.err = err
					return
				}
				e.m = ft.model
				r.mu.Lock() // Curve reads it under the lock
				e.curve = rep.EpochMSE
				r.mu.Unlock()
			})
			if e.err != nil {
				return nil, e.err
			}
			return Bind(fc.Name(), e.m, f)
		}
	}
	ft, _, err := fc.train(ctx, cfg, f)
	return ft, err
}

// train trains a network of configuration cfg on all of f.
func (fc Forecaster) train(ctx context.Context, cfg Config, f *prevoir.Frame) (*Fitted, *Report, error) {
	ds, err := DatasetFromFrame(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	m, rep, err := Train(ctx, cfg, ds, fc.Options)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", fc.Name(), err)
	}
	n := ds.Len()
	origin := f.Dates[f.Len()-1]
	return &Fitted{
		name:   fc.Name(),
		model:  m,
		input:  slices.Clone(ds.Rows[n-m.cfg.InputLen:]),
		origin: origin,
		lead:   int(origin - ds.Dates[n-1]),
	}, rep, nil
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

// RefitPolicy describes, for a backtest's protocol, how often the network is retrained.
func (fc Forecaster) RefitPolicy() string {
	if fc.Refit == nil || fc.Refit.Every <= 0 {
		return "retrained at every origin"
	}
	return fmt.Sprintf("retrained every %d days on a fixed grid of Sundays, on the data up to the grid day; at the origins in between, "+
		"the network of the latest grid day forecasts from the data up to the origin", fc.Refit.Every)
}

// Bind returns a fitted model that forecasts from the latest days of f with the trained
// network m, without training: how a registered network forecasts from newer data. The frame
// must hold the network's input columns (m.Features()).
func Bind(name string, m *Model, f *prevoir.Frame) (*Fitted, error) {
	if f.Len() == 0 {
		return nil, fmt.Errorf("%s: empty frame", name)
	}
	ds, err := DatasetFromFrame(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !slices.Equal(ds.Names, m.names) {
		return nil, prevoir.Errorf(prevoir.EINVALID, "%s: the frame's columns %v are not the network's inputs %v (retrain it)", name, ds.Names, m.names)
	}
	n := ds.Len()
	if n < m.cfg.InputLen {
		return nil, fmt.Errorf("%s: %d complete days, the network needs %d", name, n, m.cfg.InputLen)
	}
	origin := f.Dates[f.Len()-1]
	return &Fitted{name: name, model: m, input: slices.Clone(ds.Rows[n-m.cfg.InputLen:]), origin: origin, lead: int(origin - ds.Dates[n-1])}, nil
}
