package backtest_test

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
)

// weeklyLast is last with weekly quantiles: each week's total is 7 times the last value, its
// quantiles 7·v·(0.5+p).
type weeklyLast struct{ last }

func (l weeklyLast) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	ft, err := l.last.Fit(ctx, f)
	if err != nil {
		return nil, err
	}
	return weeklyFlat{ft.(flat)}, nil
}

type weeklyFlat struct{ flat }

func (ft weeklyFlat) Predict(ctx context.Context, h int, q []float64) (*prevoir.Forecast, error) {
	fc, err := ft.flat.Predict(ctx, h, q)
	if err != nil {
		return nil, err
	}
	fc.Weekly = &prevoir.Weeks{}
	for range fc.Weeks() {
		row := make([]float64, len(q))
		for j, p := range q {
			row[j] = 7 * ft.v * (0.5 + p)
		}
		fc.Weekly.Point = append(fc.Weekly.Point, 7*ft.v)
		fc.Weekly.Values = append(fc.Weekly.Values, row)
	}
	return fc, nil
}

// TestWeeklyScoring: every weekly number of a backtest is recomputed by hand from the JSON
// result: the weekly rows from the daily rows, the reference's point from the series, the
// relative AE the way ../shared/bench/hub/weekly_skill.py computes it (daily points summed,
// naive = the origin's last 7 days), WIS and coverage from the weekly quantiles, the daily
// relative WIS from the seasonal naive's rows.
func TestWeeklyScoring(t *testing.T) {
	y := series(400)
	y[260] = math.NaN() // a missing day: its week is not scored, nor weeks whose reference needs it
	f := frame(y)
	levels := prevoir.DefaultQuantiles()
	at := func(p float64) int {
		i := slices.IndexFunc(levels, func(l float64) bool { return math.Abs(l-p) < 1e-9 })
		if i < 0 {
			t.Fatalf("no level %v in %v", p, levels)
		}
		return i
	}
	med, lo50, hi50, lo95, hi95 := at(0.5), at(0.25), at(0.75), at(0.025), at(0.975)
	o := opts(200, 290)
	o.Horizon = 15 // two whole weeks and a day
	res0 := run(t, f, []prevoir.Forecaster{snaive(), last{"last"}, weeklyLast{last{"wlast"}}}, o)
	var b bytes.Buffer
	if err := backtest.WriteJSON(&b, res0); err != nil {
		t.Fatal(err)
	}
	res, err := backtest.ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	truth := func(d prevoir.Date) float64 { return y[d-start] }
	sum := func(from, to prevoir.Date) float64 {
		s := 0.0
		for d := from; d <= to; d++ {
			s += truth(d)
		}
		return s
	}

	// The reference: last week's total at each origin whose last week is observed.
	ref := map[[2]int]backtest.WeeklyRow{}
	for _, r := range res.Reference.WeeklyRows {
		ref[[2]int{int(r.Origin), r.Week}] = r
		if want := sum(r.Origin-6, r.Origin); r.Point != want || r.Model != backtest.WeeklyReference {
			t.Errorf("reference at %s week %d: point %v, want %v", r.Origin, r.Week, r.Point, want)
		}
	}
	if n := len(res.Reference.WeeklyRows); n != 2*(len(res.Protocol.Origins)-1) {
		t.Errorf("%d reference rows, want 2 per origin but the one whose last week misses a day", n)
	}
	if s := res.Reference.WeeklyScore; float64(s.RelativeAE) != 1 || float64(s.RelativeWIS) != 1 {
		t.Errorf("reference relative to itself: %+v", s)
	}

	for _, name := range []string{"snaive", "last", "wlast"} {
		score, _ := res.Score(name)
		// Weekly rows from the daily rows.
		byOrigin := map[prevoir.Date][]backtest.Row{}
		for _, r := range rowsOf(res, name) {
			byOrigin[r.Origin] = append(byOrigin[r.Origin], r)
		}
		var weeks []backtest.WeeklyRow
		for _, r := range res.Weekly {
			if r.Model == name {
				weeks = append(weeks, r)
			}
		}
		if len(weeks) != 2*len(res.Protocol.Origins) {
			t.Fatalf("%s: %d weekly rows, want 2 per origin", name, len(weeks))
		}
		var ae, naiveAE, wis, refWIS, relAE float64
		n, cov50, cov95 := 0, 0, 0
		for _, w := range weeks {
			days := byOrigin[w.Origin]
			slices.SortFunc(days, func(a, b backtest.Row) int { return a.Horizon - b.Horizon })
			var point, actual float64
			for _, d := range days[7*(w.Week-1) : 7*w.Week] {
				point += d.Point
				actual += float64(d.Actual)
			}
			if math.Abs(point-w.Point) > 1e-9 || !(math.IsNaN(actual) && math.IsNaN(float64(w.Actual)) || actual == float64(w.Actual)) {
				t.Fatalf("%s %s week %d: point %v actual %v, want the days' sums %v %v", name, w.Origin, w.Week, w.Point, w.Actual, point, actual)
			}
			if (name != "last") != (w.Quantiles != nil) {
				t.Fatalf("%s: weekly quantiles %v", name, w.Quantiles)
			}
			if math.IsNaN(actual) {
				continue
			}
			n++
			if name != "last" {
				wis += backtest.WIS(actual, w.Quantiles[med], levels, w.Quantiles)
				if actual >= w.Quantiles[lo50] && actual <= w.Quantiles[hi50] {
					cov50++
				}
				if actual >= w.Quantiles[lo95] && actual <= w.Quantiles[hi95] {
					cov95++
				}
			}
			// weekly_skill.py: naive = the last 7 observed days, skipped when one is missing.
			naive := sum(w.Origin-6, w.Origin)
			if math.IsNaN(naive) {
				continue
			}
			r := ref[[2]int{int(w.Origin), w.Week}]
			ae += math.Abs(point - actual)
			naiveAE += math.Abs(naive - actual)
			relAE += math.Abs(point - actual)
			refWIS += backtest.WIS(actual, r.Quantiles[med], levels, r.Quantiles)
		}
		s := score.Weekly
		if s.Weeks != n || n == 0 || n == len(weeks) {
			t.Errorf("%s: %d weeks scored, want %d (fewer than the %d rows)", name, s.Weeks, n, len(weeks))
		}
		if math.Abs(float64(s.RelativeAE)-ae/naiveAE) > 1e-12 {
			t.Errorf("%s: weekly relative AE %v, want weekly_skill.py's %v", name, s.RelativeAE, ae/naiveAE)
		}
		if name == "last" {
			if !math.IsNaN(float64(s.WIS)) || !math.IsNaN(float64(s.Coverage50)) || !math.IsNaN(float64(s.RelativeWIS)) {
				t.Errorf("%s has no weekly quantiles but weekly WIS %v, coverage %v, relative WIS %v", name, s.WIS, s.Coverage50, s.RelativeWIS)
			}
			continue
		}
		if !near(float64(s.WIS), wis/float64(n)) || !near(float64(s.Coverage50), float64(cov50)/float64(n)) || !near(float64(s.Coverage95), float64(cov95)/float64(n)) {
			t.Errorf("%s: weekly WIS %v cov %v %v, want %v %v %v", name, s.WIS, s.Coverage50, s.Coverage95, wis/float64(n), float64(cov50)/float64(n), float64(cov95)/float64(n))
		}
		// Relative WIS on the weeks with a reference: recompute the model's side too.
		var mw float64
		for _, w := range weeks {
			if _, ok := ref[[2]int{int(w.Origin), w.Week}]; ok && !math.IsNaN(float64(w.Actual)) {
				mw += backtest.WIS(float64(w.Actual), w.Quantiles[med], levels, w.Quantiles)
			}
		}
		if !near(float64(s.RelativeWIS), mw/refWIS) {
			t.Errorf("%s: weekly relative WIS %v, want %v", name, s.RelativeWIS, mw/refWIS)
		}
		m := backtest.ScoreOfMetrics(name, score.Metrics())
		if m.Weekly.RelativeAE != s.RelativeAE || m.Weekly.Coverage95 != s.Coverage95 || m.RelativeWIS != score.RelativeWIS {
			t.Errorf("%s: metrics round trip %+v, want %+v", name, m.Weekly, s)
		}
	}

	// Daily WIS relative to the seasonal naive: 1 for itself; by hand for the others.
	if res.Reference.Daily != "snaive" || len(res.Reference.DailyRows) != len(res.Protocol.Origins)*o.Horizon {
		t.Fatalf("daily reference %q with %d rows", res.Reference.Daily, len(res.Reference.DailyRows))
	}
	if s, _ := res.Score("snaive"); !near(float64(s.RelativeWIS), 1) {
		t.Errorf("snaive relative to itself: %v", s.RelativeWIS)
	}
	var lw, sw float64
	for i, r := range rowsOf(res, "last") {
		if math.IsNaN(float64(r.Actual)) {
			continue
		}
		sr := res.Reference.DailyRows[i]
		lw += backtest.WIS(float64(r.Actual), r.Quantiles[med], levels, r.Quantiles)
		sw += backtest.WIS(float64(sr.Actual), sr.Quantiles[med], levels, sr.Quantiles)
	}
	if s, _ := res.Score("last"); !near(float64(s.RelativeWIS), lw/sw) {
		t.Errorf("last: relative WIS %v, want %v", s.RelativeWIS, lw/sw)
	}

	var lb strings.Builder
	if err := backtest.WriteLeaderboard(&lb, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wk rAE", "wk cov95", "rWIS", "relative to hub_baseline"} {
		if !strings.Contains(lb.String(), want) {
			t.Errorf("leaderboard without %q:\n%s", want, lb.String())
		}
	}
}

// TestWeeklyReferenceWithoutSnaive: the seasonal naive reference is fitted even when it is
// not among the models, and is not reported as one of them.
func TestWeeklyReferenceWithoutSnaive(t *testing.T) {
	res := run(t, frame(series(300)), []prevoir.Forecaster{last{"last"}}, opts(200, 221))
	if len(res.Models) != 1 || len(res.Reference.DailyRows) != 4*prevoir.DefaultHorizon {
		t.Fatalf("%d models, %d seasonal reference rows", len(res.Models), len(res.Reference.DailyRows))
	}
	if s, _ := res.Score("last"); math.IsNaN(float64(s.RelativeWIS)) || math.IsNaN(float64(s.Weekly.RelativeAE)) {
		t.Errorf("relative measures missing: %+v", s)
	}
}

// TestChampionWeekly: a model better on days (a) and one better on weekly totals (b): the
// rule ranks by MAE unless asked to rank by the weekly relative AE, which it computes on the
// weeks every candidate forecast; without weekly rows it falls back to the MAE.
func TestChampionWeekly(t *testing.T) {
	res := result(12, map[string]func(int) float64{"a": constErr(5), "b": constErr(6)})
	for i, o := range res.Protocol.Origins {
		res.Reference.WeeklyRows = append(res.Reference.WeeklyRows, backtest.WeeklyRow{Model: backtest.WeeklyReference, Origin: o, Week: 1, Actual: 700, Point: 740})
		if i == 0 { // a week only a forecast (badly): not ranked on
			res.Weekly = append(res.Weekly, backtest.WeeklyRow{Model: "a", Origin: o, Week: 1, Actual: 700, Point: 0})
			continue
		}
		for m, e := range map[string]float64{"a": 30, "b": 10} {
			res.Weekly = append(res.Weekly, backtest.WeeklyRow{Model: m, Origin: o, Week: 1, Actual: 700, Point: 700 - e})
		}
	}
	d, err := backtest.Champion(res, "a", backtest.ChampionOptions{Margin: 0.02})
	if err != nil || d.Champion != "a" || d.Measure != backtest.MeasureMAE || d.Ranking[0].RelativeAE != nil {
		t.Fatalf("daily rule: %+v, %v", d, err)
	}
	d, err = backtest.Champion(res, "a", backtest.ChampionOptions{Margin: 0.02, Weekly: true})
	if err != nil {
		t.Fatal(err)
	}
	// On the 11 common weeks: b 0.25, a 0.75 (with the first week a would be 1030/480).
	if d.Champion != "b" || d.Measure != backtest.MeasureWeeklyRelativeAE || d.Weeks != 11 ||
		!near(float64(*d.Ranking[0].RelativeAE), 0.25) || !near(float64(*d.Ranking[1].RelativeAE), 0.75) || !near(float64(d.Improvement), 1-0.25/0.75) {
		t.Errorf("weekly rule: %+v", d)
	}
	if !strings.Contains(d.Reason, "weekly relative AE, 0.250") || !strings.Contains(d.String(), "weekly relative AE 0.750, MAE 5.000") {
		t.Errorf("reason %q\n%s", d.Reason, d)
	}
	res.Weekly, res.Reference.WeeklyRows = nil, nil
	d, err = backtest.Champion(res, "a", backtest.ChampionOptions{Margin: 0.02, Weekly: true})
	if err != nil || d.Champion != "a" || d.Measure != backtest.MeasureMAE {
		t.Errorf("weekly rule without weekly rows: %+v, %v", d, err)
	}
}

// TestLeaderboardBeforeWeekly: a result stored before weekly and relative scores shows "-" in
// their columns, not zeros.
func TestLeaderboardBeforeWeekly(t *testing.T) {
	res := result(3, map[string]func(int) float64{"a": constErr(5)})
	var b strings.Builder
	if err := backtest.WriteLeaderboard(&b, res); err != nil {
		t.Fatal(err)
	}
	row := strings.Fields(strings.Split(b.String(), "\n")[1])
	if len(row) != 15 || row[0] != "a" || strings.Contains(b.String(), "relative to") {
		t.Fatalf("leaderboard:\n%s", b.String())
	}
	for _, i := range []int{6, 10, 11, 12, 13} {
		if row[i] != "-" {
			t.Errorf("column %d is %q, want -:\n%s", i, row[i], b.String())
		}
	}
}
