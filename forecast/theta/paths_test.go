package theta_test

import (
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/theta"
)

// TestPathsWeekly: the Theta method is SES with drift (Hyndman & Billah 2003), so its weekly
// totals are normal around the summed points with the variance of ETS(A,N,N)'s sums,
// σ²·testframe.SESWeekVariance; for both the
// standard and the optimised method, without seasonal adjustment (Period 1).
func TestPathsWeekly(t *testing.T) {
	y := make([]float64, 300)
	for i := range y {
		y[i] = 500 + float64(i) + 20*math.Sin(float64(i)/9) + 10*math.Sin(float64(i*i)/7)
	}
	levels := prevoir.DefaultQuantiles()
	for _, opt := range []bool{false, true} {
		md, err := theta.Fit(y, theta.Options{Period: 1, Optimize: opt})
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
		a := md.Alpha()
		for w := range 2 {
			sd := math.Sqrt(md.Sigma2() * testframe.SESWeekVariance(a, w))
			q := stats.Quantiles6(testframe.WeekSums(ps, w), levels)
			for j, p := range levels {
				want := prevoir.WeekTotal(point, w) + stats.NormalQuantile(p)*sd
				if math.Abs(q[j]-want) > 0.15*sd {
					t.Errorf("optimised=%v week %d: quantile %v = %.2f, want %.2f ± %.2f", opt, w+1, p, q[j], want, 0.15*sd)
				}
			}
		}
	}
}

// TestForecasterWeekly: the forecaster's forecasts have weekly totals that validate and that
// the same data reproduce.
func TestForecasterWeekly(t *testing.T) {
	y := testframe.Noisy(200, 5)
	for _, fc := range []theta.Forecaster{{}, {Options: theta.Options{Optimize: true}}} {
		var got [][][]float64
		for range 2 {
			out, _ := testframe.Predict(t, fc, testframe.New(slices.Clone(y), nil), 14, prevoir.DefaultQuantiles())
			if out.Weekly == nil {
				t.Fatal("no weekly totals")
			}
			got = append(got, out.Weekly.Values)
		}
		if !slices.EqualFunc(got[0], got[1], slices.Equal) {
			t.Errorf("%s: weekly quantiles %v then %v", fc.Name(), got[0], got[1])
		}
	}
}
