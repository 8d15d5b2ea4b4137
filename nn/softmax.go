package nn

import "math"

// Softmax returns softmax over the last dimension: exp(x - max) / Σ exp(x - max).
// Backward: dx = y ⊙ (dy - Σ dy⊙y) per row.
func (tp *Tape) Softmax(x *Tensor) *Tensor {
	rows, cols := x.lastDim()
	out := tp.newRaw(x.Shape...)
	tp.eng.parallel(rows, max(1, elemGrain/max(cols, 1)), func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			softmaxRow(x.Data[r*cols:(r+1)*cols], out.Data[r*cols:(r+1)*cols])
		}
	})
	tp.record(out, func() {
		gx := tp.gradOf(x)
		tp.eng.parallel(rows, max(1, elemGrain/max(cols, 1)), func(_, lo, hi int) {
			for r := lo; r < hi; r++ {
				o := r * cols
				softmaxRowBackward(out.Data[o:o+cols], out.Grad[o:o+cols], gx[o:o+cols])
			}
		})
	}, x)
	return out
}

// softmaxRow writes softmax(src) into dst (which may alias src).
func softmaxRow(src, dst []float32) {
	if len(src) == 0 {
		return
	}
	m := src[0]
	for _, v := range src[1:] {
		m = max(m, v)
	}
	var s float32
	for i, v := range src {
		e := float32(math.Exp(float64(v - m)))
		dst[i] = e
		s += e
	}
	inv := 1 / s
	for i := range dst {
		dst[i] *= inv
	}
}

// softmaxRowBackward adds y ⊙ (dy - Σ dy⊙y) to dx.
func softmaxRowBackward(y, dy, dx []float32) {
	var dot float32
	for i, v := range y {
		dot += v * dy[i]
	}
	for i, v := range y {
		dx[i] += v * (dy[i] - dot)
	}
}
