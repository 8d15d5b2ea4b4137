package linreg

import (
	"math"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// setWeekly gives fc its weekly totals from bootstrapped residual paths (Hyndman &
// Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., section 5.5, applied to the
// direct strategy): the in-sample residuals of horizons 1..h at one sample origin form a joint
// vector, and adding each such vector to the point path, on the model's scale, then
// transforming back, gives one sample path whose weekly sums keep the correlation of the
// errors across the days of a week. Every sample origin is drawn exactly once, which is the
// bootstrap distribution itself with no simulation noise and no seed. zhat are the forecasts on
// the model's scale for steps 1..lead+h. A model pinned before its residuals were kept by origin
// (models[k].res nil) gives no weekly totals.
func (ft *fitted) setWeekly(fc *prevoir.Forecast, models []*model, zhat []float64, lead int) error {
	h := len(fc.Dates)
	if fc.Weeks() == 0 {
		return nil
	}
	for _, m := range models[:lead+h] {
		if m.res == nil {
			return nil
		}
	}
	// The longest horizon has the fewest sample origins; the first ones are common to all.
	n := len(models[lead+h-1].res)
	ps := make([][]float64, n)
	for r := range n {
		p := make([]float64, h)
		for i := range h {
			k := lead + i
			p[i] = math.Max(ft.inverse(zhat[k]+models[k].res[r]), 0)
		}
		ps[r] = p
	}
	if err := stats.SetWeekly(fc, ps); err != nil {
		return err
	}
	return fc.Validate()
}
