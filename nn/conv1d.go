package nn

import (
	"fmt"
	"math/rand/v2"
)

// causalIm2col gathers, for every (batch, time) row of a channels-last
// input x [B, T, C], the K dilated taps that a causal convolution with left
// padding d·(K-1) sees: col[(b,t), c·K + j] = x[b, t - d·(K-1-j), c], zero
// before the start. The column order c·K + j matches PyTorch's Conv1d
// weight [out, in, K] flattened to [out, in·K], so the convolution becomes
// one GEMM (im2col, Chellapilla et al. 2006).
func (tp *Tape) causalIm2col(x *Tensor, k, dilation int) *Tensor {
	if x.Dims() != 3 {
		panic(fmt.Sprintf("nn: Conv1D needs a [batch, time, channels] input, got %v", x.Shape))
	}
	b, t, c := x.Shape[0], x.Shape[1], x.Shape[2]
	col := tp.newTensor(b, t, c*k)
	ck := c * k
	for bi := 0; bi < b; bi++ {
		for ti := 0; ti < t; ti++ {
			dst := col.Data[(bi*t+ti)*ck : (bi*t+ti+1)*ck]
			for j := 0; j < k; j++ {
				src := ti - dilation*(k-1-j)
				if src < 0 {
					continue
				}
				xr := x.Data[(bi*t+src)*c : (bi*t+src+1)*c]
				for ci, v := range xr {
					dst[ci*k+j] = v
				}
			}
		}
	}
	tp.record(col, func() {
		gx := tp.gradOf(x)
		for bi := 0; bi < b; bi++ {
			for ti := 0; ti < t; ti++ {
				g := col.Grad[(bi*t+ti)*ck : (bi*t+ti+1)*ck]
				for j := 0; j < k; j++ {
					src := ti - dilation*(k-1-j)
					if src < 0 {
						continue
					}
					gr := gx[(bi*t+src)*c : (bi*t+src+1)*c]
					for ci := range gr {
						gr[ci] += g[ci*k+j]
					}
				}
			}
		}
	}, x)
	return col
}

// Conv1DOp is a causal dilated 1-d convolution on a channels-last input
// x [B, T, Cin] with weight w [Cout, Cin, K] (PyTorch layout) and bias b
// [Cout] (or nil). It equals torch.nn.Conv1d(dilation=d) applied to the
// input left-padded with d·(K-1) zeros (F.pad(x, (d·(K-1), 0))), as in the
// TCN of Bai et al. 2018 ("An Empirical Evaluation of Generic Convolutional
// and Recurrent Networks for Sequence Modeling", §3.2): output step t only
// sees inputs at t, t-d, …, t-d(K-1). The output is [B, T, Cout].
func (tp *Tape) Conv1DOp(x, w, b *Tensor, dilation int) *Tensor {
	if w.Dims() != 3 || x.Dims() != 3 || x.Shape[2] != w.Shape[1] {
		panic(fmt.Sprintf("nn: Conv1D weight %v cannot take input %v ([batch, time, channels])", w.Shape, x.Shape))
	}
	if dilation < 1 {
		panic(fmt.Sprintf("nn: Conv1D dilation %d < 1", dilation))
	}
	cout, cin, k := w.Shape[0], w.Shape[1], w.Shape[2]
	col := tp.causalIm2col(x, k, dilation)
	// View w as [Cout, Cin·K], sharing data and gradient storage.
	w2 := &Tensor{Shape: []int{cout, cin * k}, Data: w.Data, needGrad: w.needGrad && !tp.noGrad}
	if w2.needGrad {
		w2.Grad = tp.gradOf(w)
	}
	return tp.LinearOp(col, w2, b)
}

// Conv1D is a causal dilated torch.nn.Conv1d on channels-last sequences
// (see Conv1DOp).
type Conv1D struct {
	Weight   *Param // [out, in, kernel]
	Bias     *Param // [out]
	Dilation int
}

// NewConv1D returns a Conv1D with PyTorch's default initialisation
// (https://pytorch.org/docs/stable/generated/torch.nn.Conv1d.html): weight
// and bias from U(±1/√(in·kernel)). Parameters are named name.weight and
// name.bias. It returns an error for non-positive sizes or dilation.
func NewConv1D(rng *rand.Rand, name string, in, out, kernel, dilation int) (*Conv1D, error) {
	if in < 1 || out < 1 || kernel < 1 || dilation < 1 {
		return nil, fmt.Errorf("nn: Conv1D %s: in %d, out %d, kernel %d and dilation %d must be positive", name, in, out, kernel, dilation)
	}
	c := &Conv1D{
		Weight:   NewParam(join(name, "weight"), out, in, kernel),
		Bias:     NewParam(join(name, "bias"), out),
		Dilation: dilation,
	}
	initLinearLike(rng, c.Weight.Tensor, c.Bias.Tensor)
	return c, nil
}

// Forward convolves x [B, T, in] into [B, T, out].
func (c *Conv1D) Forward(tp *Tape, x *Tensor) *Tensor {
	return tp.Conv1DOp(x, c.Weight.Tensor, c.Bias.Tensor, c.Dilation)
}

// Params returns weight and bias.
func (c *Conv1D) Params() []*Param { return []*Param{c.Weight, c.Bias} }
