package secondary

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/naive"
)

// TestGivenAdmissionsForecast: deaths are 1% of the admissions 3 days earlier. Handed a
// forecast of the admissions from the origin, the model forecasts, beyond the delay, 1% of it:
// doubling the given admissions doubles the deaths. Its paths read the given quantiles at one
// uniform per path, so the second week's total is as uncertain as the admissions' level
// (comonotone days), not √7 times less. Without the forecast, with one from another day or
// one too short, the model forecasts the admissions itself, as before.
func TestGivenAdmissionsForecast(t *testing.T) {
	ctx := context.Background()
	const lag, level, spread = 3, 10000.0, 0.8
	q := prevoir.DefaultQuantiles()
	forecast := func(f *prevoir.Frame, ahead *prevoir.CovariateForecast) *prevoir.Forecast {
		t.Helper()
		g := *f
		g.Ahead = nil
		if ahead != nil {
			g.Ahead = map[string]*prevoir.CovariateForecast{"incid_hosp": ahead}
		}
		ft, err := New(Options{}).Fit(ctx, &g)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(ctx, 14, q)
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	f := deathsFrom(shift(admissions(400), lag), 0.01, lag, nil, 0)
	origin := f.Dates[f.Len()-1]
	once := forecast(f, testframe.Ahead("incid_hosp", origin, 14, level, spread))
	twice := forecast(f, testframe.Ahead("incid_hosp", origin, 14, 2*level, spread))
	for i := 6; i < 14; i++ { // days 7..14: the delay's mass is all on given admissions
		if got, want := once.Point[i], 0.01*level; math.Abs(got/want-1) > 0.05 {
			t.Errorf("day %d: point %.1f, want 1%% of the given admissions, %.1f", i+1, got, want)
		}
		if r := twice.Point[i] / once.Point[i]; math.Abs(r-2) > 0.05 {
			t.Errorf("day %d: doubling the given admissions multiplies the deaths by %.3f, want 2", i+1, r)
		}
	}
	lo, hi := once.QuantileIndex(0.05), once.QuantileIndex(0.95)
	comonotone := 7 * 0.01 * level * spread * 0.9 // the admissions' 90% interval, on every day at once
	if w := once.Weekly.Values[1][hi] - once.Weekly.Values[1][lo]; w < 0.8*comonotone || w > 1.2*comonotone {
		t.Errorf("second week's 90%% interval is %.0f wide, want about %.0f (days moving together)", w, comonotone)
	}

	own := forecast(f, nil)
	if own.Point[13] > 0.8*0.01*level {
		t.Fatalf("without the given forecast, day 14 is %.1f: the test needs the model's own admissions forecast well below the given %.0f", own.Point[13], level)
	}
	for name, ahead := range map[string]*prevoir.CovariateForecast{
		"another origin": testframe.Ahead("incid_hosp", origin-7, 14, level, spread),
		"too short":      testframe.Ahead("incid_hosp", origin, 7, level, spread),
	} {
		if fc := forecast(f, ahead); !reflect.DeepEqual(fc, own) {
			t.Errorf("%s: the forecast is not the model's own (day 14: %.1f, own %.1f)", name, fc.Point[13], own.Point[13])
		}
	}
}

// TestPinnedUsesGivenAdmissions: a pinned model loaded on a frame with a forecast of its
// admissions uses it, and without one forecasts them with its pinned admissions model; the
// given forecast is not part of the state.
func TestPinnedUsesGivenAdmissions(t *testing.T) {
	ctx := context.Background()
	f := deathsFrom(shift(admissions(400), 3), 0.01, 3, nil, 0)
	origin := f.Dates[f.Len()-1]
	ft, err := New(Options{}).Fit(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ft.(*fitted).Pin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	load := func(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
		return naive.LoadPinned(ctx, p, f)
	}
	predict := func(fr *prevoir.Frame) *prevoir.Forecast {
		t.Helper()
		lf, err := LoadPinned(ctx, p, fr, load)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := lf.Predict(ctx, 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	own, err := ft.Predict(ctx, 14, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	if fc := predict(f); !reflect.DeepEqual(fc, own) {
		t.Errorf("loaded without a given forecast: day 14 %.1f, the fit's %.1f", fc.Point[13], own.Point[13])
	}
	g := *f
	g.Ahead = map[string]*prevoir.CovariateForecast{"incid_hosp": testframe.Ahead("incid_hosp", origin, 14, 10000, 0.2)}
	if fc := predict(&g); math.Abs(fc.Point[13]/100-1) > 0.05 {
		t.Errorf("loaded with a given forecast of 10000 admissions a day: day 14 %.1f, want about 100", fc.Point[13])
	}
	if col, err := PinnedPrimary(p); err != nil || col != "incid_hosp" {
		t.Errorf("PinnedPrimary = %q, %v; want incid_hosp", col, err)
	}
}
