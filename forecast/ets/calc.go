package ets

import "math"

// Numerical guards of forecast::ets's etscalc.c.
const (
	tol   = 1e-10
	hugeN = 1e10
)

// Params holds the smoothing parameters of a fitted model. Beta is 0 without a trend, Gamma
// is 0 without a season and Phi is 1 without damping. The parameterisation is the one of
// Hyndman et al. (2008) and forecast::ets (beta, not beta* = beta/alpha).
type Params struct {
	Alpha, Beta, Gamma, Phi float64
}

// state is the state vector after some observation: level, trend and the m seasonal states
// in the order they will be used (season[0] applies to the next period).
type state struct {
	level, trend float64
	season       []float64
}

// recursion runs the innovations state-space recursions of Hyndman et al. (2008), chapter 2,
// exactly as forecast::ets's etscalc.c does, over y from the initial state x0 = [l, b?,
// s_1..s_m] where the seasonal states are in chronological order (s_1 applies to y[0]).
//
// It returns the sum of squared one-step errors (relative errors for multiplicative error),
// the sum of log|one-step forecast| (multiplicative error only) and false when a forecast is
// not finite. e, fitted and fin
// are filled when non-nil. buf is scratch space of length m.
func recursion(y []float64, sp Spec, m int, p Params, x0 []float64, buf []float64,
	e, fitted []float64, fin *state) (sse, sumLogF float64, ok bool) {
	l := x0[0]
	var b float64
	k := 1
	if sp.Trend != None {
		b = x0[1]
		k = 2
	}
	seasonal := sp.Season != None
	if seasonal {
		copy(buf, x0[k:k+m])
	}
	pos := 0
	alpha, beta, gamma, phi := p.Alpha, p.Beta, p.Gamma, p.Phi
	multErr := sp.Error == Multiplicative
	prod := 1.0
	for i, yi := range y {
		// One-step forecast.
		q := l
		phib := 0.0
		if sp.Trend != None {
			phib = phi * b
			q = l + phib
		}
		f := q
		var s float64
		if seasonal {
			s = buf[pos]
			if sp.Season == Additive {
				f += s
			} else {
				f *= s
			}
		}
		var err float64
		if multErr {
			err = (yi - f) / f
			// Σlog|f| via a running product: one logarithm every ~75 steps instead of one per
			// step (the logarithm dominated the cost of the multiplicative-error likelihood).
			prod *= math.Abs(f)
			if prod > 1e150 || prod < 1e-150 {
				sumLogF += math.Log(prod)
				prod = 1
			}
		} else {
			err = yi - f
		}
		sse += err * err
		if e != nil {
			e[i] = err
		}
		if fitted != nil {
			fitted[i] = f
		}
		// State update (etscalc.c update()).
		var pp float64
		switch sp.Season {
		case None:
			pp = yi
		case Additive:
			pp = yi - s
		default:
			if math.Abs(s) < tol {
				pp = hugeN
			} else {
				pp = yi / s
			}
		}
		nl := q + alpha*(pp-q)
		if sp.Trend != None {
			r := nl - l
			b = phib + beta/alpha*(r-phib)
		}
		l = nl
		if seasonal {
			var t float64
			if sp.Season == Additive {
				t = yi - q
			} else if math.Abs(q) < tol {
				t = hugeN
			} else {
				t = yi / q
			}
			buf[pos] = s + gamma*(t-s)
			pos++
			if pos == m {
				pos = 0
			}
		}
	}
	if multErr {
		sumLogF += math.Log(prod)
	}
	// A non-finite forecast anywhere makes sse NaN or +Inf (forecast::ets returns NA there).
	if math.IsNaN(sse) || math.IsInf(sse, 0) || math.IsNaN(sumLogF) {
		return 0, 0, false
	}
	if fin != nil {
		fin.level, fin.trend = l, b
		fin.season = fin.season[:0]
		if seasonal {
			for i := 0; i < m; i++ {
				fin.season = append(fin.season, buf[(pos+i)%m])
			}
		}
	}
	return sse, sumLogF, true
}

// minusTwoLogLik turns the recursion sums into forecast::ets's likelihood criterion
// n*log(SSE) + 2*Σlog|f| (the concentrated −2 log-likelihood up to a constant, Hyndman et al.
// 2008, section 5.2), capped below at −1e10 to avoid rewarding perfect fits.
func minusTwoLogLik(n int, sse, sumLogF float64, multErr bool) float64 {
	v := float64(n) * math.Log(sse)
	if multErr {
		v += 2 * sumLogF
	}
	if v < -1e10 || math.IsInf(v, -1) {
		v = -1e10
	}
	return v
}

// pointForecast returns the h point forecasts from state st (etscalc.c forecast()).
func pointForecast(sp Spec, p Params, st state, h int) []float64 {
	f := make([]float64, h)
	phistar := p.Phi
	m := len(st.season)
	for i := 0; i < h; i++ {
		v := st.level
		if sp.Trend != None {
			v += phistar * st.trend
		}
		switch sp.Season {
		case Additive:
			v += st.season[i%m]
		case Multiplicative:
			v *= st.season[i%m]
		}
		f[i] = v
		if sp.Trend != None {
			if sp.Damped {
				phistar += math.Pow(p.Phi, float64(i+2))
			} else {
				phistar++
			}
		}
	}
	return f
}

// admissible reports whether the parameters lie in the admissible (forecastable) region of
// Hyndman, Akram & Archibald (2008) "The admissible parameter space for exponential smoothing
// models", Annals of the Institute of Statistical Mathematics 60(2), 407-426, using the tests
// of forecast::ets's admissible(): closed-form bounds, then the roots of the characteristic
// polynomial of the seasonal models must lie in the unit circle.
func admissible(sp Spec, m int, p Params) bool {
	phi := p.Phi
	if phi < 0 || phi > 1+1e-8 {
		return false
	}
	alpha, beta, gamma := p.Alpha, p.Beta, p.Gamma
	if sp.Season == None || m < 2 {
		if alpha < 1-1/phi || alpha > 1+1/phi {
			return false
		}
		if sp.Trend != None && (beta < alpha*(phi-1) || beta > (1+phi)*(2-alpha)) {
			return false
		}
		return true
	}
	if gamma < math.Max(1-1/phi-alpha, 0) || gamma > 1+1/phi-alpha {
		return false
	}
	fm := float64(m)
	if alpha < 1-1/phi-gamma*(1-fm+phi+phi*fm)/(2*phi*fm) {
		return false
	}
	if beta < -(1-phi)*(gamma/fm+alpha) {
		return false
	}
	// P(z) = phi(1-alpha-gamma) + (alpha+beta-alpha*phi+gamma-1) z
	//        + sum_{k=2}^{m-1} (alpha+beta-alpha*phi) z^k + (alpha+beta-phi) z^m + z^(m+1).
	var c [64]float64
	if m+2 > len(c) {
		return false
	}
	poly := c[:m+2]
	poly[0] = phi * (1 - alpha - gamma)
	poly[1] = alpha + beta - alpha*phi + gamma - 1
	for k := 2; k < m; k++ {
		poly[k] = alpha + beta - alpha*phi
	}
	poly[m] = alpha + beta - phi
	poly[m+1] = 1
	return rootsInDisk(poly, 1+1e-10)
}

// rootsInDisk reports whether every root of the polynomial Σ a[k] z^k lies strictly inside
// the disk |z| < r, by the Schur-Cohn recursion: with p*(z) = z^n p(1/z), all roots of p lie
// in the unit disk iff |a_0| < |a_n| and all roots of (a_n p(z) − a_0 p*(z))/z do (Rouché).
// a is overwritten.
func rootsInDisk(a []float64, r float64) bool {
	rk := 1.0
	for k := range a {
		a[k] *= rk
		rk *= r
	}
	var tmp [64]float64
	for n := len(a) - 1; n >= 1; n-- {
		a0, an := a[0], a[n]
		if math.Abs(a0) >= math.Abs(an) {
			return false
		}
		next := tmp[:n]
		for k := 0; k < n; k++ {
			next[k] = an*a[k+1] - a0*a[n-k-1]
		}
		// Rescale to avoid overflow/underflow over the recursion.
		scale := math.Abs(next[n-1])
		for k := range next {
			next[k] /= scale
		}
		a = a[:n]
		copy(a, next)
	}
	return true
}
