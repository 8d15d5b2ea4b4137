package backtest_test

import (
	"math"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestWIS checks the weighted interval score on cases computed by hand. Levels 0.1, 0.25, 0.5,
// 0.75, 0.9 give K = 2 intervals, alpha = 0.2 ([q0.1, q0.9]) and alpha = 0.5 ([q0.25, q0.75]),
// weights alpha/2 = 0.1 and 0.25, median weight 1/2, normalisation K + 1/2 = 2.5.
//
// Quantiles 5, 7, 8, 11, 14 and y = 10 (inside both intervals):
//
//	IS_0.2 = 14 − 5 = 9, IS_0.5 = 11 − 7 = 4,
//	WIS = (0.5·|10 − 8| + 0.1·9 + 0.25·4) / 2.5 = (1 + 0.9 + 1) / 2.5 = 1.16.
//
// y = 20 (above both):
//
//	IS_0.2 = 9 + (2/0.2)·(20 − 14) = 69, IS_0.5 = 4 + (2/0.5)·(20 − 11) = 40,
//	WIS = (0.5·12 + 0.1·69 + 0.25·40) / 2.5 = (6 + 6.9 + 10) / 2.5 = 9.16.
//
// y = 6 (below the 50% interval only):
//
//	IS_0.2 = 9, IS_0.5 = 4 + 4·(7 − 6) = 8,
//	WIS = (0.5·2 + 0.9 + 0.25·8) / 2.5 = 3.9 / 2.5 = 1.56.
func TestWIS(t *testing.T) {
	levels := []float64{0.1, 0.25, 0.5, 0.75, 0.9}
	q := []float64{5, 7, 8, 11, 14}
	for _, c := range []struct{ y, want float64 }{{10, 1.16}, {20, 9.16}, {6, 1.56}} {
		if got := backtest.WIS(c.y, 8, levels, q); !near(got, c.want) {
			t.Errorf("WIS(y=%v) = %v, want %v", c.y, got, c.want)
		}
	}
	// No interval: WIS is the absolute error of the median.
	if got := backtest.WIS(10, 8, []float64{0.5}, []float64{8}); !near(got, 2) {
		t.Errorf("WIS without intervals = %v, want 2", got)
	}
	if got := backtest.IntervalScore(3, 5, 14, 0.2); !near(got, 9+10*2) {
		t.Errorf("IS below = %v", got)
	}
}

// TestScore checks every measure on two origins × two horizons computed by hand.
//
//	origin 1: horizon 1 y=10 ŷ=8 (err 2), horizon 2 y=20 ŷ=25 (err −5)
//	origin 2: horizon 1 y=0  ŷ=0 (err 0), horizon 2 y missing (ignored)
//
// MAE = (2+5+0)/3 = 7/3, RMSE = sqrt((4+25+0)/3), MAE by horizon = [1, 5].
// MASE with scales 2 and 4: origin 1 MAE 3.5/2 = 1.75, origin 2 MAE 0/4 = 0, mean 0.875.
// sMAPE = mean(200·2/18, 200·5/45) (y = ŷ = 0 is left out) = (22.222… + 22.222…)/2.
// 80% interval [q0.1, q0.9]: 10 in [7, 9]? no; 20 in [22, 30]? no; 0 in [0, 1]? yes: 1/3.
// 95% [q0.025, q0.975]: [6, 12] yes, [18, 40] yes, [0, 2] yes: 1. 50%: [7.5, 8.5] no, [24, 26]
// no, [0, 0.5] yes: 1/3.
func TestScore(t *testing.T) {
	levels := []float64{0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975}
	o1, o2 := prevoir.MustParseDate("2022-01-02"), prevoir.MustParseDate("2022-01-09")
	rows := []backtest.Row{
		{Origin: o1, Date: o1 + 1, Horizon: 1, Actual: 10, Point: 8, Quantiles: prevoir.Series{6, 7, 7.5, 8, 8.5, 9, 12}},
		{Origin: o1, Date: o1 + 2, Horizon: 2, Actual: 20, Point: 25, Quantiles: prevoir.Series{18, 22, 24, 25, 26, 30, 40}},
		{Origin: o2, Date: o2 + 1, Horizon: 1, Actual: 0, Point: 0, Quantiles: prevoir.Series{0, 0, 0, 0, 0.5, 1, 2}},
		{Origin: o2, Date: o2 + 2, Horizon: 2, Actual: prevoir.Number(math.NaN()), Point: 3, Quantiles: prevoir.Series{0, 1, 2, 3, 4, 5, 6}},
	}
	scale := map[prevoir.Date]float64{o1: 2, o2: 4}
	s := backtest.Score(rows, levels, 2, func(d prevoir.Date) float64 { return scale[d] })
	checks := []struct {
		name      string
		got, want float64
	}{
		{"MAE", float64(s.MAE), 7.0 / 3},
		{"RMSE", float64(s.RMSE), math.Sqrt(29.0 / 3)},
		{"MASE", float64(s.MASE), 0.875},
		{"sMAPE", float64(s.SMAPE), (400.0/18 + 1000.0/45) / 2},
		{"cov50", float64(s.Coverage50), 1.0 / 3},
		{"cov80", float64(s.Coverage80), 1.0 / 3},
		{"cov95", float64(s.Coverage95), 1},
		{"MAE h1", s.MAEByHorizon[0], 1},
		{"MAE h2", s.MAEByHorizon[1], 5},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if s.Points != 3 || s.Origins != 2 {
		t.Errorf("points %d origins %d", s.Points, s.Origins)
	}
	wis := (backtest.WIS(10, 8, levels, rows[0].Quantiles) + backtest.WIS(20, 25, levels, rows[1].Quantiles) +
		backtest.WIS(0, 0, levels, rows[2].Quantiles)) / 3
	if !near(float64(s.WIS), wis) {
		t.Errorf("WIS = %v, want %v", s.WIS, wis)
	}
	// Nothing to score: NaN, not zero.
	s = backtest.Score(rows[3:], levels, 2, nil)
	if !math.IsNaN(float64(s.MAE)) || !math.IsNaN(float64(s.Coverage80)) || s.Points != 0 {
		t.Errorf("empty score %+v", s)
	}
}

// TestSeasonalScale checks the scale against the mean of the 358 seasonal differences inside
// the last 365 days, computed directly, then with the origin's value missing.
func TestSeasonalScale(t *testing.T) {
	start := prevoir.MustParseDate("2022-01-01")
	var dates []prevoir.Date
	var y []float64
	for i := range 400 {
		dates = append(dates, start+prevoir.Date(i))
		y = append(y, float64(i*i%13)+float64(i))
	}
	origin := start + 399
	// By hand over the 358 differences inside the last 365 days.
	var s float64
	for t := 399 - 357; t <= 399; t++ {
		s += math.Abs(y[t] - y[t-7])
	}
	if got := backtest.SeasonalScale(dates, y, origin, 7, 365); !near(got, s/358) {
		t.Errorf("scale %v, want %v", got, s/358)
	}
	y[399] = math.NaN()
	s -= math.Abs(float64(399*399%13) + 399 - y[392])
	if got := backtest.SeasonalScale(dates, y, origin, 7, 365); !near(got, s/357) {
		t.Errorf("scale with a gap %v, want %v", got, s/357)
	}
}
