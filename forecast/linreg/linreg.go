// Package linreg forecasts with ridge regressions on lagged values: one linear model per
// horizon (the direct strategy), as Darts' RegressionModel with multi_models=True.
//
// The model for horizon k predicts z[t+k] from the target's last Lags values z[t], ...,
// z[t−Lags+1], optionally the last CovariateLags values of covariates, and 0/1 indicators of
// the weekday of day t+k (the hospital series has a strong weekly reporting cycle). z is the
// target or, with Log1p, log(1+y), on which the weekly cycle and the epidemic waves are
// closer to additive. A separate model per horizon avoids feeding forecasts back as inputs
// and the accumulation of their errors (the direct strategy of Ben Taieb, Bontempi, Atiya &
// Sorjamaa 2012, "A review and comparison of strategies for multi-step ahead time series
// forecasting based on the NN5 forecasting competition", Expert Systems with Applications
// 39(8), 7067-7083).
//
// Features are standardised and the coefficients shrunk by a ridge penalty λ·n·‖β‖² (Hoerl &
// Kennard 1970; Hastie, Tibshirani & Friedman, "The Elements of Statistical Learning", section
// 3.4.1), which keeps 28 strongly correlated lags stable. Unless Lambda is set, λ is chosen
// from a grid by a time-series hold-out: fit on the samples whose target day is before the last
// Holdout days, score the squared error on those days over horizons 1..Horizon, keep the best
// (FPP3 section 5.10, evaluation on a rolling forecasting origin, with a single origin).
//
// With Growth, the models predict log growth instead of levels (growth.go): the target of
// horizon k is log((1+y[t+k])/(1+ȳ7[t])), ȳ7[t] the mean of the last seven days, and the
// features are ratios and weekly growths on the log scale, of the target and of leading
// indicators (hospital and ICU admissions lead deaths by one to two weeks). The ridge penalty
// then shrinks towards "as last week" rather than towards the mean level.
//
// Prediction intervals come from the in-sample residuals of each horizon's model, inflated by
// sqrt(n/(n−df)) with df the effective degrees of freedom of the ridge fit: the empirical
// residual quantiles are added to the forecast on the z scale and transformed back. In-sample
// residuals still understate out-of-sample errors; wrap the model with package
// forecast/conformal for calibrated intervals.
//
// Weekly totals get their own quantiles from bootstrapped residual paths (paths.go): the
// residuals of horizons 1..h at one sample origin form a joint vector, and adding whole vectors
// to the point path keeps the correlation of the errors across the days of a week.
//
// Gaps are handled as for ETS (package forecast/internal/adapt): interior gaps up to MaxGap
// days are interpolated on the weekly cycle, the data before a longer gap are dropped, and
// when the origin's value is missing the models for horizons k+Lead are used.
package linreg

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// Options configure the regression. The zero value is a plain ridge regression on 28 lags
// of the untransformed target over the whole history; DefaultOptions is the tuned setting.
type Options struct {
	// Label is the model's name; "linreg" when empty.
	Label string
	// Lags is the number of target lags (0 means 28, four weeks).
	Lags int
	// Log1p fits on log(1+y) and transforms the forecasts back.
	Log1p bool
	// Weekday adds indicators of the target day's weekday.
	Weekday bool
	// Covariates names frame columns used as lagged inputs. A covariate missing on the last
	// observed day of the target (a source that stopped), or observed on less than half the
	// training days, is left out of the fit; the training samples start where every
	// covariate kept is observed.
	Covariates []string
	// AllCovariates uses every covariate column of the frame (Kind "covariate").
	AllCovariates bool
	// CovariateLags is the number of lags of each covariate (0 means 7).
	CovariateLags int
	// Window is the number of days of history used, ending at the origin; 0 uses all of it.
	Window int
	// Lambda fixes the ridge penalty (per sample, on standardised features); 0 chooses it
	// from Lambdas by hold-out.
	Lambda float64
	// Lambdas is the grid searched (nil means DefaultLambdas).
	Lambdas []float64
	// Holdout is the number of final days scored when choosing λ (0 means 56).
	Holdout int
	// Horizon is the number of horizons fitted (and scored by the hold-out) at Fit; longer
	// forecasts fit their extra horizons on demand. 0 means 14.
	Horizon int
	// MaxGap is the longest gap interpolated; 0 means 14 days.
	MaxGap int
	// Growth models log growth relative to the last week's mean (growth.go); it implies Log1p.
	// Each covariate then contributes CovariateLags ratios log((1+x[t−l])/(1+ȳ7[t])) and
	// GrowthWeeks weekly growths of its 7-day mean.
	Growth bool
	// GrowthWeeks is the number of weekly growths of the target's and each covariate's 7-day
	// mean used with Growth (0 means 3).
	GrowthWeeks int
	// Holidays adds an indicator that the target day is a French public holiday
	// (holiday.France).
	Holidays bool
}

// DefaultLambdas is the default grid of ridge penalties.
func DefaultLambdas() []float64 { return []float64{1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1} }

// DefaultOptions returns the setting tuned on the hospital-death series: 28 lags of log1p(y),
// weekday indicators, the last two years of history, λ chosen by an eight-week hold-out.
func DefaultOptions() Options {
	return Options{Lags: 28, Log1p: true, Weekday: true, Window: 730}
}

// LeadOptions returns the growth design on hospital admissions, the leading indicator of
// deaths, chosen on the 2021 origins (docs/protocols/leadreg.md): 7 lags of the deaths' log ratio to their
// last week's level, 3 of the admissions' ratio to it, the weekly growths of both over the
// last 3 weeks, weekday and public-holiday indicators of the target day, the last two years,
// a fixed penalty λ = 0.1 (the hold-out's choice wandered over the whole grid from one week to
// the next, and the fixed value did better on 2021, at half the cost). ICU admissions and
// positivity were tried and dropped: they made the 2021 forecasts worse.
func LeadOptions() Options {
	return Options{Label: "leadreg", Lags: 7, Growth: true, GrowthWeeks: 3, Covariates: []string{"incid_hosp"}, CovariateLags: 3,
		Weekday: true, Holidays: true, Window: 730, Lambda: 0.1}
}

func (o Options) withDefaults() Options {
	if o.Label == "" {
		o.Label = "linreg"
	}
	if o.Lags <= 0 {
		o.Lags = 28
	}
	if o.CovariateLags <= 0 {
		o.CovariateLags = 7
	}
	if o.Holdout <= 0 {
		o.Holdout = 56
	}
	if o.Horizon <= 0 {
		o.Horizon = prevoir.DefaultHorizon
	}
	if len(o.Lambdas) == 0 {
		o.Lambdas = DefaultLambdas()
	}
	if o.GrowthWeeks <= 0 {
		o.GrowthWeeks = 3
	}
	if o.Growth {
		o.Log1p = true
	}
	return o
}

// Forecaster is the direct ridge regression; it implements prevoir.Forecaster.
type Forecaster struct {
	Options Options
}

// New returns the forecaster with the given options.
func New(opts Options) *Forecaster { return &Forecaster{Options: opts} }

// Name returns the model's name.
func (fc *Forecaster) Name() string { return fc.Options.withDefaults().Label }

// Fit prepares the features and fits the models for horizons 1..Horizon.
func (fc *Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	o := fc.Options.withDefaults()
	if o.Lambda < 0 || math.IsNaN(o.Lambda) {
		return nil, fmt.Errorf("%s: Lambda = %v must not be negative", o.Label, o.Lambda)
	}
	ft := &fitted{o: o}
	s, err := adapt.Target(f, adapt.Options{Window: o.Window, Period: 7, Fill: true, MaxGap: o.MaxGap,
		MinLen: ft.lookback() + 2*o.Horizon + 8})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	ft.setTarget(s)
	if err := ft.covariates(f); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	ft.lambda = o.Lambda
	if ft.lambda == 0 {
		if ft.lambda, err = ft.chooseLambda(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Label, err)
		}
	}
	if err := ft.ensure(ctx, o.Horizon+s.Lead); err != nil {
		return nil, err
	}
	return ft, nil
}

type covariate struct {
	name  string
	x     []float64 // aligned with fitted.z, transformed
	log1p bool
	// level is, with Growth, the log of the 7-day mean, log(1+x̄7), aligned with fitted.z.
	level []float64
}

type fitted struct {
	o      Options
	s      *adapt.Series
	z      []float64 // transformed target
	base   []float64 // with Growth, log(1+ȳ7[t]): the last week's mean level (growth.go)
	covs   []covariate
	absent []string // requested covariates left out, with the reason
	start  int      // first usable feature index t
	lambda float64

	mu     sync.Mutex
	models []*model // by horizon−1, fitted on demand
	// pinned is true for a model loaded from its pinned state: it has no training design, so
	// its horizons are those pinned.
	pinned bool
}

// setTarget takes the target series: its transform and, with Growth, its weekly level; the
// first usable origin is the first with every lag.
func (ft *fitted) setTarget(s *adapt.Series) {
	ft.s, ft.z = s, make([]float64, len(s.Values))
	for i, v := range s.Values {
		ft.z[i] = ft.forward(v)
	}
	if ft.o.Growth {
		ft.base = weekLevel(s.Values, 0)
	}
	ft.start = ft.lookback()
}

// lookback is how many days before an origin its target features read.
func (ft *fitted) lookback() int {
	if ft.o.Growth {
		return max(ft.o.Lags-1, 7*ft.o.GrowthWeeks+6)
	}
	return ft.o.Lags - 1
}

// covLookback is how many days before an origin a covariate's features read.
func (ft *fitted) covLookback() int {
	if ft.o.Growth {
		return max(ft.o.CovariateLags-1, 7*ft.o.GrowthWeeks+6)
	}
	return ft.o.CovariateLags - 1
}

func (ft *fitted) forward(v float64) float64 {
	if ft.o.Log1p {
		return math.Log1p(math.Max(v, 0))
	}
	return v
}

func (ft *fitted) inverse(v float64) float64 {
	if ft.o.Log1p {
		return math.Expm1(v)
	}
	return v
}

// covariates aligns, fills and transforms the covariate columns, and moves the first usable
// index past their leading gaps.
func (ft *fitted) covariates(f *prevoir.Frame) error {
	names := slices.Clone(ft.o.Covariates)
	if ft.o.AllCovariates {
		for _, c := range f.Columns {
			if c.Kind == prevoir.KindCovariate && !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	n := len(ft.z)
	for _, name := range names {
		z, from, err := ft.align(f, name)
		if err != nil {
			return err
		}
		if from >= n || math.IsNaN(z[n-1]) {
			ft.absent = append(ft.absent, name+" (missing on the last day)")
			continue
		}
		if from+ft.covLookback() > n/2 {
			// Starting it this late would drop more than half the training samples.
			ft.absent = append(ft.absent, name+" (observed on less than half the days)")
			continue
		}
		positive := true
		for _, v := range z[from:] {
			positive = positive && v >= 0
		}
		c := covariate{name: name, x: z, log1p: positive && ft.o.Log1p}
		c.transform(from, ft.o.Growth)
		ft.covs = append(ft.covs, c)
		ft.start = max(ft.start, from+ft.covLookback())
	}
	return nil
}

// align returns the named column on the target's days, its gaps filled as the target's, and the
// index of its first usable value.
func (ft *fitted) align(f *prevoir.Frame, name string) (z []float64, from int, err error) {
	if name == f.Target {
		return nil, 0, fmt.Errorf("covariate %q is the target", name)
	}
	start, y, err := adapt.Calendar(f, name, 0)
	if err != nil {
		return nil, 0, err
	}
	// Align on the target's days ft.s.Start .. ft.s.Start+n-1.
	x := make([]float64, len(ft.z))
	for i := range x {
		d := int(ft.s.Start) + i - int(start)
		x[i] = math.NaN()
		if d >= 0 && d < len(y) {
			x[i] = y[d]
		}
	}
	z, from, _ = adapt.Fill(x, 7, max(ft.o.MaxGap, adapt.DefaultMaxGap))
	return z, from, nil
}

// transform blanks the values before from and applies log1p when the covariate uses it; with
// growth it also computes the covariate's weekly level.
func (c *covariate) transform(from int, growth bool) {
	if growth {
		c.level = weekLevel(c.x, from)
	}
	for i := range c.x {
		if i < from {
			c.x[i] = math.NaN()
		} else if c.log1p {
			c.x[i] = math.Log1p(c.x[i])
		}
	}
}

// offset is what the models of origin index t predict relative to: 0, or with Growth the last
// week's level, so that they predict log growth.
func (ft *fitted) offset(t int) float64 {
	if ft.o.Growth {
		return ft.base[t]
	}
	return 0
}

// features writes the features of origin index t for target day t+k into row.
func (ft *fitted) features(row []float64, t, k int) {
	p := 0
	off := ft.offset(t)
	for l := range ft.o.Lags {
		row[p] = ft.z[t-l] - off
		p++
	}
	if ft.o.Growth {
		p = ft.growthFeatures(row, p, t)
	} else {
		for _, c := range ft.covs {
			for l := range ft.o.CovariateLags {
				row[p] = c.x[t-l]
				p++
			}
		}
	}
	if ft.o.Holidays {
		row[p] = 0
		if holiday.France(ft.s.Start + prevoir.Date(t+k)) {
			row[p] = 1
		}
		p++
	}
	if ft.o.Weekday {
		wd := int((ft.s.Start + prevoir.Date(t+k)).Weekday())
		for d := 1; d < 7; d++ { // Sunday is the reference day
			row[p] = 0
			if wd == d {
				row[p] = 1
			}
			p++
		}
	}
}

func (ft *fitted) nfeatures() int {
	p := ft.o.Lags + len(ft.covs)*ft.o.CovariateLags
	if ft.o.Growth {
		p += (1 + len(ft.covs)) * ft.o.GrowthWeeks
	}
	if ft.o.Holidays {
		p++
	}
	if ft.o.Weekday {
		p += 6
	}
	return p
}

// design returns the feature rows and targets of horizon k for origin indices t in
// [ft.start, last].
func (ft *fitted) design(k, last int) (x [][]float64, y []float64) {
	p, n := ft.nfeatures(), max(last-ft.start+1, 0)
	buf := make([]float64, n*p)
	x, y = make([][]float64, n), make([]float64, n)
	for r := range n {
		t := ft.start + r
		x[r] = buf[r*p : (r+1)*p : (r+1)*p]
		ft.features(x[r], t, k)
		y[r] = ft.z[t+k] - ft.offset(t)
	}
	return x, y
}

// chooseLambda picks the penalty with the smallest hold-out squared error summed over
// horizons 1..Horizon.
func (ft *fitted) chooseLambda(ctx context.Context) (float64, error) {
	n := len(ft.z)
	cut := n - 1 - ft.o.Holdout // last target index of the training part
	sse := make([]float64, len(ft.o.Lambdas))
	for k := 1; k <= ft.o.Horizon; k++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if cut-k-ft.start < 2*ft.nfeatures() {
			return 0, fmt.Errorf("%d days are too few for a hold-out of %d days at horizon %d", n, ft.o.Holdout, k)
		}
		x, y := ft.design(k, n-1-k)
		ntrain := cut - k - ft.start + 1 // samples whose target day is at most cut
		hx, hy := x[ntrain:], y[ntrain:]
		st := standardise(x[:ntrain], y[:ntrain])
		for i, lam := range ft.o.Lambdas {
			m, err := solve(st, lam, false)
			if err != nil {
				return 0, err
			}
			for r := range hx {
				e := hy[r] - m.predict(hx[r])
				sse[i] += e * e
			}
		}
	}
	best := 0
	for i := range sse {
		if sse[i] < sse[best] {
			best = i
		}
	}
	return ft.o.Lambdas[best], nil
}

// ensure fits the models of horizons 1..h that are not fitted yet.
func (ft *fitted) ensure(ctx context.Context, h int) error {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	n := len(ft.z)
	if ft.pinned && h > len(ft.models) {
		return fmt.Errorf("%s: the pinned model has horizons 1 to %d, asked for %d (retrain it)", ft.o.Label, len(ft.models), h)
	}
	for k := len(ft.models) + 1; k <= h; k++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if n-1-k-ft.start < ft.nfeatures()+2 {
			return fmt.Errorf("%s: %d days are too few for horizon %d", ft.o.Label, n, k)
		}
		x, y := ft.design(k, n-1-k)
		st := standardise(x, y)
		m, err := solve(st, ft.lambda, true)
		if err != nil {
			return fmt.Errorf("%s: horizon %d: %w", ft.o.Label, k, err)
		}
		// In-sample residuals, inflated for the fitted degrees of freedom.
		infl := 1.0
		if dof := float64(len(y)) - m.df; dof > 1 {
			infl = math.Sqrt(float64(len(y)) / dof)
		}
		// By sample origin: res[r] of every horizon is the error at origin index start+r, so
		// that the residuals of one origin form a joint vector across horizons (paths.go).
		m.res = make([]float64, len(y))
		for r := range x {
			m.res[r] = (y[r] - m.predict(x[r])) * infl
		}
		m.sorted = slices.Sorted(slices.Values(m.res))
		ft.models = append(ft.models, m)
	}
	return nil
}

// Predict forecasts the h days after the origin.
func (ft *fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	if h < 1 {
		return nil, fmt.Errorf("%s: horizon %d must be at least 1", ft.o.Label, h)
	}
	for j, p := range quantiles {
		if !(p > 0 && p < 1) {
			return nil, fmt.Errorf("%s: quantiles[%d] = %v must lie strictly between 0 and 1", ft.o.Label, j, p)
		}
	}
	lead := ft.s.Lead
	if err := ft.ensure(ctx, h+lead); err != nil {
		return nil, err
	}
	ft.mu.Lock()
	models := ft.models[:h+lead]
	ft.mu.Unlock()
	t := len(ft.z) - 1
	row := make([]float64, ft.nfeatures())
	point := make([]float64, h+lead)
	zhat := make([]float64, h+lead)
	q := make([][]float64, h+lead)
	for k := 1; k <= h+lead; k++ {
		ft.features(row, t, k)
		m := models[k-1]
		zhat[k-1] = ft.offset(t) + m.predict(row)
		point[k-1] = ft.inverse(zhat[k-1])
		q[k-1] = make([]float64, len(quantiles))
		for j, p := range quantiles {
			q[k-1][j] = ft.inverse(zhat[k-1] + stats.Quantile6(m.sorted, p))
		}
	}
	fc, err := adapt.Forecast(ft.o.Label, ft.s.Origin, lead, h, point, q, quantiles)
	if err != nil {
		return nil, err
	}
	if err := ft.setWeekly(fc, models, zhat, lead); err != nil {
		return nil, err
	}
	return fc, nil
}

// Describe gives the penalty, the features and the data, for the run record.
func (ft *fitted) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ridge lambda=%g, %d target lags", ft.lambda, ft.o.Lags)
	ft.writeFeatures(&b)
	if len(ft.absent) > 0 {
		fmt.Fprintf(&b, ", left out: %s", strings.Join(ft.absent, ", "))
	}
	fmt.Fprintf(&b, "; %d days from %s", len(ft.z), ft.s.Start)
	if ft.s.Filled > 0 {
		fmt.Fprintf(&b, ", %d interpolated", ft.s.Filled)
	}
	return b.String()
}

// writeFeatures writes what follows the target lags in Describe and in the pinned summary: the
// lags' scale, the indicators and the covariates' lags.
func (ft *fitted) writeFeatures(b *strings.Builder) {
	if ft.o.Growth {
		fmt.Fprintf(b, " of log growth, %d weekly growths", ft.o.GrowthWeeks)
	} else if ft.o.Log1p {
		b.WriteString(" of log1p(y)")
	}
	if ft.o.Holidays {
		b.WriteString(", holiday indicator")
	}
	if ft.o.Weekday {
		b.WriteString(", weekday indicators")
	}
	if len(ft.covs) > 0 {
		names := make([]string, len(ft.covs))
		for i, c := range ft.covs {
			names[i] = c.name
		}
		fmt.Fprintf(b, ", %d lags of %s", ft.o.CovariateLags, strings.Join(names, ", "))
	}
}

// standardised is a centred and scaled least-squares problem: its Gram matrix and moment
// vector, with the means and scales that map raw features to standardised ones.
type standardised struct {
	mean, scale []float64 // per feature; scale 0 marks a constant feature (dropped)
	ymean       float64
	gram        [][]float64 // Z'Z / n
	xty         []float64   // Z'(y−ȳ) / n
}

func standardise(x [][]float64, y []float64) *standardised {
	n, p := len(x), len(x[0])
	st := &standardised{mean: make([]float64, p), scale: make([]float64, p), xty: make([]float64, p)}
	for _, row := range x {
		for j, v := range row {
			st.mean[j] += v
		}
	}
	for j := range st.mean {
		st.mean[j] /= float64(n)
	}
	for _, v := range y {
		st.ymean += v
	}
	st.ymean /= float64(n)
	for _, row := range x {
		for j, v := range row {
			d := v - st.mean[j]
			st.scale[j] += d * d
		}
	}
	for j := range st.scale {
		st.scale[j] = math.Sqrt(st.scale[j] / float64(n))
		if st.scale[j] < 1e-12 {
			st.scale[j] = 0
		}
	}
	z := make([]float64, p)
	st.gram = make([][]float64, p)
	for j := range st.gram {
		st.gram[j] = make([]float64, p)
	}
	for r, row := range x {
		for j, v := range row {
			if st.scale[j] > 0 {
				z[j] = (v - st.mean[j]) / st.scale[j]
			} else {
				z[j] = 0
			}
		}
		dy := y[r] - st.ymean
		for j := range p {
			if z[j] == 0 {
				continue
			}
			st.xty[j] += z[j] * dy
			gj := st.gram[j]
			for l := j; l < p; l++ {
				gj[l] += z[j] * z[l]
			}
		}
	}
	for j := range p {
		st.xty[j] /= float64(n)
		for l := j; l < p; l++ {
			st.gram[j][l] /= float64(n)
			st.gram[l][j] = st.gram[j][l]
		}
	}
	return st
}

// model is one horizon's fitted regression.
type model struct {
	st   *standardised
	beta []float64 // on standardised features
	df   float64   // effective degrees of freedom, tr((G+λI)⁻¹G) + 1 for the intercept
	// res are the in-sample residuals (inflated) by sample origin, nil for a model pinned
	// before they were kept in that order; sorted are the same, sorted (the daily intervals).
	res, sorted []float64
}

func (m *model) predict(row []float64) float64 {
	v := m.st.ymean
	for j, b := range m.beta {
		if s := m.st.scale[j]; s > 0 {
			v += b * (row[j] - m.st.mean[j]) / s
		}
	}
	return v
}

// solve returns the ridge solution (G + λI)β = Z'y of the standardised problem and, with
// withDF, its effective degrees of freedom.
func solve(st *standardised, lambda float64, withDF bool) (*model, error) {
	p := len(st.xty)
	a := make([][]float64, p)
	for j := range a {
		a[j] = slices.Clone(st.gram[j])
		a[j][j] += lambda
		if st.scale[j] == 0 {
			a[j][j] = 1 // constant feature: β = 0
		}
	}
	l, err := stats.Cholesky(a)
	if err != nil {
		return nil, fmt.Errorf("ridge system: %w", err)
	}
	m := &model{st: st, beta: stats.CholSolve(l, st.xty), df: 1}
	if !withDF {
		return m, nil
	}
	col := make([]float64, p)
	for j := range p {
		if st.scale[j] == 0 {
			continue
		}
		for i := range p {
			col[i] = st.gram[i][j]
		}
		m.df += stats.CholSolve(l, col)[j]
	}
	return m, nil
}
