// Package testframe builds small synthetic frames, and toy forecasters with known forecasts,
// for the tests of the forecast packages.
package testframe

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/prevoir/prevoir"
)

// Start returns the first day of the frames: a Sunday, 2022-01-02.
func Start() prevoir.Date { return prevoir.MustParseDate("2022-01-02") }

// New returns a daily frame starting at Start with target "y" and the given covariates.
func New(y []float64, covariates map[string][]float64) *prevoir.Frame {
	f := &prevoir.Frame{Mode: prevoir.FrameFull, Target: "y", Dates: make([]prevoir.Date, len(y))}
	for i := range y {
		f.Dates[i] = Start() + prevoir.Date(i)
	}
	for name, x := range covariates {
		f.Columns = append(f.Columns, prevoir.FrameColumn{Name: name, Kind: prevoir.KindCovariate, Values: x})
	}
	f.Columns = append(f.Columns, prevoir.FrameColumn{Name: "y", Kind: prevoir.KindTarget, Values: y})
	return f
}

// Week is the mean weekly profile of the hospital deaths in 2022, Sunday first (the days of
// Start(), Start()+1, ...).
func Week() []float64 { return []float64{28, 144, 139, 112, 104, 107, 57} }

// Weekly returns n days of the pure weekly pattern Week, starting on Sunday.
func Weekly(n int) []float64 {
	w := Week()
	y := make([]float64, n)
	for i := range y {
		y[i] = w[i%7]
	}
	return y
}

// Constant returns n days of the value c.
func Constant(n int, c float64) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = c
	}
	return y
}

// Line returns n days of a + b·i.
func Line(n int, a, b float64) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = a + b*float64(i)
	}
	return y
}

// Noisy returns n days of the weekly pattern modulated by a slow wave and multiplicative
// noise from a fixed-seed generator, a stand-in for the real series.
func Noisy(n int, seed uint64) []float64 {
	w := Week()
	y := make([]float64, n)
	s := seed
	for i := range y {
		s = s*6364136223846793005 + 1442695040888963407
		u := float64(s>>11)/(1<<53) - 0.5
		y[i] = math.Round(w[i%7] * (1 + 0.5*math.Sin(2*math.Pi*float64(i)/150)) * (1 + 0.3*u))
	}
	return y
}

// Const is a forecaster that always forecasts Value, with quantiles Value + Spread·(q − 0.5),
// and counts its fits in Fits when set.
type Const struct {
	Label         string
	Value, Spread float64
	Fits          *atomic.Int64
}

// Name returns the label.
func (c Const) Name() string { return c.Label }

// Fit remembers the frame's last date.
func (c Const) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	if c.Fits != nil {
		c.Fits.Add(1)
	}
	if f.Len() == 0 {
		return nil, fmt.Errorf("%s: empty frame", c.Label)
	}
	v := c.Value
	return fitted{name: c.Label, origin: f.Dates[f.Len()-1], value: func(int) float64 { return v }, spread: c.Spread}, nil
}

// Last is a forecaster that forecasts the target's last value, plus Bias.
type Last struct {
	Label string
	Bias  float64
}

// Name returns the label.
func (l Last) Name() string { return l.Label }

// Fit takes the last value.
func (l Last) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	y := f.TargetValues()
	if len(y) == 0 || math.IsNaN(y[len(y)-1]) {
		return nil, fmt.Errorf("%s: no last value", l.Label)
	}
	v := y[len(y)-1] + l.Bias
	return fitted{name: l.Label, origin: f.Dates[f.Len()-1], value: func(int) float64 { return v }}, nil
}

type fitted struct {
	name   string
	origin prevoir.Date
	value  func(h int) float64
	spread float64
}

func (ft fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	fc := &prevoir.Forecast{Model: ft.name, Origin: ft.origin, Quantiles: quantiles}
	for i := range h {
		v := ft.value(i + 1)
		fc.Dates = append(fc.Dates, ft.origin+prevoir.Date(i+1))
		fc.Point = append(fc.Point, v)
		row := make([]float64, len(quantiles))
		for j, q := range quantiles {
			row[j] = v + ft.spread*(q-0.5)
		}
		fc.Values = append(fc.Values, row)
	}
	return fc, nil
}

// WithWeeks gives the forecasts of its model weekly totals: the sums of the daily points, with
// quantiles total + Spread·(p − 0.5).
type WithWeeks struct {
	prevoir.Forecaster
	Spread float64
}

// Fit fits the model.
func (m WithWeeks) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	ft, err := m.Forecaster.Fit(ctx, f)
	return weeksFitted{ft, m.Spread}, err
}

type weeksFitted struct {
	prevoir.Fitted
	spread float64
}

func (ft weeksFitted) Predict(ctx context.Context, h int, q []float64) (*prevoir.Forecast, error) {
	fc, err := ft.Fitted.Predict(ctx, h, q)
	if err != nil {
		return nil, err
	}
	fc.Weekly = &prevoir.Weeks{}
	for w := range fc.Weeks() {
		tot := prevoir.WeekTotal(fc.Point, w)
		row := make([]float64, len(q))
		for j, p := range q {
			row[j] = tot + ft.spread*(p-0.5)
		}
		fc.Weekly.Point = append(fc.Weekly.Point, tot)
		fc.Weekly.Values = append(fc.Weekly.Values, row)
	}
	return fc, nil
}
