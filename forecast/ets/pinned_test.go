package ets

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

// TestFilterCarriesThePinnedModelForward: the pinned parameters filtered over the fitted
// series give the fitted model; over a longer series, the state at the end is the fitted
// model's final state carried forward by the recursion over the new values only, with the
// same parameters — while a new fit on the longer series would select other ones.
func TestFilterCarriesThePinnedModelForward(t *testing.T) {
	ctx := context.Background()
	y := testframe.Noisy(420, 3)
	n := 364
	for _, opts := range []Options{{Tol: 1e-6}, {Transform: Log1p()}} {
		md, err := Auto(ctx, y[:n], opts)
		if err != nil {
			t.Fatal(err)
		}
		st := md.State()
		same, err := Filter(st, y[:n])
		if err != nil {
			t.Fatal(err)
		}
		qs := []float64{0.1, 0.5, 0.9}
		p0, q0, _ := md.Forecast(14, qs)
		p1, q1, _ := same.Forecast(14, qs)
		if !reflect.DeepEqual(p0, p1) || !reflect.DeepEqual(q0, q1) {
			t.Fatalf("%v filtered over its own series forecasts %v, the fit %v", md.Spec(), p1, p0)
		}

		longer, err := Filter(st, y)
		if err != nil {
			t.Fatal(err)
		}
		// The final state of the fit, as the initial state of the days after it: seasonal
		// states in use order, the next one first.
		carry := st
		carry.Initial = []float64{md.final.level}
		if md.spec.Trend != None {
			carry.Initial = append(carry.Initial, md.final.trend)
		}
		carry.Initial = append(carry.Initial, md.final.season...)
		cont, err := Filter(carry, y[n:])
		if err != nil {
			t.Fatal(err)
		}
		p2, _, _ := longer.Forecast(14, nil)
		p3, _, _ := cont.Forecast(14, nil)
		for i := range p2 {
			if math.Abs(p2[i]-p3[i]) > 1e-9*math.Max(1, math.Abs(p3[i])) {
				t.Fatalf("%v on the longer series: day %d forecast %v, the fit carried forward %v", md.Spec(), i+1, p2[i], p3[i])
			}
		}
		if longer.Params() != md.Params() || longer.Sigma2() != md.Sigma2() || longer.Spec() != md.Spec() {
			t.Errorf("filtered %v %+v sigma2 %v, pinned %v %+v sigma2 %v", longer.Spec(), longer.Params(), longer.Sigma2(), md.Spec(), md.Params(), md.Sigma2())
		}
		refit, err := Auto(ctx, y, opts)
		if err != nil {
			t.Fatal(err)
		}
		if refit.Spec() == md.Spec() && refit.Params() == md.Params() {
			t.Errorf("a fit on the longer series gives the pinned model %v %+v too: the test cannot tell", md.Spec(), md.Params())
		}
	}
}

// TestFilterRefusesBadStates: a state that does not fit its model form is an error.
func TestFilterRefusesBadStates(t *testing.T) {
	y := testframe.Noisy(60, 1)
	for _, st := range []ModelState{
		{Spec: "AAA", Alpha: 0.3, Beta: 0.1, Gamma: 0.1, Phi: 1, Period: 7, Initial: []float64{1, 0}},
		{Spec: "XNN", Alpha: 0.3, Initial: []float64{1}},
		{Spec: "ANA", Alpha: 0.3, Period: 1, Initial: []float64{1, 0}},
	} {
		if _, err := Filter(st, y); err == nil {
			t.Errorf("Filter(%+v): no error", st)
		}
	}
	if _, err := Filter(ModelState{Spec: "ANN", Alpha: 0.3, Phi: 1, Initial: []float64{1}}, []float64{1, math.NaN()}); err == nil {
		t.Error("Filter over a NaN: no error")
	}
}
