package theta_test

import (
	"math"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/theta"
)

func predict(t *testing.T, fc prevoir.Forecaster, y []float64, h int) *prevoir.Forecast {
	t.Helper()
	out, _ := testframe.Predict(t, fc, testframe.New(y, nil), h, prevoir.DefaultQuantiles())
	return out
}

func TestForecasterKnownSeries(t *testing.T) {
	if (theta.Forecaster{}).Name() != "theta" || (theta.Forecaster{Label: "otm"}).Name() != "otm" {
		t.Error("names")
	}
	for _, opt := range []bool{false, true} {
		fc := theta.Forecaster{Options: theta.Options{Optimize: opt}}
		out := predict(t, fc, testframe.Constant(40, 9), 14)
		for i, p := range out.Point {
			if math.Abs(p-9) > 1e-9 {
				t.Errorf("optimize=%v constant: day %d = %v", opt, i+1, p)
			}
		}
		w := testframe.Weekly(140)
		out = predict(t, fc, w, 14)
		for i, p := range out.Point {
			if want := w[(140+i)%7]; math.Abs(p-want) > 0.03*want {
				t.Errorf("optimize=%v weekly: day %d = %.2f, want %v", opt, i+1, p, want)
			}
		}
		// With a gap in the last weeks: interpolated on the weekly cycle.
		g := append([]float64(nil), w...)
		g[130], g[131], g[139] = math.NaN(), math.NaN(), math.NaN()
		out = predict(t, fc, g, 14)
		for i, p := range out.Point {
			if want := w[(140+i)%7]; math.Abs(p-want) > 0.03*want {
				t.Errorf("optimize=%v gaps: day %d = %.2f, want %v", opt, i+1, p, want)
			}
		}
	}
	// A falling line: the optimised method follows it down and is clipped at 0.
	out := predict(t, theta.Forecaster{Options: theta.Options{Optimize: true}}, testframe.Line(80, 100, -1.2), 14)
	for i := range out.Point {
		if out.Point[i] < 0 || out.Values[i][0] < 0 {
			t.Fatalf("day %d negative", i+1)
		}
	}
	if out.Point[0] > 5 || out.Point[13] != 0 {
		t.Errorf("falling line forecasts %v", out.Point)
	}
}
