package stats

import (
	"math"
	"testing"
)

func TestBoxCoxRoundTrip(t *testing.T) {
	for _, b := range []BoxCox{Log1p(), {Lambda: 0.5}, {Lambda: -0.3, Shift: 2}, {Lambda: 1}} {
		for _, y := range []float64{0, 0.5, 3, 150, 1e4} {
			if got := b.Inverse(b.Forward(y)); math.Abs(got-y) > 1e-9*math.Max(1, y) {
				t.Errorf("%+v: Inverse(Forward(%v)) = %v", b, y, got)
			}
		}
	}
	if got := Log1p().Forward(math.E - 1); math.Abs(got-1) > 1e-15 {
		t.Errorf("log1p(e-1) = %v", got)
	}
	if err := Log1p().Validate([]float64{0, 1, -1}); err == nil {
		t.Error("expected an error for y = -1 with log1p")
	}
	if got := (BoxCox{Lambda: 0.5}).Inverse(-10); got != 0 {
		t.Errorf("Inverse below range = %v, want 0", got)
	}
}
