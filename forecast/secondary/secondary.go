// Package secondary forecasts hospital deaths as a delayed, slowly varying fraction of hospital
// admissions: the secondary-outcome (delay-convolution) model of EpiNow2's estimate_secondary
// (Abbott, Hellewell, Sherratt, Gostic, Hickson et al., "EpiNow2: Estimate and Forecast
// Real-Time Infection Dynamics", R package, doi:10.32614/CRAN.package.EpiNow2, its vignette
// "Model definition: estimate_secondary()" and R/estimate_secondary.R; the package is based on
// Abbott et al. 2020, "Estimating the time-varying reproduction number of SARS-CoV-2 using
// national and subnational case counts", Wellcome Open Research 5:112,
// doi:10.12688/wellcomeopenres.16006.1). Its documentation's example is this one: deaths
// (secondary) from hospital admissions (primary).
//
// Deaths reported on day t have the expectation
//
//	μ_t = r_t · Σ_{k=0..D} ξ_k · A_{t−k} · ω_{weekday(t)}
//
// with A the primary series (admissions, incid_hosp, or ICU admissions, incid_rea), ξ a
// log-normal (EpiNow2's default) or gamma delay discretised on days and truncated at D, as
// EpiNow2 does — here ξ_k = F(k+1) − F(k), the probability that the delay falls in [k, k+1),
// normalised over 0..D (the vignette writes F(k) − F(k−1): the same up to the day a delay is
// counted on) — ω multiplicative weekday reporting effects (EpiNow2's day-of-week simplex sums
// the effects to 7; here their logarithms sum to 0, the same identification), and r_t the
// secondary fraction (here the hospital fatality ratio), log-linear in time over the fitting
// window, log r_t = a + b·(t−T)/7 with T the origin, fitted with a likelihood discounted
// towards the origin (Options.HalfLife) so that a is the fraction's latest level. The
// observations are negative binomial with mean μ_t and dispersion φ (variance μ + μ²/φ),
// EpiNow2's observation model. Every parameter — a, b, the delay's mean and standard deviation,
// the six free weekday effects and φ — is estimated by maximum likelihood on the last Window
// days up to the origin (the Nelder–Mead simplex of package forecast/internal/optim), where
// EpiNow2 samples a posterior with Stan: the point estimate is what a weekly forecast at
// hundreds of origins can afford.
//
// French public holidays (package forecast/holiday) are left out of the likelihood, and a coming
// holiday or day after one is scaled by the factor holiday.Forecaster.Factors estimates from
// the target, as the +hol wrapper does; doing it inside the model keeps the sample paths, hence
// the weekly totals, consistent with the daily forecasts. The model is registered with its
// holidays handled (+hol adds nothing).
//
// # Forecasting
//
// For a forecast day T+i the convolution reads admissions up to T+i, so beyond the origin it
// needs admissions forecasts. When the frame carries one of the primary column from its origin
// (prevoir.Frame.AheadOf: the forecast flow hands the admissions target's champion forecast)
// covering the horizon, that one is used; otherwise Options.Admissions, any prevoir.Forecaster,
// fitted on the frame whose target is the primary column (prevoir.Frame.WithTarget), is asked for
// a fine grid of quantiles. Sample paths carry the uncertainty: path s draws one uniform u_s and
// takes, on every future day, the admissions forecast's u_s-quantile — the admissions' errors
// are dominated by the epidemic's level, which persists from one day to the next, so a path that
// is high stays high (the days' comonotone coupling, the Fréchet–Hoeffding upper bound M of
// Nelsen, "An Introduction to Copulas", 2nd ed., 2006; drawing the days independently would let
// the errors cancel within a week and understate the weekly totals' spread). On each path the fraction
// beyond the origin follows a random walk on the log scale (Options.Drift), the uncertainty of
// a fraction that will go on moving. Each path's expected deaths are then drawn as negative
// binomial counts (a gamma–Poisson mixture). Daily quantiles are the paths' sample quantiles,
// weekly totals' quantiles those of the paths' weekly sums (stats.SetWeekly);
// the point forecast is the paths' mean expectation μ, or with Options.Median their median
// count (the better under absolute error on 2021: docs/protocols/secondary.md).
// The random numbers are seeded from the data, so a fit forecasts the same twice.
package secondary

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
	"github.com/prevoir/prevoir/forecast/internal/optim"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/naive"
	"github.com/prevoir/prevoir/forecast/rolling"
)

// Options configure the model. The zero value is usable: admissions, a 12-week window, delays
// up to 40 days, a constant fraction, the seasonal naive forecast of admissions; the catalogue
// (package forecast/models) registers the settings chosen on 2021.
type Options struct {
	// Label is the model's name; "secondary" when empty.
	Label string
	// Primary is the leading column the deaths follow; "incid_hosp" when empty.
	Primary string
	// Window is the number of days of deaths the parameters are fitted on, ending at the
	// origin (0 means 84); the admissions are read from MaxDelay days earlier.
	Window int
	// MaxDelay is the longest delay D, in days, from admission to death (0 means 40).
	MaxDelay int
	// Delay is the delay distribution's family (log-normal by default).
	Delay Family
	// Trend fits log r_t linear in time over the window; without it r is constant.
	Trend bool
	// Extrapolate continues the fitted trend of r beyond the origin; without it the fraction
	// stays at its value on the origin.
	Extrapolate bool
	// HalfLife, when positive, weighs day t's log-likelihood by 2^(−(T−t)/HalfLife): a
	// discounted likelihood, which lets the fraction follow its latest level.
	HalfLife float64
	// Admissions forecasts the primary column beyond the origin; nil means the seasonal naive.
	Admissions prevoir.Forecaster
	// Paths is the number of sample paths (0 means 1000).
	Paths int
	// Median makes the point forecast the paths' median count instead of their mean expectation.
	Median bool
	// Drift, when positive, lets the fraction wander beyond the origin on each path: log r
	// follows a Gaussian random walk whose steps have the standard deviation Drift per week
	// (Drift/√7 a day). The fraction fitted on the past is the forecast's largest unknown; the
	// paths' counts alone give intervals too narrow (docs/protocols/secondary.md).
	Drift float64
}

// DefaultWindow, DefaultMaxDelay and DefaultPaths are the defaults of the zero Options.
const (
	DefaultWindow   = 84
	DefaultMaxDelay = 40
	DefaultPaths    = 1000
)

func (o Options) withDefaults() Options {
	if o.Label == "" {
		o.Label = "secondary"
	}
	if o.Primary == "" {
		o.Primary = "incid_hosp"
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.Paths <= 0 {
		o.Paths = DefaultPaths
	}
	if o.Admissions == nil {
		o.Admissions = naive.Forecaster{Method: naive.MethodSeasonalNaive}
	}
	return o
}

// Forecaster is the delay-convolution model; it implements prevoir.Forecaster.
type Forecaster struct {
	Options Options
}

// New returns the model with the given options.
func New(opts Options) *Forecaster { return &Forecaster{Options: opts} }

// Name returns the model's name.
func (fc *Forecaster) Name() string { return fc.Options.withDefaults().Label }

// WithHorizon implements rolling.Horizoned for the admissions model (it may calibrate on its
// past forecasts up to the horizon).
func (fc *Forecaster) WithHorizon(h int) prevoir.Forecaster {
	w := *fc
	if w.Options.Admissions != nil {
		w.Options.Admissions = rolling.WithHorizon(w.Options.Admissions, h)
	}
	return &w
}

// minDays is the fewest observed (ordinary) days of deaths a fit needs.
const minDays = 21

// Params are the estimated parameters.
type Params struct {
	// LogFraction is a = log r_T, the fraction's logarithm on the origin.
	LogFraction float64 `json:"log_fraction"`
	// Slope is b, the change of log r per week.
	Slope float64 `json:"slope"`
	// DelayMean and DelaySD are the mean and standard deviation, in days, of the continuous
	// delay before discretisation.
	DelayMean float64 `json:"delay_mean"`
	DelaySD   float64 `json:"delay_sd"`
	// Weekday are the multiplicative effects ω, Sunday first; their logarithms sum to 0.
	Weekday [7]float64 `json:"weekday"`
	// Dispersion is φ, the negative binomial's size.
	Dispersion float64 `json:"dispersion"`
}

// Family is the delay distribution's family.
type Family int

const (
	// LogNormal is EpiNow2's default delay distribution.
	LogNormal Family = iota
	// Gamma is the other delay family of epidemiology (EpiNow2 offers both).
	Gamma
)

// String returns the family's name.
func (f Family) String() string {
	if f == Gamma {
		return "gamma"
	}
	return "log-normal"
}

// Delay returns the discretised delay distribution ξ_0..ξ_D of the family's continuous
// distribution of the given mean and standard deviation (days): ξ_k = F(k+1) − F(k),
// normalised to sum to 1.
func Delay(family Family, mean, sd float64, maxDelay int) []float64 {
	var cdf func(x float64) float64
	if family == Gamma {
		shape, scale := mean*mean/(sd*sd), sd*sd/mean
		cdf = func(x float64) float64 { return gammaP(shape, x/scale) }
	} else {
		s2 := math.Log1p(sd * sd / (mean * mean))
		mu, s := math.Log(mean)-s2/2, math.Sqrt(s2)
		cdf = func(x float64) float64 {
			if x <= 0 {
				return 0
			}
			return 0.5 * math.Erfc(-(math.Log(x)-mu)/(s*math.Sqrt2))
		}
	}
	w := make([]float64, maxDelay+1)
	total, lo := 0.0, 0.0 // lo = F(k)
	for k := range w {
		hi := cdf(float64(k + 1))
		w[k] = hi - lo
		total += w[k]
		lo = hi
	}
	if !(total > 0) {
		// All the mass beyond D: the truncated distribution is a point mass on D.
		clear(w)
		w[maxDelay] = 1
		return w
	}
	for k := range w {
		w[k] /= total
	}
	return w
}

// DelayMeanDays returns the mean of a discretised delay, in whole days.
func DelayMeanDays(w []float64) float64 {
	m := 0.0
	for k, v := range w {
		m += float64(k) * v
	}
	return m
}

// problem is the likelihood of the deaths in the window given the admissions.
type problem struct {
	o      Options
	origin prevoir.Date
	// aStart is the date of adm[0]; adm ends on the origin.
	aStart prevoir.Date
	adm    []float64
	// days are the fitted (observed, ordinary) death days, with their counts and weights.
	days   []prevoir.Date
	y      []float64
	weight []float64
	// at, weekday and weeks are, per fitted day, its index in adm, its weekday and its distance
	// to the origin in weeks: the likelihood's inner loop reads them, evaluated thousands of
	// times per fit.
	at      []int
	weekday []int
	weeks   []float64
}

// newProblem reads the deaths and the primary column of f.
func newProblem(f *prevoir.Frame, o Options) (*problem, error) {
	if f == nil || f.Len() == 0 {
		return nil, errors.New("empty frame")
	}
	origin := f.Dates[f.Len()-1]
	adm, aStart, err := primary(f, o.Primary, o.Window+o.MaxDelay)
	if err != nil {
		return nil, err
	}
	dStart, y, err := adapt.Calendar(f, f.Target, o.Window)
	if err != nil {
		return nil, err
	}
	p := &problem{o: o, origin: origin, aStart: aStart, adm: adm}
	cal := holiday.Remember(holiday.France)
	for i, v := range y {
		d := dStart + prevoir.Date(i)
		// The convolution needs admissions MaxDelay days back.
		if math.IsNaN(v) || d-prevoir.Date(o.MaxDelay) < aStart || holiday.Classify(d, cal) != holiday.Ordinary {
			continue
		}
		w := 1.0
		if o.HalfLife > 0 {
			w = math.Exp2(-float64(origin-d) / o.HalfLife)
		}
		p.days, p.y, p.weight = append(p.days, d), append(p.y, math.Max(v, 0)), append(p.weight, w)
		p.at, p.weekday, p.weeks = append(p.at, int(d-aStart)), append(p.weekday, int(d.Weekday())), append(p.weeks, float64(d-origin)/7)
	}
	if len(p.days) < minDays {
		return nil, fmt.Errorf("%d days of %s with %d days of %s before them, need at least %d (window %d days, delays up to %d)",
			len(p.days), f.Target, o.MaxDelay, o.Primary, minDays, o.Window, o.MaxDelay)
	}
	return p, nil
}

// primary returns the last days of the named column, ending on f's last day (the origin), gaps
// of up to two weeks interpolated on the weekly cycle, and the date of its first value. A
// column that is absent, or stopped before the origin, is an error naming it: the model reads
// admissions up to the origin, and forecasts them only after it.
func primary(f *prevoir.Frame, name string, days int) ([]float64, prevoir.Date, error) {
	s, err := adapt.Column(f, name, adapt.Options{Window: days, Period: 7, Fill: true})
	if err != nil {
		return nil, 0, fmt.Errorf("leading column %q: %w", name, err)
	}
	if s.Lead > 0 {
		return nil, 0, fmt.Errorf("leading column %q stops on %s, %d days before the origin %s: the model needs it up to the origin",
			name, s.Origin-prevoir.Date(s.Lead), s.Lead, s.Origin)
	}
	return s.Values, s.Start, nil
}

// The parameter vector θ of the optimiser.
const (
	iFraction = iota
	iSlope
	iMean
	iSD
	iWeekday    // six free log effects, Monday to Saturday; Sunday's makes the sum 0
	iDispersion = iWeekday + 6
	nParams     = iDispersion + 1
)

// params maps θ to the parameters.
func params(theta []float64) Params {
	p := Params{LogFraction: theta[iFraction], Slope: theta[iSlope], DelayMean: theta[iMean], DelaySD: theta[iSD],
		Dispersion: math.Exp(theta[iDispersion])}
	sum := 0.0
	for d := 1; d < 7; d++ {
		p.Weekday[d] = math.Exp(theta[iWeekday+d-1])
		sum += theta[iWeekday+d-1]
	}
	p.Weekday[0] = math.Exp(-sum)
	return p
}

// convolve returns Σ_k ξ_k A_{d−k} for the day d from admissions adm starting on aStart;
// days after the end of adm read ahead (the forecast admissions), nil for none.
func convolve(xi []float64, adm []float64, aStart, d prevoir.Date, ahead []float64) float64 {
	s := 0.0
	for k, w := range xi {
		j := int(d - prevoir.Date(k) - aStart)
		switch {
		case j < 0:
		case j < len(adm):
			s += w * adm[j]
		case j-len(adm) < len(ahead):
			s += w * ahead[j-len(adm)]
		}
	}
	return s
}

// nbLogLik is the negative binomial log-likelihood of y with mean mu and size phi, without the
// term −log y! that does not depend on the parameters.
func nbLogLik(y, mu, phi float64) float64 {
	mu = math.Max(mu, 1e-9)
	lg1, _ := math.Lgamma(y + phi)
	lg2, _ := math.Lgamma(phi)
	return lg1 - lg2 + phi*math.Log(phi/(phi+mu)) + y*math.Log(mu/(phi+mu))
}

// negLogLik is the objective.
func (pb *problem) negLogLik(theta []float64) float64 {
	p := params(theta)
	xi := Delay(pb.o.Delay, p.DelayMean, p.DelaySD, pb.o.MaxDelay)
	ll := 0.0
	for i, j := range pb.at {
		// μ_d of the package documentation on the precomputed indices (newProblem keeps only
		// days with MaxDelay days of admissions before them).
		c := 0.0
		for k, w := range xi {
			c += w * pb.adm[j-k]
		}
		mu := math.Exp(p.LogFraction+p.Slope*pb.weeks[i]) * c * p.Weekday[pb.weekday[i]]
		ll += pb.weight[i] * nbLogLik(pb.y[i], mu, p.Dispersion)
	}
	if math.IsNaN(ll) {
		return math.Inf(1)
	}
	return -ll
}

// fit maximises the likelihood: a start from a 10-day delay and the ratio of the totals, then
// one restart of the simplex from the best point (a restart recovers from a simplex that
// collapsed early, McKinnon 1998, SIAM J. Optim. 9(1)).
func (pb *problem) fit(ctx context.Context) (Params, error) {
	D := float64(pb.o.MaxDelay)
	x0 := make([]float64, nParams)
	x0[iMean], x0[iSD] = math.Min(10, D/2), math.Min(5, D/4)
	xi := Delay(pb.o.Delay, x0[iMean], x0[iSD], pb.o.MaxDelay)
	var sy, sc float64
	var byDay [7]float64
	var nDay [7]int
	for i, d := range pb.days {
		c := convolve(xi, pb.adm, pb.aStart, d, nil)
		sy += pb.y[i]
		sc += c
		if c > 0 {
			byDay[d.Weekday()] += pb.y[i] / c
			nDay[d.Weekday()]++
		}
	}
	if !(sy > 0 && sc > 0) {
		return Params{}, fmt.Errorf("no deaths or no %s in the window: nothing to estimate a fraction from", pb.o.Primary)
	}
	x0[iFraction] = math.Log(sy / sc)
	// Weekday effects: the weekday's mean ratio relative to all days', on the log scale.
	var logs [7]float64
	lsum := 0.0
	for d := range 7 {
		if nDay[d] > 0 && byDay[d] > 0 {
			logs[d] = math.Log(byDay[d] / float64(nDay[d]) / (sy / sc))
		}
		lsum += logs[d]
	}
	for d := 1; d < 7; d++ {
		x0[iWeekday+d-1] = logs[d] - lsum/7
	}
	x0[iDispersion] = math.Log(20)
	lower := make([]float64, nParams)
	upper := make([]float64, nParams)
	step := make([]float64, nParams)
	for i := range lower {
		lower[i], upper[i], step[i] = -3, 3, 0.2
	}
	lower[iFraction], upper[iFraction], step[iFraction] = -15, 5, 0.3
	lower[iSlope], upper[iSlope], step[iSlope] = 0, 0, 0
	if pb.o.Trend {
		lower[iSlope], upper[iSlope], step[iSlope] = -1, 1, 0.05
	}
	lower[iMean], upper[iMean], step[iMean] = 1, D-1, 2
	lower[iSD], upper[iSD], step[iSD] = 0.1, D/2, 2
	lower[iDispersion], upper[iDispersion], step[iDispersion] = math.Log(0.5), math.Log(1e5), 1
	s := optim.DefaultSettings()
	s.MaxEval = 4000
	s.RelTol = 1e-10
	s.Step = step
	prob := optim.Problem{Func: pb.negLogLik, Lower: lower, Upper: upper}
	res, err := optim.Minimize(ctx, prob, x0, s)
	if err != nil {
		return Params{}, err
	}
	if res2, err := optim.Minimize(ctx, prob, res.X, s); err == nil && res2.F <= res.F {
		res = res2
	} else if ctx.Err() != nil {
		return Params{}, ctx.Err()
	}
	return params(res.X), nil
}

// Fit estimates the parameters on the window ending at f's last day and fits the admissions
// model on f with the primary column as its target.
func (fc *Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	o := fc.Options.withDefaults()
	if o.Window < minDays {
		return nil, fmt.Errorf("%s: Window = %d days: want at least %d", o.Label, o.Window, minDays)
	}
	if o.HalfLife < 0 || math.IsNaN(o.HalfLife) {
		return nil, fmt.Errorf("%s: HalfLife = %v must not be negative", o.Label, o.HalfLife)
	}
	if o.Drift < 0 || math.IsNaN(o.Drift) {
		return nil, fmt.Errorf("%s: Drift = %v must not be negative", o.Label, o.Drift)
	}
	if o.Primary == f.Target {
		return nil, fmt.Errorf("%s: primary column %q is the target: want a column that leads it", o.Label, o.Primary)
	}
	pb, err := newProblem(f, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	p, err := pb.fit(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	g, err := f.WithTarget(o.Primary)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	adm, err := o.Admissions.Fit(ctx, g)
	if err != nil {
		return nil, fmt.Errorf("%s: forecasting %s: %w", o.Label, o.Primary, err)
	}
	factors, days := (&holiday.Forecaster{}).Factors(f)
	return &fitted{o: o, p: p, pb: pb, adm: adm, given: f.AheadOf(o.Primary), factors: factors, days: days}, nil
}

type fitted struct {
	o   Options
	p   Params
	pb  *problem
	adm prevoir.Fitted
	// given is the forecast of the primary column handed with the frame (Frame.AheadOf), nil
	// when there is none: adm forecasts it then.
	given   *prevoir.CovariateForecast
	factors map[holiday.Kind]float64
	days    map[holiday.Kind]int
	once    sync.Once
	seed    uint64
}

// admissionLevels is the grid of quantiles asked of the admissions model: a path's uniform is
// read on it by linear interpolation.
func admissionLevels() []float64 {
	q := make([]float64, 0, 99)
	for i := 1; i <= 99; i++ {
		q = append(q, float64(i)/100)
	}
	return q
}

// dataSeed derives the paths' seed from the data the forecast depends on, so that the same fit
// forecasts the same and a refit on other data draws other numbers.
func (ft *fitted) dataSeed() uint64 {
	ft.once.Do(func() {
		vals := append([]float64{float64(ft.pb.origin)}, ft.pb.adm...)
		ft.seed = stats.Seed(append(vals, ft.pb.y...)...)
	})
	return ft.seed
}

// Predict forecasts the h days after the origin from sample paths.
func (ft *fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	if h < 1 {
		return nil, fmt.Errorf("%s: horizon %d must be at least 1", ft.o.Label, h)
	}
	if !increasingLevels(quantiles) {
		return nil, fmt.Errorf("%s: quantiles %v: want strictly increasing levels in (0, 1)", ft.o.Label, quantiles)
	}
	levels, afc, err := ft.admissions(ctx, h)
	if err != nil {
		return nil, err
	}
	pb, p := ft.pb, ft.p
	origin := pb.origin
	xi := Delay(ft.o.Delay, p.DelayMean, p.DelaySD, ft.o.MaxDelay)
	cal := holiday.Remember(holiday.France)
	// scale[i] is μ per unit of convolution on day origin+i+1; the fraction stays at its
	// origin value unless its trend is extrapolated.
	slope := 0.0
	if ft.o.Extrapolate {
		slope = p.Slope
	}
	scale := make([]float64, h)
	for i := range scale {
		d := origin + prevoir.Date(i+1)
		scale[i] = math.Exp(p.LogFraction+slope*float64(i+1)/7) * p.Weekday[d.Weekday()]
		if k := holiday.Classify(d, cal); k != holiday.Ordinary {
			scale[i] *= ft.factors[k]
		}
	}
	n := ft.o.Paths
	rng := rand.New(rand.NewPCG(ft.dataSeed(), 0x5ec0dda7))
	counts := make([][]float64, n)
	expect := make([]float64, h)
	ahead := make([]float64, h)
	for s := range n {
		if s%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		// Stratified uniforms: one per stratum of width 1/n, the same on every day of the path.
		u := (float64(s) + rng.Float64()) / float64(n)
		for i := range h {
			ahead[i] = math.Max(interpolate(levels, afc.Values[i], u), 0)
		}
		counts[s] = make([]float64, h)
		walk := 0.0
		for i := range h {
			if ft.o.Drift > 0 {
				walk += ft.o.Drift / math.Sqrt(7) * rng.NormFloat64()
			}
			mu := scale[i] * math.Exp(walk) * convolve(xi, pb.adm, pb.aStart, origin+prevoir.Date(i+1), ahead)
			expect[i] += mu / float64(n)
			counts[s][i] = negBinomial(rng, mu, p.Dispersion)
		}
	}
	fc := &prevoir.Forecast{Model: ft.o.Label, Origin: origin, Quantiles: slices.Clone(quantiles),
		Dates: make([]prevoir.Date, h), Point: make([]float64, h), Values: make([][]float64, h)}
	day := make([]float64, n)
	for i := range h {
		fc.Dates[i] = origin + prevoir.Date(i+1)
		for s := range n {
			day[s] = counts[s][i]
		}
		slices.Sort(day)
		fc.Point[i] = expect[i]
		if ft.o.Median {
			fc.Point[i] = stats.Quantile6(day, 0.5)
		}
		fc.Values[i] = stats.Contain(stats.Quantiles6(day, quantiles), quantiles, fc.Point[i])
	}
	if fc.Weeks() > 0 {
		if err := stats.SetWeekly(fc, counts); err != nil {
			return nil, err
		}
	}
	if err := fc.Validate(); err != nil {
		return nil, err
	}
	return fc, nil
}

// admissions returns the forecast of the primary column for the h days after the origin and its
// quantile levels: the forecast given with the frame when it covers the h days (its quantile
// levels, the forecast hubs' 23 from 0.01 to 0.99, are read as the admissions model's 99 are),
// otherwise the admissions model's.
func (ft *fitted) admissions(ctx context.Context, h int) ([]float64, *prevoir.Forecast, error) {
	if g := ft.given; g != nil && usable(&g.Forecast, ft.pb.origin, h) {
		return g.Quantiles, &g.Forecast, nil
	}
	levels := admissionLevels()
	afc, err := ft.adm.Predict(ctx, h, levels)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: forecasting %s: %w", ft.o.Label, ft.o.Primary, err)
	}
	if len(afc.Values) != h {
		return nil, nil, fmt.Errorf("%s: the %s forecast has %d days, want %d", ft.o.Label, ft.o.Primary, len(afc.Values), h)
	}
	return levels, afc, nil
}

// usable says whether fc forecasts the h days after origin with quantiles a path can be read
// on: valid, at least two strictly increasing levels in (0, 1).
func usable(fc *prevoir.Forecast, origin prevoir.Date, h int) bool {
	return fc.Origin == origin && len(fc.Dates) >= h && len(fc.Quantiles) >= 2 && increasingLevels(fc.Quantiles) && fc.Validate() == nil
}

// increasingLevels says whether q are strictly increasing probabilities in (0, 1).
func increasingLevels(q []float64) bool {
	for j, p := range q {
		if !(p > 0 && p < 1) || (j > 0 && p <= q[j-1]) {
			return false
		}
	}
	return true
}

// interpolate reads the quantile function given at levels (values v) at u, linearly, constant
// beyond the extreme levels.
func interpolate(levels, v []float64, u float64) float64 {
	j, _ := slices.BinarySearch(levels, u)
	switch {
	case j == 0:
		return v[0]
	case j >= len(levels):
		return v[len(v)-1]
	}
	w := (u - levels[j-1]) / (levels[j] - levels[j-1])
	return v[j-1] + w*(v[j]-v[j-1])
}

// Describe gives the estimates, for the run record.
func (ft *fitted) Describe() string {
	p := ft.p
	xi := Delay(ft.o.Delay, p.DelayMean, p.DelaySD, ft.o.MaxDelay)
	s := fmt.Sprintf("deaths = %.4f x %s convolved with a %s delay (mean %.1f days, sd %.1f, discretised mean %.1f) x weekday %s; slope %.3f/week, NB size %.1f; %d days fitted from %s; holiday factors %.2f/%.2f",
		math.Exp(p.LogFraction), ft.o.Primary, ft.o.Delay, p.DelayMean, p.DelaySD, DelayMeanDays(xi), fmtWeekday(p.Weekday), p.Slope, p.Dispersion,
		len(ft.pb.days), ft.pb.days[0], ft.factors[holiday.Holiday], ft.factors[holiday.After])
	if g := ft.given; g != nil {
		s += fmt.Sprintf("; %s ahead: forecast %d of %s v%d (%s)", ft.o.Primary, g.ForecastID, g.Target, g.Version, g.Family)
	}
	return s
}

func fmtWeekday(w [7]float64) string {
	return fmt.Sprintf("[%.2f %.2f %.2f %.2f %.2f %.2f %.2f]", w[0], w[1], w[2], w[3], w[4], w[5], w[6])
}
