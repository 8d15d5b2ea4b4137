package normal

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	// Reference values: R qnorm().
	for _, c := range []struct{ p, want float64 }{
		{0.5, 0},
		{0.975, 1.959963984540054},
		{0.9, 1.2815515655446004},
		{0.025, -1.959963984540054},
		{0.75, 0.6744897501960817},
		{1e-10, -6.361340902404056},
	} {
		if got := Quantile(c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	for _, p := range []float64{1e-300, 0.001, 0.3, 0.6, 0.999} {
		if got := CDF(Quantile(p)); math.Abs(got-p) > 1e-12*math.Max(1, p/1e-3) && math.Abs(got-p)/p > 1e-10 {
			t.Errorf("CDF(Quantile(%v)) = %v", p, got)
		}
	}
	if !math.IsNaN(Quantile(1.5)) || !math.IsInf(Quantile(0), -1) || !math.IsInf(Quantile(1), 1) {
		t.Error("edge cases wrong")
	}
}
