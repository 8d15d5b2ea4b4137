package ets

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

// TestPathsANNWeekly: ETS(A,N,N)'s simulated weekly totals have the analytic distribution, a
// normal of variance σ²·testframe.SESWeekVariance (weeks 1 and 2, the second also carrying
// the first week's errors).
func TestPathsANNWeekly(t *testing.T) {
	y := make([]float64, 300)
	for i := range y {
		y[i] = 500 + 20*math.Sin(float64(i)/9) + 10*math.Sin(float64(i*i)/7)
	}
	md, err := Fit(context.Background(), y, Spec{Error: Additive}, Options{Period: 1})
	if err != nil {
		t.Fatal(err)
	}
	const h, n = 14, 4000
	point, _, err := md.Forecast(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := md.Paths(h, n)
	if err != nil {
		t.Fatal(err)
	}
	a, s2 := md.Params().Alpha, md.Sigma2()
	for w := range 2 {
		sd := math.Sqrt(s2 * testframe.SESWeekVariance(a, w))
		q := stats.Quantiles6(testframe.WeekSums(ps, w), probs)
		mean := prevoir.WeekTotal(point, w)
		for j, p := range probs {
			want := mean + stats.NormalQuantile(p)*sd
			if math.Abs(q[j]-want) > 0.15*sd {
				t.Errorf("week %d (alpha %.3f): quantile %v = %.2f, want %.2f ± %.2f", w+1, a, p, q[j], want, 0.15*sd)
			}
		}
	}
}

// TestPathsMatchAnalyticMoments: for every model prevoir fits, on the original and the log
// scale, the paths' daily means and variances are the analytic ones where Forecast has them
// (classes 1 and 2, Hyndman et al. 2008, chapter 6), and the paths' daily quantiles are the
// simulated ones of class 3 up to Monte Carlo error.
func TestPathsMatchAnalyticMoments(t *testing.T) {
	y := weekly(200, 0.3)
	const h, n = 14, 4000
	for _, sp := range Candidates(true, true, false) {
		md, err := Fit(context.Background(), y, sp, Options{Init: InitHeuristic})
		if err != nil {
			t.Fatalf("%v: %v", sp, err)
		}
		ps, err := md.Paths(h, n)
		if err != nil {
			t.Fatalf("%v: %v", sp, err)
		}
		if sp.Season == Multiplicative {
			_, q, err := md.Forecast(h, []float64{0.1, 0.5, 0.9})
			if err != nil {
				t.Fatal(err)
			}
			for i := range h {
				got := stats.Quantiles6(testframe.Day(ps, i), []float64{0.1, 0.5, 0.9})
				spread := q[i][2] - q[i][0]
				for j := range got {
					if math.Abs(got[j]-q[i][j]) > 0.1*spread {
						t.Errorf("%v day %d: simulated quantiles %v, Forecast's %v", sp, i+1, got, q[i])
						break
					}
				}
			}
			continue
		}
		point, _, err := md.Forecast(h, nil)
		if err != nil {
			t.Fatal(err)
		}
		v := md.variance(point)
		for i := range h {
			mean, sd := testframe.DayMoments(ps, i)
			want := math.Sqrt(v[i])
			if math.Abs(mean-point[i]) > 5*want/math.Sqrt(n) || math.Abs(sd-want) > 0.08*want {
				t.Errorf("%v day %d: paths mean %.2f sd %.2f, want %.2f and %.2f", sp, i+1, mean, sd, point[i], want)
			}
		}
	}
}

// TestPathsBackTransformed: with log1p the paths are back-transformed one by one, so their
// daily medians are the (back-transformed) point forecasts and they are never below -1.
func TestPathsBackTransformed(t *testing.T) {
	md, err := Fit(context.Background(), weekly(200, 0.3), Spec{Error: Additive, Trend: Additive, Damped: true, Season: Additive},
		Options{Init: InitHeuristic, Transform: Log1p()})
	if err != nil {
		t.Fatal(err)
	}
	const h, n = 14, 4000
	point, q, err := md.Forecast(h, []float64{0.4, 0.6})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := md.Paths(h, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range h {
		day := testframe.Day(ps, i)
		slices.Sort(day)
		if day[0] < -1 {
			t.Errorf("day %d: path value %v below -1", i+1, day[0])
		}
		// The median's Monte Carlo error is well inside the 40-60% band.
		if m := stats.Quantile6(day, 0.5); m < q[i][0] || m > q[i][1] || math.Abs(m-point[i]) > 0.5*(q[i][1]-q[i][0]) {
			t.Errorf("day %d: paths' median %.2f, point %.2f, 40-60%% band %v", i+1, m, point[i], q[i])
		}
	}
}

// TestForecasterWeeklyReproducible: the forecaster's forecasts carry weekly totals whose
// quantiles the same data reproduce exactly, whatever the model AutoETS picks.
func TestForecasterWeeklyReproducible(t *testing.T) {
	y := testframe.Noisy(200, 3)
	for _, fc := range []Forecaster{{Options: Options{Init: InitHeuristic}}, {Options: Options{Init: InitHeuristic, Transform: Log1p()}}} {
		var got [][][]float64
		for range 2 {
			ft, err := fc.Fit(context.Background(), testframe.New(slices.Clone(y), nil))
			if err != nil {
				t.Fatal(err)
			}
			out, err := ft.Predict(context.Background(), 15, prevoir.DefaultQuantiles())
			if err != nil {
				t.Fatal(err)
			}
			if err := out.Validate(); err != nil {
				t.Fatal(err)
			}
			if out.Weekly == nil || len(out.Weekly.Values) != 2 {
				t.Fatalf("weekly %+v, want 2 weeks", out.Weekly)
			}
			got = append(got, out.Weekly.Values)
		}
		if !slices.EqualFunc(got[0], got[1], slices.Equal) {
			t.Errorf("weekly quantiles %v then %v", got[0], got[1])
		}
	}
}
