package linreg

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

// wave returns n days of a smooth epidemic wave between about a/7 and 7a.
func wave(n int, a float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = a * math.Exp(2*math.Sin(2*math.Pi*float64(i)/90))
	}
	return x
}

// delayed returns deaths = frac × admissions delay days earlier (the first days: of day 0).
func delayed(adm []float64, frac float64, delay int) []float64 {
	y := make([]float64, len(adm))
	for i := range y {
		y[i] = frac * adm[max(i-delay, 0)]
	}
	return y
}

// TestLeadingIndicatorKnownAnswer: deaths are 1% of the admissions 12 days earlier, so on the
// growth design the forecast of horizon k ≤ 12 is 1% of an admission already observed, which
// the admissions' lags reproduce; the deaths' own past (a wave with day-to-day noise) cannot.
func TestLeadingIndicatorKnownAnswer(t *testing.T) {
	n := 600
	adm := wave(n, 1e5)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range adm {
		adm[i] *= 1 + 0.3*(rng.Float64()-0.5)
	}
	y := delayed(adm, 0.01, 12)
	f := testframe.New(y, map[string][]float64{"incid_hosp": adm})
	o := Options{Lags: 7, Growth: true, Covariates: []string{"incid_hosp"}, CovariateLags: 12, Lambda: 1e-7, Horizon: 12}
	fc := predict(t, o, f, 12)
	for k := 1; k <= 12; k++ {
		if want := 0.01 * adm[n-1+k-12]; math.Abs(fc.Point[k-1]-want) > 0.005*want {
			t.Errorf("horizon %d: %.1f, want 1%% of the admissions 12 days earlier, %.1f", k, fc.Point[k-1], want)
		}
	}
	o.Covariates = nil
	fc = predict(t, o, testframe.New(y, nil), 12)
	if k := 12; math.Abs(fc.Point[k-1]-0.01*adm[n-1]) < 0.02*0.01*adm[n-1] {
		t.Errorf("without admissions horizon %d is %.1f, as good as with them: the test is not testing anything", k, fc.Point[k-1])
	}
}

// TestLeadWeekdayEffects: deaths are a steadily growing level times a weekly reporting
// profile; the forecasts' day-to-day ratios are the profile's times the growth.
func TestLeadWeekdayEffects(t *testing.T) {
	n := 500
	level := make([]float64, n+14) // its last 14 days are the truth of the forecast days
	for i := range level {
		level[i] = 100 * math.Exp(0.005*float64(i)) // a steady growth
	}
	week := testframe.Week()
	y := make([]float64, n+14)
	for i := range y {
		y[i] = level[i] * week[i%7] / 100
	}
	f := testframe.New(y[:n], map[string][]float64{"incid_hosp": level[:n]})
	fc := predict(t, Options{Lags: 7, Growth: true, Weekday: true, Covariates: []string{"incid_hosp"}, CovariateLags: 3, Lambda: 1e-6}, f, 14)
	for i := 1; i < 7; i++ {
		// The ratio of consecutive days is the weekday profile's times the level's change.
		got, want := fc.Point[i]/fc.Point[i-1], y[n+i]/y[n+i-1]
		if math.Abs(got/want-1) > 0.01 {
			t.Errorf("days %d→%d: ratio %.3f, want %.3f (weekday profile %.3f)", i, i+1, got, want, week[(n+i)%7]/week[(n+i-1)%7])
		}
	}
}

// TestLeadNoPeeking: frames that agree up to the origin and differ after it, in the deaths and
// in the admissions, give the same forecast at that origin; fitted on the whole frames they
// differ (the admissions are read).
func TestLeadNoPeeking(t *testing.T) {
	ctx := context.Background()
	n, origin := 500, 420
	y, adm := testframe.Noisy(n, 3), testframe.Noisy(n, 9)
	y2, adm2 := append([]float64(nil), y...), append([]float64(nil), adm...)
	for i := origin + 1; i < n; i++ {
		y2[i] *= 3
		adm2[i] *= 5
	}
	fa := testframe.New(y, map[string][]float64{"incid_hosp": adm})
	fb := testframe.New(y2, map[string][]float64{"incid_hosp": adm2})
	fit := func(f *prevoir.Frame) *prevoir.Forecast {
		ft, err := New(LeadOptions()).Fit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(ctx, 14, probs)
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	ua, err := fa.Until(fa.Dates[origin])
	if err != nil {
		t.Fatal(err)
	}
	ub, err := fb.Until(fb.Dates[origin])
	if err != nil {
		t.Fatal(err)
	}
	if a, b := fit(ua), fit(ub); !reflect.DeepEqual(a, b) {
		t.Errorf("forecasts at the origin differ with the data after it:\n%v\n%v", a.Point, b.Point)
	}
	// Only the admissions differ after the origin: the full fits differ through them.
	fc := testframe.New(y, map[string][]float64{"incid_hosp": adm2})
	if a, b := fit(fa), fit(fc); reflect.DeepEqual(a.Point, b.Point) {
		t.Error("changing the admissions changes nothing even when they are observed: the test is not testing anything")
	}
}

// TestLeadStoppedCovariate: admissions that stopped before the origin are left out of the fit
// and the description says so (the forecast is the deaths-only one); a frame without the
// column is an error naming it.
func TestLeadStoppedCovariate(t *testing.T) {
	ctx := context.Background()
	n := 500
	y, adm := testframe.Noisy(n, 3), testframe.Noisy(n, 9)
	for i := n - 3; i < n; i++ {
		adm[i] = math.NaN()
	}
	ft, err := New(LeadOptions()).Fit(ctx, testframe.New(y, map[string][]float64{"incid_hosp": adm}))
	if err != nil {
		t.Fatal(err)
	}
	if d := ft.(*fitted).Describe(); !strings.Contains(d, "left out: incid_hosp (missing on the last day)") {
		t.Errorf("describe %q does not report the stopped admissions", d)
	}
	o := LeadOptions()
	o.Covariates = nil
	alone := predict(t, o, testframe.New(y, nil), 14)
	got, err := ft.Predict(ctx, 14, probs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Point, alone.Point) {
		t.Errorf("forecast without the stopped admissions %v, want the deaths-only %v", got.Point, alone.Point)
	}
	if _, err := New(LeadOptions()).Fit(ctx, testframe.New(y, nil)); err == nil || !strings.Contains(err.Error(), `"incid_hosp"`) {
		t.Errorf("frame without admissions: %v, want an error naming incid_hosp", err)
	}
}

// TestWeeklyFromResidualPaths: with residual vectors whose horizons are independent, the
// weekly total's 95% interval is much narrower than the sum of its days' intervals; with
// perfectly correlated ones (the same error every day of an origin) it is exactly as wide.
func TestWeeklyFromResidualPaths(t *testing.T) {
	ctx := context.Background()
	levels := []float64{0.025, 0.5, 0.975}
	width := func(correlated bool) (week, days float64) {
		ft, err := New(Options{Lags: 7, Lambda: 1e-6}).Fit(ctx, testframe.New(testframe.Constant(300, 1000), nil))
		if err != nil {
			t.Fatal(err)
		}
		lf := ft.(*fitted)
		nres := len(lf.models[len(lf.models)-1].res)
		rng := rand.New(rand.NewPCG(1, 2))
		e := make([]float64, nres)
		for r := range e {
			e[r] = 50 * rng.NormFloat64()
		}
		for _, m := range lf.models {
			m.res = make([]float64, nres)
			perm := rng.Perm(nres)
			for r := range nres {
				m.res[r] = e[perm[r]]
				if correlated {
					m.res[r] = e[r]
				}
			}
			m.sorted = append([]float64(nil), e...)
			slices.Sort(m.sorted)
		}
		fc, err := ft.Predict(ctx, 14, levels)
		if err != nil {
			t.Fatal(err)
		}
		if fc.Weekly == nil || len(fc.Weekly.Values) != 2 {
			t.Fatalf("weekly totals %+v, want two weeks", fc.Weekly)
		}
		for i := range 7 {
			days += fc.Values[i][2] - fc.Values[i][0]
		}
		return fc.Weekly.Values[0][2] - fc.Weekly.Values[0][0], days
	}
	if week, days := width(true); math.Abs(week-days) > 1e-9*days {
		t.Errorf("perfectly correlated errors: weekly 95%% width %.3f, want the sum of the daily widths %.3f", week, days)
	}
	if week, days := width(false); week > 0.6*days {
		t.Errorf("independent errors: weekly 95%% width %.3f, want well under the sum of the daily widths %.3f (about √7/7 of it)", week, days)
	}
}

// TestWeeklyTotalsValid: the default regression and the leading-indicator one give weekly
// totals that pass Validate and sum their days' points.
func TestWeeklyTotalsValid(t *testing.T) {
	y, adm := testframe.Noisy(700, 3), testframe.Noisy(700, 9)
	f := testframe.New(y, map[string][]float64{"incid_hosp": adm})
	for _, o := range []Options{DefaultOptions(), LeadOptions()} {
		fc := predict(t, o, f, 14)
		if fc.Weekly == nil {
			t.Fatalf("%s: no weekly totals", o.Label)
		}
		w := fc.Weekly.Values[1]
		if p := fc.Weekly.Point[1]; !(w[0] < p && p < w[len(w)-1]) {
			t.Errorf("%s: week 2 point %.1f outside its 95%% interval %v", o.Label, p, w)
		}
	}
}

// TestPinnedBeforeWeekly: a state pinned before the residuals were kept by origin (sorted, no
// by_origin) still loads: the same daily forecast, no weekly totals (its residuals no longer
// say which origin they came from).
func TestPinnedBeforeWeekly(t *testing.T) {
	ctx := context.Background()
	f := testframe.New(testframe.Noisy(700, 3), nil)
	ft, err := New(DefaultOptions()).Fit(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ft.(*fitted).Pin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		t.Fatal(err)
	}
	if !st.ByOrigin {
		t.Fatal("a new pin does not keep its residuals by origin")
	}
	st.ByOrigin = false
	for _, h := range st.Horizons {
		slices.Sort(h.Residuals)
	}
	if p.State, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	old, err := LoadPinned(ctx, p, f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ft.Predict(ctx, 14, probs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := old.Predict(ctx, 14, probs)
	if err != nil {
		t.Fatal(err)
	}
	if want.Weekly == nil || got.Weekly != nil {
		t.Errorf("weekly totals: fitted %v, old pin %v; want some, then none", want.Weekly != nil, got.Weekly != nil)
	}
	if !reflect.DeepEqual(got.Point, want.Point) || !reflect.DeepEqual(got.Values, want.Values) {
		t.Errorf("old pin forecasts %v %v, want %v %v", got.Point, got.Values, want.Point, want.Values)
	}
}
