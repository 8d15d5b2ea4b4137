package stats

import (
	"math"
	"testing"
)

func TestSeasonalRecoversPattern(t *testing.T) {
	week := []float64{1.3, 1.2, 1.0, 0.9, 0.95, 0.5, 1.15} // mean 1
	y := make([]float64, 70)
	for i := range y {
		y[i] = (100 + float64(i)) * week[i%7]
	}
	s, err := Seasonal(y, 7, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s {
		if math.Abs(s[i]-week[i%7]) > 0.01 {
			t.Errorf("s[%d] = %v, want about %v", i, s[i], week[i%7])
		}
	}
	add := []float64{5, -3, 2, -4} // mean 0, even period
	z := make([]float64, 40)
	for i := range z {
		z[i] = 10 + 0.5*float64(i) + add[i%4]
	}
	s, err = Seasonal(z, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s {
		if math.Abs(s[i]-add[i%4]) > 1e-9 {
			t.Errorf("additive s[%d] = %v, want %v", i, s[i], add[i%4])
		}
	}
	if _, err := Seasonal(z[:5], 4, false); err == nil {
		t.Error("short series: want error")
	}
}
