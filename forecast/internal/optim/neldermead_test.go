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
	r, err := Minimize(context.Background(), Problem{Func: f}, []float64{-1.2, 1}, s)
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
	s := DefaultSettings()
	s.Step = []float64{0.1, 0.1}
	r, err := Minimize(context.Background(), Problem{Func: f, Lower: []float64{-1, -1}, Upper: []float64{1, 1}}, []float64{0, 0}, s)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.X[0]-1) > 1e-6 || math.Abs(r.X[1]+1) > 1e-6 {
		t.Errorf("bounded minimum at %v, want (1, -1)", r.X)
	}
}

func TestMinimizeInfiniteStart(t *testing.T) {
	f := func(x []float64) float64 { return math.Inf(1) }
	if _, err := Minimize(context.Background(), Problem{Func: f}, []float64{0}, DefaultSettings()); err != ErrNoFiniteStart {
		t.Errorf("err = %v, want ErrNoFiniteStart", err)
	}
}

func TestMinimizeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := func(x []float64) float64 { return math.Sin(x[0]) * math.Cos(x[1]) }
	s := DefaultSettings()
	s.RelTol = 0
	if _, err := Minimize(ctx, Problem{Func: f}, []float64{0.3, 0.2}, s); err == nil {
		t.Error("expected a context error")
	}
}

func TestMinimizeRejectsBadProblems(t *testing.T) {
	f := func(x []float64) float64 { return x[0] * x[0] }
	short := DefaultSettings()
	short.Step = []float64{0.1}
	for name, c := range map[string]struct {
		p  Problem
		s  Settings
		x0 []float64
	}{
		"no function":    {Problem{}, DefaultSettings(), []float64{1}},
		"empty start":    {Problem{Func: f}, DefaultSettings(), nil},
		"short step":     {Problem{Func: f}, short, []float64{1, 2}},
		"short bound":    {Problem{Func: f, Lower: []float64{0}}, DefaultSettings(), []float64{1, 2}},
		"no evaluations": {Problem{Func: f}, Settings{}, []float64{1}},
	} {
		if _, err := Minimize(context.Background(), c.p, c.x0, c.s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
