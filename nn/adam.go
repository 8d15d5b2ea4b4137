package nn

import (
	"fmt"
	"math"

	"github.com/prevoir/prevoir/nn/internal/vec"
)

// AdamConfig holds Adam's hyper-parameters; the zero value of a field means
// PyTorch's default (lr 1e-3, betas (0.9, 0.999), eps 1e-8), except
// WeightDecay whose default is 0.
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
}

// Adam is torch.optim.Adam (amsgrad=False, maximize=False, the
// single-tensor path of PyTorch 1.13; Kingma & Ba 2015, "Adam: A Method for
// Stochastic Optimization", Algorithm 1 with the bias corrections folded in
// as PyTorch does):
//
//	t += 1; g += wd·θ (if wd ≠ 0)
//	m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
//	θ -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps)
//
// The scalar factors are computed in float64, the element updates in
// float32, like PyTorch on float32 tensors.
type Adam struct {
	cfg    AdamConfig
	params []*Param
	m, v   [][]float32
	step   int
	eng    *Engine
	segs   []adamSegment
	tmp    [][]float32 // per worker: a segment's gradient plus weight decay
}

// NewAdam returns an optimiser over params. It returns an error for
// invalid hyper-parameters (as torch.optim.Adam raises ValueError).
func NewAdam(e *Engine, params []*Param, cfg AdamConfig) (*Adam, error) {
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	if cfg.Beta1 == 0 {
		cfg.Beta1 = 0.9
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	switch {
	case cfg.LR < 0:
		return nil, fmt.Errorf("nn: invalid learning rate %v", cfg.LR)
	case cfg.Eps < 0:
		return nil, fmt.Errorf("nn: invalid epsilon %v", cfg.Eps)
	case cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1:
		return nil, fmt.Errorf("nn: invalid betas (%v, %v)", cfg.Beta1, cfg.Beta2)
	case cfg.WeightDecay < 0:
		return nil, fmt.Errorf("nn: invalid weight decay %v", cfg.WeightDecay)
	}
	a := &Adam{cfg: cfg, params: params, eng: e, segs: segments(params)}
	if cfg.WeightDecay != 0 {
		for range e.Threads() {
			a.tmp = append(a.tmp, make([]float32, adamSegmentLen))
		}
	}
	for _, p := range params {
		a.m = append(a.m, make([]float32, p.Len()))
		a.v = append(a.v, make([]float32, p.Len()))
	}
	return a, nil
}

// Steps is the number of updates made so far.
func (a *Adam) Steps() int { return a.step }

// Step updates every parameter from its gradient (it does not zero the
// gradients; call ZeroGrad before the next backward pass).
func (a *Adam) Step() {
	a.step++
	c := a.cfg
	bc1 := 1 - math.Pow(c.Beta1, float64(a.step))
	bc2 := 1 - math.Pow(c.Beta2, float64(a.step))
	stepSize := float32(c.LR / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	// 1-β is formed in float64 then rounded, as PyTorch passes it as a
	// Python float to add_(alpha=1-β1) and addcmul_(value=1-β2).
	k := vec.AdamConsts{
		Beta1: float32(c.Beta1), OneMinusBeta1: float32(1 - c.Beta1),
		Beta2: float32(c.Beta2), OneMinusBeta2: float32(1 - c.Beta2),
		StepSize: stepSize, BiasCorrection2Sqrt: bc2Sqrt, Eps: float32(c.Eps),
	}
	wd := float32(c.WeightDecay)
	// One parallel region over every parameter's elements: the update is
	// elementwise, so how the segments are shared between workers does
	// not change any result.
	a.eng.parallel(len(a.segs), 1, func(w, lo, hi int) {
		for _, s := range a.segs[lo:hi] {
			p := a.params[s.p]
			th, g := p.Data[s.lo:s.hi], p.Grad[s.lo:s.hi]
			if wd != 0 {
				// g + wd·θ, into the worker's scratch: p.Grad is left as
				// computed.
				t := a.tmp[w][:len(g)]
				for j := range t {
					t[j] = g[j] + wd*th[j]
				}
				g = t
			}
			a.eng.vk.Adam(th, g, a.m[s.p][s.lo:s.hi], a.v[s.p][s.lo:s.hi], &k)
		}
	})
}

// adamSegment is elements [lo, hi) of parameter p.
type adamSegment struct{ p, lo, hi int }

// adamSegmentLen is the size of the pieces parameters are cut into for
// Step: small enough that the Transformer's 550734 parameters make
// dozens of pieces to share between workers, large enough that a piece
// costs more than claiming it (a few µs of AVX2 work).
const adamSegmentLen = 1 << 13

// segments cuts every parameter into pieces of at most adamSegmentLen
// elements.
func segments(params []*Param) []adamSegment {
	var segs []adamSegment
	for i, p := range params {
		for lo := 0; lo < p.Len(); lo += adamSegmentLen {
			segs = append(segs, adamSegment{i, lo, min(lo+adamSegmentLen, p.Len())})
		}
	}
	return segs
}
