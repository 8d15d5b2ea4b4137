// Package adapt connects the plain-series model packages (naive, ets, theta, linreg) to the
// domain: it turns a column of a prevoir.Frame into the daily series a model fits, and a
// model's raw output into a prevoir.Forecast that honours the Forecaster contract.
//
// # Missing values
//
// A frame may have holes: NaN values (a source that skipped a day, a column that starts late)
// and, in the original mode, whole dates dropped. Every model sees the same, documented
// treatment:
//
//  1. The column is put back on a continuous daily calendar ending at the frame's last date
//     (the forecast origin); absent dates become NaN. Options.Window then keeps the last
//     Window days.
//  2. Leading NaN are dropped.
//  3. With Options.Fill (models that need a complete series: ETS, Theta, linreg), interior
//     gaps of at most MaxGap days are interpolated on the weekly cycle: a missing Tuesday is
//     the straight line between the nearest observed Tuesdays before and after it, so the
//     weekly reporting pattern survives the gap (plain linear interpolation, used when the
//     same-weekday neighbours are missing, would flatten it). A longer gap means the series
//     changed regime or the source stopped for a while; bridging it would invent weeks of
//     data, so only the observations after the last long gap are kept (the longest recent
//     run).
//  4. Trailing NaN (the origin's own value not yet published) are never invented: the series
//     ends at the last observed day and the model forecasts Lead extra steps, which are
//     dropped, so that forecast i is still for origin+i. Models that handle gaps themselves
//     (the naive family) keep the trailing NaN instead.
//
// Forecasts are then clipped at 0 (deaths are never negative) and each day's quantiles are
// sorted, the monotone rearrangement of Chernozhukov, Fernández-Val & Galichon (2010),
// "Quantile and probability curves without crossing", Econometrica 78(3), 1093-1125, which can
// only reduce the quantile loss.
package adapt

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// DefaultMaxGap is the longest run of missing days that is interpolated. Two weeks barely
// move a smoothed level or weekly profile; anything longer is a break in the series.
const DefaultMaxGap = 14

// Options control how a frame column becomes a model's series.
type Options struct {
	// Window keeps the last Window days up to the origin; 0 keeps the whole frame.
	Window int
	// Period is the cycle of the gap interpolation; 0 or 1 interpolates linearly between
	// neighbours.
	Period int
	// Fill interpolates interior gaps and ends the series at the last observed day.
	Fill bool
	// MaxGap is the longest gap Fill interpolates; 0 means DefaultMaxGap.
	MaxGap int
	// MinLen is the fewest observed days the model needs; 0 means 1.
	MinLen int
}

// Series is a frame column on a daily calendar.
type Series struct {
	// Origin is the frame's last date: forecasts are for Origin+1, Origin+2, ...
	Origin prevoir.Date
	// Start is the date of Values[0].
	Start prevoir.Date
	// Values holds one value per day. With Fill they are finite and end at the last
	// observed day; otherwise they end at Origin and may contain NaN.
	Values []float64
	// Lead is the number of days between the last value and Origin (0 without Fill).
	Lead int
	// Filled counts the interpolated values.
	Filled int
}

// Target returns the frame's target as a daily series.
func Target(f *prevoir.Frame, opts Options) (*Series, error) {
	return Column(f, f.Target, opts)
}

// Since returns the target as Target does, from the day start to the frame's last date
// (opts.Window is ignored): the series a pinned model, fitted on a series that began on start,
// is applied to. It fails when that series no longer begins on start: start after the frame's
// last day or before its first, a missing value there, or a gap longer than MaxGap since.
func Since(f *prevoir.Frame, start prevoir.Date, opts Options) (*Series, error) {
	if f == nil || f.Len() == 0 {
		return nil, fmt.Errorf("empty frame")
	}
	origin := f.Dates[f.Len()-1]
	if start > origin || start < f.Dates[0] {
		return nil, fmt.Errorf("the pinned model's series begins on %s, outside the frame (%s to %s)", start, f.Dates[0], origin)
	}
	opts.Window = int(origin-start) + 1
	s, err := Target(f, opts)
	if err != nil {
		return nil, err
	}
	if s.Start != start {
		maxGap := opts.MaxGap
		if maxGap <= 0 {
			maxGap = DefaultMaxGap
		}
		return nil, fmt.Errorf("the pinned model's series begins on %s, but the data are usable from %s only (a missing value or a gap of more than %d days since)",
			start, s.Start, maxGap)
	}
	return s, nil
}

// Column returns the named frame column as a daily series.
func Column(f *prevoir.Frame, name string, opts Options) (*Series, error) {
	start, y, err := Calendar(f, name, opts.Window)
	if err != nil {
		return nil, err
	}
	s := &Series{Origin: start + prevoir.Date(len(y)-1)}
	first := slices.IndexFunc(y, func(v float64) bool { return !math.IsNaN(v) })
	if first < 0 {
		return nil, fmt.Errorf("column %q has no value in the %d days up to %s", name, len(y), s.Origin)
	}
	if opts.Fill {
		maxGap := opts.MaxGap
		if maxGap <= 0 {
			maxGap = DefaultMaxGap
		}
		var z []float64
		z, first, s.Filled = Fill(y, opts.Period, maxGap)
		last := len(z) - 1
		for math.IsNaN(z[last]) {
			last--
		}
		y = z[:last+1]
		s.Lead = len(z) - 1 - last
	}
	s.Start = start + prevoir.Date(first)
	s.Values = y[first:]
	minLen := max(opts.MinLen, 1)
	if n := observed(s.Values); n < minLen {
		return nil, fmt.Errorf("column %q: %d observed days from %s to %s, need at least %d", name, n, s.Start, s.Origin, minLen)
	}
	return s, nil
}

func observed(y []float64) int {
	n := 0
	for _, v := range y {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// Calendar returns the named column on a continuous daily calendar ending at the frame's last
// date, restricted to the last window days when window > 0: the date of y[0] and the values,
// NaN where the frame has no row or no value. It fails on an empty frame, an unknown column,
// unsorted dates or an infinite value.
func Calendar(f *prevoir.Frame, name string, window int) (start prevoir.Date, y []float64, err error) {
	if f == nil || f.Len() == 0 {
		return 0, nil, fmt.Errorf("empty frame")
	}
	col := f.Column(name)
	if col == nil {
		return 0, nil, fmt.Errorf("frame has no column %q", name)
	}
	if len(col) != f.Len() {
		return 0, nil, fmt.Errorf("column %q has %d values for %d dates", name, len(col), f.Len())
	}
	start, end := f.Dates[0], f.Dates[f.Len()-1]
	if window > 0 && end-prevoir.Date(window-1) > start {
		start = end - prevoir.Date(window-1)
	}
	y = make([]float64, int(end-start)+1)
	for i := range y {
		y[i] = math.NaN()
	}
	for i, d := range f.Dates {
		if i > 0 && d <= f.Dates[i-1] {
			return 0, nil, fmt.Errorf("frame dates are not increasing at %s", d)
		}
		if d < start {
			continue
		}
		v := col[i]
		if math.IsInf(v, 0) {
			return 0, nil, fmt.Errorf("column %q on %s is %v", name, d, v)
		}
		y[d-start] = v
	}
	return start, y, nil
}

// Fill interpolates the interior gaps of y of at most maxGap values on a cycle of period
// (see the package documentation) and returns the filled copy, the index of its first value to
// use — after the leading NaN and after the last gap longer than maxGap — and the number of
// values filled there. Trailing NaN are left alone.
func Fill(y []float64, period, maxGap int) (z []float64, from, filled int) {
	z = slices.Clone(y)
	n := len(y)
	from = slices.IndexFunc(y, func(v float64) bool { return !math.IsNaN(v) })
	if from < 0 {
		return z, n, 0
	}
	last := n - 1
	for math.IsNaN(y[last]) {
		last--
	}
	// Find the start of the usable part: after the last gap longer than maxGap.
	for i := from; i <= last; {
		if !math.IsNaN(y[i]) {
			i++
			continue
		}
		j := i
		for math.IsNaN(y[j]) {
			j++
		}
		if j-i > maxGap {
			from = j
		}
		i = j
	}
	for t := from; t <= last; t++ {
		if !math.IsNaN(y[t]) {
			continue
		}
		z[t] = interpolate(y, from, last, t, period)
		filled++
	}
	return z, from, filled
}

// interpolate estimates y[t] from the nearest observed values in y[lo..hi] on the same
// position of the cycle (period > 1), else from the nearest observed neighbours.
func interpolate(y []float64, lo, hi, t, period int) float64 {
	line := func(step int) (float64, bool) {
		a := t - step
		for a >= lo && math.IsNaN(y[a]) {
			a -= step
		}
		b := t + step
		for b <= hi && math.IsNaN(y[b]) {
			b += step
		}
		if a < lo || b > hi {
			return 0, false
		}
		w := float64(t-a) / float64(b-a)
		return y[a] + w*(y[b]-y[a]), true
	}
	if period > 1 {
		if v, ok := line(period); ok {
			return v
		}
	}
	v, _ := line(1) // y[lo] and y[hi] are observed, so this always succeeds
	return v
}

// Forecast builds the prevoir.Forecast of model at origin from a model's raw output for
// lead+h steps after its last value: steps lead .. lead+h-1 become days origin+1 .. origin+h.
// Points and quantiles are clipped at 0 and each day's quantiles sorted; a non-finite value
// is an error.
func Forecast(model string, origin prevoir.Date, lead, h int, point []float64, q [][]float64, quantiles []float64) (*prevoir.Forecast, error) {
	if len(point) < lead+h || len(q) < lead+h {
		return nil, fmt.Errorf("%s: model returned %d steps, need %d", model, len(point), lead+h)
	}
	fc := &prevoir.Forecast{
		Model:     model,
		Origin:    origin,
		Dates:     make([]prevoir.Date, h),
		Point:     make([]float64, h),
		Quantiles: slices.Clone(quantiles),
		Values:    make([][]float64, h),
	}
	for i := range h {
		fc.Dates[i] = origin + prevoir.Date(i+1)
		fc.Point[i] = math.Max(point[lead+i], 0)
		row := make([]float64, len(quantiles))
		for j := range row {
			row[j] = math.Max(q[lead+i][j], 0)
		}
		slices.Sort(row)
		fc.Values[i] = row
	}
	if err := fc.Validate(); err != nil {
		return nil, err
	}
	return fc, nil
}

// Model is a model fitted on a plain series: it forecasts h steps after the series' end.
type Model interface {
	Forecast(h int, quantiles []float64) (point []float64, q [][]float64, err error)
}

// PathModel is a Model that can also simulate sample paths of its forecast distribution:
// ps[k][i] is path k's value i+1 steps after the series' end, consistent with the model's
// own error model, so that sums over days have the right distribution.
type PathModel interface {
	Model
	Paths(h, n int) (ps [][]float64, err error)
}

// WeeklyPaths is the number of sample paths behind the weekly totals' quantiles: the Monte
// Carlo standard error of a quantile, sqrt(p(1-p)/n)/density, is then 0.06 standard deviations
// of a normal total at the 2.5% level and 0.03 at the median, small beside the models' own
// misspecification, for a cost far below a fit's.
const WeeklyPaths = 2000

// Fitted adapts a plain-series model to prevoir.Fitted: it forecasts the Lead days between
// the series' end and the origin too, then keeps the h days after the origin.
type Fitted struct {
	Name   string
	Origin prevoir.Date
	Lead   int
	Model  Model
}

// Predict forecasts the h days after the origin. When the model is a PathModel, the forecast
// has whole weeks and quantiles are asked, the weekly totals' quantiles come from
// WeeklyPaths sample paths (clipped at 0 day by day, as the daily forecasts are).
func (ft *Fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	point, q, err := ft.Model.Forecast(h+ft.Lead, quantiles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ft.Name, err)
	}
	fc, err := Forecast(ft.Name, ft.Origin, ft.Lead, h, point, q, quantiles)
	if err != nil {
		return nil, err
	}
	pm, ok := ft.Model.(PathModel)
	if !ok || fc.Weeks() == 0 || len(quantiles) == 0 {
		return fc, nil
	}
	ps, err := pm.Paths(h+ft.Lead, WeeklyPaths)
	if err != nil {
		return nil, fmt.Errorf("%s: weekly totals: %w", ft.Name, err)
	}
	for k, p := range ps {
		p = p[ft.Lead:]
		for i := range p {
			p[i] = math.Max(p[i], 0)
		}
		ps[k] = p
	}
	if err := stats.SetWeekly(fc, ps); err != nil {
		return nil, err
	}
	return fc, fc.Validate()
}
