package backtest_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/forecast/conformal"
	"github.com/prevoir/prevoir/forecast/ensemble"
	"github.com/prevoir/prevoir/forecast/models"
	"github.com/prevoir/prevoir/internal/testutil"
)

// TestRealDataReduced runs a reduced protocol on the real file: the first 6 origins of the
// accuracy protocol (2022-01-02 to 2022-02-06), snaive, naive and ets.
func TestRealDataReduced(t *testing.T) {
	f := testutil.TargetFrame(t)
	ms, err := models.Parse("snaive,naive,ets")
	if err != nil {
		t.Fatal(err)
	}
	o := backtest.Options{From: prevoir.MustParseDate("2022-01-02"), To: prevoir.MustParseDate("2022-02-06")}
	res, err := backtest.Run(context.Background(), f, ms, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Protocol.Origins) != 6 {
		t.Fatalf("%d origins", len(res.Protocol.Origins))
	}
	// The seasonal naive by hand: the value of the same weekday one or two weeks before the
	// forecast day, never after the origin (the series has no gap here).
	y := f.TargetValues()
	idx := func(d prevoir.Date) int { i, _ := slices.BinarySearch(f.Dates, d); return i }
	var ae, mase float64
	n := 0
	for _, org := range res.Protocol.Origins {
		i := idx(org)
		var oe float64
		for h := 1; h <= 14; h++ {
			k := (h + 6) / 7
			oe += math.Abs(y[i+h] - y[i+h-7*k])
		}
		ae += oe
		n += 14
		// MASE scale: mean |y_t − y_{t−7}| over the 358 pairs in the 365 days up to the origin.
		var sc float64
		for t := i - 357; t <= i; t++ {
			sc += math.Abs(y[t] - y[t-7])
		}
		mase += oe / 14 / (sc / 358)
	}
	s, _ := res.Score("snaive")
	if !near(float64(s.MAE), ae/float64(n)) || !near(float64(s.MASE), mase/6) {
		t.Errorf("snaive MAE %v MASE %v, want %v and %v", s.MAE, s.MASE, ae/float64(n), mase/6)
	}
	e, _ := res.Score("ets")
	nv, _ := res.Score("naive")
	if !(e.MAE < nv.MAE) || e.Failures != 0 || e.Points != 84 {
		t.Errorf("ets MAE %v (%d points, %d failures), naive %v", e.MAE, e.Points, e.Failures, nv.MAE)
	}
	for _, m := range res.Models {
		for _, c := range []prevoir.Number{m.Coverage50, m.Coverage80, m.Coverage95} {
			if !(c >= 0 && c <= 1) {
				t.Errorf("%s coverage %v", m.Name, c)
			}
		}
		if !(m.Coverage50 <= m.Coverage80 && m.Coverage80 <= m.Coverage95) || !(m.WIS > 0) || !(m.RMSE >= m.MAE) {
			t.Errorf("%s: %+v", m.Name, m)
		}
	}
	t.Logf("snaive MAE %.2f, naive %.2f, ets %.2f", s.MAE, nv.MAE, e.MAE)
}

// TestNoPeeking: changing the data after an origin changes nothing in the forecasts (daily
// and weekly) made at that origin or before — for every registered model, the weekly
// reference, the holiday correction, conformal
// intervals, and an ensemble that picks its members by past accuracy — while the forecasts
// made after it do change.
func TestNoPeeking(t *testing.T) {
	full := testutil.TargetFrame(t)
	f, err := full.Until(prevoir.MustParseDate("2022-03-20"))
	if err != nil {
		t.Fatal(err)
	}
	cut := prevoir.MustParseDate("2022-02-20")
	g, _ := f.Until(f.Dates[f.Len()-1]) // a copy to perturb
	y := g.TargetValues()
	for i, d := range g.Dates {
		if d > cut {
			y[i] = math.Round(1.7*y[i] + 5)
			if d.Weekday() == 3 {
				y[i] = math.NaN()
			}
		}
	}
	build := func() []prevoir.Forecaster {
		ms, err := models.Parse("naive,snaive,mean7,drift,ets,ets_log,theta,otm,linreg,ensemble,ensemble_mean,linreg+cp,ets+hol+cp")
		if err != nil {
			t.Fatal(err)
		}
		cheap, _ := models.Parse("snaive,mean7,otm+hol,theta")
		pick := ensemble.New(ensemble.Options{Name: "pick2", K: 2, Window: 6}, cheap...)
		return append(ms, pick, conformal.Wrap(pick, conformal.Options{Scale: conformal.Log1p, Origins: 10}))
	}
	o := backtest.Options{From: prevoir.MustParseDate("2022-02-06"), To: prevoir.MustParseDate("2022-03-06")}
	a, err := backtest.Run(context.Background(), f, build(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := backtest.Run(context.Background(), g, build(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Forecasts) != len(b.Forecasts) {
		t.Fatalf("%d and %d rows", len(a.Forecasts), len(b.Forecasts))
	}
	changed := map[string]bool{}
	for i, ra := range a.Forecasts {
		rb := b.Forecasts[i]
		same := ra.Point == rb.Point && slices.Equal(ra.Quantiles, rb.Quantiles)
		if ra.Origin <= cut && !same {
			t.Errorf("%s at %s, day %s: %v %v became %v %v after changing data after %s",
				ra.Model, ra.Origin, ra.Date, ra.Point, ra.Quantiles, rb.Point, rb.Quantiles, cut)
		}
		if ra.Origin > cut && !same {
			changed[ra.Model] = true
		}
	}
	// The weekly totals too, and the weekly reference (the hub baseline).
	weekly := map[string]bool{}
	upTo := func(rows []backtest.WeeklyRow) []backtest.WeeklyRow { // the reference's after the cut may be missing
		return slices.DeleteFunc(slices.Clone(rows), func(r backtest.WeeklyRow) bool { return r.Origin > cut })
	}
	wa, wb := append(a.Weekly, upTo(a.Reference.WeeklyRows)...), append(b.Weekly, upTo(b.Reference.WeeklyRows)...)
	if len(wa) != len(wb) {
		t.Fatalf("%d and %d weekly rows", len(wa), len(wb))
	}
	for i, ra := range wa {
		rb := wb[i]
		same := ra.Point == rb.Point && slices.Equal(ra.Quantiles, rb.Quantiles)
		if ra.Origin <= cut && !same {
			t.Errorf("%s at %s, week %d: %v %v became %v %v after changing data after %s",
				ra.Model, ra.Origin, ra.Week, ra.Point, ra.Quantiles, rb.Point, rb.Quantiles, cut)
		}
		weekly[ra.Model] = weekly[ra.Model] || ra.Quantiles != nil
	}
	for _, m := range []string{"ensemble", "linreg+cp", "ets+hol+cp", "pick2+cp", backtest.WeeklyReference} {
		if !weekly[m] {
			t.Errorf("%s: no weekly quantiles to check", m)
		}
	}
	for _, m := range a.Models {
		if !changed[m.Name] {
			t.Errorf("%s: forecasts after %s did not change with the data: the test proves nothing", m.Name, cut)
		}
		if m.Failures > 0 {
			t.Errorf("%s failed: %s", m.Name, m.Error)
		}
	}
}
