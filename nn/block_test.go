package nn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// encoderLayer is torch.nn.TransformerEncoderLayer (post-norm, ReLU),
// assembled from the package's building blocks the way the Transformer
// model will be:
//
//	x = norm1(x + drop(MHA(x, x, x)))
//	x = norm2(x + drop(linear2(drop(relu(linear1(x))))))
type encoderLayer struct {
	attn         *MultiheadAttention
	lin1, lin2   *Linear
	norm1, norm2 *LayerNorm
	p            float64
}

func newEncoderLayer(r *rand.Rand, name string, e, heads, ff int, p float64) *encoderLayer {
	attn, err := NewMultiheadAttention(r, join(name, "self_attn"), e, heads, p)
	if err != nil {
		panic(err)
	}
	return &encoderLayer{
		attn:  attn,
		lin1:  must(NewLinear(r, join(name, "linear1"), e, ff, true)),
		lin2:  must(NewLinear(r, join(name, "linear2"), ff, e, true)),
		norm1: must(NewLayerNorm(join(name, "norm1"), e, 1e-5)),
		norm2: must(NewLayerNorm(join(name, "norm2"), e, 1e-5)),
		p:     p,
	}
}

func (l *encoderLayer) Params() []*Param {
	var ps []*Param
	for _, m := range []Module{l.attn, l.lin1, l.lin2, l.norm1, l.norm2} {
		ps = append(ps, m.Params()...)
	}
	return ps
}

func (l *encoderLayer) forward(tp *Tape, x *Tensor) *Tensor {
	a := l.attn.Forward(tp, x, x, x)
	x = l.norm1.Forward(tp, tp.Add(x, tp.Dropout(a, l.p)))
	f := l.lin2.Forward(tp, tp.Dropout(tp.ReLU(l.lin1.Forward(tp, x)), l.p))
	return l.norm2.Forward(tp, tp.Add(x, tp.Dropout(f, l.p)))
}

func TestEncoderBlockGrad(t *testing.T) {
	r := testRand()
	l := newEncoderLayer(r, "enc", 8, 2, 16, 0.1)
	// Non-trivial norms and attention biases.
	for _, p := range []*Param{l.norm1.Weight, l.norm2.Weight} {
		Uniform(r, p.Tensor, 0.5, 1.5)
	}
	for _, p := range []*Param{l.norm1.Bias, l.norm2.Bias, l.attn.InProjBias, l.attn.OutProj.Bias} {
		Uniform(r, p.Tensor, -0.3, 0.3)
	}
	x := randTensor(r, 0, 2, 3, 8)
	pe := PositionalEncoding(3, 8)
	embed := must(NewLinear(r, "encoder", 5, 8, true))
	src := randTensor(r, 0, 2, 3, 5)
	inputs := append([]*Tensor{x, src}, tensorsOf(append(l.Params(), embed.Params()...))...)
	// A smaller step than the default: with eps 1e-2 a perturbation moves
	// some of the 96 ReLU inputs across 0, where the function has a kink.
	o := defaultGC()
	o.eps = 1e-3
	gradCheckWith(t, o, "encoder layer", inputs, func(tp *Tape) *Tensor {
		// Embedding as in the Transformer: Linear, scale, positional
		// encoding, dropout; then the layer, and a cross-attention read of
		// its output as the decoder does.
		h := tp.Dropout(tp.Add(tp.Scale(embed.Forward(tp, src), 2.2), pe), 0.1)
		mem := l.forward(tp, h)
		q := tp.Slice(x, 1, 2, 3)
		return tp.Concat(1, mem, l.attn.Forward(tp, q, mem, mem))
	})
}

// Transformer-sized layers have the parameter counts of the reference
// (README: 83008 per encoder layer, 99776 per decoder layer).
func TestTransformerLayerParamCounts(t *testing.T) {
	r := testRand()
	enc := newEncoderLayer(r, "transformer.encoder.layers.0", 64, 4, 512, 0.1)
	if n := CountParams(enc.Params()); n != 83008 {
		t.Errorf("encoder layer: %d parameters, want 83008", n)
	}
	cross, _ := NewMultiheadAttention(r, "multihead_attn", 64, 4, 0.1)
	norm3 := must(NewLayerNorm("norm3", 64, 1e-5))
	if n := CountParams(enc.Params()) + CountParams(cross.Params()) + CountParams(norm3.Params()); n != 99776 {
		t.Errorf("decoder layer: %d parameters, want 99776", n)
	}
	if err := CheckUniqueNames(enc.Params()); err != nil {
		t.Error(err)
	}
}

// TestDeterministicAcrossThreads runs a Transformer-sized encoder layer
// forward and backward with 1, 2 and 3 threads: outputs and gradients must
// be bit-identical.
func TestDeterministicAcrossThreads(t *testing.T) {
	run := func(threads int) ([]float32, [][]float32) {
		r := randPCG(42)
		l := newEncoderLayer(r, "enc", 64, 4, 512, 0.1)
		x := New(32, 14, 64)
		Uniform(r, x, -1, 1)
		tp := NewTape(NewEngine(threads), randPCG(7))
		y := l.forward(tp, x)
		loss, err := tp.MSE(y, New(y.Shape...))
		if err != nil {
			t.Fatal(err)
		}
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		var grads [][]float32
		for _, p := range l.Params() {
			grads = append(grads, slices.Clone(p.Grad))
		}
		return slices.Clone(y.Data), grads
	}
	y1, g1 := run(1)
	for _, threads := range []int{2, 3} {
		y, g := run(threads)
		if !slices.Equal(y1, y) {
			t.Errorf("forward differs between 1 and %d threads", threads)
		}
		for i := range g1 {
			if !slices.Equal(g1[i], g[i]) {
				t.Errorf("gradient %d differs between 1 and %d threads", i, threads)
			}
		}
	}
}

// TestTransformerTrainingSameForAnyThreadCount trains the Transformer-shaped
// network (the reference's shapes, so that the split GEMMs, LayerNorms,
// elementwise ops, gradient clears and Adam segments all go parallel) for
// a few Adam steps with 1, 2 and 3 threads: every loss and every weight
// must be bit-identical.
func TestTransformerTrainingSameForAnyThreadCount(t *testing.T) {
	run := func(threads int) ([]float32, [][]float32) {
		m := newTransformerSketch(randPCG(1))
		x, y := New(32, 14, 18), New(32, 14)
		Uniform(randPCG(3), x, 0, 1)
		Uniform(randPCG(4), y, 0, 1)
		eng := NewEngine(threads)
		defer eng.Close()
		opt, err := NewAdam(eng, m.params, AdamConfig{LR: 1e-2, WeightDecay: 1e-3})
		if err != nil {
			t.Fatal(err)
		}
		tp := NewTape(eng, randPCG(2))
		var losses []float32
		for range 3 {
			ZeroGrad(m.params)
			loss, err := tp.MSE(m.forward(tp, x), y)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, loss.Data[0])
			if err := tp.Backward(loss); err != nil {
				t.Fatal(err)
			}
			opt.Step()
			tp.Reset()
		}
		var weights [][]float32
		for _, p := range m.params {
			weights = append(weights, slices.Clone(p.Data))
		}
		return losses, weights
	}
	l1, w1 := run(1)
	if !(l1[2] < l1[0]) {
		t.Fatalf("losses %v: training did not move", l1)
	}
	for _, threads := range []int{2, 3} {
		l, w := run(threads)
		if !slices.Equal(l1, l) {
			t.Errorf("losses with %d threads %v, with 1 %v", threads, l, l1)
		}
		for i := range w1 {
			if !slices.Equal(w1[i], w[i]) {
				t.Errorf("weights of parameter %d differ between 1 and %d threads", i, threads)
			}
		}
	}
}

// TestTrainingReducesLoss fits a small regression with Adam through a tape
// reused with Reset, as a training loop does.
func TestTrainingReducesLoss(t *testing.T) {
	r := testRand()
	eng := NewEngine(2)
	l1 := must(NewLinear(r, "l1", 4, 16, true))
	l2 := must(NewLinear(r, "l2", 16, 1, true))
	params := append(l1.Params(), l2.Params()...)
	opt, _ := NewAdam(eng, params, AdamConfig{LR: 1e-2})
	x := New(64, 4)
	Uniform(r, x, -1, 1)
	y := New(64, 1)
	for i := range y.Data {
		y.Data[i] = x.Data[i*4] * x.Data[i*4+1]
	}
	tp := NewTape(eng, r)
	var first, last float32
	for step := 0; step < 300; step++ {
		ZeroGrad(params)
		loss, _ := tp.MSE(l2.Forward(tp, tp.Tanh(l1.Forward(tp, x))), y)
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		opt.Step()
		if step == 0 {
			first = loss.Data[0]
		}
		last = loss.Data[0]
		tp.Reset()
	}
	if last > first/5 {
		t.Errorf("loss went from %v to %v", first, last)
	}
}
