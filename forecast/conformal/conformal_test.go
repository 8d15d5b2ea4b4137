package conformal_test

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/naive"
	"github.com/prevoir/prevoir/forecast/rolling"
)

// TestLineResiduals: on y[t] = t the "last value" model misses horizon j by exactly j at every
// origin, so the conformal quantiles of every level are the point plus j: the median and the
// upper quantiles are on the truth, and the lower ones reach down to the point (an interval
// contains its own point). Horizons beyond the spacing of the past origins have one residual
// fewer (the forecasts of o−7 for o+1.. are not known at o).
func TestLineResiduals(t *testing.T) {
	y := testframe.Line(100, 0, 1)
	f := testframe.New(y, nil)
	c := conformal.Wrap(testframe.Last{Label: "last"}, conformal.Options{Origins: 4, MinResiduals: 1})
	if c.Name() != "last+cp" {
		t.Errorf("name %q", c.Name())
	}
	ft, err := c.Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	for i := range fc.Point {
		if fc.Point[i] != 99 {
			t.Errorf("point %v changed", fc.Point[i])
		}
		for j, v := range fc.Values[i] {
			want := 99 + float64(i+1)
			if fc.Quantiles[j] < 0.5 {
				want = 99
			}
			if math.Abs(v-want) > 1e-9 {
				t.Errorf("horizon %d: quantiles %v, want %v below the median and %v from it", i+1, fc.Values[i], 99, 99+float64(i+1))
				break
			}
		}
	}
	if d := ft.(interface{ Describe() string }).Describe(); !strings.Contains(d, "3-4 residuals per horizon") {
		t.Errorf("describe %q", d)
	}
	if _, err := ft.Predict(context.Background(), 15, nil); err == nil {
		t.Error("predicted beyond the calibrated horizon")
	}
}

// TestNoFutureResiduals: changing the data after the origin changes nothing, daily or weekly,
// and the data up to the origin do: the calibration reads only target days up to the origin.
func TestNoFutureResiduals(t *testing.T) {
	y := testframe.Noisy(200, 9)
	c := conformal.Wrap(testframe.Last{Label: "last"}, conformal.Options{})
	origin := testframe.Start() + 150
	run := func(y []float64) *prevoir.Forecast {
		f, err := testframe.New(y, nil).Until(origin)
		if err != nil {
			t.Fatal(err)
		}
		ft, err := c.Fit(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	base := run(y)
	if base.Weekly == nil {
		t.Fatal("no weekly totals to compare")
	}
	later := append([]float64(nil), y...)
	for i := 151; i < 200; i++ {
		later[i] *= 10
	}
	if got := run(later); !same(got, base) {
		t.Error("data after the origin changed the forecast")
	}
	earlier := append([]float64(nil), y...)
	earlier[140] += 500
	if got := run(earlier); same(got, base) {
		t.Error("data before the origin did not change the intervals")
	}
}

func same(a, b *prevoir.Forecast) bool {
	if (a.Weekly == nil) != (b.Weekly == nil) || a.Weekly != nil && !reflect.DeepEqual(a.Weekly, b.Weekly) {
		return false
	}
	for i := range a.Point {
		if a.Point[i] != b.Point[i] {
			return false
		}
		for j := range a.Values[i] {
			if a.Values[i][j] != b.Values[i][j] {
				return false
			}
		}
	}
	return true
}

func TestScalesAndPooling(t *testing.T) {
	f := testframe.New(testframe.Noisy(120, 2), nil)
	for _, s := range []conformal.Scale{conformal.Additive, conformal.Log1p} {
		ft, err := conformal.Wrap(testframe.Last{Label: "last"}, conformal.Options{Scale: s}).Fit(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Fatal(err)
		}
		if err := fc.Validate(); err != nil {
			t.Errorf("%v: %v", s, err)
		}
		for i := range fc.Values {
			if fc.Values[i][0] < 0 {
				t.Errorf("%v: negative bound", s)
			}
		}
	}
	// One past origin: horizons 8..14 have no residual of their own and borrow the nearest.
	ft, err := conformal.Wrap(testframe.Last{Label: "last"}, conformal.Options{Origins: 1, MinResiduals: 2}).Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles()); err != nil {
		t.Error(err)
	}
	if _, err := conformal.Wrap(testframe.Last{Label: "last"}, conformal.Options{Origins: 1, MinResiduals: 20}).Fit(context.Background(), f); err == nil {
		t.Error("calibrated on too few residuals")
	}
}

// TestPointInsideItsIntervals is a property: whatever the data and the bias of the wrapped
// model (a constant forecast far below, near, or far above the series; the last value of a
// trending or noisy series), on either scale, every central interval of a conformal forecast
// contains its point, and the quantiles stay ordered.
func TestPointInsideItsIntervals(t *testing.T) {
	levels := prevoir.DefaultQuantiles()
	series := map[string][]float64{"noisy": testframe.Noisy(160, 3), "rising": testframe.Line(160, 5, 2), "falling": testframe.Line(160, 400, -2), "weekly": testframe.Weekly(160)}
	inners := []prevoir.Forecaster{testframe.Last{Label: "last"}, testframe.Const{Label: "low", Value: 1}, testframe.Const{Label: "high", Value: 1000}}
	for name, y := range series {
		for _, in := range inners {
			for _, sc := range []conformal.Scale{conformal.Additive, conformal.Log1p} {
				ft, err := conformal.Wrap(in, conformal.Options{Scale: sc, Horizon: 21}).Fit(context.Background(), testframe.New(y, nil))
				if err != nil {
					t.Fatal(err)
				}
				fc, err := ft.Predict(context.Background(), 21, levels)
				if err != nil {
					t.Fatal(err)
				}
				for i := range fc.Point {
					for _, c := range []float64{0.5, 0.8, 0.95} {
						lo, hi, _ := fc.Interval(i, c)
						if fc.Point[i] < lo || fc.Point[i] > hi {
							t.Fatalf("%s, %s, %v: day %d: point %v outside its %.0f%% interval [%v, %v]", name, in.Name(), sc, i+1, fc.Point[i], 100*c, lo, hi)
						}
					}
				}
				if err := fc.Validate(); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

// TestWithHorizon: a conformal model calibrated for 14 days refuses 28; set up for the horizon
// asked (what a backtest does) it calibrates and forecasts every day of it, and the original
// is left as it was.
func TestWithHorizon(t *testing.T) {
	f := testframe.New(testframe.Noisy(400, 5), nil)
	c := conformal.Wrap(testframe.Last{Label: "last"}, conformal.Options{})
	ft, err := c.Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ft.Predict(context.Background(), 28, prevoir.DefaultQuantiles()); err == nil || !strings.Contains(err.Error(), "calibrated up to horizon 14, asked for 28") {
		t.Fatalf("default calibration at 28 days: %v", err)
	}
	c28 := rolling.WithHorizon(c, 28)
	if c28.Name() != c.Name() || c.Options.Horizon != 0 {
		t.Errorf("WithHorizon renamed (%q) or changed the original (%+v)", c28.Name(), c.Options)
	}
	ft, err = c28.Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ft.Predict(context.Background(), 28, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi, _ := fc.Interval(27, 0.8); !(hi > lo) {
		t.Errorf("day 28: 80%% interval [%v, %v]", lo, hi)
	}
}

// TestWeeklyResiduals: on y[t] = t the "last value" model misses the total of week 1 by
// 1+2+...+7 = 28 and that of week 2 by 8+...+14 = 77 at every origin, so the weekly quantiles
// from the median up are the summed point plus exactly that (the sums of the daily quantiles
// would be the same here; TestWeeklyNotDailySums tells them apart), and the lower ones reach
// down to the point. Week 2 of the latest past origin ends after the origin: it has one
// residual fewer.
func TestWeeklyResiduals(t *testing.T) {
	f := testframe.New(testframe.Line(100, 0, 1), nil)
	ft, err := conformal.Wrap(testframe.Last{Label: "last"}, conformal.Options{Origins: 4, MinResiduals: 1}).Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Validate(); err != nil || fc.Weekly == nil {
		t.Fatalf("weekly %v: %v", fc.Weekly, err)
	}
	for w, miss := range []float64{28, 77} {
		if fc.Weekly.Point[w] != 7*99 {
			t.Errorf("week %d point %v, want %v", w+1, fc.Weekly.Point[w], 7*99)
		}
		for j, v := range fc.Weekly.Values[w] {
			want := 7*99 + miss
			if fc.Quantiles[j] < 0.5 {
				want = 7 * 99
			}
			if math.Abs(v-want) > 1e-9 {
				t.Errorf("week %d quantiles %v, want %v below the median, %v from it", w+1, fc.Weekly.Values[w], 7*99, 7*99+miss)
				break
			}
		}
	}
	if d := ft.(interface{ Describe() string }).Describe(); !strings.Contains(d, "weekly totals from 3-4 residuals per week, weeks 1-2") {
		t.Errorf("describe %q", d)
	}
	// Fewer days than a week: no weekly totals.
	if fc, err := ft.Predict(context.Background(), 6, prevoir.DefaultQuantiles()); err != nil || fc.Weekly != nil {
		t.Errorf("6 days: weekly %v, err %v", fc.Weekly, err)
	}
}

// TestWeeklyNotDailySums: on a series whose days swing around a steady weekly total, with
// past origins every day (so each horizon meets every weekday), the daily residuals are wide
// and the weekly ones narrow: the weekly quantiles are those of the weekly residuals,
// computed by hand, far inside the sums of the daily quantiles.
func TestWeeklyNotDailySums(t *testing.T) {
	swing := []float64{-30, 30, -30, 30, -30, 30, 0} // sums to 0 over any 7 days
	y := make([]float64, 140)
	for i := range y {
		y[i] = 100 + swing[i%7] + float64(i/7%3) // weekly totals 700, 707, 714 in turn
	}
	f := testframe.New(y, nil)
	// The constant model: residuals are the data minus 100.
	ft, err := conformal.Wrap(testframe.Const{Label: "c", Value: 100}, conformal.Options{Origins: 30, Every: 1, MinResiduals: 5}).Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	levels := prevoir.DefaultQuantiles()
	fc, err := ft.Predict(context.Background(), 14, levels)
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Validate(); err != nil {
		t.Fatal(err)
	}
	origin := f.Dates[f.Len()-1]
	for w := range 2 {
		// By hand: the totals of week w+1 of the forecasts made at origin−k, k = 1..30,
		// when that week ends on or before the origin.
		var res []float64
		for k := 1; k <= 30; k++ {
			p := origin - prevoir.Date(k)
			end := p + prevoir.Date(7*(w+1))
			if end > origin {
				continue
			}
			var tot float64
			for d := end - 6; d <= end; d++ {
				tot += y[d-f.Dates[0]]
			}
			res = append(res, tot-700)
		}
		slices.Sort(res)
		var daily float64 // the sum of the days' 97.5% quantiles
		for i := 7 * w; i < 7*w+7; i++ {
			daily += fc.Values[i][len(levels)-1]
		}
		for j, p := range levels {
			want := math.Max(700+stats.Quantile6(res, p), 0)
			if p < 0.5 {
				want = math.Min(want, 700)
			} else if p > 0.5 {
				want = math.Max(want, 700)
			}
			if math.Abs(fc.Weekly.Values[w][j]-want) > 1e-9 {
				t.Fatalf("week %d quantiles %v, want %v at %v (residuals %v)", w+1, fc.Weekly.Values[w], want, p, res)
			}
		}
		if hi := fc.Weekly.Values[w][len(levels)-1]; hi > 714 || daily < 900 {
			t.Errorf("week %d: 97.5%% quantile %v, want at most 714 and far below the days' sum %v", w+1, hi, daily)
		}
	}
}

// TestWeeklyCalibrationPinned: the weekly residuals are pinned with the daily ones; a
// calibration stored before them loads and forecasts without weekly totals.
func TestWeeklyCalibrationPinned(t *testing.T) {
	ctx := context.Background()
	f := testframe.New(testframe.Noisy(200, 4), nil)
	last := naive.Forecaster{Method: naive.MethodNaive}
	ft, err := conformal.Wrap(last, conformal.Options{}).Fit(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ft.(prevoir.Pinner).Pin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cal conformal.Calibration
	if err := json.Unmarshal(p.State, &cal); err != nil {
		t.Fatal(err)
	}
	if len(cal.WeeklyResiduals) != 2 || len(cal.WeeklyResiduals[0]) < conformal.DefaultMinResiduals {
		t.Fatalf("pinned weekly residuals: %d weeks", len(cal.WeeklyResiduals))
	}
	inner := func(ctx context.Context, _ *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
		return last.Fit(ctx, f)
	}
	want, err := ft.Predict(ctx, 14, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := conformal.LoadPinned(ctx, p, f, inner)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loaded.Predict(ctx, 14, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	if got.Weekly == nil || !reflect.DeepEqual(got.Weekly, want.Weekly) {
		t.Errorf("loaded weekly %v, want %v", got.Weekly, want.Weekly)
	}
	// A state without weekly residuals (stored before them).
	old, err := conformal.PinnedState("naive+cp", conformal.Calibration{Scale: cal.Scale, Residuals: cal.Residuals})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(old), "weekly") {
		t.Fatalf("old state %s", old)
	}
	p.State = old
	loaded, err = conformal.LoadPinned(ctx, p, f, inner)
	if err != nil {
		t.Fatal(err)
	}
	got, err = loaded.Predict(ctx, 14, prevoir.DefaultQuantiles())
	daily := *want
	daily.Weekly = nil
	if err != nil || got.Weekly != nil || !same(got, &daily) {
		t.Errorf("old calibration: weekly %v, err %v, daily the same: %v", got.Weekly, err, same(got, want))
	}
}
