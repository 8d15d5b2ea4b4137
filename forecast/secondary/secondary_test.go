package secondary

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

// admissions returns n days of an epidemic wave of admissions (thousands a day) with day-to-day
// noise: the noise is what tells a delay of 12 days from one of 13 (on a smooth wave a longer
// delay and a larger fraction fit almost as well).
func admissions(n int) []float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	a := make([]float64, n)
	for i := range a {
		a[i] = math.Round(3000 * (1 + 0.6*math.Sin(2*math.Pi*float64(i)/120)) * (1 + 0.3*(rng.Float64()-0.5)))
	}
	return a
}

// deathsFrom returns the frame whose deaths are frac × the admissions lag days earlier, times
// the weekday effect w (Sunday first; nil for none), drawn negative binomial of size phi when
// phi > 0. The first lag days have no admissions before them and start the frame later.
func deathsFrom(adm []float64, frac float64, lag int, w []float64, phi float64) *prevoir.Frame {
	rng := rand.New(rand.NewPCG(1, 2))
	n := len(adm) - lag
	y := make([]float64, n)
	for i := range y {
		mu := frac * adm[i]
		if w != nil {
			mu *= w[(testframe.Start() + prevoir.Date(i)).Weekday()]
		}
		y[i] = mu
		if phi > 0 {
			y[i] = negBinomial(rng, mu, phi)
		}
	}
	// Deaths on frame day i follow admissions lag days earlier: admissions adm[lag:] are on the
	// frame's days.
	return testframe.New(y, map[string][]float64{"incid_hosp": adm[lag:]})
}

// shift returns adm with lag values prepended, so that deaths y[i] = frac·adm[i] follow the
// frame's admissions by lag days.
func shift(a []float64, lag int) []float64 {
	out := make([]float64, lag, lag+len(a))
	for i := range out {
		out[i] = a[0]
	}
	return append(out, a...)
}

func fitParams(t *testing.T, f *prevoir.Frame, o Options) *fitted {
	t.Helper()
	ft, err := New(o).Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ft.(*fitted)
}

// TestRecoversFractionAndDelay: deaths are 1% of the admissions 12 days earlier, exactly and
// with negative binomial noise; the fit finds the fraction and the delay (its discretised mean
// within a day), and forecasts the next days, whose admissions are already observed, as 1% of
// them.
func TestRecoversFractionAndDelay(t *testing.T) {
	const lag = 12
	adm := admissions(400)
	for _, c := range []struct {
		name         string
		phi, fracTol float64
		delay        Family
	}{{"exact", 0, 0.01, LogNormal}, {"negative binomial", 30, 0.05, LogNormal}, {"gamma delay", 30, 0.05, Gamma}} {
		t.Run(c.name, func(t *testing.T) {
			f := deathsFrom(shift(adm, lag), 0.01, lag, nil, c.phi)
			ft := fitParams(t, f, Options{Delay: c.delay})
			p := ft.p
			if got := math.Exp(p.LogFraction); math.Abs(got/0.01-1) > c.fracTol {
				t.Errorf("fraction %.5f, want 0.01 within %.0f%%", got, 100*c.fracTol)
			}
			if got := DelayMeanDays(Delay(c.delay, p.DelayMean, p.DelaySD, ft.o.MaxDelay)); math.Abs(got-lag) > 1 {
				t.Errorf("delay mean %.2f days, want %d within a day (fitted mean %.2f, sd %.2f)", got, lag, p.DelayMean, p.DelaySD)
			}
			fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
			if err != nil {
				t.Fatal(err)
			}
			if err := fc.Validate(); err != nil {
				t.Fatal(err)
			}
			// Forecast day i+1 follows the admissions of frame day n+i−lag, observed for i < lag.
			// With noise the weekday effects, estimated from 12 days each, scatter the days: the
			// week's total is checked.
			a := f.Column("incid_hosp")
			n := f.Len()
			var got, want float64
			for i := range lag {
				if c.phi == 0 && math.Abs(fc.Point[i]/(0.01*a[n+i-lag])-1) > 0.02 {
					t.Errorf("day %d: point %.1f, want %.1f", i+1, fc.Point[i], 0.01*a[n+i-lag])
				}
				if i < 7 {
					got, want = got+fc.Point[i], want+0.01*a[n+i-lag]
				}
			}
			if math.Abs(got/want-1) > 0.01+c.fracTol {
				t.Errorf("first week's total %.1f, want %.1f", got, want)
			}
		})
	}
}

// TestRecoversWeekdayEffects: deaths carry multiplicative weekday effects, which the fit
// recovers within 3%.
func TestRecoversWeekdayEffects(t *testing.T) {
	week := testframe.Week()
	w := make([]float64, 7)
	logSum := 0.0
	for _, v := range week {
		logSum += math.Log(v)
	}
	for d, v := range week {
		w[d] = v / math.Exp(logSum/7) // log effects summing to 0, as the model's
	}
	f := deathsFrom(shift(admissions(300), 12), 0.01, 12, w, 0)
	ft := fitParams(t, f, Options{})
	for d := range 7 {
		if got := ft.p.Weekday[d]; math.Abs(got/w[d]-1) > 0.03 {
			t.Errorf("weekday %d effect %.3f, want %.3f", d, got, w[d])
		}
	}
	if got := math.Exp(ft.p.LogFraction); math.Abs(got/0.01-1) > 0.02 {
		t.Errorf("fraction %.5f, want 0.01", got)
	}
}

// TestNoPeekingAtCovariates: changing admissions and deaths after the origin changes nothing in
// the forecast made at the origin (the model sees the frame up to its origin only); changing
// the admissions of the origin day, which the convolution and the admissions model read, does.
func TestNoPeekingAtCovariates(t *testing.T) {
	ctx := context.Background()
	const at = 300 // the origin's index
	forecast := func(fr *prevoir.Frame) *prevoir.Forecast {
		t.Helper()
		u, err := fr.Until(fr.Dates[at])
		if err != nil {
			t.Fatal(err)
		}
		ft, err := New(Options{}).Fit(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(ctx, 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	frame := func() *prevoir.Frame { return deathsFrom(shift(admissions(400), 12), 0.01, 12, nil, 30) }
	g := frame()
	for _, c := range g.Columns {
		for i := at + 1; i < len(c.Values); i++ {
			c.Values[i] *= 3
		}
	}
	base := forecast(frame())
	if fc := forecast(g); !reflect.DeepEqual(base, fc) {
		t.Errorf("the forecast changed with the data after the origin:\n%v\n%v", base.Point, fc.Point)
	}
	g.Column("incid_hosp")[at] *= 3
	if fc := forecast(g); reflect.DeepEqual(base.Point, fc.Point) {
		t.Error("the admissions of the origin day did not move the forecast")
	}
}

// TestLeadingColumnErrors: a frame without the admissions column, or whose admissions stop
// before the origin, is refused with an error naming the column.
func TestLeadingColumnErrors(t *testing.T) {
	ctx := context.Background()
	f := deathsFrom(shift(admissions(200), 12), 0.01, 12, nil, 0)
	missing := testframe.New(f.TargetValues(), nil)
	stopped := deathsFrom(shift(admissions(200), 12), 0.01, 12, nil, 0)
	a := stopped.Column("incid_hosp")
	for i := len(a) - 3; i < len(a); i++ {
		a[i] = math.NaN()
	}
	for name, c := range map[string]struct {
		f    *prevoir.Frame
		want string
	}{
		"missing": {missing, `"incid_hosp"`},
		"stopped": {stopped, `leading column "incid_hosp" stops on`},
	} {
		_, err := New(Options{}).Fit(ctx, c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %s", name, err, c.want)
		}
	}
	if _, err := New(Options{Primary: "incid_rea"}).Fit(ctx, f); err == nil || !strings.Contains(err.Error(), `"incid_rea"`) {
		t.Errorf("another primary column: %v, want an error naming incid_rea", err)
	}
}

// TestWeeklyAndReproducible: the forecast carries weekly totals whose quantiles bracket their
// point and pass Validate, and the same fit forecasts the same twice.
func TestWeeklyAndReproducible(t *testing.T) {
	ctx := context.Background()
	f := deathsFrom(shift(admissions(300), 12), 0.01, 12, testframe.Week(), 20)
	ft := fitParams(t, f, Options{Trend: true, HalfLife: 28, Median: true})
	q := prevoir.DefaultQuantiles()
	fc, err := ft.Predict(ctx, 14, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Validate(); err != nil {
		t.Fatal(err)
	}
	if fc.Weekly == nil || len(fc.Weekly.Point) != 2 {
		t.Fatalf("weekly %+v, want two weeks", fc.Weekly)
	}
	for k, v := range fc.Weekly.Values {
		if v[0] >= fc.Weekly.Point[k] || v[len(v)-1] <= fc.Weekly.Point[k] {
			t.Errorf("week %d: quantiles %v do not bracket the point %v", k+1, v, fc.Weekly.Point[k])
		}
	}
	again, err := ft.Predict(ctx, 14, q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fc, again) {
		t.Error("two forecasts of one fit differ")
	}
	// The fraction's drift widens the intervals, the second week's more than the first's.
	drift := fitParams(t, f, Options{Trend: true, HalfLife: 28, Median: true, Drift: 0.3})
	wide, err := drift.Predict(ctx, 14, q)
	if err != nil {
		t.Fatal(err)
	}
	width := func(v []float64) float64 { return v[len(v)-1] - v[0] }
	for k := range 2 {
		if r := width(wide.Weekly.Values[k]) / width(fc.Weekly.Values[k]); r < 1.5+float64(k) {
			t.Errorf("week %d: with drift the 95%% interval is %.2f times as wide, want more", k+1, r)
		}
	}
}

// TestNegBinomialMoments: the sampler's mean and variance are mu and mu + mu²/phi, for small
// and large means (the two Poisson branches).
func TestNegBinomialMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range []struct{ mu, phi float64 }{{3, 2}, {40, 10}, {300, 50}, {5, 0.7}} {
		const n = 200000
		var s, s2 float64
		for range n {
			x := negBinomial(rng, c.mu, c.phi)
			s += x
			s2 += x * x
		}
		mean := s / n
		v := s2/n - mean*mean
		want := c.mu + c.mu*c.mu/c.phi
		if math.Abs(mean/c.mu-1) > 0.02 || math.Abs(v/want-1) > 0.05 {
			t.Errorf("NB(%v, %v): mean %.3f variance %.2f, want %v and %.2f", c.mu, c.phi, mean, v, c.mu, want)
		}
	}
}

// TestDelay: the discretised delay sums to 1 and its mean is the continuous mean less half a
// day (the interval [k, k+1) is counted as k); all the mass beyond D lands on D.
func TestDelay(t *testing.T) {
	w := Delay(LogNormal, 10, 4, 40)
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	if math.Abs(sum-1) > 1e-12 || math.Abs(DelayMeanDays(w)-9.5) > 0.05 {
		t.Errorf("sum %v, mean %v, want 1 and 9.5", sum, DelayMeanDays(w))
	}
	if w := Delay(LogNormal, 500, 1, 10); w[10] != 1 {
		t.Errorf("delay beyond D: %v", w)
	}
	// A gamma of shape 1 (mean = sd) is the exponential: ξ_k ∝ e^{−k/m}(1 − e^{−1/m}).
	w = Delay(Gamma, 5, 5, 200)
	for k := range 10 {
		if want := math.Exp(-float64(k)/5) * (1 - math.Exp(-0.2)); math.Abs(w[k]-want) > 1e-9 {
			t.Errorf("gamma(1) delay day %d: %v, want %v", k, w[k], want)
		}
	}
}

// TestGammaP: the regularised incomplete gamma function against closed forms (shapes 1 and 2)
// and the median of a large shape (P(a, a − 1/3) ≈ 1/2, Choi 1994).
func TestGammaP(t *testing.T) {
	for _, x := range []float64{0.1, 1, 2.5, 7, 30} {
		if got, want := gammaP(1, x), 1-math.Exp(-x); math.Abs(got-want) > 1e-12 {
			t.Errorf("P(1, %v) = %v, want %v", x, got, want)
		}
		if got, want := gammaP(2, x), 1-math.Exp(-x)*(1+x); math.Abs(got-want) > 1e-12 {
			t.Errorf("P(2, %v) = %v, want %v", x, got, want)
		}
	}
	if got := gammaP(10000, 10000-1.0/3); math.Abs(got-0.5) > 1e-3 {
		t.Errorf("P(10000, median) = %v, want 1/2", got)
	}
}
