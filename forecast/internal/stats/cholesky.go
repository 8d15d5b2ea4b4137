package stats

// The small dense linear algebra the regressions share: the Cholesky factorisation of a
// symmetric positive-definite matrix and the solve it gives.

import (
	"errors"
	"fmt"
	"math"
)

// ErrNotPositiveDefinite is returned by Cholesky when a pivot is not positive: the matrix
// is singular or indefinite (for normal equations, the design is rank-deficient).
var ErrNotPositiveDefinite = errors.New("matrix is not positive definite")

// Cholesky returns the lower-triangular L with A = L Lᵀ of the symmetric positive-definite
// A (only its lower triangle is read), by the gaxpy Cholesky of Golub & Van Loan, "Matrix
// Computations", 4th ed., algorithm 4.2.1. The error wraps ErrNotPositiveDefinite and names
// the first column (0-based) whose pivot is not positive.
func Cholesky(a [][]float64) ([][]float64, error) {
	p := len(a)
	l := make([][]float64, p)
	for i := range l {
		l[i] = make([]float64, p)
	}
	for j := range p {
		d := a[j][j]
		for k := range j {
			d -= l[j][k] * l[j][k]
		}
		if d <= 0 || math.IsNaN(d) {
			return nil, fmt.Errorf("%w: the pivot of column %d is %g", ErrNotPositiveDefinite, j, d)
		}
		l[j][j] = math.Sqrt(d)
		for i := j + 1; i < p; i++ {
			s := a[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			l[i][j] = s / l[j][j]
		}
	}
	return l, nil
}

// CholSolve returns x with L Lᵀ x = b, by forward then back substitution on the factor
// Cholesky returned.
func CholSolve(l [][]float64, b []float64) []float64 {
	p := len(b)
	y := make([]float64, p)
	for i := range p {
		s := b[i]
		for k := range i {
			s -= l[i][k] * y[k]
		}
		y[i] = s / l[i][i]
	}
	for i := p - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < p; k++ {
			s -= l[k][i] * y[k]
		}
		y[i] = s / l[i][i]
	}
	return y
}
