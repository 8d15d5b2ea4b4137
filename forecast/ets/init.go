package ets

import (
	"math"

	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// Default parameter bounds of forecast::ets (lower = c(rep(1e-4, 3), 0.8), upper =
// c(rep(0.9999, 3), 0.98)); the "usual" region also requires beta <= alpha and
// gamma <= 1 - alpha.
const (
	lowerSmooth = 1e-4
	upperSmooth = 0.9999
	lowerPhi    = 0.8
	upperPhi    = 0.98
)

// initialState returns the heuristic starting state of forecast::ets's initstate(): the first
// m seasonal indices of a classical decomposition (section 2.6.1 of Hyndman et al. 2008),
// then a level (and slope) from a regression on the first max(10, 2m) seasonally adjusted
// observations. The state is [l, b?, s_1..s_m] with the seasonal states in chronological
// order (s_1 applies to y[0]), normalised to sum 0 (additive) or m (multiplicative).
//
// forecast::ets fits a one-harmonic Fourier regression instead of the decomposition when
// n < 3m; this package uses the per-position mean of the linearly detrended series in that
// case, which serves the same purpose (a rough starting point for the optimiser).
func initialState(y []float64, sp Spec, m int) []float64 {
	n := len(y)
	var seas []float64 // seasonal component for every t
	sa := y
	if sp.Season != None {
		mult := sp.Season == Multiplicative
		var err error
		if n >= 3*m {
			seas, err = stats.Seasonal(y, m, mult)
		}
		if n < 3*m || err != nil {
			seas = detrendedProfile(y, m, mult)
		}
		sa = make([]float64, n)
		for t := range y {
			if mult {
				sa[t] = y[t] / math.Max(seas[t], 1e-2)
			} else {
				sa[t] = y[t] - seas[t]
			}
		}
	}
	maxn := min(max(10, 2*m), n)
	x := make([]float64, 0, 2+m)
	if sp.Trend == None {
		var s float64
		for _, v := range sa[:maxn] {
			s += v
		}
		x = append(x, s/float64(maxn))
	} else {
		a, b := linearFit(sa[:maxn]) // value at t = 1..maxn is a + b t
		if math.Abs(a+b) < 1e-8 {
			a *= 1 + 1e-3
			b *= 1 - 1e-3
		}
		x = append(x, a, b)
	}
	if sp.Season != None {
		init := make([]float64, m)
		copy(init, seas[:m])
		if sp.Season == Multiplicative {
			// forecast::ets: pmax(init.seas, 1e-2), rescaled if they sum to more than m
			// (over the m−1 free states).
			var sum float64
			for i := 1; i < m; i++ {
				init[i] = math.Max(init[i], 1e-2)
				sum += init[i]
			}
			if sum > float64(m) {
				for i := 1; i < m; i++ {
					init[i] /= sum + float64(m-1)*1e-2
				}
			}
		}
		x = append(x, init...)
		normaliseSeason(x[len(x)-m:], sp.Season == Multiplicative)
	}
	return x
}

// normaliseSeason replaces s[0] (the state implied by the others in forecast::ets's
// parameterisation) by m*[multiplicative] − Σ s[1:].
func normaliseSeason(s []float64, mult bool) {
	var sum float64
	for _, v := range s[1:] {
		sum += v
	}
	if mult {
		s[0] = float64(len(s)) - sum
	} else {
		s[0] = -sum
	}
}

// linearFit returns the least-squares intercept and slope of y[i] on t = i+1.
func linearFit(y []float64) (a, b float64) {
	n := float64(len(y))
	if len(y) == 1 {
		return y[0], 0
	}
	var st, sy float64
	for i, v := range y {
		st += float64(i + 1)
		sy += v
	}
	mt, my := st/n, sy/n
	var sxy, sxx float64
	for i, v := range y {
		d := float64(i+1) - mt
		sxy += d * (v - my)
		sxx += d * d
	}
	b = sxy / sxx
	return my - b*mt, b
}

// detrendedProfile returns the seasonal component of a short series: the per-position mean of
// y minus (or divided by) its least-squares line, normalised.
func detrendedProfile(y []float64, m int, mult bool) []float64 {
	a, b := linearFit(y)
	sum := make([]float64, m)
	cnt := make([]float64, m)
	for t, v := range y {
		tr := a + b*float64(t+1)
		if mult {
			if tr != 0 {
				sum[t%m] += v / tr
				cnt[t%m]++
			}
		} else {
			sum[t%m] += v - tr
			cnt[t%m]++
		}
	}
	fig := make([]float64, m)
	var mean float64
	for i := range fig {
		if cnt[i] > 0 {
			fig[i] = sum[i] / cnt[i]
		} else if mult {
			fig[i] = 1
		}
		mean += fig[i] / float64(m)
	}
	out := make([]float64, len(y))
	for t := range out {
		if mult {
			out[t] = fig[t%m] / mean
		} else {
			out[t] = fig[t%m] - mean
		}
	}
	return out
}

// initialParams returns forecast::ets's initparam() starting values: alpha a fifth of the way
// into its range divided by m, beta a tenth of the way to alpha, gamma 5% of the way to
// 1−alpha and phi 99% of the way to its upper bound.
func initialParams(sp Spec, m int) Params {
	mm := 1.0
	if sp.Season != None {
		mm = float64(m)
	}
	p := Params{Phi: 1}
	p.Alpha = lowerSmooth + 0.2*(upperSmooth-lowerSmooth)/mm
	if sp.Trend != None {
		p.Beta = lowerSmooth + 0.1*(math.Min(upperSmooth, p.Alpha)-lowerSmooth)
	}
	if sp.Season != None {
		p.Gamma = lowerSmooth + 0.05*(math.Min(upperSmooth, 1-p.Alpha)-lowerSmooth)
	}
	if sp.Damped {
		p.Phi = lowerPhi + 0.99*(upperPhi-lowerPhi)
	}
	return p
}
