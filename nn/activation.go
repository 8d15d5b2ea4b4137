package nn

import "math"

// ReLU returns max(x, 0); its gradient at 0 is taken as 0, as in PyTorch.
func (tp *Tape) ReLU(x *Tensor) *Tensor {
	out := tp.newRaw(x.Shape...)
	tp.eng.parallel(x.Len(), elemGrain, func(_, lo, hi int) {
		tp.eng.vk.ReLU(out.Data[lo:hi], x.Data[lo:hi])
	})
	tp.record(out, func() {
		gx := tp.gradOf(x)
		tp.eng.parallel(x.Len(), elemGrain, func(_, lo, hi int) {
			tp.eng.vk.ReLUGrad(gx[lo:hi], out.Data[lo:hi], out.Grad[lo:hi])
		})
	}, x)
	return out
}

// Tanh returns tanh(x) (math.Tanh in float64, rounded to float32);
// d/dx = 1 - tanh².
func (tp *Tape) Tanh(x *Tensor) *Tensor {
	out := tp.newRaw(x.Shape...)
	tp.eng.parallel(x.Len(), elemGrain/8, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			out.Data[i] = float32(math.Tanh(float64(x.Data[i])))
		}
	})
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for i, y := range out.Data {
			gx[i] += out.Grad[i] * (1 - y*y)
		}
	}, x)
	return out
}

// Sigmoid returns 1/(1+e^-x); d/dx = σ(1-σ).
func (tp *Tape) Sigmoid(x *Tensor) *Tensor {
	out := tp.newRaw(x.Shape...)
	tp.eng.parallel(x.Len(), elemGrain/8, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			out.Data[i] = float32(sigmoid(float64(x.Data[i])))
		}
	})
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for i, y := range out.Data {
			gx[i] += out.Grad[i] * y * (1 - y)
		}
	}, x)
	return out
}

// sigmoid avoids overflow of e^-x for large negative x.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
