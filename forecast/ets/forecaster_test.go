package ets_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/ets"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

func predict(t *testing.T, fc prevoir.Forecaster, f *prevoir.Frame, h int) (*prevoir.Forecast, prevoir.Fitted) {
	t.Helper()
	out, ft := testframe.Predict(t, fc, f, h, prevoir.DefaultQuantiles())
	if out.Origin != f.Dates[f.Len()-1] || out.Dates[0] != out.Origin+1 {
		t.Fatalf("origin %s first day %s, frame ends %s", out.Origin, out.Dates[0], f.Dates[f.Len()-1])
	}
	return out, ft
}

func TestForecasterConstantAndName(t *testing.T) {
	fc := ets.Forecaster{}
	if fc.Name() != "ets" || (ets.Forecaster{Label: "ets_log"}).Name() != "ets_log" {
		t.Error("names")
	}
	out, _ := predict(t, fc, testframe.New(testframe.Constant(50, 30), nil), 14)
	for i, p := range out.Point {
		if math.Abs(p-30) > 1e-6 {
			t.Errorf("day %d = %v, want 30", i+1, p)
		}
	}
}

func TestForecasterWeekly(t *testing.T) {
	y := testframe.Weekly(140)
	for _, fc := range []ets.Forecaster{{Window: 84}, {Options: ets.Options{Transform: ets.Log1p()}}} {
		out, _ := predict(t, fc, testframe.New(y, nil), 14)
		for i, p := range out.Point {
			if want := y[(140+i)%7]; math.Abs(p-want) > 0.02*want {
				t.Errorf("%+v: day %d = %.2f, want %v", fc, i+1, p, want)
			}
		}
	}
}

// TestForecasterLineClipped: a falling line is continued and clipped at 0.
func TestForecasterLineClipped(t *testing.T) {
	sp, _ := ets.ParseSpec("AAN")
	out, _ := predict(t, ets.Forecaster{Spec: &sp}, testframe.New(testframe.Line(60, 100, -1.5), nil), 14)
	if math.Abs(out.Point[0]-(100-1.5*60)) > 0.5 {
		t.Errorf("day 1 = %v, want about %v", out.Point[0], 100-1.5*60)
	}
	for i := range out.Point {
		if out.Point[i] < 0 || out.Values[i][0] < 0 {
			t.Fatalf("day %d negative: %v %v", i+1, out.Point[i], out.Values[i])
		}
	}
	if out.Point[13] != 0 {
		t.Errorf("day 14 = %v, want 0 (the line is below 0)", out.Point[13])
	}
}

// TestForecasterGaps: interior gaps of a weekly pattern are interpolated on the weekly cycle,
// which is exact, so the forecast equals the gap-free one; a missing origin value is forecast
// from the last observed day, exactly as the model fitted one day earlier would, two steps on.
func TestForecasterGaps(t *testing.T) {
	y := testframe.Noisy(200, 5)
	sp, _ := ets.ParseSpec("ANA")
	fc := ets.Forecaster{Spec: &sp}
	g := append([]float64(nil), y...)
	g[0], g[1], g[2] = math.NaN(), math.NaN(), math.NaN()
	full, _ := predict(t, fc, testframe.New(y[3:], nil), 14)
	gapped, ft := predict(t, fc, testframe.New(g, nil), 14)
	for i := range full.Point {
		if math.Abs(full.Point[i]-gapped.Point[i]) > 1e-9 {
			t.Fatalf("leading gap changed day %d: %v vs %v", i+1, gapped.Point[i], full.Point[i])
		}
	}
	g[199] = math.NaN()
	short, _ := predict(t, fc, testframe.New(y[3:199], nil), 15)
	late, ft := predict(t, fc, testframe.New(g, nil), 14)
	for i := range late.Point {
		if math.Abs(late.Point[i]-short.Point[i+1]) > 1e-9 {
			t.Errorf("missing origin: day %d = %v, want %v", i+1, late.Point[i], short.Point[i+1])
		}
	}
	if d := ft.(interface{ Describe() string }).Describe(); !strings.Contains(d, "last 1 days missing") || !strings.Contains(d, "ETS(A,N,A)") {
		t.Errorf("describe %q", d)
	}

	w := testframe.Weekly(140)
	g = append([]float64(nil), w...)
	for i := 100; i < 104; i++ {
		g[i] = math.NaN()
	}
	out, ft := predict(t, ets.Forecaster{Spec: &sp}, testframe.New(g, nil), 14)
	for i, p := range out.Point {
		if want := w[(140+i)%7]; math.Abs(p-want) > 0.01*want {
			t.Errorf("interior gap: day %d = %.2f, want %v", i+1, p, want)
		}
	}
	if d := ft.(interface{ Describe() string }).Describe(); !strings.Contains(d, "4 days interpolated") {
		t.Errorf("describe %q", d)
	}
	// A gap longer than two weeks: only the data after it are used.
	for i := 20; i < 60; i++ {
		g[i] = math.NaN()
	}
	_, ft = predict(t, ets.Forecaster{Spec: &sp}, testframe.New(g, nil), 14)
	if d := ft.(interface{ Describe() string }).Describe(); !strings.Contains(d, "on 80 days") {
		t.Errorf("describe %q: want the 80 days after the long gap", d)
	}
}

// TestPointsOnlySkipsSimulation: a model whose intervals are simulated (multiplicative error and
// season) gives the same points when no quantile is asked, without simulating.
func TestPointsOnlySkipsSimulation(t *testing.T) {
	sp, _ := ets.ParseSpec("MNM")
	md, err := ets.Fit(context.Background(), testframe.Noisy(120, 8), sp, ets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p1, q1, err := md.Forecast(14, nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, _, err := md.Forecast(14, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1 {
		if p1[i] != p2[i] || len(q1[i]) != 0 {
			t.Fatalf("step %d: %v vs %v, %d quantiles", i+1, p1[i], p2[i], len(q1[i]))
		}
	}
}
