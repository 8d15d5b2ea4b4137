package neural

import (
	"testing"

	"github.com/prevoir/prevoir/nn"
)

func config(a Arch, inputSize int) Config {
	c := DefaultConfig(a)
	c.InputSize = inputSize
	return c
}

// The parameter counts of the PyTorch reference (shared/bench/README.md), and its layer
// shapes for the TCN.
func TestParamCounts(t *testing.T) {
	for _, tc := range []struct {
		arch Arch
		want int
	}{
		{RNN, 1489},
		{TCN, 356},
		{Transformer, 550734},
		// torch.nn.LSTM / GRU(18, 25) + Linear(25, 14): 4·(25·18 + 25·25 + 50) + 364, 3·(…) + 364.
		{LSTM, 4*(25*18+25*25+50) + 364},
		{GRU, 3*(25*18+25*25+50) + 364},
	} {
		m, err := newModel(config(tc.arch, 18), 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.NumParams(); got != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.arch, got, tc.want)
		}
	}
	m, _ := newModel(config(TCN, 18), 1)
	want := map[string][]int{
		"res_blocks.0.conv1.weight": {3, 18, 3}, "res_blocks.0.conv3.weight": {3, 18, 1},
		"res_blocks.1.conv2.weight": {3, 3, 3}, "res_blocks.2.conv2.weight": {1, 3, 3},
		"res_blocks.2.conv3.weight": {1, 3, 1},
	}
	got := map[string][]int{}
	for _, p := range m.Params() {
		got[p.Name] = p.Shape
	}
	if _, ok := got["res_blocks.1.conv3.weight"]; ok {
		t.Error("block 1 has a residual projection")
	}
	for name, shape := range want {
		if !equalInts(got[name], shape) {
			t.Errorf("%s: shape %v, want %v", name, got[name], shape)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTCNBlocksRule(t *testing.T) {
	for _, tc := range []struct{ inLen, kernel, base, want int }{
		{15, 3, 2, 3}, // ceil(log2(4.5))
		{14, 3, 2, 3},
		{30, 3, 2, 4},
		{15, 3, 1, 4}, // ceil(14/2/2)
	} {
		c := DefaultConfig(TCN)
		c.InputLen, c.Kernel, c.DilationBase = tc.inLen, tc.kernel, tc.base
		if got := c.tcnBlocks(); got != tc.want {
			t.Errorf("L=%d k=%d b=%d: %d blocks, want %d", tc.inLen, tc.kernel, tc.base, got, tc.want)
		}
	}
}

// The Transformer's initialisation: attention biases 0, LayerNorms (1, 0), every layer's
// feed-forward biases equal (torch.nn.Transformer deep-copies its layers), weight matrices
// xavier-uniform and different between layers.
func TestTransformerInit(t *testing.T) {
	m, err := newModel(config(Transformer, 18), 3)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*nn.Param{}
	for _, p := range m.Params() {
		byName[p.Name] = p
	}
	for _, name := range []string{
		"transformer.encoder.layers.0.self_attn.in_proj_bias", "transformer.encoder.layers.2.self_attn.out_proj.bias",
		"transformer.decoder.layers.1.multihead_attn.in_proj_bias", "transformer.decoder.norm.bias",
	} {
		for _, v := range byName[name].Data {
			if v != 0 {
				t.Fatalf("%s has %v, want 0", name, v)
			}
		}
	}
	for _, v := range byName["transformer.encoder.layers.1.norm2.weight"].Data {
		if v != 1 {
			t.Fatalf("norm weight %v, want 1", v)
		}
	}
	b0 := byName["transformer.encoder.layers.0.linear1.bias"].Data
	b2 := byName["transformer.encoder.layers.2.linear1.bias"].Data
	if !equalFloats(b0, b2) || b0[0] == 0 {
		t.Error("encoder layers' linear1 biases should be equal and non-zero (deep copies)")
	}
	w0 := byName["transformer.encoder.layers.0.linear1.weight"]
	w1 := byName["transformer.encoder.layers.1.linear1.weight"]
	if equalFloats(w0.Data, w1.Data) {
		t.Error("linear1 weights of layers 0 and 1 are equal: xavier re-initialisation missing")
	}
	bound := float32(0.10207) // √(6/(64+512)) = 0.102062
	for _, v := range w0.Data {
		if v < -bound || v > bound {
			t.Fatalf("linear1 weight %v outside xavier bound %v", v, bound)
		}
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestForwardShapes(t *testing.T) {
	for _, a := range Archs() {
		c := config(a, 5)
		m, err := newModel(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, training := range []bool{true, false} {
			tp := nn.NewTape(nn.NewEngine(1), testRand())
			tp.SetTraining(training)
			x := nn.New(3, c.InputLen, 5)
			out := m.net.forward(tp, x)
			if !equalInts(out.Shape, []int{3, c.targetLen()}) {
				t.Errorf("%s: output shape %v, want [3 %d]", a, out.Shape, c.targetLen())
			}
		}
	}
}
