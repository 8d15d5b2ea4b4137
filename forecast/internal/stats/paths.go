package stats

// Simulated or bootstrapped sample paths of a forecast turned into quantiles: the way to get
// the distribution of a sum of days (a week's total), whose quantiles are not the sums of the
// days' quantiles (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed.,
// section 5.5, "Prediction intervals from bootstrapped residuals", and section 13.8 on
// forecasting aggregates from simulated sample paths).

import (
	"fmt"

	"github.com/prevoir/prevoir"
)

// SetWeekly gives fc its weekly totals from sample paths: paths[s][i] is path s's value on
// forecast day i+1. The weekly point is the sum of the daily points (so that the daily and
// weekly forecasts agree); its quantiles are those of the paths' weekly sums, widened where
// needed to contain the point, as the daily intervals do.
func SetWeekly(fc *prevoir.Forecast, paths [][]float64) error {
	n := fc.Weeks()
	if len(paths) == 0 {
		return fmt.Errorf("forecast %s: no sample path for the weekly totals", fc.Model)
	}
	w := &prevoir.Weeks{Point: make([]float64, n), Values: make([][]float64, n)}
	sums := make([]float64, len(paths))
	for k := range n {
		for s, p := range paths {
			if len(p) < len(fc.Dates) {
				return fmt.Errorf("forecast %s: sample path %d has %d days, want %d", fc.Model, s, len(p), len(fc.Dates))
			}
			sums[s] = prevoir.WeekTotal(p, k)
		}
		w.Point[k] = prevoir.WeekTotal(fc.Point, k)
		w.Values[k] = Contain(Quantiles6(sums, fc.Quantiles), fc.Quantiles, w.Point[k])
	}
	fc.Weekly = w
	return nil
}

// Contain widens the central intervals of the quantile row q (at levels) that do not contain
// point, so that every interval does: quantiles below the median are at most point, those
// above at least point.
func Contain(q, levels []float64, point float64) []float64 {
	for j, p := range levels {
		switch {
		case p < 0.5 && q[j] > point:
			q[j] = point
		case p > 0.5 && q[j] < point:
			q[j] = point
		}
	}
	return q
}
