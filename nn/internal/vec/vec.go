// Package vec holds the elementwise float32 loops of package nn that are
// worth vectorising by hand (the Go compiler does not auto-vectorise): the
// Adam update, in-place accumulation, ReLU and the dropout products. Each function has a pure-Go
// version; on amd64 with AVX2 an assembly version computes the same
// float32 operations in the same order (no FMA contraction), so results
// are bit-identical across the two paths.
package vec

import "github.com/prevoir/prevoir/nn/internal/cpu"

// Kernels selects the implementation once, from the CPU's features.
type Kernels struct {
	avx2 bool
}

// New detects the CPU's features.
func New() Kernels { return Kernels{avx2: hasAsm && cpu.Detect().AVX2FMA} }

// Generic returns Kernels that always use the pure-Go loops.
func Generic() Kernels { return Kernels{} }

// AdamConsts are the per-step scalars of torch.optim.Adam's update.
type AdamConsts struct {
	Beta1, OneMinusBeta1, Beta2, OneMinusBeta2 float32
	StepSize, BiasCorrection2Sqrt, Eps         float32
}

// Adam applies one Adam update without weight decay to θ, given gradient
// g and moments m, v (all the same length):
//
//	m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·(g·g)
//	θ = θ - stepSize·(m / (√v/√bc2 + eps))
func (k Kernels) Adam(theta, g, m, v []float32, c *AdamConsts) {
	n := len(theta)
	g, m, v = g[:n], m[:n], v[:n]
	done := 0
	if k.avx2 && n >= 8 {
		done = n &^ 7
		adamAVX2(&theta[0], &g[0], &m[0], &v[0], done, c)
	}
	adamGo(theta[done:], g[done:], m[done:], v[done:], c)
}

func adamGo(theta, g, m, v []float32, c *AdamConsts) {
	for j := range theta {
		gj := g[j]
		m[j] = c.Beta1*m[j] + c.OneMinusBeta1*gj
		v[j] = c.Beta2*v[j] + c.OneMinusBeta2*(gj*gj)
		denom := sqrt32(v[j])/c.BiasCorrection2Sqrt + c.Eps
		theta[j] -= c.StepSize * (m[j] / denom)
	}
}

// AddTo adds src to dst elementwise (dst += src).
func (k Kernels) AddTo(dst, src []float32) {
	n := len(dst)
	src = src[:n]
	done := 0
	if k.avx2 && n >= 16 {
		done = n &^ 15
		addAVX2(&dst[0], &src[0], done)
	}
	for i := done; i < n; i++ {
		dst[i] += src[i]
	}
}

// ReLU sets dst = max(src, 0), with NaN propagated and -0 mapped to +0 as
// Go's max does.
func (k Kernels) ReLU(dst, src []float32) {
	n := len(dst)
	src = src[:n]
	done := 0
	if k.avx2 && n >= 16 {
		done = n &^ 15
		reluAVX2(&dst[0], &src[0], done)
	}
	for i := done; i < n; i++ {
		dst[i] = max(src[i], 0)
	}
}

// ReLUGrad adds g to dst where the ReLU output y is > 0.
func (k Kernels) ReLUGrad(dst, y, g []float32) {
	n := len(dst)
	y, g = y[:n], g[:n]
	done := 0
	if k.avx2 && n >= 16 {
		done = n &^ 15
		reluGradAVX2(&dst[0], &y[0], &g[0], done)
	}
	for i := done; i < n; i++ {
		if y[i] > 0 {
			dst[i] += g[i]
		}
	}
}

// Mul sets dst = a·b elementwise.
func (k Kernels) Mul(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	done := 0
	if k.avx2 && n >= 16 {
		done = n &^ 15
		mulAVX2(&dst[0], &a[0], &b[0], done)
	}
	for i := done; i < n; i++ {
		dst[i] = a[i] * b[i]
	}
}

// MulAdd adds a·b to dst elementwise (a product then a sum, not a fused
// multiply-add, so both paths round alike).
func (k Kernels) MulAdd(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	done := 0
	if k.avx2 && n >= 16 {
		done = n &^ 15
		mulAddAVX2(&dst[0], &a[0], &b[0], done)
	}
	for i := done; i < n; i++ {
		dst[i] += a[i] * b[i]
	}
}
