package nn

import (
	"fmt"
	"math"
	"testing"
)

func TestConv1D(t *testing.T) {
	r := testRand()
	for _, tc := range []struct{ in, out, k, d int }{{4, 3, 3, 1}, {3, 2, 3, 2}, {3, 1, 3, 4}, {5, 2, 1, 1}} {
		c, err := NewConv1D(r, "conv", tc.in, tc.out, tc.k, tc.d)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(r, 0, 2, 9, tc.in)
		name := fmt.Sprintf("Conv1D %+v", tc)
		gradCheck(t, name, []*Tensor{x, c.Weight.Tensor, c.Bias.Tensor}, func(tp *Tape) *Tensor { return c.Forward(tp, x) })

		// Reference: PyTorch's Conv1d on the input left-padded with d·(k-1) zeros.
		tp := NewTape(NewEngine(1), nil)
		y := c.Forward(tp, x)
		pad := tc.d * (tc.k - 1)
		for b := 0; b < 2; b++ {
			for ti := 0; ti < 9; ti++ {
				for o := 0; o < tc.out; o++ {
					s := float64(c.Bias.Data[o])
					for ci := 0; ci < tc.in; ci++ {
						for j := 0; j < tc.k; j++ {
							src := ti + tc.d*j - pad // index into the unpadded input
							if src >= 0 {
								s += float64(c.Weight.Data[(o*tc.in+ci)*tc.k+j]) * float64(x.Data[(b*9+src)*tc.in+ci])
							}
						}
					}
					if got := y.Data[(b*9+ti)*tc.out+o]; math.Abs(float64(got)-s) > 1e-5 {
						t.Fatalf("%s y[%d,%d,%d] = %v, want %v", name, b, ti, o, got, s)
					}
				}
			}
		}
	}
	if _, err := NewConv1D(r, "bad", 3, 3, 3, 0); err == nil {
		t.Error("no error for dilation 0")
	}
}

// refCell computes one step of each cell kind in float64 straight from
// the equations of the PyTorch documentation.
func refCell(c *Cell, x, h, cs []float32, batch, in int) (hn, cn []float64) {
	H := c.Hidden
	G := c.Kind.gates() * H
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	hn = make([]float64, batch*H)
	cn = make([]float64, batch*H)
	for b := 0; b < batch; b++ {
		gi := make([]float64, G)
		gh := make([]float64, G)
		for g := 0; g < G; g++ {
			gi[g] = float64(c.BiasIH.Data[g])
			gh[g] = float64(c.BiasHH.Data[g])
			for i := 0; i < in; i++ {
				gi[g] += float64(c.WeightIH.Data[g*in+i]) * float64(x[b*in+i])
			}
			for i := 0; i < H; i++ {
				gh[g] += float64(c.WeightHH.Data[g*H+i]) * float64(h[b*H+i])
			}
		}
		for j := 0; j < H; j++ {
			hp := float64(h[b*H+j])
			switch c.Kind {
			case RNNTanh:
				hn[b*H+j] = math.Tanh(gi[j] + gh[j])
			case RNNReLU:
				hn[b*H+j] = max(gi[j]+gh[j], 0)
			case LSTM:
				ig := sig(gi[j] + gh[j])
				fg := sig(gi[H+j] + gh[H+j])
				gg := math.Tanh(gi[2*H+j] + gh[2*H+j])
				og := sig(gi[3*H+j] + gh[3*H+j])
				cn[b*H+j] = fg*float64(cs[b*H+j]) + ig*gg
				hn[b*H+j] = og * math.Tanh(cn[b*H+j])
			case GRU:
				rg := sig(gi[j] + gh[j])
				z := sig(gi[H+j] + gh[H+j])
				n := math.Tanh(gi[2*H+j] + rg*gh[2*H+j])
				hn[b*H+j] = (1-z)*n + z*hp
			}
		}
	}
	return hn, cn
}

func TestCells(t *testing.T) {
	r := testRand()
	const batch, in, hidden = 3, 4, 5
	for _, kind := range []CellKind{RNNTanh, RNNReLU, LSTM, GRU} {
		c, err := NewCell(r, "cell", "", kind, in, hidden)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(r, 0, batch, in)
		h := randTensor(r, 0, batch, hidden)
		cs := randTensor(r, 0, batch, hidden)
		inputs := append([]*Tensor{x, h}, tensorsOf(c.Params())...)
		if kind == LSTM {
			inputs = append(inputs, cs)
		}
		gradCheck(t, kind.String()+" h", inputs, func(tp *Tape) *Tensor {
			hn, _ := c.Step(tp, x, h, cs)
			return hn
		})
		if kind == LSTM {
			gradCheck(t, "LSTM c", inputs, func(tp *Tape) *Tensor {
				_, cn := c.Step(tp, x, h, cs)
				return cn
			})
		}
		tp := NewTape(NewEngine(1), nil)
		hn, cn := c.Step(tp, x, h, cs)
		wantH, wantC := refCell(c, x.Data, h.Data, cs.Data, batch, in)
		for i := range wantH {
			if math.Abs(float64(hn.Data[i])-wantH[i]) > 1e-5 {
				t.Fatalf("%v h[%d] = %v, want %v", kind, i, hn.Data[i], wantH[i])
			}
			if kind == LSTM && math.Abs(float64(cn.Data[i])-wantC[i]) > 1e-5 {
				t.Fatalf("LSTM c[%d] = %v, want %v", i, cn.Data[i], wantC[i])
			}
		}
		bound := float32(1 / math.Sqrt(hidden))
		for _, p := range c.Params() {
			for _, v := range p.Data {
				if v < -bound || v > bound {
					t.Fatalf("%s value %v outside ±%v", p.Name, v, bound)
				}
			}
		}
	}
}

func TestRNNSequence(t *testing.T) {
	r := testRand()
	for _, kind := range []CellKind{RNNTanh, LSTM, GRU} {
		rnn, err := NewRNN(r, "rnn", kind, 3, 4, 2)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(r, 0, 2, 5, 3)
		inputs := append([]*Tensor{x}, tensorsOf(rnn.Params())...)
		gradCheck(t, "RNN "+kind.String(), inputs, func(tp *Tape) *Tensor {
			out, hN := rnn.Forward(tp, x)
			return tp.Concat(1, tp.Reshape(out, 2, -1), hN[0], hN[1])
		})
		// The sequence output at the last step is the last layer's h_n.
		tp := NewTape(NewEngine(1), nil)
		out, hN := rnn.Forward(tp, x)
		last := tp.Select(out, 1, 4)
		for i := range last.Data {
			if last.Data[i] != hN[1].Data[i] {
				t.Fatalf("%v: out[:, -1] != h_n[-1]", kind)
			}
		}
	}
	// BlockRNN's recurrent layer: nn.RNN(18, 25) has 1125 parameters named
	// weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0.
	rnn, _ := NewRNN(r, "rnn", RNNTanh, 18, 25, 1)
	if n := CountParams(rnn.Params()); n != 1125 {
		t.Errorf("RNN(18, 25) has %d parameters, want 1125", n)
	}
	if got := rnn.Params()[1].Name; got != "rnn.weight_hh_l0" {
		t.Errorf("name %q", got)
	}
}

func tensorsOf(ps []*Param) []*Tensor {
	ts := make([]*Tensor, len(ps))
	for i, p := range ps {
		ts[i] = p.Tensor
	}
	return ts
}

// refAttention is multi-head attention without dropout, in float64, from
// the definitions (Vaswani et al. 2017, eq. 1 and §3.2.2).
func refAttention(m *MultiheadAttention, q, k, v *Tensor) []float64 {
	e := m.InProjWeight.Shape[1]
	B, Sq, Sk := q.Shape[0], q.Shape[1], k.Shape[1]
	H, dh := m.Heads, e/m.Heads
	proj := func(x *Tensor, block int) []float64 {
		rows := x.Len() / e
		out := make([]float64, rows*e)
		for r := 0; r < rows; r++ {
			for o := 0; o < e; o++ {
				s := float64(m.InProjBias.Data[block*e+o])
				for i := 0; i < e; i++ {
					s += float64(m.InProjWeight.Data[(block*e+o)*e+i]) * float64(x.Data[r*e+i])
				}
				out[r*e+o] = s
			}
		}
		return out
	}
	Q, K, V := proj(q, 0), proj(k, 1), proj(v, 2)
	cat := make([]float64, B*Sq*e)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < Sq; i++ {
				sc := make([]float64, Sk)
				mx := math.Inf(-1)
				for j := 0; j < Sk; j++ {
					for d := 0; d < dh; d++ {
						sc[j] += Q[(b*Sq+i)*e+h*dh+d] * K[(b*Sk+j)*e+h*dh+d]
					}
					sc[j] /= math.Sqrt(float64(dh))
					mx = max(mx, sc[j])
				}
				var z float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					z += sc[j]
				}
				for d := 0; d < dh; d++ {
					var s float64
					for j := 0; j < Sk; j++ {
						s += sc[j] / z * V[(b*Sk+j)*e+h*dh+d]
					}
					cat[(b*Sq+i)*e+h*dh+d] = s
				}
			}
		}
	}
	out := make([]float64, B*Sq*e)
	for r := 0; r < B*Sq; r++ {
		for o := 0; o < e; o++ {
			s := float64(m.OutProj.Bias.Data[o])
			for i := 0; i < e; i++ {
				s += float64(m.OutProj.Weight.Data[o*e+i]) * cat[r*e+i]
			}
			out[r*e+o] = s
		}
	}
	return out
}

func TestMultiheadAttention(t *testing.T) {
	r := testRand()
	m, err := NewMultiheadAttention(r, "attn", 8, 2, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch zeroes the biases; give them values so their gradients and
	// forward role are tested.
	Uniform(r, m.InProjBias.Tensor, -0.5, 0.5)
	Uniform(r, m.OutProj.Bias.Tensor, -0.5, 0.5)
	x := randTensor(r, 0, 2, 4, 8)
	mem := randTensor(r, 0, 2, 3, 8)
	val := randTensor(r, 0, 2, 3, 8)
	ps := tensorsOf(m.Params())
	gradCheck(t, "self-attention", append([]*Tensor{x}, ps...), func(tp *Tape) *Tensor { return m.Forward(tp, x, x, x) })
	gradCheck(t, "cross-attention", append([]*Tensor{x, mem}, ps...), func(tp *Tape) *Tensor { return m.Forward(tp, x, mem, mem) })
	gradCheck(t, "q, k, v distinct", append([]*Tensor{x, mem, val}, ps...), func(tp *Tape) *Tensor { return m.Forward(tp, x, mem, val) })
	one := randTensor(r, 0, 2, 1, 8) // decoder self-attention over one token
	gradCheck(t, "one token", append([]*Tensor{one}, ps...), func(tp *Tape) *Tensor { return m.Forward(tp, one, one, one) })

	tp := NewTape(NewEngine(2), nil)
	tp.SetTraining(false)
	for _, c := range []struct{ q, k, v *Tensor }{{x, x, x}, {x, mem, mem}, {x, mem, val}} {
		got := m.Forward(tp, c.q, c.k, c.v)
		want := refAttention(m, c.q, c.k, c.v)
		for i, w := range want {
			if math.Abs(float64(got.Data[i])-w) > 1e-5 {
				t.Fatalf("attention output %d = %v, want %v", i, got.Data[i], w)
			}
		}
	}
	if _, err := NewMultiheadAttention(r, "bad", 10, 3, 0); err == nil {
		t.Error("no error for embed 10, 3 heads")
	}
}

func TestMultiheadAttentionInit(t *testing.T) {
	m, _ := NewMultiheadAttention(testRand(), "self_attn", 64, 4, 0.1)
	if n := CountParams(m.Params()); n != 16640 {
		t.Errorf("MHA(64, 4) has %d parameters, want 16640", n)
	}
	bound := float32(math.Sqrt(6.0 / 256))
	maxAbs := float32(0)
	for _, v := range m.InProjWeight.Data {
		maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
	}
	if maxAbs > bound || maxAbs < 0.95*bound {
		t.Errorf("in_proj_weight max |w| = %v, want just under %v", maxAbs, bound)
	}
	for _, p := range []*Param{m.InProjBias, m.OutProj.Bias} {
		for _, v := range p.Data {
			if v != 0 {
				t.Fatalf("%s not zero", p.Name)
			}
		}
	}
	want := []string{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias"}
	for i, p := range m.Params() {
		if p.Name != want[i] {
			t.Errorf("param %d named %q, want %q", i, p.Name, want[i])
		}
	}
}

func TestPositionalEncoding(t *testing.T) {
	pe := PositionalEncoding(14, 64)
	if pe.Shape[0] != 14 || pe.Shape[1] != 64 {
		t.Fatalf("shape %v", pe.Shape)
	}
	for _, c := range []struct {
		pos, i int
		want   float64
	}{
		{0, 0, 0}, {0, 1, 1}, {1, 0, math.Sin(1)}, {1, 1, math.Cos(1)},
		{5, 10, math.Sin(5 * math.Pow(10000, -10.0/64))},
		{13, 63, math.Cos(13 * math.Pow(10000, -62.0/64))},
	} {
		if got := pe.Data[c.pos*64+c.i]; math.Abs(float64(got)-c.want) > 1e-6 {
			t.Errorf("pe[%d, %d] = %v, want %v", c.pos, c.i, got, c.want)
		}
	}
	if pe.RequiresGrad() {
		t.Error("positional encoding requires grad")
	}
}
