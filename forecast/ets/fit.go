package ets

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/prevoir/prevoir/forecast/internal/optim"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// DefaultPeriod is the seasonal period of the daily hospital series (one week).
const DefaultPeriod = 7

// maxPeriod bounds the seasonal period (forecast::ets refuses m > 24; the admissibility test
// here works up to this size).
const maxPeriod = 60

// Transform is a shifted Box-Cox transformation applied to the series before fitting; forecast
// quantiles are back-transformed exactly (see the package documentation).
type Transform = stats.BoxCox

// Log1p returns the log(1+y) transformation, for counts that can be zero.
func Log1p() *Transform { t := stats.Log1p(); return &t }

// BoxCox returns the Box-Cox transformation with parameter lambda.
func BoxCox(lambda float64) *Transform { return &Transform{Lambda: lambda} }

// InitMethod selects how the initial states are estimated.
type InitMethod int

const (
	// InitOptimize estimates the initial states jointly with the smoothing parameters by
	// maximum likelihood, as forecast::ets does. It is the most accurate and the slowest.
	InitOptimize InitMethod = iota
	// InitHeuristic fixes the initial states at forecast::ets's heuristic starting values
	// (classical decomposition and a regression on the first weeks) and optimises only the
	// smoothing parameters: a 1- to 4-dimensional search instead of up to 12 dimensions, about
	// ten times faster. On long series (hundreds of periods) the initial states are forgotten
	// well before the forecast origin, so forecasts barely change.
	InitHeuristic
	// InitTwoStage runs InitHeuristic, then polishes smoothing parameters and initial states
	// jointly starting from that solution with a small evaluation budget.
	InitTwoStage
)

// Options controls fitting. The zero value fits with the defaults documented on each field.
type Options struct {
	// Period is the seasonal period m; 0 means DefaultPeriod (7). Seasonal models need m >= 2.
	Period int
	// Init selects the estimation of the initial states (default InitOptimize).
	Init InitMethod
	// MaxEval bounds the likelihood evaluations of each optimisation; 0 means 2000, the maxit
	// of forecast::ets.
	MaxEval int
	// Tol is the relative convergence tolerance of the simplex on the likelihood criterion;
	// 0 means sqrt(machine epsilon) ≈ 1.5e-8, the reltol of R's optim used by forecast::ets.
	Tol float64
	// Transform, if not nil, is applied to y before fitting (Auto then only considers additive
	// models, like forecast::ets with lambda set). Forecast back-transforms the quantiles.
	Transform *Transform
	// SimPaths is the number of simulated sample paths behind the quantiles of the models
	// without an analytic forecast distribution (multiplicative error and season); 0 means
	// 2000 (forecast::forecast.ets uses 5000; 2000 keeps the Monte Carlo error of the 2.5%
	// quantile near 0.4% of its spread at a fraction of the cost).
	SimPaths int
	// Seed seeds the simulation so that forecasts are reproducible.
	Seed uint64
	// AdditiveOnly restricts Auto to additive-error, additive-season models.
	AdditiveOnly bool
}

func (o Options) period() int {
	if o.Period == 0 {
		return DefaultPeriod
	}
	return o.Period
}

func (o Options) maxEval() int {
	if o.MaxEval <= 0 {
		return 2000
	}
	return o.MaxEval
}

// Model is a fitted ETS model. It is immutable and safe for concurrent use.
type Model struct {
	spec   Spec
	m      int // seasonal period (1 without a season)
	par    Params
	x0     []float64 // initial state, seasonal states in chronological order
	n      int
	np     int // estimated parameters excluding sigma (forecast::ets's length(par))
	lik    float64
	sigma2 float64
	resid  []float64
	fitted []float64
	final  state
	tr     *Transform
	paths  int
	seed   uint64
	evals  int
}

// Spec returns the model form.
func (md *Model) Spec() Spec { return md.spec }

// Params returns the smoothing parameters.
func (md *Model) Params() Params { return md.par }

// InitialState returns the initial state in forecast::ets's order: level, slope (if any),
// then the seasonal states from the most recent (s1) to the oldest (sm), the order printed by
// R and stored in ets()$initstate.
func (md *Model) InitialState() []float64 {
	k := 1
	if md.spec.Trend != None {
		k = 2
	}
	out := append([]float64(nil), md.x0[:k]...)
	if md.spec.Season != None {
		for j := md.m - 1; j >= 0; j-- {
			out = append(out, md.x0[k+j])
		}
	}
	return out
}

// LogLik returns forecast::ets's log-likelihood −0.5*(n log SSE + 2 Σ log|ŷ|) (the constant
// terms of the Gaussian likelihood are omitted, as in R).
func (md *Model) LogLik() float64 { return -0.5 * md.lik }

// NumParams returns the number of estimated parameters including the error variance, the
// degrees of freedom of the information criteria.
func (md *Model) NumParams() int { return md.np + 1 }

// AIC returns the Akaike information criterion of forecast::ets, −2 LogLik + 2k.
func (md *Model) AIC() float64 { return md.lik + 2*float64(md.np+1) }

// AICc returns the small-sample corrected AIC, the criterion of automatic selection
// (Hyndman et al. 2008, section 7.1).
func (md *Model) AICc() float64 {
	k := float64(md.np + 1)
	n := float64(md.n)
	if n-k-1 <= 0 {
		return math.Inf(1)
	}
	return md.AIC() + 2*k*(k+1)/(n-k-1)
}

// BIC returns the Bayesian information criterion.
func (md *Model) BIC() float64 { return md.lik + math.Log(float64(md.n))*float64(md.np+1) }

// Sigma2 returns the innovation variance estimate Σe²/(n−np) (e relative errors for
// multiplicative-error models), as forecast::ets's sigma2.
func (md *Model) Sigma2() float64 { return md.sigma2 }

// Residuals returns the one-step innovations (y − ŷ, or (y − ŷ)/ŷ for multiplicative error)
// on the (transformed) scale of the fit.
func (md *Model) Residuals() []float64 { return append([]float64(nil), md.resid...) }

// Fitted returns the one-step in-sample forecasts on the (transformed) scale of the fit.
func (md *Model) Fitted() []float64 { return append([]float64(nil), md.fitted...) }

// Evals returns the number of likelihood evaluations the fit used.
func (md *Model) Evals() int { return md.evals }

// String describes the model like R's print method, in one line.
func (md *Model) String() string {
	return fmt.Sprintf("%v alpha=%.4g beta=%.4g gamma=%.4g phi=%.4g sigma2=%.4g AICc=%.4f",
		md.spec, md.par.Alpha, md.par.Beta, md.par.Gamma, md.par.Phi, md.sigma2, md.AICc())
}

// prepared is a validated, possibly transformed series.
type prepared struct {
	y        []float64
	positive bool
	constant bool
}

func prepare(y []float64, opts Options) (prepared, error) {
	if len(y) == 0 {
		return prepared{}, errors.New("ets: y is empty")
	}
	if err := stats.CheckFinite("y", y); err != nil {
		return prepared{}, fmt.Errorf("ets: %w (fill gaps before fitting)", err)
	}
	if p := opts.Period; p < 0 || p > maxPeriod {
		return prepared{}, fmt.Errorf("ets: Period = %d must be between 0 and %d", p, maxPeriod)
	}
	if opts.Tol < 0 || math.IsNaN(opts.Tol) {
		return prepared{}, fmt.Errorf("ets: Tol = %v must not be negative", opts.Tol)
	}
	if opts.Init < InitOptimize || opts.Init > InitTwoStage {
		return prepared{}, fmt.Errorf("ets: unknown Init method %d", opts.Init)
	}
	z := append([]float64(nil), y...)
	if opts.Transform != nil {
		if err := opts.Transform.Validate(y); err != nil {
			return prepared{}, fmt.Errorf("ets: %w", err)
		}
		z = opts.Transform.ForwardAll(y)
		if err := stats.CheckFinite("transformed y", z); err != nil {
			return prepared{}, fmt.Errorf("ets: %w", err)
		}
	}
	p := prepared{y: z, positive: true, constant: true}
	for _, v := range z {
		if v <= 0 {
			p.positive = false
		}
		if v != z[0] {
			p.constant = false
		}
	}
	return p, nil
}

// Fit estimates the ETS model spec on y by maximum likelihood (Hyndman et al. 2008, chapter
// 5), within forecast::ets's default parameter region ("both": the usual bounds
// 1e-4 <= beta <= alpha <= 0.9999, 1e-4 <= gamma <= 1−alpha, 0.8 <= phi <= 0.98,
// intersected with the admissible region). y must be finite; see Options for the rest.
func Fit(ctx context.Context, y []float64, spec Spec, opts Options) (*Model, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if spec.Restricted() {
		return nil, fmt.Errorf("ets: %v is a forbidden model combination (infinite forecast variance)", spec)
	}
	p, err := prepare(y, opts)
	if err != nil {
		return nil, err
	}
	if opts.Transform != nil && (spec.Error == Multiplicative || spec.Season == Multiplicative) {
		return nil, fmt.Errorf("ets: %v: only additive models are fitted to transformed data", spec)
	}
	if spec.Error == Multiplicative && !p.positive {
		return nil, fmt.Errorf("ets: %v needs strictly positive data", spec)
	}
	if spec.Season != None {
		m := opts.period()
		if m < 2 {
			return nil, fmt.Errorf("ets: %v needs Period >= 2, got %d", spec, m)
		}
		if len(p.y) <= m {
			return nil, fmt.Errorf("ets: %v needs more than Period = %d observations, got %d", spec, m, len(p.y))
		}
	}
	return fit(ctx, p.y, spec, opts)
}

// fit estimates spec on a validated series.
func fit(ctx context.Context, y []float64, spec Spec, opts Options) (*Model, error) {
	m := 1
	if spec.Season != None {
		m = opts.period()
	}
	n := len(y)
	nstate, npar := spec.counts(m)
	// forecast::ets's "not enough data" test: n <= npars + 4 where npars counts the smoothing
	// parameters and initial states (with all m seasonal states).
	npars := 2
	if spec.Trend != None {
		npars += 2
	}
	if spec.Season != None {
		npars += m
	}
	if spec.Damped {
		npars++
	}
	if n <= npars+4 || nstate+npar >= n-1 {
		return nil, fmt.Errorf("ets: %v needs more than %d observations, got %d", spec, npars+4, n)
	}

	x0 := initialState(y, spec, m)
	p0 := initialParams(spec, m)
	obj := newObjective(y, spec, m, x0)

	var v []float64
	var evals int
	switch opts.Init {
	case InitHeuristic, InitTwoStage:
		obj.freeStates = false
		v0, step, lo, hi := obj.start(p0)
		s := settings(opts)
		s.Step = step
		r, err := optim.Minimize(ctx, optim.Problem{Func: obj.eval, Lower: lo, Upper: hi}, v0, s)
		if err != nil {
			return nil, optErr(spec, err)
		}
		evals += r.Evals
		v = r.X
		if opts.Init == InitTwoStage {
			obj.freeStates = true
			p1 := obj.params(v)
			v0, step, lo, hi = obj.start(p1)
			for i := range step[:npar] {
				step[i] *= 0.25
			}
			s = settings(opts)
			s.Step = step
			if opts.MaxEval <= 0 {
				s.MaxEval = 100 * (npar + nstate)
			}
			r, err = optim.Minimize(ctx, optim.Problem{Func: obj.eval, Lower: lo, Upper: hi}, v0, s)
			if err != nil {
				return nil, optErr(spec, err)
			}
			evals += r.Evals
			v = r.X
		}
	default:
		obj.freeStates = true
		v0, step, lo, hi := obj.start(p0)
		s := settings(opts)
		s.Step = step
		r, err := optim.Minimize(ctx, optim.Problem{Func: obj.eval, Lower: lo, Upper: hi}, v0, s)
		if err != nil {
			return nil, optErr(spec, err)
		}
		evals += r.Evals
		v = r.X
	}

	par := obj.params(v)
	xs := obj.state(v)
	md := &Model{spec: spec, m: m, par: par, x0: append([]float64(nil), xs...), n: n,
		np: npar + nstate, tr: opts.Transform, paths: opts.SimPaths, seed: opts.Seed, evals: evals}
	if md.paths <= 0 {
		md.paths = 2000
	}
	md.resid = make([]float64, n)
	md.fitted = make([]float64, n)
	sse, slf, ok := recursion(y, spec, m, par, xs, make([]float64, m), md.resid, md.fitted, &md.final)
	if !ok {
		return nil, fmt.Errorf("ets: %v: non-finite forecasts at the optimum", spec)
	}
	md.lik = minusTwoLogLik(n, sse, slf, spec.Error == Multiplicative)
	md.sigma2 = sse / float64(n-md.np)
	return md, nil
}

func optErr(spec Spec, err error) error {
	if errors.Is(err, optim.ErrNoFiniteStart) {
		return fmt.Errorf("ets: %v: the likelihood is not finite at the starting values", spec)
	}
	return fmt.Errorf("ets: %v: %w", spec, err)
}

func settings(opts Options) optim.Settings {
	s := optim.DefaultSettings()
	s.MaxEval = opts.maxEval()
	if opts.Tol > 0 {
		s.RelTol = opts.Tol
	}
	return s
}

// objective is the likelihood as a function of the optimisation vector
// [alpha, uBeta?, uGamma?, phi?, l, b?, s_2..s_m]. beta and gamma are reparameterised as
// fractions of their usual upper bounds min(0.9999, alpha) and min(0.9999, 1−alpha), which
// turns forecast::ets's usual region into a box that the bounded simplex handles well.
type objective struct {
	y          []float64
	spec       Spec
	m          int
	npar       int
	nstate     int
	x0         []float64 // heuristic initial state (used when freeStates is false)
	freeStates bool
	scale      float64
	xbuf, sbuf []float64
}

func newObjective(y []float64, spec Spec, m int, x0 []float64) *objective {
	nstate, npar := spec.counts(m)
	var mean, ss float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	for _, v := range y {
		ss += (v - mean) * (v - mean)
	}
	scale := math.Sqrt(ss / float64(len(y)))
	if scale == 0 {
		scale = math.Max(math.Abs(mean)*0.01, 1e-3)
	}
	return &objective{y: y, spec: spec, m: m, npar: npar, nstate: nstate, x0: x0,
		scale: scale, xbuf: make([]float64, len(x0)), sbuf: make([]float64, m)}
}

func (o *objective) params(v []float64) Params {
	p := Params{Alpha: v[0], Phi: 1}
	k := 1
	if o.spec.Trend != None {
		p.Beta = lowerSmooth + v[k]*(math.Min(upperSmooth, p.Alpha)-lowerSmooth)
		k++
	}
	if o.spec.Season != None {
		p.Gamma = lowerSmooth + v[k]*(math.Min(upperSmooth, 1-p.Alpha)-lowerSmooth)
		k++
	}
	if o.spec.Damped {
		p.Phi = v[k]
	}
	return p
}

// state returns the full initial state for v (shared buffer).
func (o *objective) state(v []float64) []float64 {
	x := o.xbuf
	if !o.freeStates {
		copy(x, o.x0)
		return x
	}
	// Free states: l, b?, then seasonal s_2..s_m; s_1 is implied.
	k := 1
	if o.spec.Trend != None {
		k = 2
	}
	copy(x[:k], v[o.npar:o.npar+k])
	if o.spec.Season != None {
		copy(x[k+1:], v[o.npar+k:])
		normaliseSeason(x[k:], o.spec.Season == Multiplicative)
	}
	return x
}

// start returns the starting vector, initial simplex steps and box bounds for parameters p
// and the current states.
func (o *objective) start(p Params) (v, step, lo, hi []float64) {
	add := func(x, s, l, h float64) {
		v = append(v, x)
		step = append(step, s)
		lo = append(lo, l)
		hi = append(hi, h)
	}
	add(p.Alpha, 0.1, lowerSmooth, upperSmooth)
	if o.spec.Trend != None {
		u := (p.Beta - lowerSmooth) / (math.Min(upperSmooth, p.Alpha) - lowerSmooth)
		add(clamp01(u), 0.1, 0, 1)
	}
	if o.spec.Season != None {
		u := (p.Gamma - lowerSmooth) / (math.Min(upperSmooth, 1-p.Alpha) - lowerSmooth)
		add(clamp01(u), 0.1, 0, 1)
	}
	if o.spec.Damped {
		add(p.Phi, 0.02, lowerPhi, upperPhi)
	}
	if !o.freeStates {
		return v, step, lo, hi
	}
	inf := math.Inf(1)
	k := 1
	if o.spec.Trend != None {
		k = 2
	}
	x := o.x0
	add(x[0], math.Max(0.1*math.Abs(x[0]), 0.1*o.scale), -inf, inf)
	if k == 2 {
		add(x[1], math.Max(0.1*math.Abs(x[1]), 0.01*o.scale), -inf, inf)
	}
	if o.spec.Season != None {
		for _, s := range x[k+1:] {
			if o.spec.Season == Multiplicative {
				add(s, 0.05, 0, inf)
			} else {
				add(s, math.Max(0.1*math.Abs(s), 0.05*o.scale), -inf, inf)
			}
		}
	}
	return v, step, lo, hi
}

// clamp01 clamps u to [0, 1] (NaN to 0).
func clamp01(u float64) float64 {
	if math.IsNaN(u) || u < 0 {
		return 0
	}
	if u > 1 {
		return 1
	}
	return u
}

// eval returns forecast::ets's criterion n log SSE (+ 2 Σ log|ŷ|) or +Inf outside the
// admissible region.
func (o *objective) eval(v []float64) float64 {
	p := o.params(v)
	if o.spec.Season != None && !admissible(o.spec, o.m, p) {
		return math.Inf(1)
	}
	x := o.state(v)
	if o.spec.Season == Multiplicative {
		k := 1
		if o.spec.Trend != None {
			k = 2
		}
		for _, s := range x[k:] {
			if s < 0 {
				return math.Inf(1)
			}
		}
	}
	sse, slf, ok := recursion(o.y, o.spec, o.m, p, x, o.sbuf, nil, nil, nil)
	if !ok {
		return math.Inf(1)
	}
	return minusTwoLogLik(len(o.y), sse, slf, o.spec.Error == Multiplicative)
}
