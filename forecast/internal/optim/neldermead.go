// Package optim provides a small bounded Nelder-Mead simplex minimiser shared by the
// forecasting packages.
//
// The forecasters optimise a handful of smoothing parameters (and sometimes initial states)
// of a likelihood that is cheap to evaluate but not differentiable everywhere (admissibility
// constraints make it +Inf outside a region), which is the setting the simplex method of
// Nelder & Mead (1965) was designed for; R's forecast::ets and statsforecast use the same
// method for the same reason.
//
// Reference: Nelder, J.A. and Mead, R. (1965) "A simplex method for function minimization",
// The Computer Journal 7(4), 308-313. Box constraints are handled by projecting every trial
// point onto the box, as statsforecast's ets.py does; other constraints are expressed by the
// objective returning +Inf.
package optim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Problem is what Minimize minimises, as in gonum's optimize.Problem: an objective and,
// here, the box it is minimised in.
type Problem struct {
	// Func is the objective. It may return +Inf (or NaN, treated as +Inf) to reject a point.
	Func func(x []float64) float64
	// Lower and Upper bound the coordinates (either may be nil for an unbounded problem; use
	// ±Inf for individual unbounded coordinates). Every trial point is projected onto the box.
	Lower, Upper []float64
}

// Settings controls a Nelder-Mead run. The zero value is not valid; use DefaultSettings.
type Settings struct {
	// Step gives the initial simplex edge along each coordinate (nil: all zero); a zero step
	// is replaced by 0.1*|x0_i|, or 0.1 where x0_i is 0.
	Step []float64
	// MaxEval bounds the number of objective evaluations.
	MaxEval int
	// RelTol stops the search when the spread of objective values over the simplex is below
	// RelTol*(|f_best|+RelTol), the convergence test of R's optim (reltol).
	RelTol float64
	// Reflection, Expansion, Contraction and Shrink are the usual simplex coefficients
	// (1, 2, 0.5, 0.5 in Nelder & Mead 1965).
	Reflection, Expansion, Contraction, Shrink float64
}

// DefaultSettings returns the coefficients of Nelder & Mead (1965) with R's default relative
// tolerance sqrt(machine epsilon) and an evaluation budget of 2000 (forecast::ets's maxit).
func DefaultSettings() Settings {
	return Settings{
		MaxEval:     2000,
		RelTol:      math.Sqrt(2.220446049250313e-16),
		Reflection:  1,
		Expansion:   2,
		Contraction: 0.5,
		Shrink:      0.5,
	}
}

// Result is the outcome of Minimize.
type Result struct {
	X     []float64 // best point found
	F     float64   // objective at X
	Evals int       // number of objective evaluations used
}

// ErrNoFiniteStart is returned when the objective is not finite at the starting point.
var ErrNoFiniteStart = errors.New("optim: objective is not finite at the starting point")

// Minimize minimises p.Func starting from x0 inside p's box, with the initial simplex and
// coefficients of s. The context is checked every 32 iterations so that a long optimisation
// can be cancelled.
func Minimize(ctx context.Context, p Problem, x0 []float64, s Settings) (Result, error) {
	f, step, lower, upper := p.Func, s.Step, p.Lower, p.Upper
	if f == nil {
		return Result{}, errors.New("optim: no objective function")
	}
	n := len(x0)
	if n == 0 {
		return Result{}, errors.New("optim: empty starting point")
	}
	if step != nil && len(step) != n || lower != nil && len(lower) != n || upper != nil && len(upper) != n {
		return Result{}, fmt.Errorf("optim: dimension mismatch: x0 has %d coordinates", n)
	}
	if s.MaxEval <= 0 {
		return Result{}, fmt.Errorf("optim: MaxEval must be positive, got %d", s.MaxEval)
	}
	clamp := func(x []float64) {
		for i := range x {
			if lower != nil && x[i] < lower[i] {
				x[i] = lower[i]
			}
			if upper != nil && x[i] > upper[i] {
				x[i] = upper[i]
			}
		}
	}
	evals := 0
	eval := func(x []float64) float64 {
		evals++
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}

	// Simplex: n+1 vertices stored contiguously.
	pts := make([][]float64, n+1)
	fv := make([]float64, n+1)
	for i := range pts {
		pts[i] = make([]float64, n)
		copy(pts[i], x0)
	}
	clamp(pts[0])
	fv[0] = eval(pts[0])
	if math.IsInf(fv[0], 1) {
		return Result{X: pts[0], F: fv[0], Evals: evals}, ErrNoFiniteStart
	}
	for i := 0; i < n; i++ {
		h := 0.0
		if step != nil {
			h = step[i]
		}
		if h == 0 {
			h = 0.1 * math.Abs(x0[i])
			if h == 0 {
				h = 0.1
			}
		}
		v := pts[i+1]
		v[i] += h
		// If the step leaves the box, go the other way.
		if upper != nil && v[i] > upper[i] {
			v[i] = x0[i] - h
		}
		clamp(v)
		fv[i+1] = eval(v)
	}

	order := make([]int, n+1)
	centroid := make([]float64, n)
	xr := make([]float64, n)
	xe := make([]float64, n)
	xc := make([]float64, n)
	for iter := 0; ; iter++ {
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return fv[order[a]] < fv[order[b]] })
		best, worst, second := order[0], order[n], order[n-1]
		fb, fw := fv[best], fv[worst]
		if evals >= s.MaxEval {
			break
		}
		if !math.IsInf(fw, 1) && fw-fb <= s.RelTol*(math.Abs(fb)+s.RelTol) {
			break
		}
		if iter%32 == 31 && ctx != nil {
			if err := ctx.Err(); err != nil {
				return Result{X: append([]float64(nil), pts[best]...), F: fb, Evals: evals}, err
			}
		}
		for j := range centroid {
			centroid[j] = 0
		}
		for _, i := range order[:n] {
			for j, v := range pts[i] {
				centroid[j] += v
			}
		}
		for j := range centroid {
			centroid[j] /= float64(n)
		}
		for j := range xr {
			xr[j] = centroid[j] + s.Reflection*(centroid[j]-pts[worst][j])
		}
		clamp(xr)
		fr := eval(xr)
		switch {
		case fr < fb:
			for j := range xe {
				xe[j] = centroid[j] + s.Expansion*(xr[j]-centroid[j])
			}
			clamp(xe)
			fe := eval(xe)
			if fe < fr {
				copy(pts[worst], xe)
				fv[worst] = fe
			} else {
				copy(pts[worst], xr)
				fv[worst] = fr
			}
		case fr < fv[second]:
			copy(pts[worst], xr)
			fv[worst] = fr
		default:
			// Contraction, outside if the reflected point is better than the worst.
			if fr < fw {
				for j := range xc {
					xc[j] = centroid[j] + s.Contraction*(xr[j]-centroid[j])
				}
			} else {
				for j := range xc {
					xc[j] = centroid[j] + s.Contraction*(pts[worst][j]-centroid[j])
				}
			}
			clamp(xc)
			fc := eval(xc)
			if fc < math.Min(fr, fw) {
				copy(pts[worst], xc)
				fv[worst] = fc
			} else {
				// Shrink towards the best vertex.
				for _, i := range order[1:] {
					for j := range pts[i] {
						pts[i][j] = pts[best][j] + s.Shrink*(pts[i][j]-pts[best][j])
					}
					clamp(pts[i])
					fv[i] = eval(pts[i])
				}
			}
		}
	}
	bi := 0
	for i := range fv {
		if fv[i] < fv[bi] {
			bi = i
		}
	}
	return Result{X: append([]float64(nil), pts[bi]...), F: fv[bi], Evals: evals}, nil
}
