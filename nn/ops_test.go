package nn

import (
	"fmt"
	"math"
	"testing"
)

func TestMatMulGrad(t *testing.T) {
	r := testRand()
	// 50·40·40 is above gemmParallelMin, so the split GEMM is exercised.
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		m, k, n := 50, 40, 40
		as, bs := []int{m, k}, []int{k, n}
		if tr[0] {
			as = []int{k, m}
		}
		if tr[1] {
			bs = []int{n, k}
		}
		a, b := randTensor(r, 0, as...), randTensor(r, 0, bs...)
		gradCheck(t, fmt.Sprintf("MatMul%v", tr), []*Tensor{a, b}, func(tp *Tape) *Tensor { return tp.MatMul(a, b, tr[0], tr[1]) })
		// Forward against the naive product.
		tp := NewTape(NewEngine(2), nil)
		c := tp.MatMul(a, b, tr[0], tr[1])
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for l := 0; l < k; l++ {
					av, bv := a.Data[i*k+l], b.Data[l*n+j]
					if tr[0] {
						av = a.Data[l*m+i]
					}
					if tr[1] {
						bv = b.Data[j*k+l]
					}
					s += float64(av) * float64(bv)
				}
				if math.Abs(float64(c.Data[i*n+j])-s) > 1e-4 {
					t.Fatalf("MatMul%v[%d,%d] = %v, want %v", tr, i, j, c.Data[i*n+j], s)
				}
			}
		}
	}
}

func TestBatchMatMulGrad(t *testing.T) {
	r := testRand()
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		as, bs := []int{3, 4, 5}, []int{3, 5, 6}
		if tr[0] {
			as = []int{3, 5, 4}
		}
		if tr[1] {
			bs = []int{3, 6, 5}
		}
		a, b := randTensor(r, 0, as...), randTensor(r, 0, bs...)
		gradCheck(t, fmt.Sprintf("BatchMatMul%v", tr), []*Tensor{a, b}, func(tp *Tape) *Tensor { return tp.BatchMatMul(a, b, tr[0], tr[1]) })
	}
}

func TestBinaryGrad(t *testing.T) {
	r := testRand()
	a := randTensor(r, 0, 2, 3, 4)
	same := randTensor(r, 0, 2, 3, 4)
	row := randTensor(r, 0, 4)
	mat := randTensor(r, 0, 3, 4)
	for _, b := range []*Tensor{same, row, mat} {
		gradCheck(t, fmt.Sprintf("Add %v", b.Shape), []*Tensor{a, b}, func(tp *Tape) *Tensor { return tp.Add(a, b) })
		gradCheck(t, fmt.Sprintf("Add reversed %v", b.Shape), []*Tensor{a, b}, func(tp *Tape) *Tensor { return tp.Add(b, a) })
		gradCheck(t, fmt.Sprintf("Sub %v", b.Shape), []*Tensor{a, b}, func(tp *Tape) *Tensor { return tp.Sub(a, b) })
		gradCheck(t, fmt.Sprintf("Mul %v", b.Shape), []*Tensor{a, b}, func(tp *Tape) *Tensor { return tp.Mul(a, b) })
		gradCheck(t, fmt.Sprintf("Mul reversed %v", b.Shape), []*Tensor{a, b}, func(tp *Tape) *Tensor { return tp.Mul(b, a) })
	}
	// Large enough to be split between workers, with a broadcast bias.
	big, bias := randTensor(r, 0, 40, 500), randTensor(r, 0, 500)
	tp := NewTape(NewEngine(2), nil)
	y := tp.Add(big, bias)
	for i := range y.Data {
		if y.Data[i] != big.Data[i]+bias.Data[i%500] {
			t.Fatalf("Add broadcast element %d", i)
		}
	}
	gradCheck(t, "Scale", []*Tensor{a}, func(tp *Tape) *Tensor { return tp.Scale(a, -0.3) })
	gradCheck(t, "AddScalar", []*Tensor{a}, func(tp *Tape) *Tensor { return tp.AddScalar(a, 2) })
	gradCheck(t, "Sum", []*Tensor{a}, func(tp *Tape) *Tensor { return tp.Sum(a) })
}

func TestBroadcastMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	tp := NewTape(NewEngine(1), nil)
	tp.Add(New(2, 3), New(2))
}

func TestActivationsGrad(t *testing.T) {
	r := testRand()
	x := randTensor(r, 0.05, 3, 7)
	gradCheck(t, "ReLU", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.ReLU(x) })
	x2 := randTensor(r, 0, 3, 7)
	for i := range x2.Data {
		x2.Data[i] *= 3
	}
	gradCheck(t, "Tanh", []*Tensor{x2}, func(tp *Tape) *Tensor { return tp.Tanh(x2) })
	gradCheck(t, "Sigmoid", []*Tensor{x2}, func(tp *Tape) *Tensor { return tp.Sigmoid(x2) })
	tp := NewTape(NewEngine(1), nil)
	s := tp.Sigmoid(&Tensor{Shape: []int{3}, Data: []float32{-100, 0, 100}})
	if s.Data[0] != 0 && s.Data[0] > 1e-30 || s.Data[1] != 0.5 || s.Data[2] != 1 {
		t.Errorf("sigmoid(-100, 0, 100) = %v", s.Data)
	}
}

func TestSoftmax(t *testing.T) {
	r := testRand()
	x := randTensor(r, 0, 2, 3, 6)
	gradCheck(t, "Softmax", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Softmax(x) })
	tp := NewTape(NewEngine(1), nil)
	y := tp.Softmax(&Tensor{Shape: []int{1, 3}, Data: []float32{1000, 1000, -math.MaxFloat32}})
	if y.Data[0] != 0.5 || y.Data[1] != 0.5 || y.Data[2] != 0 {
		t.Errorf("softmax of large values = %v", y.Data)
	}
}

func TestLayerNorm(t *testing.T) {
	r := testRand()
	x := randTensor(r, 0, 2, 3, 8)
	ln := must(NewLayerNorm("norm", 8, 1e-5))
	// Non-trivial affine parameters for the check.
	for i := range ln.Weight.Data {
		ln.Weight.Data[i] = float32(0.5 + r.Float64())
		ln.Bias.Data[i] = float32(r.Float64() - 0.5)
	}
	gradCheck(t, "LayerNorm", []*Tensor{x, ln.Weight.Tensor, ln.Bias.Tensor}, func(tp *Tape) *Tensor { return ln.Forward(tp, x) })
	fresh := must(NewLayerNorm("n", 8, 1e-5))
	tp := NewTape(NewEngine(1), nil)
	y := fresh.Forward(tp, x)
	for row := 0; row < 6; row++ {
		var m, v float64
		for _, v0 := range y.Data[row*8 : row*8+8] {
			m += float64(v0)
		}
		m /= 8
		for _, v0 := range y.Data[row*8 : row*8+8] {
			v += (float64(v0) - m) * (float64(v0) - m)
		}
		v /= 8
		if math.Abs(m) > 1e-6 || math.Abs(v-1) > 1e-3 {
			t.Errorf("row %d: mean %v var %v", row, m, v)
		}
	}
	if fresh.Weight.Data[0] != 1 || fresh.Bias.Data[0] != 0 {
		t.Error("LayerNorm init is not weight 1, bias 0")
	}
}

func TestDropout(t *testing.T) {
	r := testRand()
	x := randTensor(r, 0, 4, 25)
	gradCheck(t, "Dropout", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Dropout(x, 0.3) })

	eng := NewEngine(1)
	tp := NewTape(eng, testRand())
	tp.SetTraining(false)
	if tp.Dropout(x, 0.5) != x {
		t.Error("eval-mode dropout is not the identity")
	}
	ones := New(100000)
	Fill(ones, 1)
	run := func(seed uint64) []float32 {
		tp := NewTape(eng, randPCG(seed))
		return tp.Dropout(ones, 0.2).Data
	}
	a, b, c := run(1), run(1), run(2)
	zeros, same, diff := 0, true, false
	for i := range a {
		if a[i] == 0 {
			zeros++
		} else if a[i] != 1.25 {
			t.Fatalf("kept value %v, want 1/(1-0.2) = 1.25", a[i])
		}
		same = same && a[i] == b[i]
		diff = diff || a[i] != c[i]
	}
	if !same || !diff {
		t.Errorf("dropout masks: same seed equal = %v, different seeds differ = %v", same, diff)
	}
	if f := float64(zeros) / 1e5; math.Abs(f-0.2) > 0.01 {
		t.Errorf("dropped fraction %v, want 0.2", f)
	}
}

func TestShapeOps(t *testing.T) {
	r := testRand()
	x := randTensor(r, 0, 2, 3, 4)
	y := randTensor(r, 0, 2, 1, 4)
	gradCheck(t, "Reshape", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Reshape(x, 6, -1) })
	gradCheck(t, "Permute", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Permute(x, 2, 0, 1) })
	gradCheck(t, "Slice", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Slice(x, 1, 1, 3) })
	gradCheck(t, "Select", []*Tensor{x}, func(tp *Tape) *Tensor { return tp.Select(x, 2, 3) })
	gradCheck(t, "Concat", []*Tensor{x, y}, func(tp *Tape) *Tensor { return tp.Concat(1, y, x, y) })
	z := randTensor(r, 0, 2, 3, 4)
	gradCheck(t, "Stack", []*Tensor{x, z}, func(tp *Tape) *Tensor { return tp.Stack(1, x, z, x) })

	tp := NewTape(NewEngine(1), nil)
	p := tp.Permute(x, 2, 0, 1) // [4, 2, 3]
	if p.Data[(3*2+1)*3+2] != x.Data[(1*3+2)*4+3] {
		t.Error("Permute(2,0,1)[3,1,2] != x[1,2,3]")
	}
	s := tp.Stack(1, x, z) // [2, 2, 3, 4]
	if s.Data[((1*2+1)*3+2)*4+3] != z.Data[(1*3+2)*4+3] || s.Data[((1*2+0)*3+2)*4+3] != x.Data[(1*3+2)*4+3] {
		t.Error("Stack layout")
	}
	sel := tp.Select(x, 1, 2) // [2, 4]
	if len(sel.Shape) != 2 || sel.Data[1*4+3] != x.Data[(1*3+2)*4+3] {
		t.Error("Select layout")
	}
}

func TestLinear(t *testing.T) {
	r := testRand()
	lin := must(NewLinear(r, "fc", 5, 3, true))
	x := randTensor(r, 0, 2, 4, 5)
	gradCheck(t, "Linear", []*Tensor{x, lin.Weight.Tensor, lin.Bias.Tensor}, func(tp *Tape) *Tensor { return lin.Forward(tp, x) })
	nob := must(NewLinear(r, "fc", 5, 3, false))
	gradCheck(t, "Linear without bias", []*Tensor{x, nob.Weight.Tensor}, func(tp *Tape) *Tensor { return nob.Forward(tp, x) })
	// Row block of the weight, as used by attention's packed projections.
	gradCheck(t, "linearRows", []*Tensor{x, lin.Weight.Tensor, lin.Bias.Tensor}, func(tp *Tape) *Tensor {
		return tp.linearRows(x, lin.Weight.Tensor, lin.Bias.Tensor, 1, 3)
	})
	if names := []string{lin.Params()[0].Name, lin.Params()[1].Name}; names[0] != "fc.weight" || names[1] != "fc.bias" {
		t.Errorf("names %v", names)
	}
	// Big enough for the parallel GEMM and bias reduction.
	big := must(NewLinear(r, "big", 64, 96, true))
	xb := randTensor(r, 0, 20, 64)
	gradCheck(t, "Linear 20x64->96", []*Tensor{xb, big.Weight.Tensor, big.Bias.Tensor}, func(tp *Tape) *Tensor { return big.Forward(tp, xb) })
}

func TestMSE(t *testing.T) {
	r := testRand()
	p := randTensor(r, 0, 4, 3)
	y := New(4, 3)
	gradCheck(t, "MSE", []*Tensor{p}, func(tp *Tape) *Tensor {
		l, err := tp.MSE(p, y)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
	tp := NewTape(NewEngine(1), nil)
	a := &Tensor{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}
	b := &Tensor{Shape: []int{2, 2}, Data: []float32{0, 0, 0, 0}}
	l, _ := tp.MSE(a, b)
	if l.Data[0] != 7.5 {
		t.Errorf("MSE = %v, want 7.5", l.Data[0])
	}
	if _, err := tp.MSE(a, New(4)); err == nil {
		t.Error("no error for mismatched shapes")
	}
}

func TestBackwardErrors(t *testing.T) {
	tp := NewTape(NewEngine(1), nil)
	if err := tp.Backward(New(2)); err == nil {
		t.Error("no error for a non-scalar loss")
	}
	if err := tp.Backward(New(1)); err == nil {
		t.Error("no error for a loss without gradient")
	}
}

func TestInferenceTape(t *testing.T) {
	x := randTensor(testRand(), 0, 4, 25) // requires a gradient
	tp := NewInferenceTape(NewEngine(1))
	if tp.Training() {
		t.Error("an inference tape is in training mode")
	}
	if tp.Dropout(x, 0.5) != x {
		t.Error("dropout on an inference tape is not the identity")
	}
	loss := tp.Sum(x)
	if loss.RequiresGrad() {
		t.Error("an inference tape recorded a gradient")
	}
	if err := tp.Backward(loss); err == nil {
		t.Error("Backward on an inference tape: no error")
	}
}
