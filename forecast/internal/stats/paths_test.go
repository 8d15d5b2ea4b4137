package stats_test

import (
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// TestSetWeekly: paths whose days are independent give a weekly total narrower than the sum
// of the daily quantiles; the weekly point is the sum of the daily points.
func TestSetWeekly(t *testing.T) {
	o := prevoir.MustParseDate("2022-01-01")
	const h, n = 14, 4000
	fc := &prevoir.Forecast{Model: "m", Origin: o, Quantiles: []float64{0.05, 0.5, 0.95}}
	for i := range h {
		fc.Dates = append(fc.Dates, o+prevoir.Date(i+1))
		fc.Point = append(fc.Point, 10)
		fc.Values = append(fc.Values, []float64{0, 10, 20})
	}
	ps := make([][]float64, n)
	for s := range ps {
		ps[s] = make([]float64, h)
		for i := range h {
			// Days alternate between 0 and 20 by independent bits of s.
			if (s>>(i%12))&1 == 1 {
				ps[s][i] = 20
			}
		}
	}
	if err := stats.SetWeekly(fc, ps); err != nil {
		t.Fatal(err)
	}
	if err := fc.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(fc.Weekly.Point) != 2 || fc.Weekly.Point[0] != 70 || fc.Weekly.Point[1] != 70 {
		t.Fatalf("weekly points %v, want [70 70]", fc.Weekly.Point)
	}
	for k, q := range fc.Weekly.Values {
		// Sum of daily quantiles: 0 .. 140; the independent sum has a 90% interval near 70 ± 44.
		if q[0] <= 0 || q[2] >= 140 || q[0] > 70 || q[2] < 70 {
			t.Errorf("week %d quantiles %v: want strictly inside [0, 140] around 70", k+1, q)
		}
	}
	if err := stats.SetWeekly(fc, [][]float64{{1, 2}}); err == nil {
		t.Error("a path shorter than the forecast was accepted")
	}
}
