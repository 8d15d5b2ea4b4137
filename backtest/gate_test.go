package backtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
)

// pointOnly forecasts like last but with every quantile equal to its point, as the networks do.
type pointOnly struct{ name string }

func (p pointOnly) Name() string { return p.name }
func (p pointOnly) Fit(_ context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	y := f.TargetValues()
	return degenerate{flat{p.name, f.Dates[f.Len()-1], y[len(y)-1]}}, nil
}

type degenerate struct{ flat }

func (d degenerate) Predict(ctx context.Context, h int, q []float64) (*prevoir.Forecast, error) {
	fc, _ := d.flat.Predict(ctx, h, q)
	for i := range fc.Values {
		for j := range fc.Values[i] {
			fc.Values[i][j] = fc.Point[i]
		}
	}
	return fc, nil
}

// failsAfter fails at every origin after a day, with an error that names the origin.
type failsAfter struct {
	name  string
	after prevoir.Date
}

func (m failsAfter) Name() string { return m.name }
func (m failsAfter) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	if o := f.Dates[f.Len()-1]; o > m.after {
		return nil, errors.New("diverged at " + o.String())
	}
	return last{m.name}.Fit(ctx, f)
}

func TestIneligible(t *testing.T) {
	o := backtest.ChampionOptions{MinCoverage80: 0.6}
	nan := prevoir.Number(math.NaN())
	for _, c := range []struct {
		s    backtest.ModelScore
		want string
	}{
		{backtest.ModelScore{MAE: 3, Coverage80: 0.8, Origins: 10}, ""},
		{backtest.ModelScore{MAE: 3, Coverage80: 0.6, Origins: 10}, ""},
		{backtest.ModelScore{MAE: 3, Coverage80: 0.8, Origins: 8, Failures: 2}, "failed at 2 of 10 origins"},
		{backtest.ModelScore{MAE: nan, Coverage80: nan, Origins: 10}, "no observed day"},
		{backtest.ModelScore{MAE: 3, Coverage80: nan, Origins: 10}, "point forecasts only"},
		{backtest.ModelScore{MAE: 3, Coverage80: 0.42, Origins: 10}, "covered 42% of the days, below the 60% minimum"},
	} {
		got := o.Ineligible(c.s)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("Ineligible(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
}

// TestScorePointOnly: a model whose quantiles all equal its point has no coverage (NaN, null
// in JSON, "-" in the leaderboard), not 0%; its MAE and WIS are still measured.
func TestScorePointOnly(t *testing.T) {
	res := run(t, frame(series(300)), []prevoir.Forecaster{pointOnly{"net"}, last{"last"}}, opts(200, 270))
	net, _ := res.Score("net")
	if !math.IsNaN(float64(net.Coverage80)) || !math.IsNaN(float64(net.Coverage50)) || !math.IsNaN(float64(net.Coverage95)) {
		t.Errorf("point-only coverage %v/%v/%v, want NaN", net.Coverage50, net.Coverage80, net.Coverage95)
	}
	if math.IsNaN(float64(net.MAE)) || math.IsNaN(float64(net.WIS)) {
		t.Errorf("point-only MAE %v WIS %v", net.MAE, net.WIS)
	}
	if l, _ := res.Score("last"); math.IsNaN(float64(l.Coverage80)) {
		t.Error("a model with intervals has no coverage")
	}
	var b bytes.Buffer
	backtest.WriteJSON(&b, res)
	var file struct {
		Models []map[string]any `json:"models"`
	}
	if err := json.Unmarshal(b.Bytes(), &file); err != nil {
		t.Fatal(err)
	}
	for _, m := range file.Models {
		if m["name"] == "net" && m["coverage_80"] != nil {
			t.Errorf("JSON coverage_80 of a point-only model: %v, want null", m["coverage_80"])
		}
	}
	b.Reset()
	backtest.WriteLeaderboard(&b, res)
	for _, line := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(line); len(f) == 10 && f[0] == "net" && (f[6] != "-" || f[7] != "-" || f[8] != "-") {
			t.Errorf("leaderboard line %q: want - for the coverages", line)
		}
	}
}

// TestChampionGate: the champion rule, applied by Run, never names a point-only model, a
// model whose intervals cover too little, or a model that failed at some origins, even with
// the lowest MAE; the reason lists them with why.
func TestChampionGate(t *testing.T) {
	y := series(300)
	o := opts(200, 270)
	o.Champion.MinCoverage80 = 0.6
	// "net" and "lucky" forecast the last value like "last", "lucky" with no failure until the
	// last origin; "wide" forecasts a constant. All but "wide" have the same MAE, so the ranks
	// below the gate are decided by the gate alone.
	res := run(t, frame(y), []prevoir.Forecaster{pointOnly{"net"}, failsAfter{"lucky", start + 260}, snaive()}, o)
	if res.Champion != "snaive" {
		t.Fatalf("champion %q, want snaive: %s", res.Champion, res.Decision.Reason)
	}
	for _, want := range []string{"net (point forecasts only, no prediction interval)", "lucky (failed at 2 of 11 origins)"} {
		if !strings.Contains(res.Decision.Reason, want) {
			t.Errorf("reason %q does not say %q", res.Decision.Reason, want)
		}
	}
	// Nothing eligible: no champion, and the reason says why.
	res = run(t, frame(y), []prevoir.Forecaster{pointOnly{"net"}, failsAfter{"lucky", start + 260}}, o)
	if res.Champion != "" || !strings.HasPrefix(res.Decision.Reason, "no champion: no candidate is eligible") {
		t.Errorf("champion %q: %s", res.Champion, res.Decision.Reason)
	}
	if _, err := backtest.Champion(res, "net", o.Champion); err == nil {
		t.Error("no error when no champion can be named")
	}
}

// TestChampionNoObservedDay: origins whose forecast days are all after the data have no
// champion, whoever the current one is, and the reason says there was nothing to score.
func TestChampionNoObservedDay(t *testing.T) {
	y := series(300)
	for i := 250; i < 300; i++ {
		y[i] = math.NaN() // published later
	}
	for _, current := range []string{"", "snaive"} {
		o := opts(250, 285)
		o.Current = current
		res := run(t, frame(y), []prevoir.Forecaster{snaive(), conformal.Wrap(snaive(), conformal.Options{Name: "snaive+cp"})}, o)
		if res.Champion != "" || res.Decision.Changed || !strings.Contains(res.Decision.Reason, "no forecast day of the backtest has an observed value") {
			t.Errorf("current %q: champion %q changed %v: %s", current, res.Champion, res.Decision.Changed, res.Decision.Reason)
		}
		var b bytes.Buffer
		backtest.WriteLeaderboard(&b, res)
		if strings.Contains(b.String(), " *") || !strings.Contains(b.String(), "no champion: no forecast day") {
			t.Errorf("leaderboard:\n%s", b.String())
		}
	}
}

// TestLeaderboardFailures: a model that failed at some origins is listed after the ranked
// ones, under a line saying it is not ranked, and the leaderboard says why it failed, one
// line per distinct error (errors differing only by their date are one).
func TestLeaderboardFailures(t *testing.T) {
	res := run(t, frame(series(300)), []prevoir.Forecaster{failsAfter{"lucky", start + 230}, last{"last"}, snaive()}, opts(200, 270))
	if res.Models[len(res.Models)-1].Name != "lucky" {
		t.Errorf("models order %v: the partial model is not last", res.Models)
	}
	var b bytes.Buffer
	if err := backtest.WriteLeaderboard(&b, res); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"-- not ranked: failed at some origins",
		"lucky (failed at 6 of 11)",
		"lucky: 6 of 11 origins failed (2022-08-25 to 2022-09-29): diverged at 2022-08-25",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("leaderboard lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "not ranked") > strings.Index(text, "lucky (failed") {
		t.Errorf("the partial model is above the not-ranked line:\n%s", text)
	}
}

// TestLongHorizonComposites: conformal models and ensembles calibrated for 14 days by default
// forecast and are scored on every day of a 28-day horizon.
func TestLongHorizonComposites(t *testing.T) {
	cp := conformal.Wrap(snaive(), conformal.Options{Name: "snaive+cp"})
	ens := conformal.Wrap(ensemble.New(ensemble.Options{Name: "ens.points", K: 1}, snaive(), last{"last"}), conformal.Options{Name: "ens"})
	o := opts(250, 300)
	o.Horizon = 28
	res := run(t, frame(series(400)), []prevoir.Forecaster{cp, ens}, o)
	for _, m := range res.Models {
		if m.Failures != 0 || m.Points != 8*28 || math.IsNaN(float64(m.MAEByHorizon[27])) || math.IsNaN(float64(m.Coverage80)) {
			t.Errorf("%s: %d failures (%s), %d points, MAE at day 28 %v, coverage %v", m.Name, m.Failures, m.Error, m.Points, m.MAEByHorizon[27], m.Coverage80)
		}
	}
	if cp.Options.Horizon != 0 {
		t.Error("Run changed the caller's model")
	}
}

// TestMeasuresRoundTrip: the names runs and model versions record a score by, each with its
// own measure, and ScoreOfMetrics reading them all back (those not recorded are NaN).
func TestMeasuresRoundTrip(t *testing.T) {
	n := func(v float64) prevoir.Number { return prevoir.Number(v) }
	s := backtest.ModelScore{Name: "m", MAE: n(1), RMSE: n(2), MASE: n(3), SMAPE: n(4), WIS: n(5), Coverage50: n(0.5),
		Coverage80: n(0.8), Coverage95: n(0.95), RelativeWIS: n(6), FitSeconds: 7,
		Weekly: backtest.WeeklyScore{MAE: n(8), WIS: n(9), RelativeAE: n(10), RelativeWIS: n(11), Coverage50: n(0.55), Coverage95: n(0.9), Weeks: 4}}
	want := map[string]float64{"mae": 1, "rmse": 2, "mase": 3, "wis": 5, "coverage_80": 0.8, "coverage_95": 0.95, "fit_seconds": 7,
		"relative_wis": 6, "weekly_mae": 8, "weekly_wis": 9, "weekly_relative_ae": 10, "weekly_relative_wis": 11,
		"weekly_coverage_50": 0.55, "weekly_coverage_95": 0.9}
	if got := s.Measures(); !maps.Equal(got, want) {
		t.Errorf("Measures = %v, want %v", got, want)
	}
	back := backtest.ScoreOfMetrics("m", want)
	if !math.IsNaN(float64(back.SMAPE)) || !math.IsNaN(float64(back.Coverage50)) || back.Weekly.Weeks != 0 {
		t.Errorf("measures not recorded read back as %v %v %d, want NaN NaN 0", back.SMAPE, back.Coverage50, back.Weekly.Weeks)
	}
	back.SMAPE, back.Coverage50, back.Weekly.Weeks = s.SMAPE, s.Coverage50, s.Weekly.Weeks
	if !reflect.DeepEqual(back, s) {
		t.Errorf("ScoreOfMetrics(Measures) = %+v, want %+v", back, s)
	}
	none := backtest.ScoreOfMetrics("m", map[string]float64{})
	for k, v := range none.Measures() {
		if k != "fit_seconds" && !math.IsNaN(v) {
			t.Errorf("no metrics: %s = %v, want NaN", k, v)
		}
	}
}
