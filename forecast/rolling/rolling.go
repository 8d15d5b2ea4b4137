// Package rolling gives models access to forecasts made at past origins, the building block of
// forecasters that learn from their own track record: conformal prediction intervals (package
// forecast/conformal) and ensembles that pick their members by past accuracy (package
// forecast/ensemble).
//
// Such a forecaster, fitted at origin o, asks a Source for the models fitted at earlier
// origins o−k·every, and scores them only on target dates up to o: the rolling-origin
// evaluation of Tashman (2000), "Out-of-sample tests of forecasting accuracy: an analysis and
// review", International Journal of Forecasting 16(4), 437-450, run inside the model. Used in
// production, Direct fits the past models from the frame itself; a backtest passes its own
// Source so that the fits it has already made at those origins are reused instead of being
// redone for every later origin. Both give the same forecasts, because a model fitted at an
// origin sees the frame up to that origin only.
package rolling

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/prevoir/prevoir"
)

// Source provides models fitted at past origins.
type Source interface {
	// Fit returns model fitted on the data up to origin (and nothing after it). Models are
	// identified by name: two different models must not share one.
	Fit(ctx context.Context, model prevoir.Forecaster, origin prevoir.Date) (prevoir.Fitted, error)
}

// Need is a model a composite forecaster needs fitted at an origin.
type Need struct {
	Model  prevoir.Forecaster
	Origin prevoir.Date
}

// Composite is a forecaster built from models fitted at the current and past origins.
type Composite interface {
	prevoir.Forecaster
	// Needs lists every model and origin FitFrom asks its Source for when fitting at origin,
	// so that a backtest can fit them ahead, in parallel.
	Needs(origin prevoir.Date) []Need
	// FitFrom fits at f's last date, taking the models it needs from src. It reads the
	// actual values of past target dates from f, so it sees nothing after f's last date.
	FitFrom(ctx context.Context, f *prevoir.Frame, src Source) (prevoir.Fitted, error)
}

// Fit fits model on f, through src when it is a Composite.
func Fit(ctx context.Context, model prevoir.Forecaster, f *prevoir.Frame, src Source) (prevoir.Fitted, error) {
	if c, ok := model.(Composite); ok {
		return c.FitFrom(ctx, f, src)
	}
	return model.Fit(ctx, f)
}

// Horizoned is a forecaster whose fit depends on the longest horizon it will be asked for: a
// composite that calibrates or ranks on its past forecasts (conformal intervals, selecting
// ensembles) scores them up to that horizon, and refuses to forecast further.
type Horizoned interface {
	prevoir.Forecaster
	// WithHorizon returns the forecaster set up for forecasts of up to h days (and its
	// inner models too); the receiver is not changed.
	WithHorizon(h int) prevoir.Forecaster
}

// WithHorizon returns model set up for forecasts of up to h days when it is Horizoned, and
// model itself otherwise: whoever decides the horizon (a backtest's --horizon) passes it down
// instead of every composite assuming prevoir.DefaultHorizon.
func WithHorizon(model prevoir.Forecaster, h int) prevoir.Forecaster {
	if hz, ok := model.(Horizoned); ok && h > 0 {
		return hz.WithHorizon(h)
	}
	return model
}

// Past returns the n origins before origin, every days apart, most recent first.
func Past(origin prevoir.Date, every, n int) []prevoir.Date {
	out := make([]prevoir.Date, n)
	for k := range out {
		out[k] = origin - prevoir.Date((k+1)*every)
	}
	return out
}

// Direct returns the Source that fits models on f.Until(origin), remembering each fit (by
// model name and origin) so that nested composites do not refit the same model twice. It
// refuses origins after f's last date. It is safe for concurrent use.
func Direct(f *prevoir.Frame) Source {
	return &direct{f: f, fits: map[key]*fit{}}
}

type key struct {
	name   string
	origin prevoir.Date
}

type fit struct {
	once   sync.Once
	fitted prevoir.Fitted
	err    error
}

type direct struct {
	f    *prevoir.Frame
	mu   sync.Mutex
	fits map[key]*fit
}

func (d *direct) Fit(ctx context.Context, model prevoir.Forecaster, origin prevoir.Date) (prevoir.Fitted, error) {
	if n := d.f.Len(); n == 0 || origin > d.f.Dates[n-1] {
		return nil, fmt.Errorf("rolling: origin %s is after the data's last day", origin)
	}
	d.mu.Lock()
	k := key{model.Name(), origin}
	e, ok := d.fits[k]
	if !ok {
		e = &fit{}
		d.fits[k] = e
	}
	d.mu.Unlock()
	e.once.Do(func() {
		g, err := d.f.Until(origin)
		if err != nil {
			e.err = err
			return
		}
		if _, found := slices.BinarySearch(g.Dates, origin); !found {
			e.err = fmt.Errorf("rolling: no data on origin %s", origin)
			return
		}
		e.fitted, e.err = Fit(ctx, model, g, d)
	})
	return e.fitted, e.err
}

// Bounded wraps src so that it refuses origins after limit: a composite fitted at limit can
// then not reach a model fitted later, whatever src holds.
func Bounded(src Source, limit prevoir.Date) Source { return bounded{src, limit} }

type bounded struct {
	src   Source
	limit prevoir.Date
}

func (b bounded) Fit(ctx context.Context, model prevoir.Forecaster, origin prevoir.Date) (prevoir.Fitted, error) {
	if origin > b.limit {
		return nil, fmt.Errorf("rolling: %s at %s is after the current origin %s", model.Name(), origin, b.limit)
	}
	return b.src.Fit(ctx, model, origin)
}

// Actual returns the value of column on date d in f, NaN when f has no such date.
func Actual(f *prevoir.Frame, col []float64, d prevoir.Date) float64 {
	i, found := slices.BinarySearch(f.Dates, d)
	if !found {
		return nan()
	}
	return col[i]
}

func nan() float64 { return math.NaN() }

// PastForecasts fits model at each origin through src and forecasts the h days after it,
// points only. An origin where the model cannot be fitted (too little data, no data on that
// day) gives a nil forecast: a track record simply starts later. Only a cancelled context is
// an error.
func PastForecasts(ctx context.Context, src Source, model prevoir.Forecaster, origins []prevoir.Date, h int) ([]*prevoir.Forecast, error) {
	out := make([]*prevoir.Forecast, len(origins))
	for k, o := range origins {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ft, err := src.Fit(ctx, model, o)
		if err != nil {
			continue
		}
		if fc, err := ft.Predict(ctx, h, nil); err == nil {
			out[k] = fc
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
