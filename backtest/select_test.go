package backtest_test

import (
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
)

// trained is the backtest a training stores for one model: n weekly origins (see result), an
// absolute error of mae at each, the given 80% coverage and failures.
func trained(n int, name string, mae, cover80 float64, failures int) *backtest.Result {
	res := result(n, map[string]func(int) float64{"a": constErr(mae)})
	for i := range res.Forecasts {
		res.Forecasts[i].Model = name
	}
	res.Models[0] = backtest.ModelScore{Name: name, MAE: prevoir.Number(mae), Coverage80: prevoir.Number(cover80), Failures: failures, Origins: n - failures}
	return res
}

// TestSelectBatch is the champion rule of a training batch as a whole: the gate (coverage,
// failures), the margin, a current champion the batch retrained or not (its own backtest on the
// same origins or on others, or none), and a batch with no eligible model or no model at all.
func TestSelectBatch(t *testing.T) {
	const n = 12
	champion := func(family string) *prevoir.ModelVersion {
		return &prevoir.ModelVersion{Model: "incid_dchosp", Version: 3, Family: family}
	}
	for _, c := range []struct {
		name        string
		results     []*backtest.Result
		current     *prevoir.ModelVersion
		curBacktest *backtest.Result
		want        string // the champion; "" when the rule names none
		changed     bool
		board       []string // the leaderboard's models, in order; nil: no leaderboard
		reason      string   // a part of the decision's reason (or of the error when want is "")
	}{
		{name: "no current champion: the lowest MAE",
			results: []*backtest.Result{trained(n, "a", 10, 0.8, 0), trained(n, "b", 9, 0.8, 0)},
			want:    "b", changed: true, board: []string{"b", "a"}, reason: "no current champion; b has the lowest MAE"},
		{name: "coverage gate",
			results: []*backtest.Result{trained(n, "a", 10, 0.8, 0), trained(n, "b", 9, 0.5, 0)},
			want:    "a", changed: true, board: []string{"b", "a"}, reason: "b (80% interval covered 50% of the days, below the 60% minimum)"},
		{name: "failed at some origin",
			results: []*backtest.Result{trained(n, "a", 10, 0.8, 0), trained(n, "b", 9, 0.8, 1)},
			want:    "a", changed: true, board: []string{"a", "b"}, reason: "b (failed at 1 of 12 origins)"},
		{name: "retrained champion within the margin stays",
			results: []*backtest.Result{trained(n, "a", 10, 0.8, 0), trained(n, "b", 9.9, 0.8, 0)},
			current: champion("a"), want: "a", board: []string{"b", "a"}, reason: "within the 2.0% margin: a stays"},
		{name: "challenger beyond the margin",
			results: []*backtest.Result{trained(n, "a", 10, 0.8, 0), trained(n, "b", 9.5, 0.8, 0)},
			current: champion("a"), want: "b", changed: true, board: []string{"b", "a"}, reason: "more than the 2.0% margin"},
		{name: "champion not retrained competes on the same origins",
			results: []*backtest.Result{trained(n, "a", 10, 0.8, 0)}, current: champion("c"), curBacktest: trained(n, "c", 9, 0.8, 0),
			want: "c", board: []string{"c", "a"}, reason: "current champion c still has the lowest MAE"},
		{name: "champion not retrained loses on the same origins",
			results: []*backtest.Result{trained(n, "a", 8, 0.8, 0)}, current: champion("c"), curBacktest: trained(n, "c", 9, 0.8, 0),
			want: "a", changed: true, board: []string{"a", "c"}, reason: "better than current champion c"},
		{name: "champion not retrained, backtest on other origins: kept",
			results: []*backtest.Result{trained(n, "a", 1, 0.8, 0)}, current: champion("c"), curBacktest: trained(n+1, "c", 9, 0.8, 0),
			want: "c", reason: "current champion c v3 kept: it was not retrained in batch b1 and its backtest is on other origins"},
		{name: "champion not retrained, no backtest: kept",
			results: []*backtest.Result{trained(n, "a", 1, 0.8, 0)}, current: champion("c"),
			want: "c", reason: "current champion c v3 kept"},
		{name: "no eligible model, no champion",
			results: []*backtest.Result{trained(n, "a", 10, 0.5, 0), trained(n, "b", 9, 0.8, 2)},
			reason:  "batch b1: no champion: no candidate is eligible (a (80% interval covered 50% of the days, below the 60% minimum), b (failed at 2 of 12 origins)); there is no champion"},
		{name: "no eligible model, the champion stays",
			results: []*backtest.Result{trained(n, "a", 10, 0.5, 0)}, current: champion("c"), curBacktest: trained(n, "c", 9, 0.1, 0),
			reason: "no candidate is eligible (a (80% interval covered 50% of the days, below the 60% minimum), c (80% interval covered 10% of the days, below the 60% minimum)); the champion stays c v3"},
		{name: "no model", current: champion("c"), reason: "batch b1: no model was trained successfully"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := backtest.ChampionOptions{Margin: 0.02, MinCoverage80: 0.6, Candidates: []string{"ignored"}}
			dec, board, err := backtest.SelectBatch("b1", c.results, c.current, c.curBacktest, opts)
			if c.want == "" {
				if err == nil || prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), c.reason) || board != nil || dec.Champion != "" {
					t.Fatalf("decision %+v, leaderboard %v, error %v; want no champion, error %q", dec, board != nil, err, c.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dec.Champion != c.want || dec.Changed != c.changed || !strings.Contains(dec.Reason, c.reason) {
				t.Errorf("champion %s (changed %v): %s; want %s (changed %v): ...%s...", dec.Champion, dec.Changed, dec.Reason, c.want, c.changed, c.reason)
			}
			if c.board == nil {
				if board != nil {
					t.Errorf("a leaderboard of %d models; the rule ranked nothing", len(board.Models))
				}
				return
			}
			var got []string
			for _, m := range board.Models {
				got = append(got, m.Name)
			}
			if strings.Join(got, ",") != strings.Join(c.board, ",") || board.Champion != c.want || board.Decision.Reason != dec.Reason {
				t.Errorf("leaderboard %v, champion %s; want %v, %s with the decision", got, board.Champion, c.board, c.want)
			}
		})
	}
}
