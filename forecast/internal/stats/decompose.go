package stats

// The classical additive and multiplicative seasonal decomposition by moving averages, as
// R's stats::decompose does. It supplies the seasonal
// starting values of ETS (forecast::ets's initstate) and the seasonal adjustment of the
// Theta method (forecast::thetaf, following Assimakopoulos & Nikolopoulos 2000).
//
// Reference: Hyndman & Athanasopoulos, "Forecasting: Principles and Practice" (3rd ed.),
// section 3.4 "Classical decomposition"; R stats::decompose.

import (
	"fmt"
	"math"
)

// Seasonal returns the seasonal component of y for period m: a slice of len(y) whose value at
// t is the seasonal index of position t mod m (position 0 is y[0]'s). The trend is the
// centred moving average of order m (2×m for even m); the seasonal figure is the mean, per
// position, of y/trend (multiplicative) or y−trend (additive), normalised to average 1 or 0.
// It needs at least 2m observations and a finite y.
func Seasonal(y []float64, m int, multiplicative bool) ([]float64, error) {
	n := len(y)
	if m < 2 {
		return nil, fmt.Errorf("decompose: period m = %d must be at least 2", m)
	}
	if n < 2*m {
		return nil, fmt.Errorf("decompose: needs at least 2m = %d observations, got %d", 2*m, n)
	}
	// Centred moving-average filter.
	var w []float64
	if m%2 == 0 {
		w = make([]float64, m+1)
		for i := range w {
			w[i] = 1 / float64(m)
		}
		w[0], w[m] = 0.5/float64(m), 0.5/float64(m)
	} else {
		w = make([]float64, m)
		for i := range w {
			w[i] = 1 / float64(m)
		}
	}
	half := len(w) / 2
	sum := make([]float64, m)
	cnt := make([]int, m)
	for t := half; t < n-half; t++ {
		var tr float64
		for j, c := range w {
			tr += c * y[t-half+j]
		}
		var d float64
		if multiplicative {
			if tr == 0 {
				continue
			}
			d = y[t] / tr
		} else {
			d = y[t] - tr
		}
		if math.IsNaN(d) || math.IsInf(d, 0) {
			continue
		}
		sum[t%m] += d
		cnt[t%m]++
	}
	fig := make([]float64, m)
	var mean float64
	for i := range fig {
		if cnt[i] == 0 {
			return nil, fmt.Errorf("decompose: no usable value for seasonal position %d", i)
		}
		fig[i] = sum[i] / float64(cnt[i])
		mean += fig[i] / float64(m)
	}
	for i := range fig {
		if multiplicative {
			fig[i] /= mean
		} else {
			fig[i] -= mean
		}
	}
	out := make([]float64, n)
	for t := range out {
		out[t] = fig[t%m]
	}
	return out, nil
}
