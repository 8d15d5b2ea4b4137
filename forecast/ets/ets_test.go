package ets

import (
	"context"
	"math"
	"strings"
	"testing"
)

var probs = []float64{0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975}

var week = []float64{144, 139, 112, 104, 107, 57, 28}

// weekly returns n days of a positive series with a weekly pattern, a slow wave and
// deterministic pseudo-random noise (a linear congruential generator keeps the test
// independent of math/rand's stream).
func weekly(n int, noise float64) []float64 {
	y := make([]float64, n)
	s := uint64(2022)
	for i := range y {
		s = s*6364136223846793005 + 1442695040888963407
		u := float64(s>>11)/(1<<53) - 0.5
		level := 1 + 0.3*math.Sin(2*math.Pi*float64(i)/180)
		y[i] = week[i%7]*level + noise*u*week[i%7]
	}
	return y
}

func checkQuantiles(t *testing.T, name string, point []float64, q [][]float64, widen bool) {
	t.Helper()
	prev := -1.0
	for i, row := range q {
		for j := 1; j < len(row); j++ {
			if !(row[j] >= row[j-1]) {
				t.Errorf("%s: step %d quantiles not monotone: %v", name, i+1, row)
			}
		}
		if math.IsNaN(point[i]) {
			t.Errorf("%s: step %d point is NaN", name, i+1)
		}
		w := row[len(row)-1] - row[0]
		if widen && w < prev-1e-9 {
			t.Errorf("%s: 95%% interval narrows from %v to %v at step %d", name, prev, w, i+1)
		}
		prev = w
	}
}

func TestConstantSeries(t *testing.T) {
	y := make([]float64, 60)
	for i := range y {
		y[i] = 17
	}
	md, err := Auto(context.Background(), y, Options{})
	if err != nil {
		t.Fatal(err)
	}
	point, q, err := md.Forecast(14, probs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range point {
		if point[i] != 17 || q[i][0] != 17 || q[i][6] != 17 {
			t.Fatalf("Auto on a constant: step %d = %v %v", i+1, point[i], q[i])
		}
	}
	for _, code := range []string{"ANN", "AAN", "AAdA", "MNN", "MAdM"} {
		sp, _ := ParseSpec(code)
		md, err := Fit(context.Background(), y, sp, Options{})
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		point, q, err := md.Forecast(14, probs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range point {
			if math.Abs(point[i]-17) > 1e-6 || q[i][6]-q[i][0] > 1e-3 {
				t.Errorf("%s on a constant: step %d = %v, interval %v", code, i+1, point[i], q[i])
			}
		}
	}
}

func TestStraightLine(t *testing.T) {
	y := make([]float64, 80)
	for i := range y {
		y[i] = 50 + 1.5*float64(i)
	}
	for _, code := range []string{"AAN", "MAN"} {
		sp, _ := ParseSpec(code)
		md, err := Fit(context.Background(), y, sp, Options{})
		if err != nil {
			t.Fatal(err)
		}
		point, _, err := md.Forecast(10, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range point {
			if want := 50 + 1.5*float64(80+i); math.Abs(p-want) > 1e-3 {
				t.Errorf("%s: step %d = %v, want %v", code, i+1, p, want)
			}
		}
	}
}

func TestWeeklyPattern(t *testing.T) {
	y := make([]float64, 91)
	for i := range y {
		y[i] = week[i%7]
	}
	for _, code := range []string{"ANA", "AAA", "MNM"} {
		sp, _ := ParseSpec(code)
		md, err := Fit(context.Background(), y, sp, Options{})
		if err != nil {
			t.Fatal(err)
		}
		point, q, err := md.Forecast(14, probs)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range point {
			want := week[(91+i)%7]
			if math.Abs(p-want) > 1e-3*want {
				t.Errorf("%s: step %d = %v, want %v", code, i+1, p, want)
			}
			if q[i][6]-q[i][0] > 1e-2*want {
				t.Errorf("%s: step %d interval too wide for an exact pattern: %v", code, i+1, q[i])
			}
		}
	}
}

func TestNaNIsRejected(t *testing.T) {
	y := weekly(60, 0.1)
	y[30] = math.NaN()
	_, err := Fit(context.Background(), y, Spec{Error: Additive}, Options{})
	if err == nil || !strings.Contains(err.Error(), "y[30]") {
		t.Errorf("Fit with NaN: err = %v, want one naming y[30]", err)
	}
	if _, err := Auto(context.Background(), y, Options{}); err == nil {
		t.Error("Auto with NaN: want error")
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	y := weekly(60, 0.1)
	for _, c := range []struct {
		name string
		y    []float64
		spec string
		opts Options
	}{
		{"empty", nil, "ANN", Options{}},
		{"too short", y[:5], "AAdA", Options{}},
		{"forbidden", y, "ANM", Options{}},
		{"negative data, M error", append([]float64{-1}, y...), "MNN", Options{}},
		{"bad period", y, "ANA", Options{Period: -3}},
		{"period 1 with season", y, "ANA", Options{Period: 1}},
		{"transform and M", y, "MNN", Options{Transform: Log1p()}},
		{"inf", []float64{1, 2, math.Inf(1), 3, 4, 5, 6, 7, 8, 9}, "ANN", Options{}},
	} {
		sp, err := ParseSpec(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Fit(ctx, c.y, sp, c.opts); err == nil {
			t.Errorf("%s: want error", c.name)
		}
	}
	if _, err := ParseSpec("AMN"); err == nil {
		t.Error("multiplicative trend: want error")
	}
	if _, err := ParseSpec("ANdN"); err == nil {
		t.Error("damped without trend: want error")
	}
	md, err := Fit(ctx, y, Spec{Error: Additive}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := md.Forecast(0, nil); err == nil {
		t.Error("h = 0: want error")
	}
	if _, _, err := md.Forecast(3, []float64{0}); err == nil {
		t.Error("quantile 0: want error")
	}
}

// TestANNIntervals checks the class-1 variance of ETS(A,N,N): σ²(1 + (h−1)α²)
// (Hyndman et al. 2008, table 6.1).
func TestANNIntervals(t *testing.T) {
	md, err := Fit(context.Background(), oil, Spec{Error: Additive}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	point, q, err := md.Forecast(8, []float64{0.1, 0.975})
	if err != nil {
		t.Fatal(err)
	}
	a, s2 := md.Params().Alpha, md.Sigma2()
	for i := range point {
		sd := math.Sqrt(s2 * (1 + float64(i)*a*a))
		if got := (q[i][1] - point[i]) / sd; math.Abs(got-1.959963984540054) > 1e-9 {
			t.Errorf("step %d: 97.5%% quantile at %v sd, want 1.95996", i+1, got)
		}
		if got := (point[i] - q[i][0]) / sd; math.Abs(got-1.2815515655446004) > 1e-9 {
			t.Errorf("step %d: 10%% quantile at %v sd, want 1.28155", i+1, got)
		}
	}
}

// TestClass1Variance checks ETS(A,Ad,A)'s variance against the matrix form
// σ²(1 + Σ_{j<h} (w'F^{j−1}g)²) of Hyndman et al. (2008), section 6.1, computed independently.
func TestClass1Variance(t *testing.T) {
	md, err := Fit(context.Background(), weekly(200, 0.2), Spec{Error: Additive, Trend: Additive, Damped: true, Season: Additive}, Options{Init: InitHeuristic})
	if err != nil {
		t.Fatal(err)
	}
	p, m := md.Params(), 7
	dim := 2 + m
	// State (l, b, s_1..s_m) with s_1 the most recent season, as in R's class1().
	F := make([][]float64, dim)
	for i := range F {
		F[i] = make([]float64, dim)
	}
	F[0][0], F[0][1], F[1][1] = 1, p.Phi, p.Phi
	F[2][dim-1] = 1
	for i := 3; i < dim; i++ {
		F[i][i-1] = 1
	}
	w := make([]float64, dim)
	w[0], w[1], w[dim-1] = 1, p.Phi, 1
	g := make([]float64, dim)
	g[0], g[1], g[2] = p.Alpha, p.Beta, p.Gamma
	const h = 20
	row := append([]float64(nil), w...) // w'F^{j-1}
	want := []float64{md.Sigma2()}
	acc := 1.0
	for j := 1; j < h; j++ {
		var c float64
		for k := range row {
			c += row[k] * g[k]
		}
		acc += c * c
		want = append(want, md.Sigma2()*acc)
		next := make([]float64, dim)
		for k := range next {
			for l := range row {
				next[k] += row[l] * F[l][k]
			}
		}
		row = next
	}
	point, q, err := md.Forecast(h, []float64{0.975})
	if err != nil {
		t.Fatal(err)
	}
	for i := range point {
		sd := (q[i][0] - point[i]) / 1.959963984540054
		if math.Abs(sd*sd-want[i]) > 1e-9*want[i] {
			t.Errorf("step %d variance %v, want %v", i+1, sd*sd, want[i])
		}
	}
}

func TestQuantilesAllModels(t *testing.T) {
	y := weekly(200, 0.3)
	for _, sp := range Candidates(true, true, false) {
		md, err := Fit(context.Background(), y, sp, Options{Init: InitHeuristic})
		if err != nil {
			t.Fatalf("%v: %v", sp, err)
		}
		point, q, err := md.Forecast(21, probs)
		if err != nil {
			t.Fatalf("%v: %v", sp, err)
		}
		// The additive-error models' intervals must widen with the horizon; the
		// multiplicative ones scale with the weekly level, so only monotonicity is checked.
		checkQuantiles(t, sp.String(), point, q, sp.Error == Additive && sp.Season == None)
		if sp.Error == Additive {
			// Compare widths one week apart (same season position).
			for i := 7; i < len(q); i++ {
				if q[i][6]-q[i][0] < q[i-7][6]-q[i-7][0]-1e-9 {
					t.Errorf("%v: interval at step %d narrower than at step %d", sp, i+1, i-6)
				}
			}
		}
	}
}

func TestAutoSelectsSeasonal(t *testing.T) {
	y := weekly(300, 0.2)
	md, err := Auto(context.Background(), y, Options{Init: InitHeuristic})
	if err != nil {
		t.Fatal(err)
	}
	if md.Spec().Season == None {
		t.Errorf("Auto picked %v for a strongly weekly series", md.Spec())
	}
	// Every candidate's AICc must be no better than the chosen one.
	for _, sp := range Candidates(true, true, false) {
		other, err := Fit(context.Background(), y, sp, Options{Init: InitHeuristic})
		if err != nil {
			continue
		}
		if other.AICc() < md.AICc()-1e-9 {
			t.Errorf("%v has AICc %v below the selected %v's %v", sp, other.AICc(), md.Spec(), md.AICc())
		}
	}
	// With a transform only additive models are considered.
	md, err = Auto(context.Background(), y, Options{Init: InitHeuristic, Transform: Log1p()})
	if err != nil {
		t.Fatal(err)
	}
	if md.Spec().Error != Additive || md.Spec().Season == Multiplicative {
		t.Errorf("Auto with a transform picked %v", md.Spec())
	}
	point, q, err := md.Forecast(14, probs)
	if err != nil {
		t.Fatal(err)
	}
	checkQuantiles(t, "log1p", point, q, false)
	for i := range point {
		if point[i] != q[i][3] {
			t.Errorf("log1p: point %v is not the back-transformed median %v", point[i], q[i][3])
		}
	}
}

func TestAutoCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Auto(ctx, weekly(200, 0.2), Options{}); err == nil {
		t.Error("cancelled context: want error")
	}
}

func TestSimulationIsSeeded(t *testing.T) {
	y := weekly(200, 0.2)
	md, err := Fit(context.Background(), y, Spec{Error: Multiplicative, Season: Multiplicative}, Options{Seed: 7, Init: InitHeuristic})
	if err != nil {
		t.Fatal(err)
	}
	_, q1, _ := md.Forecast(7, probs)
	_, q2, _ := md.Forecast(7, probs)
	for i := range q1 {
		for j := range q1[i] {
			if q1[i][j] != q2[i][j] {
				t.Fatalf("simulated quantiles differ between calls: %v vs %v", q1[i], q2[i])
			}
		}
	}
}

func TestInitMethods(t *testing.T) {
	y := weekly(400, 0.2)
	sp := Spec{Error: Additive, Trend: Additive, Damped: true, Season: Additive}
	var liks []float64
	for _, init := range []InitMethod{InitHeuristic, InitTwoStage, InitOptimize} {
		md, err := Fit(context.Background(), y, sp, Options{Init: init})
		if err != nil {
			t.Fatal(err)
		}
		liks = append(liks, md.LogLik())
	}
	// Optimising the initial states can only help (up to optimiser noise).
	if liks[1] < liks[0]-1e-6 {
		t.Errorf("two-stage log-likelihood %v below heuristic %v", liks[1], liks[0])
	}
}

// BenchmarkAutoETS fits the automatic ETS to a 1000-day positive series with a weekly pattern.
func BenchmarkAutoETS(b *testing.B) {
	y := weekly(1000, 0.3)
	for _, c := range []struct {
		name string
		init InitMethod
	}{{"heuristic", InitHeuristic}, {"twostage", InitTwoStage}, {"optimize", InitOptimize}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Auto(context.Background(), y, Options{Init: c.init}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
