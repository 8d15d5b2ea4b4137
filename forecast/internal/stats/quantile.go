package stats

import (
	"math"
	"slices"
)

// Three quantile functions that differ on purpose: the standard normal quantile turns a
// forecast variance into interval quantiles; of a sample (simulated or bootstrapped paths,
// residuals), the type-6 quantile is the one conformal prediction and the sample-path
// intervals use, the type-8 the one forecast::forecast.ets uses for its simulated intervals
// (Hyndman & Fan 1996, "Sample quantiles in statistical packages", The American
// Statistician 50(4), 361-365).

// NormalQuantile returns the p-quantile of the standard normal distribution, using algorithm
// AS 241 (PPND16) of Wichura, M.J. (1988) "The percentage points of the normal
// distribution", Applied Statistics 37(3), 477-484, accurate to about 1e-16 — the algorithm
// behind R's qnorm. It returns -Inf for p == 0, +Inf for p == 1 and NaN outside [0, 1].
func NormalQuantile(p float64) float64 {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return math.NaN()
	}
	if p == 0 {
		return math.Inf(-1)
	}
	if p == 1 {
		return math.Inf(1)
	}
	q := p - 0.5
	if math.Abs(q) <= 0.425 {
		r := 0.180625 - q*q
		// 5226.495278852545925 below is a slip for AS 241's 5226.495278852854561 (R's qnorm,
		// gonum). It changes the 0.35 and 0.65 quantiles in the last bit (2 of the 23 levels
		// of the forecast hubs; 38 of the 851 levels 0.075, 0.076, ..., 0.925): kept so that
		// the recorded forecasts and backtests reproduce to the digit.
		return q * (((((((r*2509.0809287301226727+
			33430.575583588128105)*r+67265.770927008700853)*r+
			45921.953931549871457)*r+13731.693765509461125)*r+
			1971.5909503065514427)*r+133.14166789178437745)*r +
			3.387132872796366608) /
			(((((((r*5226.495278852545925+
				28729.085735721942674)*r+39307.89580009271061)*r+
				21213.794301586595867)*r+5394.1960214247511077)*r+
				687.1870074920579083)*r+42.313330701600911252)*r + 1)
	}
	r := p
	if q > 0 {
		r = 1 - p
	}
	r = math.Sqrt(-math.Log(r))
	var v float64
	if r <= 5 {
		r -= 1.6
		v = (((((((r*7.7454501427834140764e-4+
			0.0227238449892691845833)*r+0.24178072517745061177)*r+
			1.27045825245236838258)*r+3.64784832476320460504)*r+
			5.7694972214606914055)*r+4.6303378461565452959)*r +
			1.42343711074968357734) /
			(((((((r*1.05075007164441684324e-9+
				5.475938084995344946e-4)*r+0.0151986665636164571966)*r+
				0.14810397642748007459)*r+0.68976733498510000455)*r+
				1.6763848301838038494)*r+2.05319162663775882187)*r + 1)
	} else {
		r -= 5
		v = (((((((r*2.01033439929228813265e-7+
			2.71155556874348757815e-5)*r+0.0012426609473880784386)*r+
			0.026532189526576123093)*r+0.29656057182850489123)*r+
			1.7848265399172913358)*r+5.4637849111641143699)*r +
			6.6579046435011037772) /
			(((((((r*2.04426310338993978564e-15+
				1.4215117583164458887e-7)*r+1.8463183175100546818e-5)*r+
				7.868691311456132591e-4)*r+0.0148753612908506148525)*r+
				0.13692988092273580531)*r+0.59983220655588793769)*r + 1)
	}
	if q < 0 {
		return -v
	}
	return v
}

// NormalCDF returns the standard normal distribution function at x.
func NormalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// GaussianQuantiles returns q[i][j] = point[i] + z(quantiles[j])*sd[i], the quantiles of
// independent normal forecast distributions.
func GaussianQuantiles(point, sd, quantiles []float64) [][]float64 {
	z := make([]float64, len(quantiles))
	for j, p := range quantiles {
		z[j] = NormalQuantile(p)
	}
	q := make([][]float64, len(point))
	for i := range point {
		row := make([]float64, len(quantiles))
		for j := range z {
			row[j] = point[i] + z[j]*sd[i]
		}
		q[i] = row
	}
	return q
}

// Quantile6 returns the type-6 sample p-quantile of the sorted sample x (Hyndman & Fan
// 1996): the value at position p(n+1), interpolated between order statistics and clamped to
// the extremes; NaN for an empty sample.
func Quantile6(x []float64, p float64) float64 {
	n := len(x)
	if n == 0 {
		return math.NaN()
	}
	h := p * float64(n+1)
	switch {
	case h <= 1:
		return x[0]
	case h >= float64(n):
		return x[n-1]
	}
	k := int(math.Floor(h))
	return x[k-1] + (h-float64(k))*(x[k]-x[k-1])
}

// Quantiles6 returns the type-6 quantiles of the sample x at the given levels (it sorts x in
// place).
func Quantiles6(x []float64, levels []float64) []float64 {
	slices.Sort(x)
	out := make([]float64, len(levels))
	for j, p := range levels {
		out[j] = Quantile6(x, p)
	}
	return out
}

// Quantile8 returns the type-8 (median-unbiased, Hyndman & Fan 1996) sample p-quantile of
// the sorted, non-empty sample x: the value at position (n+1/3)p+1/3, interpolated and
// clamped to the extremes, the type forecast::forecast.ets uses for simulated intervals.
func Quantile8(x []float64, p float64) float64 {
	n := float64(len(x))
	hh := (n+1.0/3)*p + 1.0/3
	j := math.Floor(hh)
	switch {
	case j < 1:
		return x[0]
	case j >= n:
		return x[len(x)-1]
	}
	lo := x[int(j)-1]
	return lo + (hh-j)*(x[int(j)]-lo)
}

// Median returns the median of the sorted, non-empty sample x: the middle value, or the mean
// of the two middle values. (Quantile6(x, 0.5) interpolates the same two values as
// a+0.5(b-a), which may round differently in the last digit.)
func Median(x []float64) float64 {
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}
