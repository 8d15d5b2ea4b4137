package naive_test

import (
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir/forecast/naive"
)

// TestHubBaseline: week 1 is the last total plus the type-6 quantiles of the symmetrised
// changes, computed by hand; week 2 keeps the median on the last total, is wider, and is the
// same for the same seed; values are clipped at 0.
func TestHubBaseline(t *testing.T) {
	levels := []float64{0.025, 0.25, 0.5, 0.75, 0.975}
	// Changes 2, -1, 4 (the NaN week breaks no pair but its own): symmetrised -4 -2 -1 1 2 4.
	totals := []float64{10, 12, 11, math.NaN(), 20, 24}
	point, q, err := naive.HubBaseline(totals, 2, levels, 7)
	if err != nil {
		t.Fatal(err)
	}
	if point != 24 {
		t.Fatalf("point %v, want the last total 24", point)
	}
	// Type 6 on n = 6: position 7p; 0.25 -> 1.75: -4 + 0.75*2 = -2.5; 0.025 -> clamped to -4.
	want := []float64{20, 21.5, 24, 26.5, 28}
	for j := range want {
		if math.Abs(q[0][j]-want[j]) > 1e-9 {
			t.Fatalf("week 1 quantiles %v, want %v", q[0], want)
		}
	}
	if math.Abs(q[1][2]-24) > 1e-6 {
		t.Errorf("week 2 median %v, want the last total", q[1][2])
	}
	if !(q[1][0] < q[0][0] && q[1][4] > q[0][4]) || !slices.IsSorted(q[1]) {
		t.Errorf("week 2 quantiles %v: want sorted and wider than week 1's %v", q[1], q[0])
	}
	_, again, _ := naive.HubBaseline(totals, 2, levels, 7)
	if !slices.Equal(again[1], q[1]) {
		t.Errorf("same seed, different quantiles: %v then %v", q[1], again[1])
	}
	// A small last total: the lower quantiles are clipped at 0.
	_, low, _ := naive.HubBaseline([]float64{10, 2, 1}, 2, levels, 1)
	for k := range low {
		if low[k][0] != 0 || !slices.IsSorted(low[k]) {
			t.Errorf("week %d quantiles %v: want sorted, the lowest clipped at 0", k+1, low[k])
		}
	}
	// The last week not observed: no baseline.
	if p, q, err := naive.HubBaseline([]float64{10, math.NaN()}, 2, levels, 1); err != nil || q != nil || !math.IsNaN(p) {
		t.Errorf("last week missing: %v %v %v, want NaN, no quantiles, no error", p, q, err)
	}
}
