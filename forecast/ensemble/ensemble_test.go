package ensemble_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/naive"
)

func members() []prevoir.Forecaster {
	return []prevoir.Forecaster{
		testframe.Const{Label: "a", Value: 4, Spread: 2},
		testframe.Const{Label: "b", Value: 5, Spread: 4},
		testframe.Const{Label: "c", Value: 9, Spread: 10},
	}
}

func predict(t *testing.T, e prevoir.Forecaster, f *prevoir.Frame) (*prevoir.Forecast, prevoir.Fitted) {
	t.Helper()
	ft, err := e.Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ft.Predict(context.Background(), 3, []float64{0.1, 0.5, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	return fc, ft
}

func TestCombine(t *testing.T) {
	f := testframe.New(testframe.Constant(100, 5), nil)
	fc, _ := predict(t, ensemble.New(ensemble.Options{}, members()...), f)
	// Median of 4, 5, 9 is 5; of the 0.1-quantiles 4−0.8, 5−1.6, 9−4 it is 3.4.
	if fc.Model != "ensemble" || fc.Point[0] != 5 || math.Abs(fc.Values[0][0]-3.4) > 1e-12 || fc.Values[0][1] != 5 {
		t.Errorf("median ensemble %q %v %v", fc.Model, fc.Point, fc.Values[0])
	}
	// Mean of 4, 5, 9 is 6; of the 0.9-quantiles 4.8, 6.6, 13 it is 24.4/3.
	fc, _ = predict(t, ensemble.New(ensemble.Options{Combine: ensemble.Mean, Name: "avg"}, members()...), f)
	if fc.Model != "avg" || math.Abs(fc.Point[2]-6) > 1e-12 || math.Abs(fc.Values[0][2]-(4.8+6.6+13)/3) > 1e-12 {
		t.Errorf("mean ensemble %q %v %v", fc.Model, fc.Point, fc.Values[0])
	}
	if !slices.IsSorted(fc.Values[1]) {
		t.Errorf("quantiles not monotone: %v", fc.Values[1])
	}
}

// TestSelectBest: with K = 1 the member with the smallest past MAE is kept, judged on days up
// to the origin only.
func TestSelectBest(t *testing.T) {
	y := testframe.Constant(200, 5)
	e := ensemble.New(ensemble.Options{K: 1}, members()...)
	fc, ft := predict(t, e, testframe.New(y, nil))
	if fc.Point[0] != 5 {
		t.Errorf("selected forecast %v, want b's 5", fc.Point[0])
	}
	if d := ft.(interface{ Describe() string }).Describe(); !strings.HasPrefix(d, "median of b;") || !strings.Contains(d, "a 1.00") {
		t.Errorf("describe %q", d)
	}
	// The target jumps to 9 only after the origin: the choice must not see it.
	for i := 150; i < 200; i++ {
		y[i] = 9
	}
	f, _ := testframe.New(y, nil).Until(testframe.Start() + 149)
	if fc, _ := predict(t, e, f); fc.Point[0] != 5 {
		t.Errorf("the choice saw the future: %v", fc.Point[0])
	}
	// Long after the jump, c (9) is best.
	if fc, _ := predict(t, e, testframe.New(y, nil)); fc.Point[0] != 9 {
		t.Errorf("after the jump: %v, want c's 9", fc.Point[0])
	}
	if e.Name() != "ensemble" || len(e.Needs(testframe.Start()+100)) != 3*(1+ensemble.DefaultWindow) {
		t.Errorf("needs %d", len(e.Needs(testframe.Start()+100)))
	}
}

func TestMemberFailure(t *testing.T) {
	y := testframe.Constant(100, 5)
	y[99] = math.NaN() // Last cannot fit
	e := ensemble.New(ensemble.Options{}, testframe.Last{Label: "last"}, testframe.Const{Label: "k", Value: 3})
	fc, _ := predict(t, e, testframe.New(y, nil))
	if fc.Point[0] != 3 {
		t.Errorf("forecast %v, want the surviving member's 3", fc.Point[0])
	}
	if _, err := ensemble.New(ensemble.Options{}, testframe.Last{Label: "last"}).Fit(context.Background(), testframe.New(y, nil)); err == nil {
		t.Error("an ensemble without a fitted member succeeded")
	}
	if _, err := ensemble.New(ensemble.Options{}).Fit(context.Background(), testframe.New(y, nil)); err == nil {
		t.Error("an empty ensemble succeeded")
	}
}

// TestTrimmedMean: the trimmed mean drops the lowest and the highest member at each day and
// level: one member gone astray (100) moves it less than the mean; with two members it is
// their mean. Its name survives pinning.
func TestTrimmedMean(t *testing.T) {
	f := testframe.New(testframe.Constant(100, 5), nil)
	astray := append(members(), testframe.Const{Label: "d", Value: 1, Spread: 1}, testframe.Const{Label: "e", Value: 100, Spread: 50})
	fc, ft := predict(t, ensemble.New(ensemble.Options{Combine: ensemble.TrimmedMean}, astray...), f)
	// Points 1, 4, 5, 9, 100: mean of 4, 5, 9 is 6 (the mean of all is 23.8). 0.9-quantiles
	// 1.4, 4.8, 6.6, 13, 120: mean of 4.8, 6.6, 13.
	if math.Abs(fc.Point[0]-6) > 1e-12 || math.Abs(fc.Values[0][2]-(4.8+6.6+13)/3) > 1e-12 {
		t.Errorf("trimmed mean %v %v", fc.Point, fc.Values[0])
	}
	if d := ft.(interface{ Describe() string }).Describe(); !strings.HasPrefix(d, "trimmed_mean of a, b, c, d, e") {
		t.Errorf("describe %q", d)
	}
	fc, _ = predict(t, ensemble.New(ensemble.Options{Combine: ensemble.TrimmedMean}, members()[:2]...), f)
	if fc.Point[0] != 4.5 {
		t.Errorf("trimmed mean of two: %v, want their mean 4.5", fc.Point[0])
	}
	for _, c := range []ensemble.Combine{ensemble.Median, ensemble.Mean, ensemble.TrimmedMean} {
		if got, err := ensemble.ParseCombine(c.String()); err != nil || got != c {
			t.Errorf("ParseCombine(%q) = %v, %v", c, got, err)
		}
	}
	if _, err := ensemble.ParseCombine("mode"); err == nil {
		t.Error("unknown rule parsed")
	}
}

// TestWeekly: when every member gives weekly totals, their quantiles are combined level by
// level around the sum of the combined daily points, and the forecast validates; with one
// member without them the ensemble has none.
func TestWeekly(t *testing.T) {
	f := testframe.New(testframe.Constant(100, 5), nil)
	ms := members()
	weekly := make([]prevoir.Forecaster, len(ms))
	for i, m := range ms {
		weekly[i] = testframe.WithWeeks{Forecaster: m, Spread: float64(10 * (i + 1))}
	}
	levels := []float64{0.1, 0.5, 0.9}
	for _, c := range []ensemble.Combine{ensemble.Median, ensemble.Mean, ensemble.TrimmedMean} {
		ft, err := ensemble.New(ensemble.Options{Combine: c}, weekly...).Fit(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(context.Background(), 14, levels)
		if err != nil {
			t.Fatal(err)
		}
		if err := fc.Validate(); err != nil || fc.Weekly == nil {
			t.Fatalf("%v: weekly %v: %v", c, fc.Weekly, err)
		}
		// Members' weekly totals 28, 35, 63 with spreads 10, 20, 30: the 0.9 quantiles are
		// 32, 43, 75; the 0.1 quantiles 24, 27, 51.
		want := map[ensemble.Combine][2]float64{ensemble.Median: {27, 43}, ensemble.Mean: {34, 50}, ensemble.TrimmedMean: {27, 43}}[c] // trimmed of three: the middle one
		point := 7 * fc.Point[0]
		for w := range 2 {
			lo, hi := math.Min(want[0], point), math.Max(want[1], point)
			if got := fc.Weekly.Values[w]; math.Abs(got[0]-lo) > 1e-9 || math.Abs(got[2]-hi) > 1e-9 || fc.Weekly.Point[w] != point {
				t.Errorf("%v week %d: %v (point %v), want %v .. %v around %v", c, w+1, got, fc.Weekly.Point[w], lo, hi, point)
			}
		}
	}
	ft, err := ensemble.New(ensemble.Options{}, append(weekly[:2:2], ms[2])...).Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if fc, err := ft.Predict(context.Background(), 14, levels); err != nil || fc.Weekly != nil {
		t.Errorf("a member without weekly totals: weekly %v, err %v", fc.Weekly, err)
	}
}

// TestTrimmedMeanPinned: a trimmed-mean ensemble's rule survives pinning.
func TestTrimmedMeanPinned(t *testing.T) {
	ctx := context.Background()
	f := testframe.New(testframe.Noisy(200, 3), nil)
	var ms []prevoir.Forecaster
	for _, m := range []naive.Method{naive.MethodNaive, naive.MethodSeasonalNaive, naive.MethodMean, naive.MethodDrift} {
		ms = append(ms, naive.Forecaster{Method: m})
	}
	ft, err := ensemble.New(ensemble.Options{Combine: ensemble.TrimmedMean}, ms...).Fit(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ft.(prevoir.Pinner).Pin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := ensemble.LoadPinned(ctx, p, f, func(ctx context.Context, mp *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
		return naive.LoadPinned(ctx, mp, f)
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ft.Predict(ctx, 14, prevoir.DefaultQuantiles())
	got, err := loaded.Predict(ctx, 14, prevoir.DefaultQuantiles())
	if err != nil || !slices.Equal(got.Point, want.Point) || !strings.Contains(p.Summary, "trimmed_mean") {
		t.Errorf("loaded %v, want %v (%v); summary %q", got.Point, want.Point, err, p.Summary)
	}
}
