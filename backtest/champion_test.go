package backtest_test

import (
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
)

// result builds a result with one-day forecasts at n weekly origins: model m's absolute error at
// origin i is errs[m](i), the actual value 100; a NaN error is a failed origin (no row).
func result(n int, errs map[string]func(i int) float64) *backtest.Result {
	res := &backtest.Result{Protocol: backtest.Protocol{Horizon: 1, Every: 7}}
	start := prevoir.MustParseDate("2022-01-02")
	for i := range n {
		o := start + prevoir.Date(7*i)
		res.Protocol.Origins = append(res.Protocol.Origins, o)
		for _, m := range []string{"a", "b", "c"} {
			f, ok := errs[m]
			if !ok {
				continue
			}
			e := f(i)
			if math.IsNaN(e) {
				continue
			}
			res.Forecasts = append(res.Forecasts, backtest.Row{Model: m, Origin: o, Date: o + 1, Horizon: 1, Actual: 100, Point: 100 + e})
		}
	}
	for _, m := range []string{"a", "b", "c"} {
		if _, ok := errs[m]; ok {
			res.Models = append(res.Models, backtest.ModelScore{Name: m})
		}
	}
	return res
}

func constErr(v float64) func(int) float64 { return func(int) float64 { return v } }

func TestChampionMargin(t *testing.T) {
	opts := backtest.ChampionOptions{Window: 12, Margin: 0.02}
	for _, c := range []struct {
		name    string
		errs    map[string]func(int) float64
		current string
		want    string
		changed bool
	}{
		{"no current champion", map[string]func(int) float64{"a": constErr(10), "b": constErr(9.9)}, "", "b", true},
		{"1% better: no change", map[string]func(int) float64{"a": constErr(10), "b": constErr(9.9)}, "a", "a", false},
		{"5% better: change", map[string]func(int) float64{"a": constErr(10), "b": constErr(9.5)}, "a", "b", true},
		{"current still best", map[string]func(int) float64{"a": constErr(9), "b": constErr(9.5)}, "a", "a", false},
		{"only the window counts", map[string]func(int) float64{"a": constErr(10), "b": func(i int) float64 {
			if i < 8 {
				return 100 // terrible long ago
			}
			return 9
		}}, "a", "b", true},
		{"current failed in the window", map[string]func(int) float64{"a": func(i int) float64 {
			if i == 15 {
				return math.NaN()
			}
			return 5
		}, "b": constErr(9.9)}, "a", "b", true},
		{"unknown current", map[string]func(int) float64{"a": constErr(10), "b": constErr(9.9)}, "zzz", "b", true},
	} {
		res := result(20, c.errs)
		d, err := backtest.Champion(res, c.current, opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d.Champion != c.want || d.Changed != c.changed {
			t.Errorf("%s: champion %s changed %v, want %s %v (%s)", c.name, d.Champion, d.Changed, c.want, c.changed, d.Reason)
		}
		if d.Window != 12 || d.From != res.Protocol.Origins[8] || d.To != res.Protocol.Origins[19] || d.Margin != 0.02 {
			t.Errorf("%s: window %d %s..%s margin %v", c.name, d.Window, d.From, d.To, d.Margin)
		}
	}
	// The reason carries the numbers.
	d, _ := backtest.Champion(result(20, map[string]func(int) float64{"a": constErr(10), "b": constErr(9.9)}), "a", opts)
	for _, s := range []string{"9.900", "10.000", "1.0%", "2.0% margin", "a stays"} {
		if !strings.Contains(d.Reason, s) {
			t.Errorf("reason %q lacks %q", d.Reason, s)
		}
	}
	if !near(float64(d.Improvement), 0.01) || d.Points != 12 || d.Ranking[0].Name != "b" || !near(float64(d.Ranking[1].MAE), 10) {
		t.Errorf("decision %+v", d)
	}
	if !strings.Contains(d.String(), "2 a: MAE 10.000") {
		t.Errorf("String() = %q", d.String())
	}
	// Failed candidates are listed as excluded.
	d, _ = backtest.Champion(result(20, map[string]func(int) float64{"a": constErr(1), "c": func(i int) float64 {
		if i == 19 {
			return math.NaN()
		}
		return 0
	}}), "", opts)
	if d.Champion != "a" || d.Ranking[1].Name != "c" || d.Ranking[1].Excluded == "" {
		t.Errorf("excluded candidate: %+v", d)
	}
}

// TestChampionNoFlapping replays a year of weekly decisions between two models of equal skill
// whose errors wander by a few percent: with the margin the champion changes rarely, without
// it at every lead change.
func TestChampionNoFlapping(t *testing.T) {
	s := uint64(11)
	noise := func() float64 {
		s = s*6364136223846793005 + 1442695040888963407
		return float64(s>>11)/(1<<53) - 0.5
	}
	n := 64
	ea, eb := make([]float64, n), make([]float64, n)
	for i := range n {
		ea[i], eb[i] = 10+0.8*noise(), 10+0.8*noise()
	}
	errs := map[string]func(int) float64{"a": func(i int) float64 { return ea[i] }, "b": func(i int) float64 { return eb[i] }}
	switches := func(margin float64) int {
		current, k := "", 0
		for week := 12; week <= n; week++ {
			d, err := backtest.Champion(result(week, errs), current, backtest.ChampionOptions{Window: 12, Margin: margin})
			if err != nil {
				t.Fatal(err)
			}
			if current != "" && d.Changed {
				k++
			}
			current = d.Champion
		}
		return k
	}
	with, without := switches(0.02), switches(-1)
	t.Logf("champion changes over %d weeks: %d with a 2%% margin, %d without", n-11, with, without)
	if with > 1 || without <= with {
		t.Errorf("switches: %d with a 2%% margin, %d without", with, without)
	}
}
