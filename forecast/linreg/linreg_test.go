package linreg

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

var probs = prevoir.DefaultQuantiles()

func predict(t *testing.T, o Options, f *prevoir.Frame, h int) *prevoir.Forecast {
	t.Helper()
	fc, _ := testframe.Predict(t, New(o), f, h, probs)
	return fc
}

func TestConstant(t *testing.T) {
	fc := predict(t, DefaultOptions(), testframe.New(testframe.Constant(200, 42), nil), 14)
	for i, p := range fc.Point {
		if math.Abs(p-42) > 1e-9 || fc.Values[i][0] != fc.Values[i][len(probs)-1] {
			t.Fatalf("day %d: %v %v, want 42 with zero width", i+1, p, fc.Values[i])
		}
	}
}

// TestWeeklyPattern: on a pure weekly pattern the lag 7 (and the weekday indicators) make
// the regression exact.
func TestWeeklyPattern(t *testing.T) {
	y := testframe.Weekly(300)
	for _, o := range []Options{DefaultOptions(), {Lags: 14}, {Lags: 7, Weekday: true, Lambda: 1e-6}} {
		fc := predict(t, o, testframe.New(y, nil), 14)
		for i, p := range fc.Point {
			if want := y[(300+i)%7]; math.Abs(p-want) > 0.02*want {
				t.Errorf("%+v: day %d = %.2f, want %v", o, i+1, p, want)
			}
		}
	}
}

// TestLine: on a line y[t+k] = y[t] + k·(y[t] − y[t−1]), an exact linear function of two
// lags, so with a negligible penalty every direct model continues the line.
func TestLine(t *testing.T) {
	y := testframe.Line(120, 10, 3)
	fc := predict(t, Options{Lags: 7, Lambda: 1e-9}, testframe.New(y, nil), 10)
	for i, p := range fc.Point {
		if want := 10 + 3*float64(120+i); math.Abs(p-want) > 1e-3*want {
			t.Errorf("day %d = %v, want %v", i+1, p, want)
		}
	}
	// A falling line is clipped at 0.
	fc = predict(t, Options{Lags: 7, Lambda: 1e-9}, testframe.New(testframe.Line(120, 240, -2), nil), 14)
	if last := fc.Point[13]; last != 0 || fc.Values[13][0] != 0 {
		t.Errorf("falling line: day 14 = %v %v, want 0", last, fc.Values[13])
	}
}

// TestCovariateAlignment: the target is yesterday's value of a random covariate, so one lag
// of the covariate predicts tomorrow exactly and the target's own lags do not.
func TestCovariateAlignment(t *testing.T) {
	n := 400
	x := make([]float64, n)
	y := make([]float64, n)
	s := uint64(7)
	for i := range x {
		s = s*6364136223846793005 + 1442695040888963407
		x[i] = 50 + float64(s>>40%100)
		if i > 0 {
			y[i] = x[i-1]
		}
	}
	y[0] = 50
	f := testframe.New(y, map[string][]float64{"x": x})
	fc := predict(t, Options{Lags: 3, Covariates: []string{"x"}, CovariateLags: 2, Lambda: 1e-8}, f, 1)
	if want := x[n-1]; math.Abs(fc.Point[0]-want) > 1e-3 {
		t.Errorf("forecast %v, want the covariate's last value %v", fc.Point[0], want)
	}
	// Without the covariate the forecast is poor.
	fc = predict(t, Options{Lags: 3, Lambda: 1e-8}, f, 1)
	if math.Abs(fc.Point[0]-x[n-1]) < 1 {
		t.Errorf("target-only forecast %v matches the covariate %v: the test is not testing anything", fc.Point[0], x[n-1])
	}
	// A covariate that stopped is left out, and said so.
	x2 := append([]float64(nil), x...)
	for i := n - 10; i < n; i++ {
		x2[i] = math.NaN()
	}
	ft, err := New(Options{Lags: 3, Covariates: []string{"x"}}).Fit(context.Background(), testframe.New(y, map[string][]float64{"x": x2}))
	if err != nil {
		t.Fatal(err)
	}
	if d := ft.(*fitted).Describe(); !strings.Contains(d, "left out: x") {
		t.Errorf("describe %q does not report the stale covariate", d)
	}
}

// TestGaps: interior gaps are interpolated on the weekly cycle (exactly, for a weekly
// pattern), leading gaps ignored, and a missing origin value is forecast from the day before.
func TestGaps(t *testing.T) {
	y := testframe.Weekly(300)
	g := append([]float64(nil), y...)
	for i := 0; i < 20; i++ {
		g[i] = math.NaN()
	}
	for i := 150; i < 155; i++ {
		g[i] = math.NaN()
	}
	g[298], g[299] = math.NaN(), math.NaN()
	o := Options{Lags: 14, Weekday: true, Lambda: 1e-3}
	fc := predict(t, o, testframe.New(g, nil), 14)
	if fc.Origin != testframe.Start()+299 || fc.Dates[0] != testframe.Start()+300 {
		t.Fatalf("origin %s, first day %s", fc.Origin, fc.Dates[0])
	}
	for i, p := range fc.Point {
		if want := y[(300+i)%7]; math.Abs(p-want) > 0.02*want {
			t.Errorf("day %d = %.2f, want %v", i+1, p, want)
		}
	}
}

func TestRidgeSolve(t *testing.T) {
	// Two standardised features with Z'Z/n = [[1, .5], [.5, 1]], Z'y/n = [1, 0], λ = 0.5:
	// (G + λI)β = b gives [[1.5, .5], [.5, 1.5]] β = [1, 0], β = [0.75, −0.25], and
	// df = 1 + tr((G+λI)⁻¹G) = 1 + 2 − λ·tr((G+λI)⁻¹) = 3 − 0.5·(1.5+1.5)/2 = 2.25.
	st := &standardised{mean: []float64{0, 0}, scale: []float64{1, 1}, gram: [][]float64{{1, .5}, {.5, 1}}, xty: []float64{1, 0}}
	m, err := solve(st, 0.5, true)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.beta[0]-0.75) > 1e-12 || math.Abs(m.beta[1]+0.25) > 1e-12 {
		t.Errorf("beta %v, want [0.75 -0.25]", m.beta)
	}
	if math.Abs(m.df-2.25) > 1e-12 {
		t.Errorf("df %v, want 2.25", m.df)
	}
}

func TestLambdaChosenAndErrors(t *testing.T) {
	f := testframe.New(testframe.Noisy(500, 3), nil)
	ft, err := New(DefaultOptions()).Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	lam := ft.(*fitted).lambda
	if !containsFloat(DefaultLambdas(), lam) {
		t.Errorf("lambda %v not from the grid", lam)
	}
	// Longer forecasts fit their extra horizons on demand.
	fc, err := ft.Predict(context.Background(), 30, probs)
	if err != nil || len(fc.Point) != 30 {
		t.Fatalf("30-day forecast: %v", err)
	}
	if _, err := New(DefaultOptions()).Fit(context.Background(), testframe.New(testframe.Noisy(40, 3), nil)); err == nil {
		t.Error("fitted 28 lags on 40 days")
	}
	if _, err := New(Options{Lambda: -1}).Fit(context.Background(), f); err == nil {
		t.Error("accepted a negative lambda")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(DefaultOptions()).Fit(ctx, f); err == nil {
		t.Error("fit with a cancelled context succeeded")
	}
}

func containsFloat(xs []float64, v float64) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}
