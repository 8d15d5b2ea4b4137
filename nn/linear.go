package nn

import (
	"fmt"
	"math/rand/v2"
)

// LinearOp returns x·wᵀ + b over the last dimension of x: x is [..., in],
// w is [out, in] (PyTorch layout), b is [out] or nil; the result is
// [..., out]. It panics on mismatched shapes.
func (tp *Tape) LinearOp(x, w, b *Tensor) *Tensor {
	if w.Dims() != 2 {
		panic(fmt.Sprintf("nn: Linear weight must be 2-d, got %v", w.Shape))
	}
	return tp.linearRows(x, w, b, 0, w.Shape[0])
}

// linearRows is LinearOp with only rows [r0, r1) of w (and of b): the
// query, key and value projections of MultiheadAttention are row blocks of
// one packed in_proj weight, as in PyTorch.
func (tp *Tape) linearRows(x, w, b *Tensor, r0, r1 int) *Tensor {
	in := w.Shape[1]
	if x.Dims() == 0 || x.Shape[x.Dims()-1] != in {
		panic(fmt.Sprintf("nn: Linear with weight %v cannot take input %v", w.Shape, x.Shape))
	}
	if b != nil && (b.Dims() != 1 || b.Shape[0] != w.Shape[0]) {
		panic(fmt.Sprintf("nn: Linear bias %v does not match weight %v", b.Shape, w.Shape))
	}
	out := r1 - r0
	rows := x.Len() / max(in, 1)
	if in == 0 {
		rows = x.Len()
	}
	shape := append(append([]int(nil), x.Shape[:x.Dims()-1]...), out)
	y := tp.newRaw(shape...)
	wv := w.Data[r0*in : r1*in]
	beta := float32(0)
	if b != nil {
		bv := b.Data[r0:r1]
		tp.eng.parallel(rows, max(1, elemGrain/max(out, 1)), func(_, lo, hi int) {
			for r := lo; r < hi; r++ {
				copy(y.Data[r*out:(r+1)*out], bv)
			}
		})
		beta = 1
	}
	tp.eng.gemm(false, true, rows, out, in, 1, x.Data, in, wv, in, beta, y.Data, out)
	tp.record(y, func() {
		g := y.Grad
		if x.needGrad { // dx += dy·w
			tp.eng.gemm(false, false, rows, in, out, 1, g, out, wv, in, 1, tp.gradOf(x), in)
		}
		if w.needGrad { // dw += dyᵀ·x
			gw := tp.gradOf(w)[r0*in : r1*in]
			tp.eng.gemm(true, false, out, in, rows, 1, g, out, x.Data, in, 1, gw, in)
		}
		if b != nil && b.needGrad { // db += Σ_rows dy
			gb := tp.gradOf(b)[r0:r1]
			colSum(tp.eng, g, rows, out, gb)
		}
	}, x, w, b)
	return y
}

// colSum adds the column sums of the rows×cols matrix g to dst, each column
// summed in row order by one worker.
func colSum(e *Engine, g []float32, rows, cols int, dst []float32) {
	e.parallel(cols, max(1, elemGrain/max(rows, 1)), func(_, lo, hi int) {
		d := dst[lo:hi]
		for r := 0; r < rows; r++ {
			e.vk.AddTo(d, g[r*cols+lo:r*cols+hi])
		}
	})
}

// Linear is torch.nn.Linear: y = x·Wᵀ + b with W [out, in].
type Linear struct {
	Weight *Param // [out, in]
	Bias   *Param // [out], nil without bias
}

// NewLinear returns a Linear layer with PyTorch's default initialisation
// (https://pytorch.org/docs/stable/generated/torch.nn.Linear.html): W and b
// from U(±1/√in), weight drawn first. Parameters are named name.weight and
// name.bias. It returns an error unless in and out are positive.
func NewLinear(rng *rand.Rand, name string, in, out int, bias bool) (*Linear, error) {
	if in < 1 || out < 1 {
		return nil, fmt.Errorf("nn: Linear %s: sizes %d -> %d must be positive", name, in, out)
	}
	l := &Linear{Weight: NewParam(join(name, "weight"), out, in)}
	var bt *Tensor
	if bias {
		l.Bias = NewParam(join(name, "bias"), out)
		bt = l.Bias.Tensor
	}
	initLinearLike(rng, l.Weight.Tensor, bt)
	return l, nil
}

// Forward applies the layer to the last dimension of x.
func (l *Linear) Forward(tp *Tape, x *Tensor) *Tensor {
	return tp.LinearOp(x, l.Weight.Tensor, l.bias())
}

func (l *Linear) bias() *Tensor {
	if l.Bias == nil {
		return nil
	}
	return l.Bias.Tensor
}

// Params returns weight then bias (if any), PyTorch's order.
func (l *Linear) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Weight}
	}
	return []*Param{l.Weight, l.Bias}
}
