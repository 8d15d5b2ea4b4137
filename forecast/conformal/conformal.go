// Package conformal wraps any forecaster with prediction intervals calibrated on its own past
// errors: split conformal prediction applied to rolling forecast origins.
//
// At origin o the wrapped model is refitted at the past origins o−every, o−2·every, ... (the
// rolling-origin evaluation of Tashman 2000), and for every horizon j the residuals of the
// forecasts whose target day is on or before o are collected — never a day after o, so the
// intervals use no information the forecaster could not have had. The q-quantile of the
// forecast for horizon j is the model's point forecast plus the empirical q-quantile of the
// horizon-j residuals. This is the "conformal-style" interval built from forecast residuals of
// Hyndman & Athanasopoulos, "Forecasting: Principles and Practice" (3rd ed.), section 5.5
// (intervals from bootstrapped residuals) with the calibration set taken out of sample, as in
// split conformal prediction (Angelopoulos & Bates 2021, "A gentle introduction to conformal
// prediction and distribution-free uncertainty quantification", arXiv:2107.07511) and its
// multi-horizon time-series form (Stankeviciute, Alaa & van der Schaar 2021, "Conformal
// time-series forecasting", NeurIPS), which calibrates every horizon separately.
//
// The past origins are spaced by whole weeks (Every = 7), so each horizon always falls on the
// same weekday as in the current forecast, and calibrating every horizon separately also
// calibrates every weekday: the quiet Sunday and the busy Monday get their own residuals.
// Residuals are additive, y − ŷ, by default; Scale = Log1p forms them as log(1+y) − log(1+ŷ)
// (relative errors). On the hospital series the additive form was the better calibrated
// (docs/protocols/backtest.md).
//
// The empirical quantile is the Hyndman & Fan (1996) type-6 estimate, position q(n+1), the
// smooth form of the conformal (n+1) correction: with n residuals a central interval between
// the k-th smallest and k-th largest covers a new error with probability (n+1−2k)/(n+1). Past
// the extreme order statistics the quantile is the extreme residual itself, so with 25
// residuals the 95% interval spans them all and covers about 92%.
//
// Only the intervals change; the point forecast is the wrapped model's, and every central
// interval contains it (a biased model's interval is widened to reach its point).
//
// Weekly totals (prevoir.Weeks) are calibrated the same way, directly on weekly sums: at the
// same past origins, the residuals of the totals of each whole week w of the forecasts
// (actual total − the sum of the daily points, on the same scale), for the weeks whose last
// day is on or before the origin and wholly observed, give the quantiles of week w's total
// around the sum of its daily points. A week's errors are not the sum of its days' quantiles:
// the days' errors partly cancel, or add up when the model misses a trend, and the weekly
// residuals measure which (Hyndman & Athanasopoulos, section 13.8, on forecasting aggregates).
// The wrapped model's own weekly quantiles, if any, are replaced. With too few weekly
// residuals (MinResiduals, borrowed from the nearest weeks as for the days) the forecast has no
// weekly totals.
package conformal

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/rolling"
)

// Scale is the scale on which residuals are formed and added back.
type Scale int

const (
	// Additive forms residuals y − ŷ; the default.
	Additive Scale = iota
	// Log1p forms residuals log(1+y) − log(1+ŷ) (relative errors).
	Log1p
)

// String returns the scale's name.
func (s Scale) String() string {
	if s == Log1p {
		return "log1p"
	}
	return "additive"
}

// Defaults.
const (
	DefaultOrigins      = 26 // half a year of weekly origins
	DefaultEvery        = 7
	DefaultHorizon      = prevoir.DefaultHorizon
	DefaultMinResiduals = 10
)

// Options control the calibration. The zero value uses the defaults.
type Options struct {
	// Name is the wrapped model's name; the inner name + "+cp" when empty.
	Name string
	// Origins is the number of past origins the model is refitted at (DefaultOrigins): each
	// horizon gets about that many residuals. More residuals give steadier quantiles, older
	// ones may describe a different phase of the epidemic.
	Origins int
	// Every is the spacing of the past origins in days (DefaultEvery).
	Every int
	// Horizon is the longest horizon calibrated (DefaultHorizon); Predict refuses longer.
	Horizon int
	// Scale is the residual scale (Additive by default).
	Scale Scale
	// MinResiduals is the fewest residuals a horizon's quantiles are taken from; a horizon
	// with fewer borrows those of the nearest horizons (DefaultMinResiduals).
	MinResiduals int
}

func (o Options) withDefaults() Options {
	if o.Origins <= 0 {
		o.Origins = DefaultOrigins
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Horizon <= 0 {
		o.Horizon = DefaultHorizon
	}
	if o.MinResiduals <= 0 {
		o.MinResiduals = DefaultMinResiduals
	}
	return o
}

// Forecaster is a forecaster whose intervals are calibrated conformally. It implements
// prevoir.Forecaster and rolling.Composite.
type Forecaster struct {
	Inner   prevoir.Forecaster
	Options Options
}

// Wrap returns inner with conformal intervals.
func Wrap(inner prevoir.Forecaster, opts Options) *Forecaster {
	return &Forecaster{Inner: inner, Options: opts}
}

// Name returns the model's name.
func (c *Forecaster) Name() string {
	if c.Options.Name != "" {
		return c.Options.Name
	}
	return c.Inner.Name() + "+cp"
}

// WithHorizon implements rolling.Horizoned: the copy calibrates horizons 1..h, and its inner
// model is set up for h days too.
func (c *Forecaster) WithHorizon(h int) prevoir.Forecaster {
	w := *c
	w.Options.Horizon = h
	w.Inner = rolling.WithHorizon(c.Inner, h)
	return &w
}

// Needs lists the inner model at origin and at the past origins.
func (c *Forecaster) Needs(origin prevoir.Date) []rolling.Need {
	o := c.Options.withDefaults()
	needs := []rolling.Need{{Model: c.Inner, Origin: origin}}
	for _, p := range rolling.Past(origin, o.Every, o.Origins) {
		needs = append(needs, rolling.Need{Model: c.Inner, Origin: p})
	}
	return needs
}

// Fit fits the model at f's last date, refitting the inner model at past origins of f.
func (c *Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	return c.FitFrom(ctx, f, rolling.Direct(f))
}

// FitFrom fits at f's last date with the inner models from src.
func (c *Forecaster) FitFrom(ctx context.Context, f *prevoir.Frame, src rolling.Source) (prevoir.Fitted, error) {
	if f.Len() == 0 {
		return nil, fmt.Errorf("%s: empty frame", c.Name())
	}
	o := c.Options.withDefaults()
	origin := f.Dates[f.Len()-1]
	src = rolling.Bounded(src, origin)
	inner, err := src.Fit(ctx, c.Inner, origin)
	if err != nil {
		return nil, err
	}
	past, err := rolling.PastForecasts(ctx, src, c.Inner, rolling.Past(origin, o.Every, o.Origins), o.Horizon)
	if err != nil {
		return nil, err
	}
	y := f.TargetValues()
	res := make([][]float64, o.Horizon)
	weeks := o.Horizon / prevoir.WeekDays
	wres := make([][]float64, weeks)
	for _, fc := range past {
		if fc == nil {
			continue
		}
		actual := make([]float64, len(fc.Dates))
		for j, d := range fc.Dates {
			actual[j] = math.NaN()
			if d > origin {
				continue // not known at the origin
			}
			a := rolling.Actual(f, y, d)
			actual[j] = a
			if math.IsNaN(a) {
				continue
			}
			res[j] = append(res[j], transform(o.Scale, a)-transform(o.Scale, fc.Point[j]))
		}
		for w := range min(weeks, fc.Weeks()) {
			// NaN unless the week's seven days are known at the origin and observed.
			if a := prevoir.WeekTotal(actual, w); !math.IsNaN(a) {
				wres[w] = append(wres[w], transform(o.Scale, a)-transform(o.Scale, prevoir.WeekTotal(fc.Point, w)))
			}
		}
	}
	ft := &fitted{name: c.Name(), inner: inner, scale: o.Scale, res: make([][]float64, o.Horizon)}
	for j := range res {
		pool := borrow(res, j, o.MinResiduals)
		if len(pool) < o.MinResiduals {
			return nil, fmt.Errorf("%s: %d past residuals at horizon %d before %s, need %d", c.Name(), len(pool), j+1, origin, o.MinResiduals)
		}
		ft.res[j] = pool
	}
	// Weekly totals only when every week has enough residuals: a forecast's weeks come
	// together or not at all.
	for w := range wres {
		pool := borrow(wres, w, o.MinResiduals)
		if len(pool) < o.MinResiduals {
			ft.wres = nil
			break
		}
		ft.wres = append(ft.wres, pool)
	}
	return ft, nil
}

// borrow returns the sorted residuals of res[j], with those of the nearest other indices
// (horizons, weeks) added while there are fewer than least.
func borrow(res [][]float64, j, least int) []float64 {
	pool := slices.Clone(res[j])
	for w := 1; len(pool) < least && w < len(res); w++ {
		if j-w >= 0 {
			pool = append(pool, res[j-w]...)
		}
		if j+w < len(res) {
			pool = append(pool, res[j+w]...)
		}
	}
	slices.Sort(pool)
	return pool
}

func transform(s Scale, v float64) float64 {
	v = math.Max(v, 0)
	if s == Log1p {
		return math.Log1p(v)
	}
	return v
}

func inverse(s Scale, v float64) float64 {
	if s == Log1p {
		return math.Expm1(v)
	}
	return v
}

type fitted struct {
	name  string
	inner prevoir.Fitted
	scale Scale
	res   [][]float64 // sorted residuals by horizon
	wres  [][]float64 // sorted residuals of the weekly totals by week, nil for none
}

// Predict forecasts with the inner model and replaces its quantiles by conformal ones.
func (ft *fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	if h > len(ft.res) {
		return nil, fmt.Errorf("%s: calibrated up to horizon %d, asked for %d", ft.name, len(ft.res), h)
	}
	fc, err := ft.inner.Predict(ctx, h, nil)
	if err != nil {
		return nil, err
	}
	out := &prevoir.Forecast{Model: ft.name, Origin: fc.Origin, Dates: fc.Dates, Point: fc.Point,
		Quantiles: slices.Clone(quantiles), Values: make([][]float64, h)}
	for i := range h {
		// A model biased at a horizon (its residuals there mostly of one sign) has calibrated
		// quantiles centred away from its point, possibly with the point outside even the
		// widest interval. The point is what is served as the forecast, so each central
		// interval is widened to contain it (the order of the quantiles is kept, coverage can
		// only rise).
		out.Values[i] = ft.quantiles(fc.Point[i], ft.res[i], quantiles)
	}
	if n := out.Weeks(); n > 0 && n <= len(ft.wres) {
		out.Weekly = &prevoir.Weeks{Point: make([]float64, n), Values: make([][]float64, n)}
		for w := range n {
			out.Weekly.Point[w] = prevoir.WeekTotal(out.Point, w)
			out.Weekly.Values[w] = ft.quantiles(out.Weekly.Point[w], ft.wres[w], quantiles)
		}
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// quantiles are the point plus the residuals' quantiles at levels (on the scale), clipped at
// 0, sorted, and widened to contain the point.
func (ft *fitted) quantiles(point float64, res, levels []float64) []float64 {
	z := transform(ft.scale, point)
	row := make([]float64, len(levels))
	for j, p := range levels {
		row[j] = math.Max(inverse(ft.scale, z+stats.Quantile6(res, p)), 0)
	}
	slices.Sort(row)
	return stats.Contain(row, levels, point)
}

// Describe says what the intervals were calibrated on, for the run record.
func (ft *fitted) Describe() string {
	d := ft.calibrationSummary()
	if in, ok := ft.inner.(interface{ Describe() string }); ok {
		d += "; " + in.Describe()
	}
	return d
}

// Calibration is what a conformal fit learned: the sorted residuals per horizon on its scale,
// and those of the weekly totals per week. It is pinned with the inner model's state, so that
// its intervals need no refit at past origins. A calibration stored before weekly totals has
// no WeeklyResiduals: its forecasts have no weekly totals.
type Calibration struct {
	Scale           Scale       `json:"scale"`
	Residuals       [][]float64 `json:"residuals"`
	WeeklyResiduals [][]float64 `json:"weekly_residuals,omitempty"`
}

// withCalibration gives inner the intervals of a stored calibration.
func withCalibration(name string, inner prevoir.Fitted, cal Calibration) (prevoir.Fitted, error) {
	if len(cal.Residuals) == 0 {
		return nil, fmt.Errorf("%s: empty calibration", name)
	}
	res := make([][]float64, len(cal.Residuals))
	for j, r := range cal.Residuals {
		if len(r) == 0 {
			return nil, fmt.Errorf("%s: no residual at horizon %d", name, j+1)
		}
		res[j] = slices.Clone(r)
		slices.Sort(res[j])
	}
	var wres [][]float64
	for w, r := range cal.WeeklyResiduals {
		if len(r) == 0 {
			return nil, fmt.Errorf("%s: no residual of week %d's total", name, w+1)
		}
		wres = append(wres, slices.Sorted(slices.Values(r)))
	}
	return &fitted{name: name, inner: inner, scale: cal.Scale, res: res, wres: wres}, nil
}
