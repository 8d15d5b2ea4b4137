package backtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/naive"
	"github.com/prevoir/prevoir/forecast/rolling"
)

var start = prevoir.MustParseDate("2022-01-02") // a Sunday

// frame returns a daily frame from start with target y.
func frame(y []float64) *prevoir.Frame {
	f := &prevoir.Frame{Mode: prevoir.FrameFull, Target: "y", Dates: make([]prevoir.Date, len(y))}
	for i := range y {
		f.Dates[i] = start + prevoir.Date(i)
	}
	f.Columns = []prevoir.FrameColumn{{Name: "y", Kind: prevoir.KindTarget, Values: append(prevoir.Series(nil), y...)}}
	return f
}

// series is a weekly pattern on a slow wave with deterministic noise.
func series(n int) []float64 {
	week := []float64{28, 144, 139, 112, 104, 107, 57}
	y := make([]float64, n)
	s := uint64(5)
	for i := range y {
		s = s*6364136223846793005 + 1442695040888963407
		u := float64(s>>11)/(1<<53) - 0.5
		y[i] = math.Round(week[i%7] * (1 + 0.5*math.Sin(float64(i)/25)) * (1 + 0.3*u))
	}
	return y
}

// last forecasts the target's last value; it fails when that value is missing.
type last struct{ name string }

func (l last) Name() string { return l.name }
func (l last) Fit(_ context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	y := f.TargetValues()
	if math.IsNaN(y[len(y)-1]) {
		return nil, errors.New("no value at the origin")
	}
	return flat{l.name, f.Dates[f.Len()-1], y[len(y)-1]}, nil
}

// length forecasts the number of rows it was fitted on, to show which data a fit saw.
type length struct{}

func (length) Name() string { return "length" }
func (length) Fit(_ context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	return flat{"length", f.Dates[f.Len()-1], float64(f.Len())}, nil
}

type flat struct {
	name   string
	origin prevoir.Date
	v      float64
}

func (ft flat) Predict(_ context.Context, h int, q []float64) (*prevoir.Forecast, error) {
	fc := &prevoir.Forecast{Model: ft.name, Origin: ft.origin, Quantiles: q}
	for i := range h {
		fc.Dates = append(fc.Dates, ft.origin+prevoir.Date(i+1))
		fc.Point = append(fc.Point, ft.v)
		row := make([]float64, len(q))
		for j, p := range q {
			row[j] = ft.v * (0.5 + p)
		}
		fc.Values = append(fc.Values, row)
	}
	return fc, nil
}

func snaive() prevoir.Forecaster { return naive.Forecaster{Method: naive.MethodSeasonalNaive} }

func opts(from, to int) backtest.Options {
	return backtest.Options{From: start + prevoir.Date(from), To: start + prevoir.Date(to)}
}

func run(t *testing.T, f *prevoir.Frame, ms []prevoir.Forecaster, o backtest.Options) *backtest.Result {
	t.Helper()
	res, err := backtest.Run(context.Background(), f, ms, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func rowsOf(res *backtest.Result, model string) []backtest.Row {
	var out []backtest.Row
	for _, r := range res.Forecasts {
		if r.Model == model {
			out = append(out, r)
		}
	}
	return out
}

// TestRunSnaiveByHand: the seasonal naive's forecasts and MAE equal the values computed
// directly from the series, and the result has the protocol's shape.
func TestRunSnaiveByHand(t *testing.T) {
	y := series(400)
	y[250] = math.NaN() // a missing actual: left out of the scores
	res := run(t, frame(y), []prevoir.Forecaster{snaive(), last{"last"}}, opts(200, 270))
	if n := len(res.Protocol.Origins); n != 11 || res.Protocol.Origins[1] != start+207 {
		t.Fatalf("origins %v", res.Protocol.Origins)
	}
	var sum float64
	n := 0
	for _, r := range rowsOf(res, "snaive") {
		o := int(r.Origin - start)
		k := (r.Horizon + 6) / 7 // cycles back
		for math.IsNaN(y[o+r.Horizon-7*k]) {
			k++ // the same weekday a week earlier
		}
		want := y[o+r.Horizon-7*k]
		if r.Date != r.Origin+prevoir.Date(r.Horizon) || r.Point != want {
			t.Fatalf("origin %s h %d: %s %v, want %v", r.Origin, r.Horizon, r.Date, r.Point, want)
		}
		if a := y[o+r.Horizon]; !math.IsNaN(a) {
			sum += math.Abs(a - want)
			n++
		}
	}
	s, _ := res.Score("snaive")
	if !near(float64(s.MAE), sum/float64(n)) || s.Points != n || s.Points != 11*14-2 || s.Origins != 11 {
		t.Errorf("snaive MAE %v over %d points, want %v over %d", s.MAE, s.Points, sum/float64(n), n)
	}
	if len(res.Forecasts) != 2*11*14 || len(res.Fits) != 22 {
		t.Errorf("%d rows, %d fits", len(res.Forecasts), len(res.Fits))
	}
	if res.Models[0].MAE > res.Models[1].MAE {
		t.Error("models not sorted by MAE")
	}
	if res.Champion == "" || res.Decision.Champion != res.Champion {
		t.Errorf("champion %q, decision %+v", res.Champion, res.Decision)
	}
}

func TestRunRecordsFailures(t *testing.T) {
	y := series(300)
	y[207] = math.NaN() // "last" cannot fit at the origin 2022-07-28 (start+207)
	res := run(t, frame(y), []prevoir.Forecaster{snaive(), last{"last"}}, opts(200, 221))
	s, _ := res.Score("last")
	if s.Failures != 1 || s.Origins != 3 || !strings.Contains(s.Error, (start+207).String()) {
		t.Errorf("last: %d failures over %d origins, error %q", s.Failures, s.Origins, s.Error)
	}
	if s, _ := res.Score("snaive"); s.Failures != 0 || s.Origins != 4 {
		t.Errorf("snaive: %+v", s)
	}
	if res.Champion != "snaive" {
		t.Errorf("a model that failed in the window is champion: %s", res.Champion)
	}
}

func TestRunWindow(t *testing.T) {
	f := frame(series(300))
	res := run(t, f, []prevoir.Forecaster{length{}}, opts(100, 114))
	for _, r := range res.Forecasts {
		if want := float64(r.Origin-start) + 1; r.Point != want {
			t.Fatalf("expanding window: fit at %s saw %v rows, want %v", r.Origin, r.Point, want)
		}
	}
	o := opts(100, 114)
	o.Window = 30
	res = run(t, f, []prevoir.Forecaster{length{}}, o)
	for _, r := range res.Forecasts {
		if r.Point != 30 {
			t.Fatalf("sliding window: fit at %s saw %v rows, want 30", r.Origin, r.Point)
		}
	}
}

// TestRunDeterministic: the results do not depend on the number of workers.
func TestRunDeterministic(t *testing.T) {
	f := frame(series(400))
	ms := func() []prevoir.Forecaster {
		e := ensemble.New(ensemble.Options{K: 1, Window: 4}, snaive(), last{"last"})
		return []prevoir.Forecaster{snaive(), last{"last"}, conformal.Wrap(e, conformal.Options{Origins: 6})}
	}
	o := opts(250, 320)
	o.Workers = 1
	a := run(t, f, ms(), o)
	o.Workers = 4
	b := run(t, f, ms(), o)
	for _, r := range []*backtest.Result{a, b} {
		for i := range r.Models {
			r.Models[i].FitSeconds = 0
		}
		for i := range r.Fits {
			r.Fits[i].Seconds = 0
		}
	}
	if ja, jb := jsonOf(t, a), jsonOf(t, b); ja != jb {
		t.Error("results differ between 1 and 4 workers")
	}
}

// TestRunMatchesProduction: a composite model's backtest forecast at an origin — made from the
// backtest's shared fits — equals what the model gives when fitted alone on the data up to
// that origin, as in production.
func TestRunMatchesProduction(t *testing.T) {
	f := frame(series(400))
	e := ensemble.New(ensemble.Options{K: 1, Window: 4}, snaive(), last{"last"})
	c := conformal.Wrap(e, conformal.Options{Origins: 6})
	res := run(t, f, []prevoir.Forecaster{c}, opts(250, 320))
	for _, o := range res.Protocol.Origins {
		g, _ := f.Until(o)
		ft, err := c.Fit(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rowsOf(res, c.Name()) {
			if r.Origin != o {
				continue
			}
			h := r.Horizon - 1
			if r.Point != fc.Point[h] || !reflect.DeepEqual([]float64(r.Quantiles), fc.Values[h]) {
				t.Fatalf("origin %s h %d: backtest %v %v, alone %v %v", o, r.Horizon, r.Point, r.Quantiles, fc.Point[h], fc.Values[h])
			}
		}
	}
}

func TestRunConformalTwins(t *testing.T) {
	o := opts(250, 300)
	o.Conformal = true
	res := run(t, frame(series(400)), []prevoir.Forecaster{snaive(), last{"last"}}, o)
	if len(res.Models) != 4 {
		t.Fatalf("models %d, want 4", len(res.Models))
	}
	base, cp := rowsOf(res, "snaive"), rowsOf(res, "snaive+cp")
	if len(base) != len(cp) {
		t.Fatalf("%d and %d rows", len(base), len(cp))
	}
	differ := false
	for i := range base {
		if base[i].Point != cp[i].Point {
			t.Fatal("conformal changed the point forecast")
		}
		differ = differ || !reflect.DeepEqual(base[i].Quantiles, cp[i].Quantiles)
	}
	if !differ {
		t.Error("conformal intervals equal the model's own")
	}
	if s, _ := res.Score("snaive+cp"); math.IsNaN(float64(s.Coverage80)) || s.Coverage80 < 0 || s.Coverage80 > 1 {
		t.Errorf("coverage %v", s.Coverage80)
	}
}

func TestRunProgressAndCancel(t *testing.T) {
	f := frame(series(300))
	var calls []backtest.Progress
	o := opts(200, 228)
	o.Progress = func(p backtest.Progress) { calls = append(calls, p) }
	run(t, f, []prevoir.Forecaster{snaive(), conformal.Wrap(last{"last"}, conformal.Options{Origins: 3, MinResiduals: 1})}, o)
	// snaive and last+cp at the 5 scored origins, and last at those and the 3 before them.
	if len(calls) != 18 || calls[17].Done != 18 || calls[0].Total != 18 {
		t.Fatalf("%d progress calls, last %+v", len(calls), calls[len(calls)-1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := backtest.Run(ctx, f, []prevoir.Forecaster{snaive()}, opts(200, 228)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

func TestRunBadOptions(t *testing.T) {
	f := frame(series(300))
	for name, c := range map[string]struct {
		ms []prevoir.Forecaster
		o  backtest.Options
	}{
		"from after to":     {[]prevoir.Forecaster{snaive()}, opts(200, 100)},
		"origin off frame":  {[]prevoir.Forecaster{snaive()}, opts(290, 310)},
		"duplicate names":   {[]prevoir.Forecaster{snaive(), snaive()}, opts(100, 200)},
		"no models":         {nil, opts(100, 200)},
		"bad quantiles":     {[]prevoir.Forecaster{snaive()}, backtest.Options{From: start + 100, To: start + 200, Quantiles: []float64{0.5, 0.1}}},
		"negative window":   {[]prevoir.Forecaster{snaive()}, backtest.Options{From: start + 100, To: start + 200, Window: -1}},
		"no origins at all": {[]prevoir.Forecaster{snaive()}, backtest.Options{}},
	} {
		if _, err := backtest.Run(context.Background(), f, c.ms, c.o); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("%s: %v, want an invalid-input error", name, err)
		}
	}
}

// TestResultOutputs: the JSON has the names scripts depend on and round-trips, the champion
// rule gives the same decision from the stored result, and the leaderboard and the SVG are
// written.
func TestResultOutputs(t *testing.T) {
	y := series(400)
	y[399] = math.NaN()
	res := run(t, frame(y), []prevoir.Forecaster{snaive(), last{"last"}}, opts(300, 390))
	var buf bytes.Buffer
	if err := backtest.WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["champion"] != res.Champion {
		t.Errorf("json champion %v", raw["champion"])
	}
	m0 := raw["models"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "mae", "rmse", "mase", "wis", "coverage_80", "coverage_95", "fit_seconds", "mae_by_horizon"} {
		if _, ok := m0[k]; !ok {
			t.Errorf("models[0] has no %q", k)
		}
	}
	row := raw["forecasts"].([]any)[len(raw["forecasts"].([]any))-1].(map[string]any)
	for _, k := range []string{"model", "origin", "date", "horizon", "actual", "point", "quantiles"} {
		if _, ok := row[k]; !ok {
			t.Errorf("forecast row has no %q", k)
		}
	}
	p := raw["protocol"].(map[string]any)
	for _, k := range []string{"origins", "horizon", "window_days", "refit", "every_days", "description"} {
		if _, ok := p[k]; !ok {
			t.Errorf("protocol has no %q", k)
		}
	}
	back, err := backtest.ReadJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Forecasts) != len(res.Forecasts) || back.Forecasts[0].Origin != res.Forecasts[0].Origin {
		t.Error("forecasts did not round-trip")
	}
	d, err := backtest.Champion(back, "", backtest.ChampionOptions{})
	if err != nil || jsonOf(t, d) != jsonOf(t, res.Decision) {
		t.Errorf("decision from the stored result\n%+v\nwant\n%+v (%v)", d, res.Decision, err)
	}

	var lb strings.Builder
	if err := backtest.WriteLeaderboard(&lb, res); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"model", "MAE", "cov80", "fit s", res.Champion + " *", "last"} {
		if !strings.Contains(lb.String(), s) {
			t.Errorf("leaderboard lacks %q:\n%s", s, lb.String())
		}
	}
	var svg bytes.Buffer
	if err := backtest.WriteSVG(&svg, res); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	elems := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			elems++
		}
	}
	if elems < 50 || !strings.Contains(svg.String(), fmt.Sprintf("Champion %s", res.Champion)) {
		t.Errorf("SVG has %d elements", elems)
	}
}

// jsonOf compares values with NaN: its JSON form (NaN is null).
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Check that composite forecasters satisfy the interface the backtest relies on.
var (
	_ rolling.Composite = (*conformal.Forecaster)(nil)
	_ rolling.Composite = (*ensemble.Forecaster)(nil)
)
