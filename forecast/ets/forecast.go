package ets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// Forecast returns the point forecasts for the h periods after the end of the series and the
// requested quantiles of the forecast distributions: q[i][j] is the quantiles[j]-quantile for
// step i+1. Quantiles must lie strictly between 0 and 1.
//
// The forecast distribution is normal with the analytic mean and variance of Hyndman et al.
// (2008), chapter 6, for class 1 (additive error, no or additive trend and season: table 6.1,
// var = σ²(1 + Σ_{j<h} c_j²)) and class 2 (multiplicative error, no or additive trend and
// season: section 6.3), as forecast::forecast.ets does. For class 3 (multiplicative error and
// season) the quantiles are type-8 sample quantiles of SimPaths simulated sample paths with
// normal innovations and a seeded generator, forecast::forecast.ets's simulate method; with no
// quantile asked nothing is simulated (the point forecasts are analytic in every class).
//
// With a transformation the point forecast and quantiles are back-transformed, so the point
// forecast is the median of the forecast distribution on the original scale.
func (md *Model) Forecast(h int, quantiles []float64) (point []float64, q [][]float64, err error) {
	if err := stats.CheckHorizon(h, quantiles); err != nil {
		return nil, nil, fmt.Errorf("ets: %w", err)
	}
	point = pointForecast(md.spec, md.par, md.final, h)
	switch {
	case md.spec.Season != Multiplicative:
		v := md.variance(point)
		sd := make([]float64, h)
		for i := range v {
			sd[i] = math.Sqrt(v[i])
		}
		q = stats.GaussianQuantiles(point, sd, quantiles)
	case len(quantiles) == 0:
		q = make([][]float64, h) // points only: no need to simulate
		for i := range q {
			q[i] = []float64{}
		}
	default:
		q = md.simulate(h, quantiles)
	}
	for i := range point {
		if math.IsNaN(point[i]) || math.IsInf(point[i], 0) {
			return nil, nil, fmt.Errorf("ets: %v: non-finite forecast at step %d", md.spec, i+1)
		}
	}
	if md.tr != nil {
		for i := range point {
			point[i] = md.tr.Inverse(point[i])
			for j := range q[i] {
				q[i][j] = md.tr.Inverse(q[i][j])
			}
		}
	}
	return point, q, nil
}

// cj returns the coefficients c_1..c_{h-1} of table 6.1 of Hyndman et al. (2008):
// c_j = alpha + beta*phi_j + gamma*[j mod m == 0], with phi_j = phi + ... + phi^j (j without
// damping).
func (md *Model) cj(h int) []float64 {
	c := make([]float64, max(h-1, 0))
	p := md.par
	phij, pw := 0.0, 1.0
	for j := 1; j < h; j++ {
		v := p.Alpha
		if md.spec.Trend != None {
			pw *= p.Phi
			if md.spec.Damped {
				phij += pw
			} else {
				phij = float64(j)
			}
			v += p.Beta * phij
		}
		if md.spec.Season != None && j%md.m == 0 {
			v += p.Gamma
		}
		c[j-1] = v
	}
	return c
}

// variance returns the h-step forecast variances of classes 1 and 2.
func (md *Model) variance(mu []float64) []float64 {
	h := len(mu)
	s2 := md.sigma2
	c := md.cj(h)
	v := make([]float64, h)
	if md.spec.Error == Additive {
		acc := 1.0
		for i := range v {
			if i > 0 {
				acc += c[i-1] * c[i-1]
			}
			v[i] = s2 * acc
		}
		return v
	}
	// Class 2: theta_1 = mu_1², theta_j = mu_j² + σ² Σ_{i=1}^{j-1} c_i² theta_{j-i};
	// var_j = (1+σ²) theta_j − mu_j² (Hyndman et al. 2008, section 6.3).
	theta := make([]float64, h)
	for j := 0; j < h; j++ {
		t := mu[j] * mu[j]
		for i := 1; i <= j; i++ {
			t += s2 * c[i-1] * c[i-1] * theta[j-i]
		}
		theta[j] = t
		v[j] = (1+s2)*t - mu[j]*mu[j]
	}
	return v
}

// simulate returns type-8 sample quantiles of simulated future sample paths
// (forecast::simulate.ets with normal innovations of variance sigma2).
func (md *Model) simulate(h int, quantiles []float64) [][]float64 {
	ps := md.simPaths(h, md.paths, rand.New(rand.NewPCG(md.seed, 0x9e3779b97f4a7c15)))
	q := make([][]float64, h)
	day := make([]float64, len(ps))
	for i := range q {
		for k, p := range ps {
			day[k] = p[i]
		}
		slices.Sort(day)
		row := make([]float64, len(quantiles))
		for j, p := range quantiles {
			row[j] = stats.Quantile8(day, p)
		}
		q[i] = row
	}
	return q
}

// Paths returns n sample paths of the h periods after the series' end, simulated from the
// fitted state-space model (Hyndman et al. 2008, section 6.1; forecast::simulate.ets) and
// back-transformed path by path, so that sums over days (weekly totals) have the model's
// joint distribution. The generator's seed is derived from the fitted model (its final state
// and variance) and Options.Seed: the same data give the same paths.
func (md *Model) Paths(h, n int) ([][]float64, error) {
	if h < 1 || n < 1 {
		return nil, fmt.Errorf("ets: %d paths of %d steps", n, h)
	}
	ps := md.simPaths(h, n, rand.New(rand.NewPCG(md.seed^md.dataSeed(), 0x6a09e667f3bcc909)))
	for _, p := range ps {
		for i, v := range p {
			if md.tr != nil {
				v = md.tr.Inverse(v)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("ets: %v: non-finite simulated value at step %d", md.spec, i+1)
			}
			p[i] = v
		}
	}
	return ps, nil
}

// dataSeed is a seed derived from the fitted model's final state, variance and length: from
// the data only.
func (md *Model) dataSeed() uint64 {
	v := append([]float64{md.final.level, md.final.trend, md.sigma2, float64(md.n)}, md.final.season...)
	return stats.Seed(v...)
}

// simPaths simulates n future sample paths of h steps on the model's (transformed) scale:
// ps[k][i] is path k at step i+1. Each step draws a normal innovation of variance sigma2 and
// updates the state with the simulated observation, as etssimulate does.
func (md *Model) simPaths(h, n int, rng *rand.Rand) [][]float64 {
	sd := math.Sqrt(md.sigma2)
	ps := make([][]float64, n)
	m := md.m
	buf := make([]float64, m)
	for k := range ps {
		path := make([]float64, h)
		// x0 for the recursion: final state with the seasonal states in use order.
		st := md.final
		l, b := st.level, st.trend
		copy(buf, st.season)
		pos := 0
		for i := 0; i < h; i++ {
			e := rng.NormFloat64() * sd
			q := l
			phib := 0.0
			if md.spec.Trend != None {
				phib = md.par.Phi * b
				q = l + phib
			}
			f := q
			s := 1.0
			if md.spec.Season != None {
				s = buf[pos]
				if md.spec.Season == Additive {
					f += s
				} else {
					f *= s
				}
			}
			var y float64
			if md.spec.Error == Additive {
				y = f + e
			} else {
				y = f * (1 + e)
			}
			path[i] = y
			var pp float64
			switch md.spec.Season {
			case None:
				pp = y
			case Additive:
				pp = y - s
			default:
				if math.Abs(s) < tol {
					pp = hugeN
				} else {
					pp = y / s
				}
			}
			nl := q + md.par.Alpha*(pp-q)
			if md.spec.Trend != None {
				b = phib + md.par.Beta/md.par.Alpha*(nl-l-phib)
			}
			l = nl
			if md.spec.Season != None {
				var t float64
				if md.spec.Season == Additive {
					t = y - q
				} else if math.Abs(q) < tol {
					t = hugeN
				} else {
					t = y / q
				}
				buf[pos] = s + md.par.Gamma*(t-s)
				pos = (pos + 1) % m
			}
		}
		ps[k] = path
	}
	return ps
}
