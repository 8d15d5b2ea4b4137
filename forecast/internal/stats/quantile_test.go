package stats

import (
	"math"
	"testing"
)

func TestNormalQuantile(t *testing.T) {
	// Reference values: R qnorm().
	for _, c := range []struct{ p, want float64 }{
		{0.5, 0},
		{0.975, 1.959963984540054},
		{0.9, 1.2815515655446004},
		{0.025, -1.959963984540054},
		{0.75, 0.6744897501960817},
		{1e-10, -6.361340902404056},
	} {
		if got := NormalQuantile(c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("NormalQuantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	for _, p := range []float64{1e-300, 0.001, 0.3, 0.6, 0.999} {
		if got := NormalCDF(NormalQuantile(p)); math.Abs(got-p) > 1e-12*math.Max(1, p/1e-3) && math.Abs(got-p)/p > 1e-10 {
			t.Errorf("NormalCDF(NormalQuantile(%v)) = %v", p, got)
		}
	}
	if !math.IsNaN(NormalQuantile(1.5)) || !math.IsInf(NormalQuantile(0), -1) || !math.IsInf(NormalQuantile(1), 1) {
		t.Error("edge cases wrong")
	}
}

func TestQuantile6(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	// Type 6: position p(n+1) = 5p, clamped to the extremes.
	for _, c := range []struct{ p, want float64 }{{0.1, 1}, {0.3, 1.5}, {0.5, 2.5}, {0.7, 3.5}, {0.9, 4}} {
		if got := Quantile6(x, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile6(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(Quantile6(nil, 0.5)) {
		t.Error("quantile of nothing")
	}
	y := []float64{4, 1, 3, 2}
	if got := Quantiles6(y, []float64{0.3, 0.7}); got[0] != 1.5 || got[1] != 3.5 || y[0] != 1 {
		t.Errorf("Quantiles6 = %v (sample now %v), want [1.5 3.5] and the sample sorted", got, y)
	}
}

func TestQuantile8(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	// Reference values: R quantile(1:4, c(0.1, 0.3, 0.5, 0.7, 0.9), type = 8); position
	// (n+1/3)p+1/3, clamped to the extremes.
	for _, c := range []struct{ p, want float64 }{{0.1, 1}, {0.3, 1.6333333333333333}, {0.5, 2.5}, {0.7, 3.3666666666666667}, {0.9, 4}} {
		if got := Quantile8(x, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile8(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	if got := Median([]float64{1, 2, 7}); got != 2 {
		t.Errorf("odd median = %v, want 2", got)
	}
	if got := Median([]float64{1, 2, 4, 7}); got != 3 {
		t.Errorf("even median = %v, want 3", got)
	}
}

func TestGaussianQuantiles(t *testing.T) {
	q := GaussianQuantiles([]float64{10, 20}, []float64{1, 2}, []float64{0.025, 0.5, 0.975})
	for i, want := range [][]float64{{10 - 1.959963984540054, 10, 10 + 1.959963984540054}, {20 - 2*1.959963984540054, 20, 20 + 2*1.959963984540054}} {
		for j := range want {
			if math.Abs(q[i][j]-want[j]) > 1e-12 {
				t.Errorf("q[%d][%d] = %v, want %v", i, j, q[i][j], want[j])
			}
		}
	}
}

// TestNormalQuantileKeepsItsDigits pins the two hub levels where NormalQuantile's coefficient
// slip shows (see NormalQuantile): with AS 241's published coefficient they change in the last
// bit, and so would the recorded forecasts.
func TestNormalQuantileKeepsItsDigits(t *testing.T) {
	if got := NormalQuantile(0.65); got != 0.3853204664075677 {
		t.Errorf("NormalQuantile(0.65) = %.17g, want 0.3853204664075677", got)
	}
	if got := NormalQuantile(0.35); got != -0.3853204664075677 {
		t.Errorf("NormalQuantile(0.35) = %.17g, want -0.3853204664075677", got)
	}
}
