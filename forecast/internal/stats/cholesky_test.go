package stats

import (
	"errors"
	"math"
	"testing"
)

func TestCholeskySolvesAKnownSystem(t *testing.T) {
	// A = L Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]]: the factor and the solve are exact.
	a := [][]float64{{4, 12, -16}, {12, 37, -43}, {-16, -43, 98}}
	l, err := Cholesky(a)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{2, 0, 0}, {6, 1, 0}, {-8, 5, 3}}
	for i := range want {
		for j := range want[i] {
			if math.Abs(l[i][j]-want[i][j]) > 1e-12 {
				t.Fatalf("L[%d][%d] = %g, want %g", i, j, l[i][j], want[i][j])
			}
		}
	}
	x := []float64{1, -2, 0.5}
	b := make([]float64, 3)
	for i := range a {
		for j := range a[i] {
			b[i] += a[i][j] * x[j]
		}
	}
	got := CholSolve(l, b)
	for i := range x {
		if math.Abs(got[i]-x[i]) > 1e-9 {
			t.Fatalf("x = %v, want %v", got, x)
		}
	}
}

func TestCholeskyRefusesSingularAndIndefinite(t *testing.T) {
	for name, a := range map[string][][]float64{
		"singular":   {{1, 2}, {2, 4}},
		"indefinite": {{1, 3}, {3, 1}},
		"nan":        {{math.NaN()}},
	} {
		_, err := Cholesky(a)
		if !errors.Is(err, ErrNotPositiveDefinite) {
			t.Errorf("%s: err = %v, want ErrNotPositiveDefinite", name, err)
		}
	}
}
