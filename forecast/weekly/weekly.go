// Package weekly forecasts the totals of the coming weeks, the forecast hubs' unit, and splits
// them into days by an estimated weekday profile corrected for public holidays.
//
// # Weekly totals
//
// Week 0 is the seven days ending at the last observed day, week j the seven days before week
// j−1. With D_j the deaths of week j, the model is a direct multi-horizon log-linear regression
// of the growth over k weeks on the last weekly growths of deaths and of leading indicators
// (by default hospital admissions, whose growth leads that of deaths by one to two weeks; ICU
// admissions did worse on 2021, see docs/protocols/weekly.md):
//
//	log(D_{t+k}+1) − log(D_t+1) = b_0 + b_1 g^D_t + Σ_c Σ_{l<L} b_{c,l} g^c_{t−l} + e_k,
//
// g^x_t = log(x_t+1) − log(x_{t−1}+1), fitted by (ridge) least squares over the last Window
// weeks, one regression per horizon k: the direct strategy of Ben Taieb, Bontempi, Atiya &
// Sorjamaa (2012), "A review and comparison of strategies for multi-step ahead time series
// forecasting", Expert Systems with Applications 39(8), so no forecast of the admissions is
// needed. The predictive distribution of a week's total is log-normal: normal
// on the log scale with the regression's residual standard deviation, its median the point
// forecast. The weekly quantiles are the model's own, not sums of daily ones.
//
// # Days
//
// A week's total is split by the weekday profile: the share of each weekday in its week, the
// median over the last ProfileWeeks whole weeks without a public holiday (robust to a single
// odd day). A coming public holiday and the day after it are scaled by the factors of package
// forecast/holiday (holiday.Forecaster.Factors, the median ratio of past such days to the same
// weekday around them) and the week renormalised, so the week's total is unchanged and the
// holiday moves deaths to other days, as reporting does. Daily quantiles are an approximation:
// each day is log-normal around its point with the log-scale variance of its week's total plus
// that of the days' scatter around the profile (the residual variance of log(y/(share·total))
// over the profile weeks); days of a week are thus treated as perfectly correlated in their
// weekly component and independent in their profile noise.
//
// The model handles holidays itself, so it is registered as already corrected (+hol adds
// nothing).
package weekly

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

// Options configure the model. The zero value uses the defaults documented on each field.
type Options struct {
	// Label is the model's name; "weekly" when empty.
	Label string
	// Window is the number of past weeks each horizon's regression is fitted on; 0 means 78.
	Window int
	// Covariates are the leading indicators whose weekly growth is a feature; nil means
	// DefaultCovariates, an empty non-nil slice none. A covariate missing from the frame, or
	// not observed in its last week, is left out.
	Covariates []string
	// Lags is the number of past weekly growths of each covariate; 0 means 2.
	Lags int
	// Lambda is the ridge penalty on the growth coefficients, relative to the number of weeks;
	// 0 means none (least squares).
	Lambda float64
	// ProfileWeeks is the number of recent weeks the weekday profile is the median over; 0
	// means 10.
	ProfileWeeks int
	// MaxGap is the longest gap interpolated (see package forecast/internal/adapt); 0 means 14.
	MaxGap int
}

// DefaultCovariates are the leading indicators: hospital admissions (adding ICU admissions
// did worse on 2021, docs/protocols/weekly.md).
func DefaultCovariates() []string { return []string{"incid_hosp"} }

func (o Options) withDefaults() Options {
	if o.Label == "" {
		o.Label = "weekly"
	}
	if o.Window <= 0 {
		o.Window = 78
	}
	if o.Covariates == nil {
		o.Covariates = DefaultCovariates()
	}
	if o.Lags <= 0 {
		o.Lags = 2
	}
	o.Lambda = max(o.Lambda, 0)
	if o.ProfileWeeks <= 0 {
		o.ProfileWeeks = 10
	}
	return o
}

// Forecaster is the weekly-total model; it implements prevoir.Forecaster.
type Forecaster struct {
	Options Options
}

// New returns the model with the given options.
func New(opts Options) *Forecaster { return &Forecaster{Options: opts} }

// Name returns the model's name.
func (fc *Forecaster) Name() string { return fc.Options.withDefaults().Label }

// horizon is one horizon's regression.
type horizon struct {
	Beta  []float64 `json:"beta"`
	Sigma float64   `json:"sigma"`
}

// fitted is a fitted model: the regressions, the profile and the holiday factors, applied to
// the data of the frame it was fitted or loaded on.
type fitted struct {
	o      Options
	s      *adapt.Series
	d      []float64   // weekly deaths, oldest first; the last is week 0
	covs   []string    // the covariates in use
	c      [][]float64 // their weekly totals, aligned with d (NaN where unobserved)
	share  [7]float64  // weekday profile by time.Weekday
	sigmaP float64     // log-scale scatter of the days around the profile
	factor map[holiday.Kind]float64
	pinned bool

	mu  sync.Mutex
	hzs []horizon
}

// Fit fits the model on the frame up to its last date.
func (fc *Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := fc.Options.withDefaults()
	ft, err := build(f, o, o.Covariates)
	if err != nil {
		return nil, err
	}
	if err := ft.profile(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	ft.factor, _ = (&holiday.Forecaster{}).Factors(f)
	if err := ft.ensure(ctx, fitWeeks); err != nil {
		return nil, err
	}
	return ft, nil
}

// fitWeeks is the number of weekly horizons fitted at once (more are fitted on demand, but a
// pinned model has these only): the default horizon plus the longest interpolated gap at the
// origin, in whole weeks.
const fitWeeks = (prevoir.DefaultHorizon + adapt.DefaultMaxGap + 6) / 7

// build reads the weekly totals of the target and of the covariates that are observed in the
// last week (names) from f.
func build(f *prevoir.Frame, o Options, names []string) (*fitted, error) {
	// Enough days for the regressions of fitWeeks horizons, the lags and the profile.
	weeks := max(o.Window+fitWeeks+o.Lags+1, o.ProfileWeeks) + 1
	s, err := adapt.Target(f, adapt.Options{Window: 7 * weeks, Period: 7, Fill: true, MaxGap: o.MaxGap, MinLen: 7 * (o.Lags + 4)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	ft := &fitted{o: o, s: s, d: totals(s.Values)}
	for _, name := range names {
		if name == f.Target {
			return nil, fmt.Errorf("%s: covariate %q is the target: want a column that leads it", o.Label, name)
		}
		if f.Column(name) == nil {
			continue
		}
		cs, err := adapt.Column(f, name, adapt.Options{Window: 7 * weeks, Period: 7, Fill: true, MaxGap: o.MaxGap})
		if err != nil {
			continue // no usable value: the model does without it
		}
		// Align the covariate's days on the target's weeks.
		x := make([]float64, len(s.Values))
		for i := range x {
			j := int(s.Start + prevoir.Date(i) - cs.Start)
			x[i] = math.NaN()
			if j >= 0 && j < len(cs.Values) {
				x[i] = cs.Values[j]
			}
		}
		w := totals(x)
		if math.IsNaN(w[len(w)-1]) {
			continue // not observed in the last week: nothing to forecast from
		}
		ft.covs = append(ft.covs, name)
		ft.c = append(ft.c, w)
	}
	return ft, nil
}

// totals returns the sums of the whole weeks of y ending at its last value, oldest first; a
// week with a missing day is NaN.
func totals(y []float64) []float64 {
	n := len(y) / 7
	w := make([]float64, n)
	off := len(y) - 7*n
	for j := range w {
		s := 0.0
		for _, v := range y[off+7*j : off+7*j+7] {
			s += v
		}
		w[j] = s
	}
	return w
}

// lg is the log scale of weekly totals.
func lg(x float64) float64 { return math.Log(math.Max(x, 0) + 1) }

// nfeatures is the width of the regression on ncovs covariates (features): the intercept, the
// deaths' growth and Lags growths per covariate.
func (o Options) nfeatures(ncovs int) int { return 2 + ncovs*o.Lags }

// features returns the regression's features at week t (an index into ft.d), or false when one
// is missing.
func (ft *fitted) features(t int) ([]float64, bool) {
	if t < max(1, ft.o.Lags) {
		return nil, false
	}
	x := []float64{1, lg(ft.d[t]) - lg(ft.d[t-1])}
	for _, c := range ft.c {
		for l := range ft.o.Lags {
			x = append(x, lg(c[t-l])-lg(c[t-l-1]))
		}
	}
	for _, v := range x {
		if math.IsNaN(v) {
			return nil, false
		}
	}
	return x, true
}

// ensure fits the regressions of horizons 1..k that are not fitted yet.
func (ft *fitted) ensure(ctx context.Context, k int) error {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	for h := len(ft.hzs) + 1; h <= k; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ft.pinned {
			return fmt.Errorf("%s: the pinned model has %d weekly horizons, %d asked", ft.o.Label, len(ft.hzs), k)
		}
		var X [][]float64
		var z []float64
		last := len(ft.d) - 1
		for t := last - h; t >= 0 && len(z) < ft.o.Window; t-- {
			x, ok := ft.features(t)
			if !ok || math.IsNaN(ft.d[t+h]) {
				continue
			}
			X = append(X, x)
			z = append(z, lg(ft.d[t+h])-lg(ft.d[t]))
		}
		p := ft.o.nfeatures(len(ft.c))
		if len(z) < p+2 {
			return fmt.Errorf("%s: %d weeks to fit horizon %d on %d features, need %d", ft.o.Label, len(z), h, p, p+2)
		}
		beta, err := ridge(X, z, ft.o.Lambda)
		if err != nil {
			return fmt.Errorf("%s: horizon %d: %w", ft.o.Label, h, err)
		}
		ss := 0.0
		for i, x := range X {
			e := z[i] - dot(beta, x)
			ss += e * e
		}
		ft.hzs = append(ft.hzs, horizon{Beta: beta, Sigma: math.Sqrt(ss / float64(len(z)-p))})
	}
	return nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// minLambda is the penalty used when none is asked: negligible beside the growths' variance
// (about 1e-2 on the log scale), enough to keep the normal equations regular.
const minLambda = 1e-9

// ridge solves min ‖z − Xb‖² + λ Σ_{j≥1} b_j² (the intercept, column 0, unpenalised) by the
// Cholesky factorisation of the normal equations (XᵀX + λ n D) b = Xᵀz: a handful of features.
func ridge(X [][]float64, z []float64, lambda float64) ([]float64, error) {
	p := len(X[0])
	a := make([][]float64, p)
	for i := range a {
		a[i] = make([]float64, p)
	}
	xtz := make([]float64, p)
	for r, x := range X {
		for i := range p {
			for j := range p {
				a[i][j] += x[i] * x[j]
			}
			xtz[i] += x[i] * z[r]
		}
	}
	// A tiny penalty keeps the system solvable when features are collinear (a series growing
	// at a constant rate has a constant growth feature, collinear with the intercept): the
	// penalised solution then puts the growth in the intercept.
	for i := 1; i < p; i++ {
		a[i][i] += max(lambda, minLambda) * float64(len(z))
	}
	l, err := stats.Cholesky(a)
	if err != nil {
		return nil, fmt.Errorf("singular design: %w", err)
	}
	return stats.CholSolve(l, xtz), nil
}

// profile estimates the weekday shares and the days' scatter around them on the last
// ProfileWeeks whole weeks without a special day.
func (ft *fitted) profile() error {
	y := ft.s.Values
	off := len(y) - 7*len(ft.d)
	type week struct {
		start prevoir.Date
		days  []float64
		total float64
	}
	var weeks []week
	for j := len(ft.d) - 1; j >= 0 && len(weeks) < ft.o.ProfileWeeks; j-- {
		start := ft.s.Start + prevoir.Date(off+7*j)
		special := false
		for i := range 7 {
			special = special || holiday.Classify(start+prevoir.Date(i), holiday.France) != holiday.Ordinary
		}
		if special || !(ft.d[j] > 0) {
			continue
		}
		weeks = append(weeks, week{start, y[off+7*j : off+7*j+7], ft.d[j]})
	}
	if len(weeks) == 0 {
		return fmt.Errorf("no whole week without a holiday and with deaths in the last %d weeks for the weekday profile", len(ft.d))
	}
	var shares [7][]float64
	for _, w := range weeks {
		for i, v := range w.days {
			wd := (w.start + prevoir.Date(i)).Weekday()
			shares[wd] = append(shares[wd], v/w.total)
		}
	}
	sum := 0.0
	for wd := range shares {
		slices.Sort(shares[wd])
		ft.share[wd] = stats.Quantile6(shares[wd], 0.5) // the median
		sum += ft.share[wd]
	}
	for wd := range ft.share {
		ft.share[wd] /= sum
	}
	var ss float64
	n := 0
	for _, w := range weeks {
		for i, v := range w.days {
			sh := ft.share[(w.start + prevoir.Date(i)).Weekday()]
			if v > 0 && sh > 0 {
				e := math.Log(v / (sh * w.total))
				ss += e * e
				n++
			}
		}
	}
	if n > 1 {
		ft.sigmaP = math.Sqrt(ss / float64(n-1))
	}
	return nil
}

// Predict forecasts the h days after the origin.
func (ft *fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	lead := ft.s.Lead
	k := (lead + h + 6) / 7
	if err := ft.ensure(ctx, k); err != nil {
		return nil, err
	}
	ft.mu.Lock()
	hzs := ft.hzs[:k]
	ft.mu.Unlock()
	last := len(ft.d) - 1
	x, ok := ft.features(last)
	if !ok {
		return nil, fmt.Errorf("%s: the last weeks of %s are not all observed", ft.o.Label, strings.Join(append([]string{"deaths"}, ft.covs...), ", "))
	}
	z := make([]float64, len(quantiles))
	for j, p := range quantiles {
		z[j] = stats.NormalQuantile(p)
	}
	// Week w's log-scale median m[w] and median total.
	base := lg(ft.d[last])
	m := make([]float64, k)
	total := make([]float64, k)
	for w, hz := range hzs {
		m[w] = base + dot(hz.Beta, x)
		total[w] = math.Max(math.Exp(m[w])-1, 0)
	}
	end := ft.s.Start + prevoir.Date(len(ft.s.Values)-1)
	n := lead + h
	point := make([]float64, n)
	q := make([][]float64, n)
	for w := range k {
		var wt [7]float64
		sum := 0.0
		for i := range 7 {
			d := end + prevoir.Date(7*w+i+1)
			wt[i] = ft.share[d.Weekday()]
			if kind := holiday.Classify(d, holiday.France); kind != holiday.Ordinary {
				wt[i] *= ft.factor[kind]
			}
			sum += wt[i]
		}
		sd := math.Hypot(hzs[w].Sigma, ft.sigmaP)
		for i := range 7 {
			t := 7*w + i
			if t >= n {
				break
			}
			point[t] = total[w] * wt[i] / sum
			q[t] = make([]float64, len(z))
			for j := range z {
				q[t][j] = point[t] * math.Exp(z[j]*sd)
			}
		}
	}
	fc, err := adapt.Forecast(ft.o.Label, ft.s.Origin, lead, h, point, q, quantiles)
	if err != nil {
		return nil, err
	}
	if lead == 0 && fc.Weeks() > 0 && len(quantiles) > 0 {
		// The weeks of the forecast are the model's weeks: their quantiles are the model's own.
		wk := &prevoir.Weeks{}
		for w := range fc.Weeks() {
			pt := prevoir.WeekTotal(fc.Point, w)
			row := make([]float64, len(z))
			for j := range z {
				row[j] = math.Max(math.Exp(m[w]+z[j]*hzs[w].Sigma)-1, 0)
			}
			wk.Point = append(wk.Point, pt)
			wk.Values = append(wk.Values, stats.Contain(row, quantiles, pt))
		}
		fc.Weekly = wk
		if err := fc.Validate(); err != nil {
			return nil, err
		}
	}
	return fc, nil
}

// Describe says what was fitted, for the run record.
func (ft *fitted) Describe() string {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "weekly log-growth regression on %d weeks", ft.o.Window)
	if len(ft.covs) > 0 {
		fmt.Fprintf(&b, " with %d lags of the growth of %s", ft.o.Lags, strings.Join(ft.covs, ", "))
	}
	for k, hz := range ft.hzs {
		fmt.Fprintf(&b, "; week %d: sigma %.3f", k+1, hz.Sigma)
	}
	fmt.Fprintf(&b, "; weekday shares %.3f (Sunday first), holiday factors %.2f/%.2f",
		ft.share, ft.factor[holiday.Holiday], ft.factor[holiday.After])
	return b.String()
}
