package theta

import (
	"math"
	"strings"
	"testing"
)

var probs = []float64{0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975}

var week = []float64{144, 139, 112, 104, 107, 57, 28}

func noisyWeekly(n int) []float64 {
	y := make([]float64, n)
	s := uint64(99)
	for i := range y {
		s = s*6364136223846793005 + 1442695040888963407
		u := float64(s>>11)/(1<<53) - 0.5
		y[i] = week[i%7] * (1 + 0.3*math.Sin(2*math.Pi*float64(i)/120) + 0.2*u)
	}
	return y
}

func TestConstant(t *testing.T) {
	y := make([]float64, 40)
	for i := range y {
		y[i] = 9
	}
	for _, opt := range []bool{false, true} {
		md, err := Fit(y, Options{Optimize: opt})
		if err != nil {
			t.Fatal(err)
		}
		point, q, err := md.Forecast(10, probs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range point {
			if math.Abs(point[i]-9) > 1e-9 || q[i][6]-q[i][0] > 1e-9 {
				t.Errorf("optimize=%v: step %d = %v %v, want 9 with zero width", opt, i+1, point[i], q[i])
			}
		}
	}
}

// TestLine: on a straight line the standard method's drift is half the slope (Hyndman &
// Billah 2003: the Theta method is SES with drift b/2), so twice the drift recovers the
// slope, and the OTM, whose theta can grow until the forecasts follow the regression line,
// continues the line.
func TestLine(t *testing.T) {
	y := make([]float64, 60)
	for i := range y {
		y[i] = 10 + 2*float64(i)
	}
	md, err := Fit(y, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(2*md.Drift()-2) > 1e-9 {
		t.Errorf("standard theta drift %v, want half the slope (1)", md.Drift())
	}
	point, _, err := md.Forecast(8, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(point); i++ {
		if d := point[i] - point[i-1]; math.Abs(d-1) > 1e-6 {
			t.Errorf("standard theta increment %v, want the drift 1", d)
		}
	}
	md, err = Fit(y, Options{Optimize: true})
	if err != nil {
		t.Fatal(err)
	}
	point, _, err = md.Forecast(8, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range point {
		if want := 10 + 2*float64(60+i); math.Abs(p-want) > 0.05 {
			t.Errorf("OTM step %d = %v, want %v", i+1, p, want)
		}
	}
}

func TestWeeklyPattern(t *testing.T) {
	y := make([]float64, 84)
	for i := range y {
		y[i] = week[i%7]
	}
	for _, opt := range []bool{false, true} {
		md, err := Fit(y, Options{Optimize: opt})
		if err != nil {
			t.Fatal(err)
		}
		if !md.Seasonal() {
			t.Fatalf("optimize=%v: weekly pattern not detected", opt)
		}
		point, _, err := md.Forecast(14, probs)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range point {
			if want := week[(84+i)%7]; math.Abs(p-want) > 1e-6*want {
				t.Errorf("optimize=%v: step %d = %v, want %v", opt, i+1, p, want)
			}
		}
	}
}

func TestQuantilesAndSeasonalTest(t *testing.T) {
	y := noisyWeekly(365)
	for _, opt := range []bool{false, true} {
		md, err := Fit(y, Options{Optimize: opt})
		if err != nil {
			t.Fatal(err)
		}
		if !md.Seasonal() {
			t.Errorf("optimize=%v: seasonality not detected", opt)
		}
		point, q, err := md.Forecast(21, probs)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range q {
			for j := 1; j < len(row); j++ {
				if row[j] < row[j-1] {
					t.Errorf("step %d quantiles not monotone: %v", i+1, row)
				}
			}
			if math.Abs(row[3]-point[i]) > 1e-9 {
				t.Errorf("median %v != point %v", row[3], point[i])
			}
			// Same weekday one week later: wider (SES variance grows with h).
			if i >= 7 && row[6]-row[0] <= q[i-7][6]-q[i-7][0] {
				t.Errorf("step %d interval not wider than step %d", i+1, i-6)
			}
		}
	}
	// Without a weekly pattern the test must not fire (white-ish noise).
	z := make([]float64, 200)
	s := uint64(5)
	for i := range z {
		s = s*6364136223846793005 + 1442695040888963407
		z[i] = 50 + float64(s>>11)/(1<<53)
	}
	if seasonalTest(z, 7) {
		t.Error("seasonality detected in noise")
	}
	if !seasonalTest(y, 7) {
		t.Error("seasonality not detected in a weekly series")
	}
}

// TestOTMNotWorse: theta = 2 is inside the OTM's search space, so its in-sample one-step
// error variance must not exceed that of the fixed-theta model with the same structure.
func TestOTMTheta(t *testing.T) {
	y := noisyWeekly(300)
	md, err := Fit(y, Options{Optimize: true, Period: 1})
	if err != nil {
		t.Fatal(err)
	}
	if md.Theta() < minTheta || md.Theta() > maxTheta || md.Alpha() <= 0 || md.Alpha() >= 1 {
		t.Errorf("OTM estimates out of range: theta %v alpha %v", md.Theta(), md.Alpha())
	}
}

func TestErrors(t *testing.T) {
	if _, err := Fit([]float64{1, 2, math.NaN(), 4, 5}, Options{}); err == nil || !strings.Contains(err.Error(), "y[2]") {
		t.Errorf("NaN: err = %v, want one naming y[2]", err)
	}
	if _, err := Fit([]float64{1, 2}, Options{}); err == nil {
		t.Error("too short: want error")
	}
	if _, err := Fit(noisyWeekly(30), Options{Period: -1}); err == nil {
		t.Error("negative period: want error")
	}
	md, err := Fit(noisyWeekly(30), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := md.Forecast(0, nil); err == nil {
		t.Error("h = 0: want error")
	}
}
