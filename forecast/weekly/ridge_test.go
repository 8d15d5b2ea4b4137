package weekly

import (
	"errors"
	"math"
	"testing"

	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// TestRidge: the ridge recovers exact coefficients, stays solvable when a feature is
// collinear with the intercept (the tiny penalty puts the effect in the intercept), and
// refuses a design without an intercept.
func TestRidge(t *testing.T) {
	var X [][]float64
	var z []float64
	for i := range 20 {
		x := []float64{1, float64(i), math.Sin(float64(i))}
		X = append(X, x)
		z = append(z, 0.5-0.2*x[1]+3*x[2])
	}
	b, err := ridge(X, z, 0)
	if err != nil {
		t.Fatal(err)
	}
	for j, want := range []float64{0.5, -0.2, 3} {
		if math.Abs(b[j]-want) > 1e-6 {
			t.Errorf("b = %v, want 0.5, -0.2, 3", b)
		}
	}
	for i := range X {
		X[i][1], z[i] = 1, 2 // the feature is the intercept
	}
	if b, err = ridge(X, z, 0); err != nil || math.Abs(b[0]-2) > 1e-6 || math.Abs(b[1]) > 1e-6 {
		t.Errorf("collinear: b = %v, %v; want the 2 in the intercept", b, err)
	}
	for i := range X {
		X[i][0] = 0
	}
	if _, err := ridge(X, z, 0); !errors.Is(err, stats.ErrNotPositiveDefinite) {
		t.Errorf("no intercept: err = %v, want a singular design", err)
	}
}
