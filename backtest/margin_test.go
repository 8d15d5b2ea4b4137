package backtest_test

import (
	"testing"

	"github.com/prevoir/prevoir/backtest"
)

// TestChampionMarginZero: a margin of 0 is no margin, not the default: a challenger better by
// 0.5% replaces the champion, which the default 2% margin keeps.
func TestChampionMarginZero(t *testing.T) {
	res := result(12, map[string]func(int) float64{"a": constErr(10), "b": constErr(9.95)})
	for _, c := range []struct {
		margin float64
		want   string
	}{{0, "b"}, {backtest.DefaultChampionMargin, "a"}} {
		d, err := backtest.Champion(res, "a", backtest.ChampionOptions{Margin: c.margin})
		if err != nil {
			t.Fatal(err)
		}
		if d.Champion != c.want || d.Margin != c.margin {
			t.Errorf("margin %v: champion %s (margin %v), want %s", c.margin, d.Champion, d.Margin, c.want)
		}
	}
}
