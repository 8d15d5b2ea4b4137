package naive_test

import (
	"context"
	"math"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/naive"
)

func forecast(t *testing.T, fc prevoir.Forecaster, y []float64, h int) *prevoir.Forecast {
	t.Helper()
	out, _ := testframe.Predict(t, fc, testframe.New(y, nil), h, prevoir.DefaultQuantiles())
	if out.Model != fc.Name() || out.Origin != testframe.Start()+prevoir.Date(len(y)-1) {
		t.Fatalf("%s: model %q origin %s", fc.Name(), out.Model, out.Origin)
	}
	return out
}

func all() []naive.Forecaster {
	return []naive.Forecaster{
		{Method: naive.MethodNaive},
		{Method: naive.MethodSeasonalNaive},
		{Method: naive.MethodMean},
		{Method: naive.MethodDrift},
	}
}

func TestForecasterNames(t *testing.T) {
	want := []string{"naive", "snaive", "mean7", "drift"}
	for i, fc := range all() {
		if fc.Name() != want[i] {
			t.Errorf("name %q, want %q", fc.Name(), want[i])
		}
	}
	if n := (naive.Forecaster{Method: naive.MethodSeasonalNaive, Period: 5}).Name(); n != "snaive5" {
		t.Errorf("period-5 name %q", n)
	}
	if n := (naive.Forecaster{Method: naive.MethodMean, Label: "m"}).Name(); n != "m" {
		t.Errorf("label %q", n)
	}
}

func TestForecasterConstant(t *testing.T) {
	for _, fc := range all() {
		out := forecast(t, fc, testframe.Constant(60, 12), 14)
		for i, p := range out.Point {
			if p != 12 || out.Values[i][0] != 12 || out.Values[i][len(out.Quantiles)-1] != 12 {
				t.Errorf("%s: day %d = %v %v, want 12 with zero width", fc.Name(), i+1, p, out.Values[i])
			}
		}
	}
}

func TestForecasterWeeklyAndLine(t *testing.T) {
	y := testframe.Weekly(70)
	out := forecast(t, naive.Forecaster{Method: naive.MethodSeasonalNaive}, y, 14)
	for i, p := range out.Point {
		if p != y[(70+i)%7] {
			t.Errorf("snaive day %d = %v, want %v", i+1, p, y[(70+i)%7])
		}
	}
	out = forecast(t, naive.Forecaster{Method: naive.MethodMean}, y, 3)
	if m := (28.0 + 144 + 139 + 112 + 104 + 107 + 57) / 7; math.Abs(out.Point[0]-m) > 1e-9 {
		t.Errorf("mean7 = %v, want %v", out.Point[0], m)
	}
	out = forecast(t, naive.Forecaster{Method: naive.MethodDrift}, testframe.Line(30, 5, 2), 4)
	for i, p := range out.Point {
		if want := 5 + 2*float64(30+i); math.Abs(p-want) > 1e-9 {
			t.Errorf("drift day %d = %v, want %v", i+1, p, want)
		}
	}
	// Deaths are never negative: a falling line is clipped at 0, bounds included.
	out = forecast(t, naive.Forecaster{Method: naive.MethodDrift}, testframe.Line(30, 60, -2), 14)
	for i, p := range out.Point {
		if p < 0 || out.Values[i][0] < 0 {
			t.Errorf("drift day %d = %v %v, want >= 0", i+1, p, out.Values[i])
		}
	}
	if out.Point[13] != 0 {
		t.Errorf("drift day 14 = %v, want 0", out.Point[13])
	}
}

// TestForecasterGaps: gaps are left to the methods, which skip them (no interpolation).
func TestForecasterGaps(t *testing.T) {
	y := testframe.Weekly(70)
	g := append([]float64(nil), y...)
	g[0], g[1] = math.NaN(), math.NaN() // leading
	g[66] = math.NaN()                  // last Thursday missing: snaive looks two weeks back
	g[69] = math.NaN()                  // the origin itself missing
	out := forecast(t, naive.Forecaster{Method: naive.MethodSeasonalNaive}, g, 14)
	for i, p := range out.Point {
		if p != y[(70+i)%7] {
			t.Errorf("snaive day %d = %v, want %v", i+1, p, y[(70+i)%7])
		}
	}
	out = forecast(t, naive.Forecaster{Method: naive.MethodNaive}, g, 2)
	if out.Point[0] != y[68] || out.Dates[0] != out.Origin+1 {
		t.Errorf("naive with a missing origin: %v on %s, want %v", out.Point[0], out.Dates[0], y[68])
	}
	if _, err := (naive.Forecaster{Method: naive.MethodNaive}).Fit(context.Background(), testframe.New([]float64{math.NaN(), math.NaN()}, nil)); err == nil {
		t.Error("fitted a series without values")
	}
}

// TestForecasterWindow: the window keeps the last days only, which sets sigma.
func TestForecasterWindow(t *testing.T) {
	y := testframe.Noisy(400, 1)
	for i := 0; i < 300; i++ {
		y[i] *= 5 // a noisy past far from the recent level
	}
	full := forecast(t, naive.Forecaster{Method: naive.MethodSeasonalNaive}, y, 1)
	recent := forecast(t, naive.Forecaster{Method: naive.MethodSeasonalNaive, Window: 60}, y, 1)
	if full.Point[0] != recent.Point[0] {
		t.Errorf("point changed with the window: %v vs %v", full.Point[0], recent.Point[0])
	}
	lf, hf, _ := full.Interval(0, 0.95)
	lr, hr, ok := recent.Interval(0, 0.95)
	if !ok {
		t.Fatalf("no 95%% interval in levels %v", recent.Quantiles)
	}
	if wf, wr := hf-lf, hr-lr; wr >= wf {
		t.Errorf("95%% width %v on the recent window, %v on all: want narrower", wr, wf)
	}
}
