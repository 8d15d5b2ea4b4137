package neural

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/prevoir/prevoir/nn"
)

// torchCase is one network with its weights, an input batch and PyTorch's output for it
// (testdata/torch_forward.json, made by testdata/torch_forward.py from the modules of
// shared/bench/torch_reference.py).
type torchCase struct {
	Config      Config               `json:"config"`
	Params      map[string][]float32 `json:"params"`
	Input       []float32            `json:"input"` // [batch, InputLen, InputSize]
	Batch       int                  `json:"batch"`
	TorchOutput []float64            `json:"torch_output"` // [batch, targetLen], eval mode
	// TorchGrads are the gradients of the MSE between the output and linspace(0, 1).
	TorchGrads map[string][]float64 `json:"torch_grads"`
}

func torchCaseConfigs() []Config {
	var cs []Config
	for _, a := range Archs() {
		c := config(a, 5)
		if a == Transformer { // small but with every part: 2+2 layers, 2 heads
			c.DModel, c.Heads, c.EncoderLayers, c.DecoderLayers, c.FF = 8, 2, 2, 2, 16
		}
		cs = append(cs, c)
	}
	return cs
}

// TestWriteTorchCases writes the cases' weights and inputs for torch_forward.py when
// PREVOIR_WRITE_TORCH_CASES names a file.
func TestWriteTorchCases(t *testing.T) {
	path := os.Getenv("PREVOIR_WRITE_TORCH_CASES")
	if path == "" {
		t.Skip("set PREVOIR_WRITE_TORCH_CASES=file to write the cases for testdata/torch_forward.py")
	}
	r := rand.New(rand.NewPCG(11, 12))
	var cases []torchCase
	for i, c := range torchCaseConfigs() {
		m, err := newModel(c, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		tc := torchCase{Config: c, Params: map[string][]float32{}, Batch: 3}
		for _, p := range m.Params() {
			if c.Arch == Transformer { // non-trivial norms and biases
				if p.Dims() == 1 {
					nn.Uniform(r, p.Tensor, -0.5, 1)
				}
			}
			tc.Params[p.Name] = p.Data
		}
		tc.Input = make([]float32, tc.Batch*c.InputLen*c.InputSize)
		for j := range tc.Input {
			tc.Input[j] = float32(r.Float64())
		}
		cases = append(cases, tc)
	}
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestForwardMatchesTorch loads the weights of each case into the network and compares its
// outputs and gradients with PyTorch's (evaluation mode): the networks are the same
// functions as the reference's modules.
func TestForwardMatchesTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/torch_forward.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []torchCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != len(Archs()) {
		t.Fatalf("%d cases, want %d", len(cases), len(Archs()))
	}
	for _, tc := range cases {
		m, err := newModel(tc.Config, 99)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			v, ok := tc.Params[p.Name]
			if !ok || len(v) != p.Len() {
				t.Fatalf("%s: parameter %s missing or of the wrong size in the case", tc.Config.Arch, p.Name)
			}
			copy(p.Data, v)
		}
		if len(tc.Params) != len(m.Params()) {
			t.Fatalf("%s: case has %d parameters, model %d", tc.Config.Arch, len(tc.Params), len(m.Params()))
		}
		tp := nn.NewTape(nn.NewEngine(2), nil)
		tp.SetTraining(false)
		x, err := nn.FromSlice(tc.Input, tc.Batch, tc.Config.InputLen, tc.Config.InputSize)
		if err != nil {
			t.Fatal(err)
		}
		out := m.net.forward(tp, x)
		y := nn.New(out.Shape...)
		for i := range y.Data {
			y.Data[i] = float32(float64(i) / float64(len(y.Data)-1))
		}
		loss, err := tp.MSE(out, y)
		if err != nil {
			t.Fatal(err)
		}
		nn.ZeroGrad(m.Params())
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			want := tc.TorchGrads[p.Name]
			scale := 0.0
			for _, g := range want {
				scale = max(scale, math.Abs(g))
			}
			for i, g := range p.Grad {
				if d := math.Abs(float64(g) - want[i]); d > 1e-5+1e-3*scale {
					t.Errorf("%s: gradient of %s[%d] = %g, PyTorch %g", tc.Config.Arch, p.Name, i, g, want[i])
					break
				}
			}
		}
		if len(out.Data) != len(tc.TorchOutput) {
			t.Fatalf("%s: %d outputs, torch %d", tc.Config.Arch, len(out.Data), len(tc.TorchOutput))
		}
		worst := 0.0
		for i, v := range out.Data {
			worst = max(worst, math.Abs(float64(v)-tc.TorchOutput[i]))
		}
		t.Logf("%s: largest difference from PyTorch %.3g", tc.Config.Arch, worst)
		if worst > 2e-5 {
			t.Errorf("%s: output differs from PyTorch's by up to %.3g", tc.Config.Arch, worst)
		}
	}
}
