package secondary

import (
	"math"
	"math/rand/v2"
)

// negBinomial draws a negative binomial count of mean mu and size phi (variance mu + mu²/phi)
// as a gamma–Poisson mixture: λ ~ Gamma(phi, mu/phi), then Poisson(λ) (Devroye, "Non-Uniform
// Random Variate Generation", 1986, section X.4.7).
func negBinomial(rng *rand.Rand, mu, phi float64) float64 {
	if !(mu > 0) {
		return 0
	}
	return poisson(rng, gamma(rng, phi)*mu/phi)
}

// gamma draws a Gamma(shape, 1) variate by Marsaglia & Tsang (2000), "A simple method for
// generating gamma variables", ACM TOMS 26(3), 363-372, with their boost U^(1/shape) for
// shapes below 1.
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gamma(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// poisson draws a Poisson(lambda) count: by multiplying uniforms below 10, above by the
// transformed rejection with squeeze (PTRS) of Hörmann (1993), "The transformed rejection method
// for generating Poisson random variables", Insurance: Mathematics and Economics 12(1), 39-45.
func poisson(rng *rand.Rand, lambda float64) float64 {
	if !(lambda > 0) {
		return 0
	}
	if lambda < 10 {
		limit, prod, k := math.Exp(-lambda), rng.Float64(), 0.0
		for prod > limit {
			prod *= rng.Float64()
			k++
		}
		return k
	}
	slam, loglam := math.Sqrt(lambda), math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := rng.Float64() - 0.5
		v := rng.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return k
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return k
		}
	}
}

// gammaP is the regularised lower incomplete gamma function P(a, x), the gamma distribution's
// CDF: its series below x = a+1, its continued fraction (evaluated by the modified Lentz
// method) above (Press, Teukolsky, Vetterling & Flannery, "Numerical Recipes", 3rd ed., section
// 6.2; Abramowitz & Stegun 6.5.29 and 6.5.31).
func gammaP(a, x float64) float64 {
	if x <= 0 {
		return 0
	}
	lga, _ := math.Lgamma(a)
	front := math.Exp(-x + a*math.Log(x) - lga)
	const eps, tiny, maxIter = 1e-14, 1e-300, 100000
	if x < a+1 {
		sum, del, ap := 1/a, 1/a, a
		for range maxIter {
			ap++
			del *= x / ap
			sum += del
			if math.Abs(del) < math.Abs(sum)*eps {
				break
			}
		}
		return math.Min(sum*front, 1)
	}
	b := x + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1; i < maxIter; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return math.Max(1-front*h, 0)
}
