package nn

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// refAdam is torch.optim.Adam's update in float64.
type refAdam struct {
	lr, b1, b2, eps, wd float64
	m, v                []float64
	t                   int
}

func (a *refAdam) step(th, g []float64) {
	a.t++
	bc1 := 1 - math.Pow(a.b1, float64(a.t))
	bc2 := 1 - math.Pow(a.b2, float64(a.t))
	for i := range th {
		gi := g[i] + a.wd*th[i]
		a.m[i] = a.b1*a.m[i] + (1-a.b1)*gi
		a.v[i] = a.b2*a.v[i] + (1-a.b2)*gi*gi
		th[i] -= a.lr / bc1 * a.m[i] / (math.Sqrt(a.v[i])/math.Sqrt(bc2) + a.eps)
	}
}

func TestAdamMatchesPyTorchFormula(t *testing.T) {
	r := testRand()
	// Larger than a segment of Step's parallel region, on 3 threads.
	const n = 2*adamSegmentLen + 50
	for _, wd := range []float64{0, 0.01} {
		p := NewParam("w", n)
		Uniform(r, p.Tensor, -1, 1)
		ref := &refAdam{lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: wd, m: make([]float64, n), v: make([]float64, n)}
		th := make([]float64, n)
		for i, v := range p.Data {
			th[i] = float64(v)
		}
		opt, err := NewAdam(NewEngine(3), []*Param{p}, AdamConfig{WeightDecay: wd})
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, n)
		for step := 0; step < 20; step++ {
			for i := range g {
				g[i] = r.Float64()*2 - 1
				if i%7 == 0 {
					g[i] *= 1e-4 // small gradients exercise eps
				}
				p.Grad[i] = float32(g[i])
			}
			opt.Step()
			ref.step(th, g)
		}
		for i, v := range p.Data {
			if math.Abs(float64(v)-th[i]) > 1e-6 {
				t.Fatalf("wd %v: param %d = %v, reference %v", wd, i, v, th[i])
			}
		}
		if opt.Steps() != 20 {
			t.Errorf("Steps() = %d", opt.Steps())
		}
	}
	// First step with a constant gradient moves by lr·g/|g| (the bias
	// corrections cancel): 1 - 0.1 with lr 0.1.
	p := NewParam("w", 1)
	p.Data[0], p.Grad[0] = 1, 0.5
	opt, _ := NewAdam(NewEngine(1), []*Param{p}, AdamConfig{LR: 0.1})
	opt.Step()
	if math.Abs(float64(p.Data[0])-0.9) > 1e-7 {
		t.Errorf("after one step: %v, want 0.9", p.Data[0])
	}
	if _, err := NewAdam(NewEngine(1), nil, AdamConfig{Beta1: 1}); err == nil {
		t.Error("no error for beta1 = 1")
	}
}

// TestAdamSameForAnyThreadCount updates parameters smaller and larger than
// a segment of Step's parallel region with 1 and 3 threads: the weights
// must be bit-identical.
func TestAdamSameForAnyThreadCount(t *testing.T) {
	run := func(threads int) [][]float32 {
		r := randPCG(5)
		var params []*Param
		for i, n := range []int{3, 2*adamSegmentLen + 7, adamSegmentLen, 100} {
			p := NewParam(fmt.Sprint("p", i), n)
			Uniform(r, p.Tensor, -1, 1)
			params = append(params, p)
		}
		opt, err := NewAdam(NewEngine(threads), params, AdamConfig{LR: 1e-2, WeightDecay: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			for _, p := range params {
				Uniform(r, &Tensor{Shape: p.Shape, Data: p.Grad}, -1, 1)
			}
			opt.Step()
		}
		var out [][]float32
		for _, p := range params {
			out = append(out, slices.Clone(p.Data))
		}
		return out
	}
	one, three := run(1), run(3)
	for i := range one {
		if !slices.Equal(one[i], three[i]) {
			t.Errorf("parameter %d differs between 1 and 3 threads", i)
		}
	}
	segs := segments([]*Param{NewParam("a", 2*adamSegmentLen+7), NewParam("b", 1)})
	want := []adamSegment{{0, 0, adamSegmentLen}, {0, adamSegmentLen, 2 * adamSegmentLen}, {0, 2 * adamSegmentLen, 2*adamSegmentLen + 7}, {1, 0, 1}}
	if !slices.Equal(segs, want) {
		t.Errorf("segments %v, want %v", segs, want)
	}
}

func TestInit(t *testing.T) {
	r := testRand()
	lin := must(NewLinear(r, "fc", 25, 400, true))
	checkUniform(t, "Linear weight", lin.Weight.Data, 1/math.Sqrt(25))
	checkUniform(t, "Linear bias", lin.Bias.Data, 1/math.Sqrt(25))
	conv, _ := NewConv1D(r, "conv", 18, 300, 3, 1)
	checkUniform(t, "Conv1d weight", conv.Weight.Data, 1/math.Sqrt(54))
	w := New(512, 64)
	if err := XavierUniform(r, w, 1); err != nil {
		t.Fatal(err)
	}
	checkUniform(t, "xavier", w.Data, math.Sqrt(6.0/576))
	if err := KaimingUniform(r, w, 0); err != nil {
		t.Fatal(err)
	}
	checkUniform(t, "kaiming a=0", w.Data, math.Sqrt(6.0/64))
	if _, _, err := Fans([]int{3}); err == nil {
		t.Error("no error for fans of a 1-d tensor")
	}
	if in, out, _ := Fans([]int{3, 18, 3}); in != 54 || out != 9 {
		t.Errorf("fans of [3 18 3] = %d, %d", in, out)
	}
	// Same seed, same values.
	a := must(NewLinear(randPCG(9), "a", 4, 4, true))
	b := must(NewLinear(randPCG(9), "b", 4, 4, true))
	for i := range a.Weight.Data {
		if a.Weight.Data[i] != b.Weight.Data[i] {
			t.Fatal("init not deterministic for a seed")
		}
	}
}

// checkUniform checks that xs look like U(-bound, bound): inside the
// bounds, reaching close to them, with the uniform variance bound²/3.
func checkUniform(t *testing.T, name string, xs []float32, bound float64) {
	t.Helper()
	var maxAbs, ss float64
	for _, v := range xs {
		maxAbs = max(maxAbs, math.Abs(float64(v)))
		ss += float64(v) * float64(v)
	}
	if maxAbs > bound || maxAbs < 0.9*bound {
		t.Errorf("%s: max |x| = %v, bound %v", name, maxAbs, bound)
	}
	if v, want := ss/float64(len(xs)), bound*bound/3; math.Abs(v-want) > 0.15*want {
		t.Errorf("%s: variance %v, want %v", name, v, want)
	}
}
