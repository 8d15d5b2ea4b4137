package optim

import (
	"context"
	"math"
	"testing"
)

func TestMinimizeRosenbrock(t *testing.T) {
	f := func(x []float64) float64 {
		a, b := 1-x[0], x[1]-x[0]*x[0]
		return a*a + 100*b*b
	}
	s := DefaultSettings()
	s.MaxEval = 5000
	s.RelTol = 1e-14
	r, err := Minimize(context.Background(), f, []float64{-1.2, 1}, nil, nil, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.X[0]-1) > 1e-3 || math.Abs(r.X[1]-1) > 1e-3 {
		t.Errorf("Rosenbrock minimum at %v, want (1, 1)", r.X)
	}
}

func TestMinimizeBounded(t *testing.T) {
	// Unconstrained minimum at (2, -3); the box forces (1, -1).
	f := func(x []float64) float64 { return (x[0]-2)*(x[0]-2) + (x[1]+3)*(x[1]+3) }
	r, err := Minimize(context.Background(), f, []float64{0, 0}, []float64{0.1, 0.1},
		[]float64{-1, -1}, []float64{1, 1}, DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.X[0]-1) > 1e-6 || math.Abs(r.X[1]+1) > 1e-6 {
		t.Errorf("bounded minimum at %v, want (1, -1)", r.X)
	}
}

func TestMinimizeInfiniteStart(t *testing.T) {
	f := func(x []float64) float64 { return math.Inf(1) }
	if _, err := Minimize(context.Background(), f, []float64{0}, nil, nil, nil, DefaultSettings()); err != ErrNoFiniteStart {
		t.Errorf("err = %v, want ErrNoFiniteStart", err)
	}
}

func TestMinimizeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := func(x []float64) float64 { return math.Sin(x[0]) * math.Cos(x[1]) }
	s := DefaultSettings()
	s.RelTol = 0
	if _, err := Minimize(ctx, f, []float64{0.3, 0.2}, nil, nil, nil, s); err == nil {
		t.Error("expected a context error")
	}
}
