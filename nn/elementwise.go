package nn

import "fmt"

// elemGrain is the number of elements below which elementwise work stays on
// one goroutine. Elementwise loops are memory-bound and short (a 448×64
// activation takes a few µs), but a Transformer step runs hundreds of
// them: left on one goroutine they made a third of the step serial.
// 8K elements is a few µs of work, above the cost of a pool region.
const elemGrain = 1 << 13

type binaryKind int

const (
	opAdd binaryKind = iota
	opSub
	opMul
)

// Add returns a + b. The shapes must be equal, or one must be a suffix of
// the other (broadcast over the leading dimensions, as a bias [E] added to
// [B,S,E] or a positional table [S,E] added to [B,S,E]). It panics otherwise.
func (tp *Tape) Add(a, b *Tensor) *Tensor {
	if !isSuffix(b.Shape, a.Shape) && isSuffix(a.Shape, b.Shape) {
		a, b = b, a
	}
	return tp.binary(a, b, opAdd)
}

// Sub returns a - b; b's shape must equal a's or be a suffix of it.
func (tp *Tape) Sub(a, b *Tensor) *Tensor { return tp.binary(a, b, opSub) }

// Mul returns the elementwise product a·b, with the broadcasting rule of Add.
func (tp *Tape) Mul(a, b *Tensor) *Tensor {
	if !isSuffix(b.Shape, a.Shape) && isSuffix(a.Shape, b.Shape) {
		a, b = b, a
	}
	return tp.binary(a, b, opMul)
}

func (tp *Tape) binary(a, b *Tensor, kind binaryKind) *Tensor {
	if !isSuffix(b.Shape, a.Shape) {
		panic(fmt.Sprintf("nn: cannot broadcast shape %v to %v", b.Shape, a.Shape))
	}
	out := tp.newRaw(a.Shape...)
	n, bl := a.Len(), b.Len()
	if n == 0 {
		return out
	}
	tp.eng.parallel(n, elemGrain, func(_, lo, hi int) {
		x, y, o := a.Data, b.Data, out.Data
		j := lo % bl
		for i := lo; i < hi; i++ {
			switch kind {
			case opAdd:
				o[i] = x[i] + y[j]
			case opSub:
				o[i] = x[i] - y[j]
			case opMul:
				o[i] = x[i] * y[j]
			}
			if j++; j == bl {
				j = 0
			}
		}
	})
	tp.record(out, func() {
		g := out.Grad
		if a.needGrad {
			ga := tp.gradOf(a)
			tp.eng.parallel(n, elemGrain, func(_, lo, hi int) {
				if kind != opMul {
					tp.eng.vk.AddTo(ga[lo:hi], g[lo:hi])
					return
				}
				j := lo % bl
				for i := lo; i < hi; i++ {
					ga[i] += g[i] * b.Data[j]
					if j++; j == bl {
						j = 0
					}
				}
			})
		}
		if b.needGrad {
			gb := tp.gradOf(b)
			rows := n / bl
			// Sum over the broadcast rows, column ranges split between
			// workers, rows in order: a fixed reduction order.
			tp.eng.parallel(bl, max(1, elemGrain/rows), func(_, lo, hi int) {
				for r := 0; r < rows; r++ {
					gr := g[r*bl+lo : r*bl+hi]
					dst := gb[lo:hi]
					switch kind {
					case opAdd:
						tp.eng.vk.AddTo(dst, gr)
					case opSub:
						for j, v := range gr {
							dst[j] -= v
						}
					case opMul:
						ar := a.Data[r*bl+lo : r*bl+hi]
						for j, v := range gr {
							dst[j] += v * ar[j]
						}
					}
				}
			})
		}
	}, a, b)
	return out
}

// Scale returns s·x.
func (tp *Tape) Scale(x *Tensor, s float32) *Tensor {
	out := tp.newRaw(x.Shape...)
	tp.eng.parallel(x.Len(), elemGrain, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			out.Data[i] = s * x.Data[i]
		}
	})
	tp.record(out, func() {
		gx := tp.gradOf(x)
		tp.eng.parallel(x.Len(), elemGrain, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				gx[i] += s * out.Grad[i]
			}
		})
	}, x)
	return out
}

// AddScalar returns x + s (e.g. 1 - z as AddScalar(Scale(z, -1), 1)).
func (tp *Tape) AddScalar(x *Tensor, s float32) *Tensor {
	out := tp.newRaw(x.Shape...)
	for i, v := range x.Data {
		out.Data[i] = v + s
	}
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for i, g := range out.Grad {
			gx[i] += g
		}
	}, x)
	return out
}

// Sum returns the sum of all elements as a 1-element tensor (accumulated in
// float64, in element order).
func (tp *Tape) Sum(x *Tensor) *Tensor {
	out := tp.newRaw(1)
	var s float64
	for _, v := range x.Data {
		s += float64(v)
	}
	out.Data[0] = float32(s)
	tp.record(out, func() {
		gx := tp.gradOf(x)
		g := out.Grad[0]
		for i := range gx {
			gx[i] += g
		}
	}, x)
	return out
}
