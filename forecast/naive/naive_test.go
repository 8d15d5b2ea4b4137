package naive

import (
	"math"
	"testing"
)

var probs = []float64{0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func checkMonotone(t *testing.T, name string, point []float64, q [][]float64) {
	t.Helper()
	for i, row := range q {
		for j := 1; j < len(row); j++ {
			if row[j] < row[j-1] {
				t.Errorf("%s: step %d quantiles not monotone: %v", name, i+1, row)
			}
		}
		if !near(row[3], point[i], 1e-9*math.Max(1, math.Abs(point[i]))) {
			t.Errorf("%s: step %d median %v != point %v", name, i+1, row[3], point[i])
		}
	}
}

func TestConstantSeries(t *testing.T) {
	y := make([]float64, 30)
	for i := range y {
		y[i] = 42
	}
	for _, c := range []struct {
		name string
		fit  func() (*Model, error)
	}{
		{"naive", func() (*Model, error) { return Naive(y) }},
		{"snaive", func() (*Model, error) { return SeasonalNaive(y, 7) }},
		{"mean7", func() (*Model, error) { return Mean(y, 7) }},
		{"drift", func() (*Model, error) { return Drift(y) }},
	} {
		m, err := c.fit()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		point, q, err := m.Forecast(14, probs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range point {
			if point[i] != 42 || q[i][0] != 42 || q[i][6] != 42 {
				t.Fatalf("%s: step %d = %v %v, want exactly 42 with zero width", c.name, i+1, point[i], q[i])
			}
		}
	}
}

func TestDriftRecoversLine(t *testing.T) {
	y := make([]float64, 50)
	for i := range y {
		y[i] = 3 + 2.5*float64(i)
	}
	m, err := Drift(y)
	if err != nil {
		t.Fatal(err)
	}
	point, _, err := m.Forecast(10, probs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range point {
		want := 3 + 2.5*float64(50+i)
		if !near(p, want, 1e-9) {
			t.Errorf("drift step %d = %v, want %v", i+1, p, want)
		}
	}
}

func TestSeasonalNaiveReproducesPattern(t *testing.T) {
	week := []float64{144, 139, 112, 104, 107, 57, 28}
	y := make([]float64, 0, 70)
	for len(y) < 68 { // ends mid-week
		y = append(y, week[len(y)%7])
	}
	m, err := SeasonalNaive(y, 7)
	if err != nil {
		t.Fatal(err)
	}
	point, q, err := m.Forecast(14, probs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range point {
		if want := week[(68+i)%7]; p != want {
			t.Errorf("snaive step %d = %v, want %v", i+1, p, want)
		}
		if q[i][0] != p || q[i][6] != p {
			t.Errorf("snaive step %d has non-zero width for an exact pattern: %v", i+1, q[i])
		}
	}
}

// noisy returns a deterministic pseudo-random series (a linear congruential generator keeps the
// test independent of math/rand's stream).
func noisy(n int) []float64 {
	y := make([]float64, n)
	s := uint64(12345)
	for i := range y {
		s = s*6364136223846793005 + 1442695040888963407
		u := float64(s>>11) / (1 << 53)
		y[i] = 100 + 10*math.Sin(2*math.Pi*float64(i)/7) + 20*(u-0.5)
	}
	return y
}

func TestIntervalFormulas(t *testing.T) {
	y := noisy(100)
	z975 := 1.959963984540054
	// Naive: sd = sigma*sqrt(h).
	m, err := Naive(y)
	if err != nil {
		t.Fatal(err)
	}
	point, q, _ := m.Forecast(9, probs)
	checkMonotone(t, "naive", point, q)
	for i := range point {
		want := z975 * m.Sigma() * math.Sqrt(float64(i+1))
		if !near(q[i][6]-point[i], want, 1e-9) {
			t.Errorf("naive step %d half-width %v, want %v", i+1, q[i][6]-point[i], want)
		}
	}
	// Seasonal naive: sd = sigma*sqrt(floor((h-1)/m)+1).
	m, err = SeasonalNaive(y, 7)
	if err != nil {
		t.Fatal(err)
	}
	point, q, _ = m.Forecast(15, probs)
	checkMonotone(t, "snaive", point, q)
	for i := range point {
		k := float64(i / 7)
		want := z975 * m.Sigma() * math.Sqrt(k+1)
		if !near(q[i][6]-point[i], want, 1e-9) {
			t.Errorf("snaive step %d half-width %v, want %v", i+1, q[i][6]-point[i], want)
		}
	}
	// Drift: sd = sigma*sqrt(h(1+h/T)).
	m, err = Drift(y)
	if err != nil {
		t.Fatal(err)
	}
	point, q, _ = m.Forecast(5, probs)
	checkMonotone(t, "drift", point, q)
	for i := range point {
		h := float64(i + 1)
		want := z975 * m.Sigma() * math.Sqrt(h*(1+h/100))
		if !near(q[i][6]-point[i], want, 1e-9) {
			t.Errorf("drift step %d half-width %v, want %v", i+1, q[i][6]-point[i], want)
		}
	}
	// Mean: constant sd = sigma*sqrt(1+1/k) and the point is the trailing mean.
	m, err = Mean(y, 7)
	if err != nil {
		t.Fatal(err)
	}
	point, q, _ = m.Forecast(3, probs)
	checkMonotone(t, "mean", point, q)
	var s float64
	for _, v := range y[93:] {
		s += v
	}
	for i := range point {
		if !near(point[i], s/7, 1e-9) {
			t.Errorf("mean step %d = %v, want %v", i+1, point[i], s/7)
		}
		want := z975 * m.Sigma() * math.Sqrt(1+1.0/7)
		if !near(q[i][6]-point[i], want, 1e-9) {
			t.Errorf("mean step %d half-width %v, want %v", i+1, q[i][6]-point[i], want)
		}
	}
}

func TestNaNGaps(t *testing.T) {
	nan := math.NaN()
	y := []float64{1, 2, 3, nan, 5, 6, 7, 8, 9, 10, nan, nan}
	m, err := Naive(y)
	if err != nil {
		t.Fatal(err)
	}
	point, q, _ := m.Forecast(2, []float64{0.975})
	if point[0] != 10 || point[1] != 10 {
		t.Errorf("naive with trailing gap = %v, want last finite value 10", point)
	}
	// Two trailing missing values: step 1 is three steps after the last observation.
	if want := 1.959963984540054 * m.Sigma() * math.Sqrt(3); !near(q[0][0]-10, want, 1e-9) {
		t.Errorf("naive gap half-width %v, want %v", q[0][0]-10, want)
	}

	d, err := Drift(y)
	if err != nil {
		t.Fatal(err)
	}
	point, _, _ = d.Forecast(1, nil)
	if !near(point[0], 13, 1e-12) { // line through (0,1) and (9,10), at index 12
		t.Errorf("drift with gaps = %v, want 13", point[0])
	}

	w := []float64{10, 20, 30, 40, 50, 60, 70, 11, nan, 31, 41, 51, 61, 71}
	s, err := SeasonalNaive(w, 7)
	if err != nil {
		t.Fatal(err)
	}
	point, q, _ = s.Forecast(2, []float64{0.975})
	if point[0] != 11 || point[1] != 20 {
		t.Errorf("snaive with gap = %v, want [11 20] (falls back one more week)", point)
	}
	if want := 1.959963984540054 * s.Sigma() * math.Sqrt(2); !near(q[1][0]-20, want, 1e-9) {
		t.Errorf("snaive gap half-width %v, want %v", q[1][0]-20, want)
	}

	mm, err := Mean(w, 7)
	if err != nil {
		t.Fatal(err)
	}
	point, _, _ = mm.Forecast(1, nil)
	if want := (11 + 31 + 41 + 51 + 61 + 71) / 6.0; !near(point[0], want, 1e-12) {
		t.Errorf("mean with gap = %v, want %v", point[0], want)
	}
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	if _, err := Naive([]float64{1}); err == nil {
		t.Error("Naive of one value: want error")
	}
	if _, err := Naive([]float64{nan, nan}); err == nil {
		t.Error("Naive of all-NaN: want error")
	}
	if _, err := Naive([]float64{1, math.Inf(1), 2}); err == nil {
		t.Error("Naive with +Inf: want error")
	}
	if _, err := SeasonalNaive([]float64{1, 2, 3}, 7); err == nil {
		t.Error("SeasonalNaive shorter than a period: want error")
	}
	if _, err := SeasonalNaive([]float64{1, 2, 3}, 0); err == nil {
		t.Error("SeasonalNaive m=0: want error")
	}
	if _, err := Mean([]float64{1, 2, 3}, 0); err == nil {
		t.Error("Mean k=0: want error")
	}
	if _, err := Drift([]float64{nan, 1, nan}); err == nil {
		t.Error("Drift with one finite value: want error")
	}
	m, err := Naive([]float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Forecast(0, nil); err == nil {
		t.Error("h=0: want error")
	}
	if _, _, err := m.Forecast(3, []float64{0.5, 1}); err == nil {
		t.Error("quantile 1: want error")
	}
}
