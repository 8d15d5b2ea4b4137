package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// decoderLayer is torch.nn.TransformerDecoderLayer (post-norm), built from
// the package's blocks for benchmarking.
type decoderLayer struct {
	self, cross *MultiheadAttention
	ff          *encoderLayer // reuses lin1, lin2, norm1, norm2
	norm3       *LayerNorm
}

func newDecoderLayer(r *rand.Rand, e, heads, ff int, p float64) *decoderLayer {
	d := &decoderLayer{ff: newEncoderLayer(r, "dec", e, heads, ff, p), norm3: must(NewLayerNorm("norm3", e, 1e-5))}
	d.self = d.ff.attn
	d.cross, _ = NewMultiheadAttention(r, "cross", e, heads, p)
	return d
}

func (d *decoderLayer) forward(tp *Tape, y, mem *Tensor) *Tensor {
	l, p := d.ff, d.ff.p
	y = l.norm1.Forward(tp, tp.Add(y, tp.Dropout(d.self.Forward(tp, y, y, y), p)))
	y = l.norm2.Forward(tp, tp.Add(y, tp.Dropout(d.cross.Forward(tp, y, mem, mem), p)))
	f := l.lin2.Forward(tp, tp.Dropout(tp.ReLU(l.lin1.Forward(tp, y)), p))
	return d.norm3.Forward(tp, tp.Add(y, tp.Dropout(f, p)))
}

func (d *decoderLayer) Params() []*Param {
	return append(append(d.ff.Params(), d.cross.Params()...), d.norm3.Params()...)
}

// transformerSketch has the Transformer reference's shape and cost
// (550734 parameters; 3 encoder + 3 decoder layers, d_model 64, 4 heads, ff
// 512, one decoder token) without being the model itself.
type transformerSketch struct {
	embed, head *Linear
	enc         []*encoderLayer
	dec         []*decoderLayer
	encN, decN  *LayerNorm
	pe          *Tensor
	params      []*Param
}

func newTransformerSketch(r *rand.Rand) *transformerSketch {
	m := &transformerSketch{embed: must(NewLinear(r, "encoder", 18, 64, true)), pe: PositionalEncoding(14, 64)}
	for i := 0; i < 3; i++ {
		m.enc = append(m.enc, newEncoderLayer(r, "enc", 64, 4, 512, 0.1))
	}
	for i := 0; i < 3; i++ {
		m.dec = append(m.dec, newDecoderLayer(r, 64, 4, 512, 0.1))
	}
	m.encN, m.decN = must(NewLayerNorm("en", 64, 1e-5)), must(NewLayerNorm("dn", 64, 1e-5))
	m.head = must(NewLinear(r, "decoder", 64, 14, true))
	m.params = append(m.embed.Params(), m.head.Params()...)
	for _, l := range m.enc {
		m.params = append(m.params, l.Params()...)
	}
	for _, l := range m.dec {
		m.params = append(m.params, l.Params()...)
	}
	m.params = append(append(m.params, m.encN.Params()...), m.decN.Params()...)
	return m
}

func (m *transformerSketch) forward(tp *Tape, x *Tensor) *Tensor {
	b := x.Shape[0]
	src := tp.Dropout(tp.Add(tp.Scale(m.embed.Forward(tp, x), 4.2426), m.pe), 0.1)
	tgt := tp.Reshape(tp.Select(x, 1, 13), b, 1, 18)
	y := tp.Dropout(tp.Add(tp.Scale(m.embed.Forward(tp, tgt), 4.2426), tp.Slice(m.pe, 0, 0, 1)), 0.1)
	for _, l := range m.enc {
		src = l.forward(tp, src)
	}
	mem := m.encN.Forward(tp, src)
	for _, l := range m.dec {
		y = l.forward(tp, y, mem)
	}
	return tp.Reshape(m.head.Forward(tp, m.decN.Forward(tp, y)), b, 14)
}

func TestTransformerSketchParamCount(t *testing.T) {
	m := newTransformerSketch(testRand())
	if n := CountParams(m.params); n != 550734 {
		t.Errorf("%d parameters, want 550734", n)
	}
}

func benchStep(b *testing.B, threads int, build func(r *rand.Rand) ([]*Param, func(tp *Tape) *Tensor), target *Tensor) {
	benchStepOn(b, threads, nil, build, target)
}

// benchStepOn is benchStep with a hook to set up the engine.
func benchStepOn(b *testing.B, threads int, setup func(*Engine), build func(r *rand.Rand) ([]*Param, func(tp *Tape) *Tensor), target *Tensor) {
	r := randPCG(1)
	params, fwd := build(r)
	eng := NewEngine(threads)
	if setup != nil {
		setup(eng)
	}
	opt, err := NewAdam(eng, params, AdamConfig{})
	if err != nil {
		b.Fatal(err)
	}
	tp := NewTape(eng, randPCG(2))
	b.ReportAllocs()
	for b.Loop() {
		ZeroGrad(params)
		loss, err := tp.MSE(fwd(tp), target)
		if err != nil {
			b.Fatal(err)
		}
		if err := tp.Backward(loss); err != nil {
			b.Fatal(err)
		}
		opt.Step()
		tp.Reset()
	}
}

// BenchmarkEncoderLayerStep is one training step (forward, backward, Adam)
// of one Transformer-sized encoder layer on a batch of 32×14 tokens.
func BenchmarkEncoderLayerStep(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(threadName(threads), func(b *testing.B) {
			x := New(32, 14, 64)
			Uniform(randPCG(3), x, -1, 1)
			benchStep(b, threads, func(r *rand.Rand) ([]*Param, func(tp *Tape) *Tensor) {
				l := newEncoderLayer(r, "enc", 64, 4, 512, 0.1)
				return l.Params(), func(tp *Tape) *Tensor { return l.forward(tp, x) }
			}, New(32, 14, 64))
		})
	}
}

// BenchmarkTransformerStep is one training step of a network with the
// reference Transformer's layers and shapes (batch 32, 14 input steps,
// 18 features); PyTorch float32 1 thread: 179.5 s / 2500 steps ≈ 72 ms.
func BenchmarkTransformerStep(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(threadName(threads), func(b *testing.B) {
			x := New(32, 14, 18)
			Uniform(randPCG(3), x, 0, 1)
			benchStep(b, threads, func(r *rand.Rand) ([]*Param, func(tp *Tape) *Tensor) {
				m := newTransformerSketch(r)
				return m.params, func(tp *Tape) *Tensor { return m.forward(tp, x) }
			}, New(32, 14))
		})
	}
}

// BenchmarkTransformerParallelShare reports the share of a 1-thread
// Transformer step spent in work that a 2-thread engine splits between
// its workers (parallel-%), and thus Amdahl's bound on the 2-thread speed-up
// (max-speedup). Unlike wall times on a shared machine, both hardly depend
// on what the other core is doing.
func BenchmarkTransformerParallelShare(b *testing.B) {
	x := New(32, 14, 18)
	Uniform(randPCG(3), x, 0, 1)
	var eng *Engine
	benchStepOn(b, 1, func(e *Engine) { eng = e; e.share = &shareStats{} }, func(r *rand.Rand) ([]*Param, func(tp *Tape) *Tensor) {
		m := newTransformerSketch(r)
		return m.params, func(tp *Tape) *Tensor { return m.forward(tp, x) }
	}, New(32, 14))
	p := eng.share.split.Seconds() / b.Elapsed().Seconds()
	b.ReportMetric(100*p, "parallel-%")
	b.ReportMetric(1/(1-p+p/2), "max-speedup")
	b.ReportMetric(float64(eng.share.regions)/float64(b.N), "regions/op")
}

func threadName(n int) string {
	if n == 1 {
		return "threads=1"
	}
	return "threads=2"
}

// BenchmarkBlockRNNStep is one training step of a network shaped like the
// BlockRNN reference (nn.RNN(18, 25) over 14 steps, Linear(25, 14));
// PyTorch float32 1 thread: 3.0 s / 2500 steps = 1.2 ms.
func BenchmarkBlockRNNStep(b *testing.B) {
	x := New(32, 14, 18)
	Uniform(randPCG(3), x, 0, 1)
	benchStep(b, 1, func(r *rand.Rand) ([]*Param, func(tp *Tape) *Tensor) {
		rnn, err := NewRNN(r, "rnn", RNNTanh, 18, 25, 1)
		if err != nil {
			b.Fatal(err)
		}
		fc := must(NewLinear(r, "fc.0", 25, 14, true))
		return append(rnn.Params(), fc.Params()...), func(tp *Tape) *Tensor {
			_, h := rnn.Forward(tp, x)
			return fc.Forward(tp, h[0])
		}
	}, New(32, 14))
}

// BenchmarkTCNStep is one training step of a network shaped like the TCN
// reference (3 residual blocks of causal dilated Conv1d, k 3, 3 filters,
// dropout 0.2, 15 steps); PyTorch float32 1 thread: 7.2 s / 2500 steps =
// 2.9 ms.
func BenchmarkTCNStep(b *testing.B) {
	x := New(32, 15, 18)
	Uniform(randPCG(3), x, 0, 1)
	benchStep(b, 1, func(r *rand.Rand) ([]*Param, func(tp *Tape) *Tensor) {
		type block struct{ c1, c2, c3 *Conv1D }
		var blocks []block
		var params []*Param
		in := 18
		for i, d := range []int{1, 2, 4} {
			out := 3
			if i == 2 {
				out = 1
			}
			c1, _ := NewConv1D(r, "c1", in, 3, 3, d)
			c2, _ := NewConv1D(r, "c2", 3, out, 3, d)
			var c3 *Conv1D
			if in != out {
				c3, _ = NewConv1D(r, "c3", in, out, 1, 1)
				params = append(params, c3.Params()...)
			}
			params = append(append(params, c1.Params()...), c2.Params()...)
			blocks = append(blocks, block{c1, c2, c3})
			in = out
		}
		return params, func(tp *Tape) *Tensor {
			h := x
			for i, bl := range blocks {
				res := h
				y := tp.Dropout(tp.ReLU(bl.c1.Forward(tp, h)), 0.2)
				y = bl.c2.Forward(tp, y)
				if i < 2 {
					y = tp.ReLU(y)
				}
				y = tp.Dropout(y, 0.2)
				if bl.c3 != nil {
					res = bl.c3.Forward(tp, res)
				}
				h = tp.Add(y, res)
			}
			return tp.Reshape(h, 32, 15)
		}
	}, New(32, 15))
}

// BenchmarkEngineGemm measures the engine's GEMM, which splits C between
// workers, on the Transformer's shapes (m×n×k, N/T = op(A)/op(B)
// transposed), with 1 and 2 threads.
func BenchmarkEngineGemm(b *testing.B) {
	shapes := []struct {
		m, n, k int
		tA, tB  bool
	}{
		{448, 64, 64, false, true}, {448, 512, 64, false, true}, {448, 64, 512, false, true},
		{448, 64, 512, false, false}, {512, 64, 448, true, false}, {448, 192, 64, false, true},
		// the attention projections' backward and the decoder's one-token rows
		{448, 64, 64, false, false}, {64, 64, 448, true, false}, {32, 512, 64, false, true},
	}
	for _, threads := range []int{1, 2} {
		for _, s := range shapes {
			name := fmt.Sprintf("%s/%dx%dx%d_%s%s", threadName(threads), s.m, s.n, s.k, nt(s.tA), nt(s.tB))
			b.Run(name, func(b *testing.B) {
				e := NewEngine(threads)
				r := randPCG(1)
				a, bm, c := New(s.m*s.k), New(s.k*s.n), New(s.m*s.n)
				Uniform(r, a, -1, 1)
				Uniform(r, bm, -1, 1)
				lda, ldb := s.k, s.n
				if s.tA {
					lda = s.m
				}
				if s.tB {
					ldb = s.k
				}
				for b.Loop() {
					e.gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a.Data, lda, bm.Data, ldb, 0, c.Data, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func nt(t bool) string {
	if t {
		return "T"
	}
	return "N"
}
