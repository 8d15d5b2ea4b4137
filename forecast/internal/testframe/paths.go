package testframe

import (
	"math"

	"github.com/prevoir/prevoir"
)

// Day returns day i (0-based) of every sample path.
func Day(ps [][]float64, i int) []float64 {
	d := make([]float64, len(ps))
	for k, p := range ps {
		d[k] = p[i]
	}
	return d
}

// WeekSums returns the totals of week w (0-based) of every sample path.
func WeekSums(ps [][]float64, w int) []float64 {
	s := make([]float64, len(ps))
	for k, p := range ps {
		s[k] = prevoir.WeekTotal(p, w)
	}
	return s
}

// DayMoments returns the mean and the (population) standard deviation of day i (0-based)
// across the sample paths.
func DayMoments(ps [][]float64, i int) (mean, sd float64) {
	var s, ss float64
	for _, p := range ps {
		s += p[i]
		ss += p[i] * p[i]
	}
	n := float64(len(ps))
	mean = s / n
	return mean, math.Sqrt(ss/n - mean*mean)
}

// SESWeekVariance returns the variance, in units of the one-step variance σ², of the total of
// week w (0-based; days 7w+1..7w+7 after the origin) of a simple-exponential-smoothing
// (ETS(A,N,N)) forecast with smoothing parameter alpha.
//
// Day i after the origin is y_i = ℓ + e_i + α Σ_{k<i} e_k with independent errors e_k of
// variance σ² (Hyndman et al., "Forecasting with Exponential Smoothing", 2008, chapter 6),
// so the week's total is ℓ·7 + Σ_k c_k e_k with c_k = [k in the week] + α·#{days i of the week
// with i > k}, and its variance is σ² Σ_k c_k². Errors after the week's last day do not enter.
func SESWeekVariance(alpha float64, w int) float64 {
	first, last := prevoir.WeekDays*w+1, prevoir.WeekDays*(w+1)
	var v float64
	for k := 1; k <= last; k++ {
		c := 0.0
		for i := max(first, k); i <= last; i++ {
			if i == k {
				c++
			} else {
				c += alpha
			}
		}
		v += c * c
	}
	return v
}
