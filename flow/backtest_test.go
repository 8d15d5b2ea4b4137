package flow_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/flow"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
)

// TestBacktestRecordsItsRun: the backtest use case records a finished run with its
// parameters, every model's measures under "model.measure", the result and its plot as
// artifacts (the bytes it returns), and compares the models with the champion in production.
func TestBacktestRecordsItsRun(t *testing.T) {
	testutil.ForEachDatabase(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		e := seed.Open(t, dbURL)
		e.Ingest(t)
		e.Promote(t, e.Train(t, "snaive", 20).Version, "test")
		ms, err := models.Parse("naive,snaive")
		if err != nil {
			t.Fatal(err)
		}
		from, to := prevoir.MustParseDate("2022-11-06"), prevoir.MustParseDate("2022-11-20")
		rep, err := e.Flows.Backtest(ctx, ms, flow.BacktestOptions{Options: backtest.Options{From: from, To: to, Every: 7, Horizon: 14}})
		if err != nil {
			t.Fatal(err)
		}
		res := rep.Result
		if len(res.Protocol.Origins) != 3 || res.Protocol.Origins[0] != from || res.Protocol.Origins[2] != to {
			t.Errorf("origins %v; want 3 from %s to %s", res.Protocol.Origins, from, to)
		}
		if res.Decision.Current != "snaive" {
			t.Errorf("decision %+v; want the champion in production (snaive) as the current one", res.Decision)
		}

		run, err := e.Runs.FindRun(ctx, rep.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Kind != prevoir.RunBacktest || run.Status != prevoir.RunFinished || run.FrameSHA256 == "" {
			t.Errorf("run %+v; want a finished backtest run with its lineage", run)
		}
		for k, want := range map[string]string{"models": "naive,snaive", "from": "2022-11-06", "to": "2022-11-20", "every": "7", "horizon": "14"} {
			if run.Params[k] != want {
				t.Errorf("param %s = %q; want %q", k, run.Params[k], want)
			}
		}

		metrics, err := e.Runs.Metrics(ctx, rep.RunID, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, m := range metrics {
			got[m.Key] = m.Value
		}
		for _, m := range res.Models {
			if len(m.Measures()) == 0 {
				t.Fatalf("%s has no measures", m.Name)
			}
			for k, v := range m.Metrics() {
				if got[m.Name+"."+k] != v {
					t.Errorf("metric %s.%s = %v; want %v", m.Name, k, got[m.Name+"."+k], v)
				}
			}
		}
		if want := len(res.Models) * len(res.Models[0].Measures()); len(got) != want {
			t.Errorf("%d metrics; want %d (every measure of every model)", len(got), want)
		}

		for _, a := range []struct {
			path string
			want []byte
		}{{prevoir.BacktestArtifact, rep.JSON}, {prevoir.BacktestPlotArtifact, rep.SVG}} {
			b, err := e.Tracker.ReadArtifact(ctx, rep.RunID, a.path)
			if err != nil || len(b) == 0 || !bytes.Equal(b, a.want) {
				t.Errorf("artifact %s: %d bytes, %v; want the %d bytes returned", a.path, len(b), err, len(a.want))
			}
		}
		stored, err := backtest.ReadJSON(bytes.NewReader(rep.JSON))
		if err != nil || len(stored.Models) != 2 || stored.Champion != res.Champion {
			t.Errorf("stored result: %+v, %v", stored, err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(rep.SVG), []byte("<svg")) {
			t.Errorf("plot: %.40q; want an SVG", rep.SVG)
		}
	})
}

// TestBacktestDefaultOriginsAndBadOrigins: unset origins are the default ones (the last day
// whose whole horizon is observed, and 49 periods before); an origin outside the data is an
// OriginError naming it, and records no run.
func TestBacktestDefaultOriginsAndBadOrigins(t *testing.T) {
	ctx := context.Background()
	e := seed.Open(t, testutil.SQLiteURL(t))
	frame := e.Ingest(t)
	ms, err := models.Parse("naive")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Flows.Backtest(ctx, ms, flow.BacktestOptions{Options: backtest.Options{Every: 14, Horizon: 7}})
	if err != nil {
		t.Fatal(err)
	}
	last := frame.Dates[frame.Len()-1]
	o := rep.Result.Protocol.Origins
	if len(o) != backtest.DefaultOrigins || o[len(o)-1] != last-7 || o[0] != last-7-49*14 {
		t.Errorf("default origins: %d from %s to %s; want %d from %s to %s", len(o), o[0], o[len(o)-1],
			backtest.DefaultOrigins, last-7-49*14, last-7)
	}

	before, err := e.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunBacktest})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts   backtest.Options
		option string
	}{
		{backtest.Options{To: last + 1}, "to"},
		{backtest.Options{From: frame.Dates[0] - 1, To: last - 14}, "from"},
		{backtest.Options{From: last - 14, To: last - 21}, "from"},
	} {
		_, err := e.Flows.Backtest(ctx, ms, flow.BacktestOptions{Options: c.opts})
		var oe *flow.OriginError
		if !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("origins %s .. %s: %v; want an OriginError on %s", c.opts.From, c.opts.To, err, c.option)
			continue
		}
		if oe.To == 0 && (oe.First != frame.Dates[0] || oe.Last != last || oe.DefaultTo != last-14 || !strings.Contains(err.Error(), oe.Origin.String())) {
			t.Errorf("error %+v (%v); want the data's span and the default last origin", oe, err)
		}
	}
	after, err := e.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: prevoir.RunBacktest})
	if err != nil || len(after) != len(before) {
		t.Errorf("%d backtest runs after the refused ones, %v; want %d", len(after), err, len(before))
	}
}
