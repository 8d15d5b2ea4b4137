// Package theta implements the Theta method of Assimakopoulos & Nikolopoulos (2000), the
// best method of the M3 competition, in two forms:
//
//   - the standard Theta method as R's forecast::thetaf computes it: simple exponential
//     smoothing with drift equal to half the slope of the linear trend, which Hyndman & Billah
//     (2003) showed to be equivalent to the original method; and
//   - the Optimised Theta Method (OTM) of Fiorucci, Pellegrini, Louzada, Petropoulos &
//     Koehler (2016), where the theta coefficient is estimated along with the smoothing
//     parameter and the initial level.
//
// Both first test the series for seasonality with the 90% test of Assimakopoulos &
// Nikolopoulos used by forecast::thetaf — the lag-m autocorrelation exceeds 1.645 times its
// standard error sqrt((1 + 2 Σ_{k<m} r_k²)/n) — and, if seasonal, divide the series by the
// seasonal indices of a classical multiplicative decomposition and multiply the forecasts back.
//
// References:
//
//   - Assimakopoulos, V. and Nikolopoulos, K. (2000) "The theta model: a decomposition
//     approach to forecasting", International Journal of Forecasting 16(4), 521-530.
//   - Hyndman, R.J. and Billah, B. (2003) "Unmasking the Theta method", International Journal
//     of Forecasting 19(2), 287-290.
//   - Fiorucci, J.A., Pellegrini, T.R., Louzada, F., Petropoulos, F. and Koehler, A.B. (2016)
//     "Models for optimising the theta method and their relationship to state space models",
//     International Journal of Forecasting 32(4), 1151-1161.
//
// # Contract
//
// Fit takes the observed series y[0..n-1] (finite values; NaN gaps are an error — fill them
// first) and returns a *Model. Model.Forecast(h, quantiles) returns point[i], the forecast
// i+1 steps after the end of y, and q[i][j], the quantiles[j]-quantile for that step, from a
// normal distribution with the variance of SES, σ²(1 + (h−1)α²) (forecast::thetaf; for the
// OTM it is exact, Fiorucci et al. 2016 section 3). Unlike forecast::thetaf, the standard
// deviation is multiplied by the seasonal index of the target period when the series was
// seasonally adjusted, so that the intervals scale with the reseasonalised forecasts.
package theta

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/prevoir/prevoir/forecast/ets"
	"github.com/prevoir/prevoir/forecast/internal/optim"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// DefaultPeriod is the seasonal period of the daily hospital series (one week).
const DefaultPeriod = 7

// Theta bounds of the optimised method. Fiorucci et al. (2016) require theta >= 1 (theta = 1
// is SES); the upper bound only keeps the search finite (as theta grows the forecasts tend to
// the regression line plus SES of the detrended series).
const (
	minTheta = 1
	maxTheta = 1000
)

// Options controls Fit.
type Options struct {
	// Period is the seasonal period m; 0 means DefaultPeriod (7) and 1 disables the
	// seasonality test.
	Period int
	// Optimize selects the Optimised Theta Method (theta estimated) instead of the standard
	// method (theta = 2, SES with drift).
	Optimize bool
}

// Model is a fitted Theta model. It is immutable and safe for concurrent use.
type Model struct {
	optimized bool
	n         int
	alpha     float64
	theta     float64
	sigma2    float64
	seasonal  []float64 // seasonal indices for periods n, n+1, ... (cycled); nil if none
	figure    []float64 // seasonal indices by position t mod m from the first value; nil if none
	l0        float64   // initial level of the SES (standard) or of the theta line (OTM)

	// Standard method: level and drift of SES with drift.
	level, drift float64
	// OTM: linear trend A + B t (t = 1..n) and the SES level of the theta line.
	a, b, zlevel float64
}

// Alpha returns the smoothing parameter.
func (md *Model) Alpha() float64 { return md.alpha }

// Theta returns the theta coefficient (2 for the standard method).
func (md *Model) Theta() float64 { return md.theta }

// Drift returns the drift of the standard method, half the slope of the least-squares line
// of the (seasonally adjusted) series (Hyndman & Billah 2003); 0 for the OTM.
func (md *Model) Drift() float64 { return md.drift }

// Seasonal reports whether the series was found seasonal and seasonally adjusted.
func (md *Model) Seasonal() bool { return md.seasonal != nil }

// Sigma2 returns the one-step error variance of the (seasonally adjusted) fit.
func (md *Model) Sigma2() float64 { return md.sigma2 }

// Fit fits the Theta method to y.
func Fit(y []float64, opts Options) (*Model, error) {
	n := len(y)
	if err := stats.CheckFinite("y", y); err != nil {
		return nil, fmt.Errorf("theta: %w (fill gaps before fitting)", err)
	}
	m := opts.Period
	if m == 0 {
		m = DefaultPeriod
	}
	if m < 1 {
		return nil, fmt.Errorf("theta: Period = %d must be positive", opts.Period)
	}
	if n < 4 {
		return nil, fmt.Errorf("theta: y needs at least 4 observations, got %d", n)
	}
	x := y
	var fig, figure []float64
	if m > 1 && n >= 2*m && !constant(y) && seasonalTest(y, m) {
		s, err := stats.Seasonal(y, m, true)
		if err == nil && minAbs(s) >= 1e-10 {
			x = make([]float64, n)
			for t := range y {
				x[t] = y[t] / s[t]
			}
			figure = s[:m:m]
			fig = make([]float64, m)
			for i := range fig {
				fig[i] = s[(n+i)%m] // index for period n+i (cycled)
			}
		}
	}
	var md *Model
	var err error
	if opts.Optimize {
		md, err = fitOTM(x)
	} else {
		md, err = fitSTM(x)
	}
	if err != nil {
		return nil, err
	}
	md.seasonal, md.figure = fig, figure
	return md, nil
}

func constant(y []float64) bool {
	for _, v := range y {
		if v != y[0] {
			return false
		}
	}
	return true
}

func minAbs(s []float64) float64 {
	v := math.Inf(1)
	for _, x := range s {
		v = math.Min(v, math.Abs(x))
	}
	return v
}

// seasonalTest is forecast::thetaf's test: |r_m| / sqrt((1 + 2 Σ_{k=1}^{m-1} r_k²)/n) >
// qnorm(0.95), with r_k the sample autocorrelations.
func seasonalTest(y []float64, m int) bool {
	n := len(y)
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	var c0 float64
	for _, v := range y {
		c0 += (v - mean) * (v - mean)
	}
	r := make([]float64, m+1)
	for k := 1; k <= m; k++ {
		var c float64
		for t := 0; t+k < n; t++ {
			c += (y[t] - mean) * (y[t+k] - mean)
		}
		r[k] = c / c0
	}
	var s float64
	for k := 1; k < m; k++ {
		s += r[k] * r[k]
	}
	stat := math.Sqrt((1 + 2*s) / float64(n))
	return math.Abs(r[m])/stat > 1.6448536269514722
}

// linearTrend returns the least-squares intercept (at t = 0) and slope of x on t = 1..n.
func linearTrend(x []float64) (a, b float64) {
	n := float64(len(x))
	var st, sx float64
	for i, v := range x {
		st += float64(i + 1)
		sx += v
	}
	mt, mx := st/n, sx/n
	var sxy, sxx float64
	for i, v := range x {
		d := float64(i+1) - mt
		sxy += d * (v - mx)
		sxx += d * d
	}
	b = sxy / sxx
	return mx - b*mt, b
}

// fitSTM is forecast::thetaf: SES by maximum likelihood (ETS(A,N,N), initial level
// optimised), plus half the regression slope as drift.
func fitSTM(x []float64) (*Model, error) {
	n := len(x)
	if constant(x) {
		return &Model{n: n, alpha: 0.99999, theta: 2, level: x[n-1], l0: x[0]}, nil
	}
	ses, err := ets.Fit(context.Background(), x, ets.Spec{Error: ets.Additive}, ets.Options{Period: 1})
	if err != nil {
		return nil, fmt.Errorf("theta: %w", err)
	}
	level, _, err := ses.Forecast(1, nil)
	if err != nil {
		return nil, fmt.Errorf("theta: %w", err)
	}
	_, b := linearTrend(x)
	return &Model{n: n, alpha: ses.Params().Alpha, theta: 2, sigma2: ses.Sigma2(),
		level: level[0], drift: b / 2, l0: ses.InitialState()[0]}, nil
}

// fitOTM estimates the Optimised Theta Method of Fiorucci et al. (2016): the theta line
// Z_t = θ x_t + (1−θ)(A + B t) is smoothed by SES with level ℓ_t, the one-step forecast of x
// is (1−1/θ)(A + B t) + ℓ_{t−1}/θ, and (α, θ, ℓ_0) minimise the sum of squared one-step
// errors (the Gaussian likelihood). A and B are the least-squares line of x.
func fitOTM(x []float64) (*Model, error) {
	n := len(x)
	a, b := linearTrend(x)
	if constant(x) {
		return &Model{optimized: true, n: n, alpha: 0.99999, theta: 2, a: a, b: b, zlevel: x[0], l0: x[0]}, nil
	}
	sse := func(v []float64) float64 {
		alpha, th, l := v[0], v[1], v[2]
		w := 1 - 1/th
		var s float64
		for t, xt := range x {
			tr := a + b*float64(t+1)
			e := xt - (w*tr + l/th)
			s += e * e
			z := th*xt + (1-th)*tr
			l += alpha * (z - l)
		}
		return s
	}
	var mean, ss float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(n))
	z1 := 2*x[0] - (a + b)
	obj := func(v []float64) float64 { return float64(n) * math.Log(sse(v)) }
	s := optim.DefaultSettings()
	s.Step = []float64{0.1, 0.5, 0.2 * sd}
	r, err := optim.Minimize(context.Background(), optim.Problem{Func: obj,
		Lower: []float64{1e-4, minTheta, math.Inf(-1)}, Upper: []float64{0.9999, maxTheta, math.Inf(1)}},
		[]float64{0.5, 2, z1}, s)
	if err != nil {
		if errors.Is(err, optim.ErrNoFiniteStart) {
			return nil, errors.New("theta: the sum of squares is not finite at the starting values")
		}
		return nil, fmt.Errorf("theta: %w", err)
	}
	alpha, th := r.X[0], r.X[1]
	l := thetaLevel(x, a, b, alpha, th, r.X[2])
	k := 3
	if n-k < 1 {
		return nil, fmt.Errorf("theta: y needs more than %d observations", k)
	}
	return &Model{optimized: true, n: n, alpha: alpha, theta: th, a: a, b: b, zlevel: l, l0: r.X[2],
		sigma2: sse(r.X) / float64(n-k)}, nil
}

// thetaLevel runs the SES of the theta line Z_t = θ x_t + (1−θ)(A + B t) over x from level l
// and returns the level at x's end.
func thetaLevel(x []float64, a, b, alpha, th, l float64) float64 {
	for t, xt := range x {
		tr := a + b*float64(t+1)
		l += alpha * (th*xt + (1-th)*tr - l)
	}
	return l
}

// Forecast returns the point forecasts for the h periods after the end of the series and the
// requested normal quantiles (see the package documentation).
func (md *Model) Forecast(h int, quantiles []float64) (point []float64, q [][]float64, err error) {
	if err := stats.CheckHorizon(h, quantiles); err != nil {
		return nil, nil, fmt.Errorf("theta: %w", err)
	}
	point = make([]float64, h)
	sd := make([]float64, h)
	s := math.Sqrt(md.sigma2)
	n := float64(md.n)
	for i := 0; i < h; i++ {
		if md.optimized {
			w := 1 - 1/md.theta
			point[i] = w*(md.a+md.b*(n+float64(i+1))) + md.zlevel/md.theta
		} else {
			// forecast::thetaf: ℓ_n + b/2 (i + (1 − (1−α)^n)/α), i = 0..h−1.
			point[i] = md.level + md.drift*(float64(i)+(1-math.Pow(1-md.alpha, n))/md.alpha)
		}
		sd[i] = s * math.Sqrt(1+float64(i)*md.alpha*md.alpha)
		if md.seasonal != nil {
			f := md.seasonal[i%len(md.seasonal)]
			point[i] *= f
			sd[i] *= f
		}
	}
	return point, stats.GaussianQuantiles(point, sd, quantiles), nil
}

// Paths returns n sample paths of the h periods after the end of the series. Both methods are
// SES with a deterministic trend (the standard method is SES with drift, Hyndman & Billah
// 2003; the OTM a state-space model with the SES error structure, Fiorucci et al. 2016
// section 3), so a path is the point forecast plus the innovations of ETS(A,N,N): the error
// at step i is e_i + α Σ_{k<i} e_k, normal with variance σ², whose variance σ²(1 + (i−1)α²)
// is that of Forecast. Seasonally adjusted forecasts are multiplied back by the seasonal index
// of each step, path by path. The generator's seed is derived from the fitted model.
func (md *Model) Paths(h, n int) ([][]float64, error) {
	point, _, err := md.Forecast(h, nil)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("theta: %d paths", n)
	}
	rng := rand.New(rand.NewPCG(stats.Seed(md.level, md.zlevel, md.drift, md.sigma2, md.alpha, md.theta, float64(md.n)), 0))
	s := math.Sqrt(md.sigma2)
	ps := make([][]float64, n)
	for k := range ps {
		p := make([]float64, h)
		cum := 0.0 // Σ_{k<i} e_k
		for i := range p {
			e := s * rng.NormFloat64()
			f := 1.0
			if md.seasonal != nil {
				f = md.seasonal[i%len(md.seasonal)]
			}
			// point is reseasonalised: the error is scaled by the same index.
			p[i] = point[i] + f*(e+md.alpha*cum)
			cum += e
		}
		ps[k] = p
	}
	return ps, nil
}
