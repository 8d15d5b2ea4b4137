package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gradCheck compares the analytic gradients of build's output with central
// finite differences, for every element of every tensor in inputs (which
// must require gradients).
//
// The scalar checked is L = Σ_i w_i·y_i with fixed random weights w, so a
// wrong gradient in any output element shows up. Each evaluation builds the
// graph on a fresh tape whose random source has the same seed, so dropout
// masks are identical between evaluations. L is summed in float64; the
// forward pass itself is float32, so the difference quotient carries noise
// of order ulp(y)/eps, hence the tolerance
//
//	|analytic - numeric| ≤ rtol·max(|a|, |n|) + atol·max_j |n_j| + 1e-5
//
// per element, plus ‖a - n‖ / ‖n‖ ≤ rtol over the whole gradient.
type gradCheckOpts struct {
	eps, rtol, atol float64
	threads         int
}

func defaultGC() gradCheckOpts { return gradCheckOpts{eps: 1e-2, rtol: 3e-3, atol: 1e-3, threads: 2} }

func gradCheck(t *testing.T, name string, inputs []*Tensor, build func(tp *Tape) *Tensor) {
	t.Helper()
	gradCheckWith(t, defaultGC(), name, inputs, build)
}

func gradCheckWith(t *testing.T, o gradCheckOpts, name string, inputs []*Tensor, build func(tp *Tape) *Tensor) {
	t.Helper()
	if err := gradCheckErr(inputs, build, o); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func gradCheckErr(inputs []*Tensor, build func(tp *Tape) *Tensor, o gradCheckOpts) error {
	eng := NewEngine(o.threads)
	const seed = 77
	newTape := func() *Tape { return NewTape(eng, rand.New(rand.NewPCG(seed, seed))) }

	// Analytic gradients.
	for _, in := range inputs {
		if !in.needGrad {
			return fmt.Errorf("input %v does not require grad", in.Shape)
		}
		clear(in.Grad)
	}
	tp := newTape()
	y := build(tp)
	if !y.needGrad {
		return fmt.Errorf("output does not require grad")
	}
	wr := rand.New(rand.NewPCG(5, 6))
	w := make([]float32, y.Len())
	for i := range w {
		w[i] = float32(wr.Float64()*2 - 1)
	}
	tp.backwardFrom(y, w)
	analytic := make([][]float32, len(inputs))
	for i, in := range inputs {
		analytic[i] = append([]float32(nil), in.Grad...)
	}

	loss := func() float64 {
		tp := newTape()
		tp.SetGrad(false)
		y := build(tp)
		var s float64
		for i, v := range y.Data {
			s += float64(w[i]) * float64(v)
		}
		return s
	}
	for ii, in := range inputs {
		num := make([]float64, in.Len())
		maxN := 0.0
		for j := range in.Data {
			orig := in.Data[j]
			in.Data[j] = orig + float32(o.eps)
			lp := loss()
			in.Data[j] = orig - float32(o.eps)
			lm := loss()
			in.Data[j] = orig
			// Use the step actually taken in float32.
			h := float64(orig+float32(o.eps)) - float64(orig-float32(o.eps))
			num[j] = (lp - lm) / h
			maxN = max(maxN, math.Abs(num[j]))
		}
		var diff2, norm2 float64
		for j, n := range num {
			a := float64(analytic[ii][j])
			d := math.Abs(a - n)
			diff2 += d * d
			norm2 += n * n
			if d > o.rtol*max(math.Abs(a), math.Abs(n))+o.atol*maxN+1e-5 {
				return fmt.Errorf("input %d %v element %d: analytic %.6g, numeric %.6g", ii, in.Shape, j, a, n)
			}
		}
		if norm2 > 0 && math.Sqrt(diff2/norm2) > o.rtol {
			return fmt.Errorf("input %d %v: relative error %.3g of the whole gradient", ii, in.Shape, math.Sqrt(diff2/norm2))
		}
	}
	return nil
}

// randTensor returns a leaf tensor requiring grad with U(-1, 1) values;
// with gap > 0 the values avoid (-gap, gap) (for ops with a kink at 0).
func randTensor(r *rand.Rand, gap float64, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		v := r.Float64()*2 - 1
		if gap > 0 {
			v = math.Copysign(gap+math.Abs(v)*(1-gap), v)
		}
		t.Data[i] = float32(v)
	}
	t.SetRequiresGrad(true)
	return t
}

func testRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// brokenScale is Scale with a backward that is off by 1%: the checker must
// reject it, or it is too weak to catch real mistakes.
func (tp *Tape) brokenScale(x *Tensor, s float32) *Tensor {
	out := tp.newRaw(x.Shape...)
	for i, v := range x.Data {
		out.Data[i] = s * v
	}
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for i, g := range out.Grad {
			gx[i] += 1.01 * s * g
		}
	}, x)
	return out
}

// brokenSoftmaxBackward drops the Σ dy·y term of the softmax gradient: a
// classic mistake.
func (tp *Tape) brokenSoftmax(x *Tensor) *Tensor {
	rows, cols := x.lastDim()
	out := tp.newRaw(x.Shape...)
	for r := 0; r < rows; r++ {
		softmaxRow(x.Data[r*cols:(r+1)*cols], out.Data[r*cols:(r+1)*cols])
	}
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for i, y := range out.Data {
			gx[i] += y * out.Grad[i]
		}
	}, x)
	return out
}

func TestGradCheckCatchesBrokenBackward(t *testing.T) {
	r := testRand()
	x := randTensor(r, 0, 3, 5)
	if err := gradCheckErr([]*Tensor{x}, func(tp *Tape) *Tensor { return tp.brokenScale(x, 1.7) }, defaultGC()); err == nil {
		t.Error("a 1% error in Scale's backward was not detected")
	}
	if err := gradCheckErr([]*Tensor{x}, func(tp *Tape) *Tensor { return tp.brokenSoftmax(x) }, defaultGC()); err == nil {
		t.Error("a softmax backward without the Σ dy·y term was not detected")
	}
	// And the correct versions pass.
	gradCheck(t, "Scale", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Scale(x, 1.7) })
	gradCheck(t, "Softmax", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Softmax(x) })
}

func randPCG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// must unwraps a constructor's result in tests.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
