package conformal_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

func TestQuantile(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	// Type 6: position p(n+1) = 5p, clamped to the extremes.
	for _, c := range []struct{ p, want float64 }{{0.1, 1}, {0.3, 1.5}, {0.5, 2.5}, {0.7, 3.5}, {0.9, 4}} {
		if got := conformal.Quantile(x, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(conformal.Quantile(nil, 0.5)) {
		t.Error("quantile of nothing")
	}
}

// TestLineResiduals: on y[t] = t the "last value" model misses horizon j by exactly j at every
// origin, so the conformal quantiles of every level are the point plus j: intervals of zero
// width on the truth. Horizons beyond the spacing of the past origins have one residual fewer
// (the forecasts of o−7 for o+1.. are not known at o).
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
		for _, v := range fc.Values[i] {
			if want := 99 + float64(i+1); math.Abs(v-want) > 1e-9 {
				t.Errorf("horizon %d: quantiles %v, want all %v", i+1, fc.Values[i], want)
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

// TestNoFutureResiduals: changing the data after the origin changes nothing, and the data up to
// the origin do: the calibration reads only target days up to the origin.
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
