package testframe

import (
	"math"
	"slices"
	"testing"
)

func TestSESWeekVariance(t *testing.T) {
	for _, c := range []struct {
		alpha float64
		w     int
		want  float64
	}{
		{0, 0, 7}, {0, 3, 7}, // no smoothing: the week's own seven errors
		{1, 0, 7*7 + 6*6 + 5*5 + 4*4 + 3*3 + 2*2 + 1}, // random walk: e_k enters 8-k days
		{1, 1, 7*7*7 + 140},                           // ... and the first week's errors all 7 days of the second
		{0.5, 0, 4*4 + 3.5*3.5 + 3*3 + 2.5*2.5 + 2*2 + 1.5*1.5 + 1},
	} {
		if got := SESWeekVariance(c.alpha, c.w); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("SESWeekVariance(%v, %d) = %v, want %v", c.alpha, c.w, got, c.want)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	ps := [][]float64{make([]float64, 14), make([]float64, 14)}
	for i := range 14 {
		ps[0][i], ps[1][i] = float64(i), float64(3*i)
	}
	if got := Day(ps, 2); !slices.Equal(got, []float64{2, 6}) {
		t.Errorf("Day = %v", got)
	}
	if got := WeekSums(ps, 1); !slices.Equal(got, []float64{7 + 8 + 9 + 10 + 11 + 12 + 13, 3 * 70}) {
		t.Errorf("WeekSums = %v", got)
	}
	if m, sd := DayMoments(ps, 2); m != 4 || sd != 2 {
		t.Errorf("DayMoments = %v, %v, want 4, 2", m, sd)
	}
}
