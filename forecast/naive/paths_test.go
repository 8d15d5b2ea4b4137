package naive_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/naive"
)

// randomWalk returns n days of a Gaussian random walk from 1000 with steps of s.d. sd, far
// from 0 so that nothing is clipped.
func randomWalk(n int, sd float64) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	y := make([]float64, n)
	y[0] = 1000
	for i := 1; i < n; i++ {
		y[i] = y[i-1] + sd*rng.NormFloat64()
	}
	return y
}

// checkNormal compares quantiles q at levels with those of N(mean, sd²), within tol standard
// deviations (the Monte Carlo error of 2000 paths is about 0.06 at the 2.5% level).
//
// tol is in standard deviations at the quartiles; in the tails a sample quantile's Monte Carlo
// error grows as sqrt(p(1−p))/φ(z_p) (the asymptotic variance of a sample quantile), so the
// tolerance grows with it.
func checkNormal(t *testing.T, what string, q, levels []float64, mean, sd, tol float64) {
	t.Helper()
	grow := func(p float64) float64 {
		z := stats.NormalQuantile(p)
		return math.Sqrt(p*(1-p)) / math.Exp(-z*z/2)
	}
	for j, p := range levels {
		want := mean + stats.NormalQuantile(p)*sd
		if tol := tol * math.Max(1, grow(p)/grow(0.25)); math.Abs(q[j]-want) > tol*sd {
			t.Errorf("%s: quantile %v = %.2f, want %.2f ± %.2f", what, p, q[j], want, tol*sd)
		}
	}
}

// TestWeeklyRandomWalk: the naive method's weekly totals have the analytic distribution of the
// sums of a Gaussian random walk: week 1 = 7·y_n + Σ_{k=1..7} (8−k) e_k, variance
// σ²·Σ_{k=1..7} k² = 140σ²; week 2 adds 7 times the walk's 7th day, 49·7σ² + 140σ² = 483σ².
// Independent days (variance iσ² on day i) would give 28σ² and 77σ². The seasonal naive's
// weeks are sums of independent seasonal random walks: 7σ² and 14σ².
func TestWeeklyRandomWalk(t *testing.T) {
	y := randomWalk(400, 5)
	levels := prevoir.DefaultQuantiles()
	for _, c := range []struct {
		method naive.Method
		v1, v2 float64 // weekly variances in units of σ²
	}{{naive.MethodNaive, 140, 483}, {naive.MethodSeasonalNaive, 7, 14}} {
		fc := naive.Forecaster{Method: c.method}
		out := forecast(t, fc, y, 14)
		var md *naive.Model
		var err error
		if c.method == naive.MethodNaive {
			md, err = naive.Naive(y)
		} else {
			md, err = naive.SeasonalNaive(y, 7)
		}
		if err != nil {
			t.Fatal(err)
		}
		s := md.Sigma()
		if out.Weekly == nil || len(out.Weekly.Values) != 2 {
			t.Fatalf("%s: weekly %+v, want two weeks", fc.Name(), out.Weekly)
		}
		checkNormal(t, fc.Name()+" week 1", out.Weekly.Values[0], levels, out.Weekly.Point[0], s*math.Sqrt(c.v1), 0.15)
		checkNormal(t, fc.Name()+" week 2", out.Weekly.Values[1], levels, out.Weekly.Point[1], s*math.Sqrt(c.v2), 0.15)
	}
}

// TestPathsMatchDailyForecast: every method's paths have, day by day, the mean and standard
// deviation of its analytic forecast distribution, with and without trailing missing days.
func TestPathsMatchDailyForecast(t *testing.T) {
	y := randomWalk(200, 5)
	gappy := slices.Clone(y)
	gappy[197], gappy[199] = math.NaN(), math.NaN()
	for _, data := range [][]float64{y, gappy} {
		for _, fit := range []func() (*naive.Model, error){
			func() (*naive.Model, error) { return naive.Naive(data) },
			func() (*naive.Model, error) { return naive.SeasonalNaive(data, 7) },
			func() (*naive.Model, error) { return naive.Mean(data, 7) },
			func() (*naive.Model, error) { return naive.Drift(data) },
		} {
			md, err := fit()
			if err != nil {
				t.Fatal(err)
			}
			const h, n = 14, 4000
			point, q, err := md.Forecast(h, []float64{stats.NormalCDF(1)})
			if err != nil {
				t.Fatal(err)
			}
			ps, err := md.Paths(h, n)
			if err != nil {
				t.Fatal(err)
			}
			for i := range h {
				mean, sd := testframe.DayMoments(ps, i)
				want := q[i][0] - point[i]
				// Standard errors: sd/√n for the mean, sd/√(2n) for the s.d.
				if math.Abs(mean-point[i]) > 4*want/math.Sqrt(n) || math.Abs(sd-want) > 4*want/math.Sqrt(2*n) {
					t.Errorf("%v day %d: paths mean %.2f sd %.2f, want %.2f and %.2f", md.Method(), i+1, mean, sd, point[i], want)
				}
			}
		}
	}
}

// TestWeeklyReproducible: the same data give the same weekly quantiles; other data others.
func TestWeeklyReproducible(t *testing.T) {
	for _, fc := range all() {
		y := randomWalk(100, 5)
		a := forecast(t, fc, y, 14)
		b := forecast(t, fc, slices.Clone(y), 14)
		if !slices.EqualFunc(a.Weekly.Values, b.Weekly.Values, slices.Equal) {
			t.Errorf("%s: weekly quantiles %v then %v", fc.Name(), a.Weekly.Values, b.Weekly.Values)
		}
		y[50]++
		c := forecast(t, fc, y, 14)
		if slices.EqualFunc(a.Weekly.Values, c.Weekly.Values, slices.Equal) {
			t.Errorf("%s: other data, same draws", fc.Name())
		}
	}
}

// TestWeeklyOnlyForWholeWeeks: a forecast shorter than a week has no weekly totals.
func TestWeeklyOnlyForWholeWeeks(t *testing.T) {
	ft, err := naive.Forecaster{}.Fit(context.Background(), testframe.New(randomWalk(50, 5), nil))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ft.Predict(context.Background(), 6, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	if out.Weekly != nil {
		t.Errorf("6 days: weekly %+v", out.Weekly)
	}
}
