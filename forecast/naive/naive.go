// Package naive implements the simple benchmark forecasters of Hyndman & Athanasopoulos,
// "Forecasting: Principles and Practice" (FPP3, 3rd ed., 2021), section 5.2: the naive (random
// walk), seasonal naive, moving-average and drift methods, with the analytic normal
// prediction intervals of FPP3 section 5.5 (table 5.2).
//
// These are the baselines every other forecaster must beat, and on the strongly weekly
// hospital-death series the seasonal naive is hard to beat, so they are kept exact and cheap.
//
// # Contract
//
// A constructor (Naive, SeasonalNaive, Mean, Drift) takes the observed series y[0..n-1] (one
// value per period, y[n-1] the most recent) and returns a *Model. Model.Forecast(h, quantiles)
// returns the point forecasts for periods n..n+h-1 (point[i] is the forecast i+1 steps after
// the end of y) and q[i][j], the quantiles[j]-quantile of the forecast distribution for step
// i+1. Quantiles are those of a normal distribution centred on the point forecast with the
// standard deviation of FPP3 table 5.2, where σ is the residual standard deviation
// sqrt(Σe²/(N−K)) over the N one-step in-sample residuals e with K estimated parameters.
//
// # Missing values
//
// NaN marks a missing observation; ±Inf is an error. Gaps are handled explicitly:
//
//   - Naive forecasts the last finite value; if y ends with g missing values, step i is
//     really i+g steps after that value and its standard deviation is σ√(i+g).
//   - SeasonalNaive forecasts, for each step, the most recent finite value on the same
//     position of the cycle (k+1 cycles back gives standard deviation σ√(k+1)).
//   - Mean averages the finite values among the last k observations.
//   - Drift draws the line through the first and the last finite values.
//
// Residuals are only formed where the values they need are finite. Each constructor returns an
// error when too few residuals remain to estimate σ.
package naive

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// Method identifies a benchmark method.
type Method int

// The benchmark methods.
const (
	MethodNaive Method = iota
	MethodSeasonalNaive
	MethodMean
	MethodDrift
)

// String returns the method name used in reports.
func (m Method) String() string {
	switch m {
	case MethodNaive:
		return "naive"
	case MethodSeasonalNaive:
		return "snaive"
	case MethodMean:
		return "mean"
	case MethodDrift:
		return "drift"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// DefaultPeriod is the seasonal period of the daily hospital series (one week).
const DefaultPeriod = 7

// DefaultWindow is the default width of the moving average ("mean7").
const DefaultWindow = 7

// Model is a fitted benchmark forecaster. It is immutable and safe for concurrent use.
type Model struct {
	method Method
	y      []float64 // copy of the input
	m      int       // period (seasonal naive) or window (mean)
	sigma  float64   // residual standard deviation
	nres   int       // number of residuals behind sigma

	last, lastIdx   float64 // last finite value and its index
	first, firstIdx float64 // first finite value and its index (drift)
	slope           float64 // drift slope per period
	mean            float64 // moving average (mean)
}

// Method returns the forecasting method of the model.
func (m *Model) Method() Method { return m.method }

// Sigma returns the residual standard deviation behind the prediction intervals.
func (m *Model) Sigma() float64 { return m.sigma }

func prepare(y []float64) ([]float64, error) {
	if err := stats.CheckNoInf("y", y); err != nil {
		return nil, err
	}
	return append([]float64(nil), y...), nil
}

func lastFinite(y []float64) int {
	for i := len(y) - 1; i >= 0; i-- {
		if !math.IsNaN(y[i]) {
			return i
		}
	}
	return -1
}

func firstFinite(y []float64) int {
	for i, v := range y {
		if !math.IsNaN(v) {
			return i
		}
	}
	return -1
}

// sd returns sqrt(ss/(n-k)) or an error if fewer than k+1 residuals are available.
func sd(ss float64, n, k int, what string) (float64, error) {
	if n-k < 1 {
		return 0, fmt.Errorf("naive: %s needs at least %d finite residuals to estimate sigma, got %d", what, k+1, n)
	}
	return math.Sqrt(ss / float64(n-k)), nil
}

// Naive returns the random-walk forecaster: every forecast equals the last finite value
// (FPP3 section 5.2), with standard deviation σ√h where σ is estimated from the first
// differences of consecutive finite observations.
func Naive(y []float64) (*Model, error) {
	y, err := prepare(y)
	if err != nil {
		return nil, err
	}
	li := lastFinite(y)
	if li < 0 {
		return nil, errors.New("naive: y has no finite value")
	}
	var ss float64
	n := 0
	for t := 1; t < len(y); t++ {
		if !math.IsNaN(y[t]) && !math.IsNaN(y[t-1]) {
			e := y[t] - y[t-1]
			ss += e * e
			n++
		}
	}
	s, err := sd(ss, n, 0, "Naive")
	if err != nil {
		return nil, err
	}
	return &Model{method: MethodNaive, y: y, sigma: s, nres: n, last: y[li], lastIdx: float64(li)}, nil
}

// SeasonalNaive returns the seasonal naive forecaster with period m (FPP3 section 5.2):
// the forecast for a period is the last observed value on the same position of the cycle,
// with standard deviation σ√(k+1), k = floor((h−1)/m) (FPP3 table 5.2), σ estimated from the
// seasonal differences y[t]−y[t−m].
func SeasonalNaive(y []float64, m int) (*Model, error) {
	if m < 1 {
		return nil, fmt.Errorf("naive: period m = %d must be at least 1", m)
	}
	y, err := prepare(y)
	if err != nil {
		return nil, err
	}
	if len(y) < m {
		return nil, fmt.Errorf("naive: SeasonalNaive needs at least m = %d observations, got %d", m, len(y))
	}
	var ss float64
	n := 0
	for t := m; t < len(y); t++ {
		if !math.IsNaN(y[t]) && !math.IsNaN(y[t-m]) {
			e := y[t] - y[t-m]
			ss += e * e
			n++
		}
	}
	s, err := sd(ss, n, 0, "SeasonalNaive")
	if err != nil {
		return nil, err
	}
	return &Model{method: MethodSeasonalNaive, y: y, m: m, sigma: s, nres: n}, nil
}

// Mean returns the moving-average forecaster: every forecast is the mean of the finite values
// among the last k observations ("mean7" for k = 7). It is FPP3's mean method applied to a
// trailing window, so its standard deviation is σ√(1+1/k) (FPP3 table 5.2 with T = k); σ is
// the residual standard deviation of the in-sample one-step forecasts made by the same
// trailing mean (K = 1 estimated parameter).
func Mean(y []float64, k int) (*Model, error) {
	if k < 1 {
		return nil, fmt.Errorf("naive: window k = %d must be at least 1", k)
	}
	y, err := prepare(y)
	if err != nil {
		return nil, err
	}
	if len(y) < k {
		return nil, fmt.Errorf("naive: Mean needs at least k = %d observations, got %d", k, len(y))
	}
	trailing := func(end int) (float64, bool) { // mean of finite values in y[end-k:end]
		var s float64
		c := 0
		for _, v := range y[end-k : end] {
			if !math.IsNaN(v) {
				s += v
				c++
			}
		}
		return s / float64(c), c > 0
	}
	mu, ok := trailing(len(y))
	if !ok {
		return nil, fmt.Errorf("naive: the last k = %d observations are all missing", k)
	}
	var ss float64
	n := 0
	for t := k; t < len(y); t++ {
		if math.IsNaN(y[t]) {
			continue
		}
		if f, ok := trailing(t); ok {
			e := y[t] - f
			ss += e * e
			n++
		}
	}
	s, err := sd(ss, n, 1, "Mean")
	if err != nil {
		return nil, err
	}
	return &Model{method: MethodMean, y: y, m: k, sigma: s, nres: n, mean: mu}, nil
}

// Drift returns the drift forecaster: the line through the first and the last finite values
// extrapolated (FPP3 section 5.2), with standard deviation σ√(h(1+h/T)) (FPP3 table 5.2),
// where T is the number of periods from the first to the last finite value inclusive and σ
// is the residual standard deviation of y[t]−y[t−1]−slope (K = 1).
func Drift(y []float64) (*Model, error) {
	y, err := prepare(y)
	if err != nil {
		return nil, err
	}
	fi, li := firstFinite(y), lastFinite(y)
	if fi < 0 || fi == li {
		return nil, errors.New("naive: Drift needs at least two finite values")
	}
	slope := (y[li] - y[fi]) / float64(li-fi)
	var ss float64
	n := 0
	for t := 1; t < len(y); t++ {
		if !math.IsNaN(y[t]) && !math.IsNaN(y[t-1]) {
			e := y[t] - y[t-1] - slope
			ss += e * e
			n++
		}
	}
	s, err := sd(ss, n, 1, "Drift")
	if err != nil {
		return nil, err
	}
	return &Model{method: MethodDrift, y: y, sigma: s, nres: n, slope: slope,
		last: y[li], lastIdx: float64(li), first: y[fi], firstIdx: float64(fi)}, nil
}

// Forecast returns the point forecasts for the h periods after the end of the series and the
// requested quantiles of their normal forecast distributions: q[i][j] is the quantiles[j]
// quantile for step i+1. Quantiles must lie strictly between 0 and 1.
func (m *Model) Forecast(h int, quantiles []float64) (point []float64, q [][]float64, err error) {
	if err := stats.CheckHorizon(h, quantiles); err != nil {
		return nil, nil, fmt.Errorf("naive: %w", err)
	}
	n := len(m.y)
	point = make([]float64, h)
	sdv := make([]float64, h)
	for i := 0; i < h; i++ {
		step := float64(i + 1)
		switch m.method {
		case MethodNaive:
			g := float64(n-1) - m.lastIdx // trailing missing values
			point[i] = m.last
			sdv[i] = m.sigma * math.Sqrt(step+g)
		case MethodSeasonalNaive:
			t := n + i // index of the target period
			j := 1
			for {
				src := t - j*m.m
				if src < 0 {
					return nil, nil, fmt.Errorf("naive: no finite value on the cycle position of step %d", i+1)
				}
				if src < n && !math.IsNaN(m.y[src]) {
					point[i] = m.y[src]
					break
				}
				j++
			}
			// j cycles back: FPP3's k+1 when no value is missing.
			sdv[i] = m.sigma * math.Sqrt(float64(j))
		case MethodMean:
			point[i] = m.mean
			sdv[i] = m.sigma * math.Sqrt(1+1/float64(m.m))
		case MethodDrift:
			ahead := float64(n-1) - m.lastIdx + step
			T := m.lastIdx - m.firstIdx + 1
			point[i] = m.last + m.slope*ahead
			sdv[i] = m.sigma * math.Sqrt(ahead*(1+ahead/T))
		}
	}
	return point, stats.GaussianQuantiles(point, sdv, quantiles), nil
}

// Paths returns n sample paths of the h periods after the end of the series, drawn from each
// method's error model with normal errors of standard deviation σ, so that every day has the
// distribution of Forecast and sums of days (weekly totals) have the right one too (FPP3
// section 5.5: the naive method is a random walk, the seasonal naive one random walk per
// position of the cycle, the mean method i.i.d. noise around an estimated mean, the drift
// method a random walk with drift whose slope is estimated from T values):
//
//   - naive: the last value plus the cumulative errors (g trailing missing values add g
//     errors first);
//   - snaive: the source value of each step plus the errors of its own cycle position, one
//     per cycle stepped over (a step more than a cycle ahead adds one error to the simulated
//     value a cycle earlier);
//   - mean: the mean plus one error common to all steps (the mean's own error, σ/√k) and one
//     per step;
//   - drift: the line plus the cumulative errors plus ahead·σ/√T·z, z common to the path (the
//     slope's error), which gives the variance σ²·ahead·(1+ahead/T) of FPP3 table 5.2.
//
// The generator's seed is derived from the series, so the same data give the same paths.
func (m *Model) Paths(h, n int) ([][]float64, error) {
	point, _, err := m.Forecast(h, nil)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("naive: %d paths", n)
	}
	rng := rand.New(rand.NewPCG(stats.Seed(m.y...), uint64(m.method)))
	ny := len(m.y)
	ps := make([][]float64, n)
	for k := range ps {
		p := make([]float64, h)
		switch m.method {
		case MethodNaive, MethodDrift:
			// The naive method is the drift method without a slope, hence without its error z
			// (drawn first, so that the drift's paths keep their draws).
			z := 0.0
			if m.method == MethodDrift {
				T := m.lastIdx - m.firstIdx + 1
				z = m.sigma / math.Sqrt(T) * rng.NormFloat64()
			}
			g := ny - 1 - int(m.lastIdx)
			c := 0.0
			for range g {
				c += m.sigma * rng.NormFloat64()
			}
			for i := range p {
				c += m.sigma * rng.NormFloat64()
				ahead := float64(g + i + 1)
				p[i] = point[i] + c + ahead*z
			}
		case MethodSeasonalNaive:
			for i := range p {
				if i >= m.m {
					p[i] = p[i-m.m] + m.sigma*rng.NormFloat64()
					continue
				}
				// j cycles back to the last finite value, as in Forecast: j errors.
				j := 1
				for t := ny + i; t-j*m.m >= ny || math.IsNaN(m.y[t-j*m.m]); {
					j++
				}
				p[i] = point[i]
				for range j {
					p[i] += m.sigma * rng.NormFloat64()
				}
			}
		case MethodMean:
			c := m.sigma / math.Sqrt(float64(m.m)) * rng.NormFloat64()
			for i := range p {
				p[i] = point[i] + c + m.sigma*rng.NormFloat64()
			}
		}
		ps[k] = p
	}
	return ps, nil
}
