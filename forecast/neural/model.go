package neural

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/prevoir/prevoir/nn"
)

// Model is a network with what it needs to forecast: its configuration, the names of its
// input columns and the scaler fitted to its training data. Train returns one; Load reads
// one from a model file. A Model is not safe for concurrent use.
type Model struct {
	cfg    Config
	names  []string
	scaler *Scaler
	net    network
	params []*nn.Param
}

// newModel builds an untrained network for a validated configuration, its initial
// parameters drawn from a random source seeded with seed.
func newModel(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	net, err := newNetwork(rand.New(rand.NewPCG(seed, streamInit)), cfg)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, net: net, params: net.params()}
	if err := nn.CheckUniqueNames(m.params); err != nil {
		return nil, err
	}
	return m, nil
}

// Random streams derived from a seed: PCG(seed, stream). Initialisation, shuffling and
// dropout draw from separate streams, as the reference seeds torch's global generator
// (initialisation, dropout) and a DataLoader generator (shuffling) separately.
const (
	streamInit    = 0x696e6974 // "init"
	streamShuffle = 0x73687566 // "shuf"
	streamDropout = 0x64726f70 // "drop"
)

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Features returns the names of the input columns, target first.
func (m *Model) Features() []string { return slices.Clone(m.names) }

// Scaler returns a copy of the scaler fitted to the training data.
func (m *Model) Scaler() Scaler {
	return Scaler{Min: slices.Clone(m.scaler.Min), Range: slices.Clone(m.scaler.Range)}
}

// NumParams is the number of trainable parameters.
func (m *Model) NumParams() int { return nn.CountParams(m.params) }

// Params returns the parameters, named and ordered as the PyTorch module's state_dict.
// They are the model's own: changing them changes the model.
func (m *Model) Params() []*nn.Param { return m.params }

// Forecast returns the OutputLen-day forecast that follows input, the last InputLen rows of
// the series in the model's units (target first, then the covariates, as Features), in the
// target's units: the network's output inverse-scaled, not clipped.
func (m *Model) Forecast(input [][]float64) ([]float64, error) {
	x, err := m.scaleInput(input)
	if err != nil {
		return nil, err
	}
	out := m.forwardEval(x, 1)
	fc := make([]float64, m.cfg.OutputLen)
	for i := range fc {
		fc[i] = m.scaler.inverseTarget(float64(out[i]))
	}
	return fc, nil
}

// Predict is Forecast clipped at 0: deaths are never negative.
func (m *Model) Predict(input [][]float64) ([]float64, error) {
	fc, err := m.Forecast(input)
	for i, v := range fc {
		fc[i] = max(v, 0)
	}
	return fc, err
}

// scaleInput checks and scales one input window.
func (m *Model) scaleInput(input [][]float64) ([]float32, error) {
	if m.scaler == nil {
		return nil, fmt.Errorf("neural: %s model has no scaler (not trained)", m.cfg.Arch)
	}
	if len(input) != m.cfg.InputLen {
		return nil, fmt.Errorf("neural: %s model reads %d days, got %d", m.cfg.Arch, m.cfg.InputLen, len(input))
	}
	d := &Dataset{Names: m.names, Rows: input}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return m.scaler.transform(input), nil
}

// forwardEval runs the network in evaluation mode (dropout off, no gradients) on a batch of
// scaled windows and returns the last OutputLen outputs of each, [batch·OutputLen].
func (m *Model) forwardEval(x []float32, batch int) []float32 {
	return m.evalOn(nn.NewInferenceTape(nn.NewEngine(1)), x, batch)
}

func (m *Model) evalOn(tp *nn.Tape, x []float32, batch int) []float32 {
	c := m.cfg
	in, err := nn.FromSlice(x, batch, c.InputLen, c.InputSize)
	if err != nil {
		panic(err) // sizes come from the model's own configuration
	}
	out := m.net.forward(tp, in)
	tl := c.targetLen()
	res := make([]float32, 0, batch*c.OutputLen)
	for b := range batch {
		res = append(res, out.Data[b*tl+tl-c.OutputLen:(b+1)*tl]...)
	}
	tp.Reset()
	return res
}

// Layer describes one module of the network: its PyTorch name, type, and its own
// parameters' shapes (as the reference's "layers" list).
type Layer struct {
	Module string           `json:"module"`
	Type   string           `json:"type"`
	Params map[string][]int `json:"params"`
	Count  int              `json:"count"`
}

// Layers lists the modules that own parameters, in parameter order.
func (m *Model) Layers() []Layer {
	var ls []Layer
	for _, p := range m.params {
		i := strings.LastIndexByte(p.Name, '.')
		mod, name := p.Name[:max(i, 0)], p.Name[i+1:]
		if len(ls) == 0 || ls[len(ls)-1].Module != mod {
			ls = append(ls, Layer{Module: mod, Params: map[string][]int{}})
		}
		l := &ls[len(ls)-1]
		l.Params[name] = slices.Clone(p.Shape)
		l.Count += p.Len()
	}
	for i := range ls {
		ls[i].Type = moduleType(m.cfg.Arch, ls[i])
	}
	return ls
}

func moduleType(a Arch, l Layer) string {
	switch {
	case l.Params["in_proj_weight"] != nil:
		return "MultiheadAttention"
	case l.Params["weight_ih_l0"] != nil:
		return map[Arch]string{RNN: "RNN", LSTM: "LSTM", GRU: "GRU"}[a]
	case len(l.Params["weight"]) == 3:
		return "Conv1d"
	case strings.HasSuffix(l.Module, "out_proj"):
		return "NonDynamicallyQuantizableLinear"
	case len(l.Params["weight"]) == 1:
		return "LayerNorm"
	}
	return "Linear"
}
