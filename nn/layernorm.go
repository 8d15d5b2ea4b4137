package nn

import (
	"fmt"
	"math"
)

// LayerNormOp normalises x over its last dimension and applies the affine
// map: y = (x - mean)/√(var + eps)·gamma + beta, with the biased variance
// (torch.nn.LayerNorm, https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html).
// gamma and beta have the size of the last dimension.
func (tp *Tape) LayerNormOp(x, gamma, beta *Tensor, eps float32) *Tensor {
	rows, cols := x.lastDim()
	if gamma.Len() != cols || beta.Len() != cols {
		panic(fmt.Sprintf("nn: LayerNorm over %d features got gamma %v and beta %v", cols, gamma.Shape, beta.Shape))
	}
	out := tp.newRaw(x.Shape...)
	xhat := tp.arena.get(x.Len(), false) // normalised input, kept for backward
	rstd := tp.arena.get(rows, false)
	grain := max(1, elemGrain/max(cols, 1))
	tp.eng.parallel(rows, grain, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x.Data[r*cols : (r+1)*cols]
			var mean float64
			for _, v := range xr {
				mean += float64(v)
			}
			mean /= float64(cols)
			var vs float64
			for _, v := range xr {
				d := float64(v) - mean
				vs += d * d
			}
			rs := 1 / math.Sqrt(vs/float64(cols)+float64(eps))
			rstd[r] = float32(rs)
			h, y := xhat[r*cols:(r+1)*cols], out.Data[r*cols:(r+1)*cols]
			for j, v := range xr {
				hv := float32((float64(v) - mean) * rs)
				h[j] = hv
				y[j] = hv*gamma.Data[j] + beta.Data[j]
			}
		}
	})
	tp.record(out, func() {
		g := out.Grad
		if x.needGrad {
			// dx = rstd·(dxhat - mean(dxhat) - xhat·mean(dxhat⊙xhat)),
			// dxhat = dy⊙gamma.
			gx := tp.gradOf(x)
			tp.eng.parallel(rows, grain, func(_, lo, hi int) {
				for r := lo; r < hi; r++ {
					o := r * cols
					h, gr, dx := xhat[o:o+cols], g[o:o+cols], gx[o:o+cols]
					var s1, s2 float32
					for j, v := range gr {
						d := v * gamma.Data[j]
						s1 += d
						s2 += d * h[j]
					}
					s1 /= float32(cols)
					s2 /= float32(cols)
					rs := rstd[r]
					for j, v := range gr {
						dx[j] += rs * (v*gamma.Data[j] - s1 - h[j]*s2)
					}
				}
			})
		}
		if gamma.needGrad || beta.needGrad {
			var gg, gb []float32
			if gamma.needGrad {
				gg = tp.gradOf(gamma)
			}
			if beta.needGrad {
				gb = tp.gradOf(beta)
			}
			tp.eng.parallel(cols, 16, func(_, lo, hi int) {
				for r := 0; r < rows; r++ {
					o := r * cols
					for j := lo; j < hi; j++ {
						if gg != nil {
							gg[j] += g[o+j] * xhat[o+j]
						}
						if gb != nil {
							gb[j] += g[o+j]
						}
					}
				}
			})
		}
	}, x, gamma, beta)
	return out
}

// LayerNorm is torch.nn.LayerNorm(dim, eps) with elementwise affine: weight
// initialised to 1 and bias to 0.
type LayerNorm struct {
	Weight, Bias *Param
	Eps          float32
}

// NewLayerNorm returns a LayerNorm over a last dimension of size dim whose
// parameters are named name.weight and name.bias. It returns an error
// unless dim is positive and eps is non-negative.
func NewLayerNorm(name string, dim int, eps float32) (*LayerNorm, error) {
	if dim < 1 || !(eps >= 0) {
		return nil, fmt.Errorf("nn: LayerNorm %s: size %d must be positive and eps %v non-negative", name, dim, eps)
	}
	l := &LayerNorm{
		Weight: NewParam(join(name, "weight"), dim),
		Bias:   NewParam(join(name, "bias"), dim),
		Eps:    eps,
	}
	Fill(l.Weight.Tensor, 1)
	return l, nil
}

// Forward normalises x over its last dimension.
func (l *LayerNorm) Forward(tp *Tape, x *Tensor) *Tensor {
	return tp.LayerNormOp(x, l.Weight.Tensor, l.Bias.Tensor, l.Eps)
}

// Params returns weight and bias.
func (l *LayerNorm) Params() []*Param { return []*Param{l.Weight, l.Bias} }
