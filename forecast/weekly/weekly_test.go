package weekly_test

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/weekly"
)

// shares is testframe.Week as shares of its week, Sunday first (the weekdays of Start()).
func shares() []float64 {
	w := testframe.Week()
	s := 0.0
	for _, v := range w {
		s += v
	}
	out := make([]float64, 7)
	for i, v := range w {
		out[i] = v / s
	}
	return out
}

func predict(t *testing.T, fc prevoir.Forecaster, f *prevoir.Frame) *prevoir.Forecast {
	t.Helper()
	out, _ := testframe.Predict(t, fc, f, 14, prevoir.DefaultQuantiles())
	return out
}

// growing returns n whole weeks (from Start, a Sunday) whose totals are D_t+1 = 1000·g^t,
// split by the constant profile shares().
func growing(n int, g float64) []float64 {
	sh := shares()
	y := make([]float64, 7*n)
	for t := range n {
		d := 1000*math.Pow(g, float64(t)) - 1
		for i := range 7 {
			y[7*t+i] = d * sh[i]
		}
	}
	return y
}

// TestKnownGrowthAndProfile: a series with a constant weekday profile and a constant weekly
// growth is reproduced: the next weeks' totals continue the growth, their days follow the
// profile, and with no error left the quantiles collapse on the points. 18 weeks from
// 2022-01-02 end on Saturday 2022-05-07; the next two weeks have no weekday holiday.
func TestKnownGrowthAndProfile(t *testing.T) {
	const n, g = 18, 1.1
	f := testframe.New(growing(n, g), nil)
	out := predict(t, weekly.New(weekly.Options{}), f)
	sh := shares()
	for w := range 2 {
		want := 1000*math.Pow(g, float64(n+w)) - 1
		if got := out.Weekly.Point[w]; math.Abs(got-want) > 1e-6*want {
			t.Errorf("week %d total %v, want %v", w+1, got, want)
		}
		for j, q := range out.Weekly.Values[w] {
			if math.Abs(q-want) > 1e-3*want {
				t.Errorf("week %d quantile %v = %v, want the point %v", w+1, out.Quantiles[j], q, want)
			}
		}
		for i := range 7 {
			if got := out.Point[7*w+i]; math.Abs(got-want*sh[i]) > 1e-6*want {
				t.Errorf("week %d day %d: %v, want %v", w+1, i+1, got, want*sh[i])
			}
		}
	}
}

// TestProfileRecovered: with ±10% noise around a flat level the days' shares of the forecast
// weeks are the profile's, within the error of a median of 10 noisy weeks (about 2.5%).
func TestProfileRecovered(t *testing.T) {
	sh := shares()
	rng := rand.New(rand.NewPCG(3, 4))
	y := make([]float64, 7*40)
	for i := range y {
		y[i] = 1000 * sh[i%7] * (1 + 0.1*(2*rng.Float64()-1))
	}
	out := predict(t, weekly.New(weekly.Options{}), testframe.New(y, nil))
	// 40 weeks from 2022-01-02 end on 2022-10-08; the next two weeks have no holiday.
	for w := range 2 {
		total := prevoir.WeekTotal(out.Point, w)
		for i := range 7 {
			if got := out.Point[7*w+i] / total; math.Abs(got-sh[i]) > 0.08*sh[i] {
				t.Errorf("week %d day %d share %.4f, want %.4f", w+1, i+1, got, sh[i])
			}
		}
	}
}

// leading returns weekly admissions A_t with a growth that changes every few weeks and deaths
// D_t = A_{t−1}/10, both split by the profile, over n weeks.
func leading(n int) (deaths, admissions []float64) {
	sh := shares()
	a := make([]float64, n+1)
	a[0] = 20000
	for t := 1; t <= n; t++ {
		a[t] = a[t-1] * math.Exp(0.25*math.Sin(float64(t)/2.5))
	}
	for t := range n {
		for i := range 7 {
			admissions = append(admissions, a[t+1]*sh[i])
			deaths = append(deaths, a[t]/10*sh[i])
		}
	}
	return deaths, admissions
}

// TestAdmissionsLead: deaths one week behind admissions: with the admissions' growth as a
// feature next week's deaths total, a tenth of this week's admissions, is forecast closely;
// without it the model misses the turns.
func TestAdmissionsLead(t *testing.T) {
	d, a := leading(60)
	f := testframe.New(d, map[string][]float64{"incid_hosp": a})
	want := a[len(a)-7:]
	total := 0.0
	for _, v := range want {
		total += v / 10
	}
	with := predict(t, weekly.New(weekly.Options{}), f).Weekly.Point[0]
	without := predict(t, weekly.New(weekly.Options{Covariates: []string{}}), f).Weekly.Point[0]
	if math.Abs(with-total) > 0.02*total {
		t.Errorf("with admissions: week 1 total %.1f, want %.1f", with, total)
	}
	if math.Abs(without-total) < 5*math.Abs(with-total) {
		t.Errorf("without admissions the error %.1f is not much larger than with them %.1f", without-total, with-total)
	}
}

// TestNoPeeking: admissions after the origin change nothing (the model sees the frame up to
// its origin only); admissions before it do.
func TestNoPeeking(t *testing.T) {
	d, a := leading(60)
	f := testframe.New(d, map[string][]float64{"incid_hosp": a})
	origin := f.Dates[f.Len()-15]
	changed := testframe.New(d, map[string][]float64{"incid_hosp": slices.Clone(a)})
	col := changed.Column("incid_hosp")
	for i := f.Len() - 14; i < f.Len(); i++ {
		col[i] *= 3
	}
	fc := weekly.New(weekly.Options{})
	g1, _ := f.Until(origin)
	g2, _ := changed.Until(origin)
	if a, b := predict(t, fc, g1), predict(t, fc, g2); !reflect.DeepEqual(a, b) {
		t.Errorf("admissions after the origin moved the forecast:\n%v\n%v", a.Point, b.Point)
	}
	col[f.Len()-16] *= 3
	g3, _ := changed.Until(origin)
	if a, b := predict(t, fc, g1), predict(t, fc, g3); reflect.DeepEqual(a.Point, b.Point) {
		t.Error("admissions before the origin did not move the forecast")
	}
}

// TestHolidaySplit: a weekday holiday in a forecast week gets the holiday factor learnt from
// past holidays (reported at 30% of their weekday here, the day after at 170%), and the week's
// total is the weekly model's: the deaths move between days.
func TestHolidaySplit(t *testing.T) {
	// 2022-01-02 .. 2022-07-09 (27 weeks, Saturday): 14 July 2022, a Thursday, is in week 1.
	y := growing(27, 1.0)
	start := testframe.Start()
	for i := range y {
		d := start + prevoir.Date(i)
		for _, s := range []string{"2022-04-18", "2022-05-26", "2022-06-06"} { // Easter Monday, Ascension, Whit Monday
			if h := prevoir.MustParseDate(s); d == h {
				y[i] *= 0.3
			} else if d == h+1 {
				y[i] *= 1.7
			}
		}
	}
	out := predict(t, weekly.New(weekly.Options{}), testframe.New(y, nil))
	plain := predict(t, weekly.New(weekly.Options{}), testframe.New(growing(27, 1.0), nil))
	hol := int(prevoir.MustParseDate("2022-07-14") - out.Origin - 1)
	if r := out.Point[hol] / plain.Point[hol]; r > 0.4 || r < 0.2 {
		t.Errorf("14 July at %.2f of an ordinary Thursday, want about 0.3", r)
	}
	if r := out.Point[hol+1] / plain.Point[hol+1]; r < 1.5 {
		t.Errorf("15 July at %.2f of an ordinary Friday, want about 1.7", r)
	}
	if a, b := out.Weekly.Point[0], plain.Weekly.Point[0]; math.Abs(a-b) > 0.02*b {
		t.Errorf("week 1 total %.1f with the holiday, %.1f without: want the same", a, b)
	}
}

// TestPinnedWithCovariates: a pinned fit loaded on the same frame forecasts exactly as the fit;
// a frame without the admissions it reads is refused with their name.
func TestPinnedWithCovariates(t *testing.T) {
	ctx := context.Background()
	d, a := leading(60)
	f := testframe.New(d, map[string][]float64{"incid_hosp": a})
	ft, err := weekly.New(weekly.Options{}).Fit(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ft.(prevoir.Pinner).Pin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := weekly.LoadPinned(ctx, p, f)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ft.Predict(ctx, 14, prevoir.DefaultQuantiles())
	got, _ := loaded.Predict(ctx, 14, prevoir.DefaultQuantiles())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded:\n%+v\nwant\n%+v", got, want)
	}
	if _, err := weekly.LoadPinned(ctx, p, testframe.New(d, nil)); err == nil || !strings.Contains(err.Error(), "incid_hosp") {
		t.Errorf("loaded without admissions: %v", err)
	}
	if _, err := loaded.Predict(ctx, 70, prevoir.DefaultQuantiles()); err == nil || !strings.Contains(err.Error(), "pinned model has 4 weekly horizons") {
		t.Errorf("10 weeks from a pinned model fitted for 4: %v", err)
	}
	bad := *p
	bad.State = []byte(strings.Replace(string(p.State), `"beta":[`, `"beta":[1,`, 1))
	if _, err := weekly.LoadPinned(ctx, &bad, f); err == nil || !strings.Contains(err.Error(), "coefficients") {
		t.Errorf("a horizon with an extra coefficient: %v", err)
	}
}

// TestMissingOrigin: when the origin's own value is not published yet the model forecasts
// from the last observed day (its weeks end there) and still gives the 14 days after the
// origin; the weekly totals, whose weeks would not be the model's, are left out.
func TestMissingOrigin(t *testing.T) {
	y := growing(18, 1.1)
	y[len(y)-1] = math.NaN()
	out := predict(t, weekly.New(weekly.Options{}), testframe.New(y, nil))
	if out.Weekly != nil {
		t.Errorf("weekly totals %+v with the origin missing", out.Weekly)
	}
	// Day 1 after the origin is day 2 of the model's first week (a Sunday). The model's
	// weeks (Saturday to Friday) mix two of the series' weeks, so their growth is constant
	// only to about 1e-6.
	sh := shares()
	want := (1000*math.Pow(1.1, 18) - 1) * sh[0]
	if math.Abs(out.Point[0]-want) > 1e-4*want {
		t.Errorf("day 1 %v, want %v", out.Point[0], want)
	}
}
