package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CellKind selects the recurrence of a Cell.
type CellKind int

const (
	// RNNTanh is h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (torch.nn.RNN).
	RNNTanh CellKind = iota
	// RNNReLU is the same with ReLU (nonlinearity="relu").
	RNNReLU
	// LSTM is torch.nn.LSTM's cell, gates stacked i, f, g, o.
	LSTM
	// GRU is torch.nn.GRU's cell, gates stacked r, z, n.
	GRU
)

func (k CellKind) gates() int {
	switch k {
	case LSTM:
		return 4
	case GRU:
		return 3
	}
	return 1
}

func (k CellKind) String() string {
	switch k {
	case RNNTanh:
		return "RNN_TANH"
	case RNNReLU:
		return "RNN_RELU"
	case LSTM:
		return "LSTM"
	case GRU:
		return "GRU"
	}
	return fmt.Sprintf("CellKind(%d)", int(k))
}

// Cell is one recurrent layer's weights with PyTorch's layout: W_ih
// [gates·H, in], W_hh [gates·H, H], b_ih and b_hh [gates·H], the gate
// blocks stacked in PyTorch's order
// (https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html,
// https://pytorch.org/docs/stable/generated/torch.nn.GRU.html).
type Cell struct {
	Kind                               CellKind
	Hidden                             int
	WeightIH, WeightHH, BiasIH, BiasHH *Param
}

// NewCell returns a cell whose parameters are named
// name.weight_ih<suffix>, name.weight_hh<suffix>, name.bias_ih<suffix>,
// name.bias_hh<suffix> (suffix "" for torch.nn.RNNCell and friends, "_l0"
// for layer 0 of torch.nn.RNN), all drawn from U(±1/√hidden) in that order
// as RNNBase.reset_parameters does.
func NewCell(rng *rand.Rand, name, suffix string, kind CellKind, in, hidden int) (*Cell, error) {
	if in < 1 || hidden < 1 {
		return nil, fmt.Errorf("nn: %v cell %s: input size %d and hidden size %d must be positive", kind, name, in, hidden)
	}
	if kind < RNNTanh || kind > GRU {
		return nil, fmt.Errorf("nn: unknown cell kind %d", int(kind))
	}
	g := kind.gates() * hidden
	c := &Cell{
		Kind:     kind,
		Hidden:   hidden,
		WeightIH: NewParam(join(name, "weight_ih"+suffix), g, in),
		WeightHH: NewParam(join(name, "weight_hh"+suffix), g, hidden),
		BiasIH:   NewParam(join(name, "bias_ih"+suffix), g),
		BiasHH:   NewParam(join(name, "bias_hh"+suffix), g),
	}
	bound := 1 / math.Sqrt(float64(hidden))
	for _, p := range c.Params() {
		Uniform(rng, p.Tensor, -bound, bound)
	}
	return c, nil
}

// Params returns W_ih, W_hh, b_ih, b_hh (PyTorch's order).
func (c *Cell) Params() []*Param {
	return []*Param{c.WeightIH, c.WeightHH, c.BiasIH, c.BiasHH}
}

// Step advances the cell by one time step. x is [B, in], h is [B, H] (nil
// means zeros) and, for LSTM, cst is the cell state [B, H] (nil means
// zeros; ignored by other kinds). It returns the new hidden state and, for
// LSTM, the new cell state (nil otherwise).
func (c *Cell) Step(tp *Tape, x, h, cst *Tensor) (hNew, cNew *Tensor) {
	gi := tp.LinearOp(x, c.WeightIH.Tensor, c.BiasIH.Tensor)
	return c.stepProjected(tp, gi, h, cst)
}

// stepProjected is Step with the input projection W_ih x + b_ih already
// computed (gi [B, gates·H]); RNN.Forward computes it for all steps at once.
func (c *Cell) stepProjected(tp *Tape, gi, h, cst *Tensor) (hNew, cNew *Tensor) {
	H := c.Hidden
	batch := gi.Shape[0]
	if h == nil {
		h = tp.newTensor(batch, H)
	}
	whh, bhh := c.WeightHH.Tensor, c.BiasHH.Tensor
	gate := func(i int) *Tensor { // W_hh h + b_hh, rows of gate i
		return tp.linearRows(h, whh, bhh, i*H, (i+1)*H)
	}
	in := func(i int) *Tensor { return tp.Slice(gi, 1, i*H, (i+1)*H) }
	switch c.Kind {
	case RNNTanh:
		return tp.Tanh(tp.Add(gi, gate(0))), nil
	case RNNReLU:
		return tp.ReLU(tp.Add(gi, gate(0))), nil
	case LSTM:
		// i = σ(.), f = σ(.), g = tanh(.), o = σ(.);
		// c' = f⊙c + i⊙g, h' = o⊙tanh(c').
		if cst == nil {
			cst = tp.newTensor(batch, H)
		}
		ig := tp.Sigmoid(tp.Add(in(0), gate(0)))
		fg := tp.Sigmoid(tp.Add(in(1), gate(1)))
		gg := tp.Tanh(tp.Add(in(2), gate(2)))
		og := tp.Sigmoid(tp.Add(in(3), gate(3)))
		cNew = tp.Add(tp.Mul(fg, cst), tp.Mul(ig, gg))
		return tp.Mul(og, tp.Tanh(cNew)), cNew
	case GRU:
		// r = σ(.), z = σ(.), n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)),
		// h' = (1-z)⊙n + z⊙h.
		r := tp.Sigmoid(tp.Add(in(0), gate(0)))
		z := tp.Sigmoid(tp.Add(in(1), gate(1)))
		n := tp.Tanh(tp.Add(in(2), tp.Mul(r, gate(2))))
		oneMinusZ := tp.AddScalar(tp.Scale(z, -1), 1)
		return tp.Add(tp.Mul(oneMinusZ, n), tp.Mul(z, h)), nil
	}
	panic(fmt.Sprintf("nn: unknown cell kind %d", int(c.Kind)))
}

// RNN is a stack of recurrent layers over batch-first sequences, like
// torch.nn.RNN / LSTM / GRU with batch_first=True, zero initial state and
// no inter-layer dropout. Layer l's parameters are named
// name.weight_ih_l<l> and so on.
type RNN struct {
	Layers []*Cell
}

// NewRNN returns a layers-deep recurrent network; layer 0 takes in
// features, the others take hidden.
func NewRNN(rng *rand.Rand, name string, kind CellKind, in, hidden, layers int) (*RNN, error) {
	if layers < 1 {
		return nil, fmt.Errorf("nn: RNN %s needs at least one layer, got %d", name, layers)
	}
	r := &RNN{}
	for l := 0; l < layers; l++ {
		c, err := NewCell(rng, name, fmt.Sprintf("_l%d", l), kind, in, hidden)
		if err != nil {
			return nil, err
		}
		r.Layers = append(r.Layers, c)
		in = hidden
	}
	return r, nil
}

// Params returns every layer's parameters in order.
func (r *RNN) Params() []*Param {
	var ps []*Param
	for _, c := range r.Layers {
		ps = append(ps, c.Params()...)
	}
	return ps
}

// Forward runs x [B, T, in] through all layers from a zero state. It
// returns the last layer's outputs [B, T, H] and each layer's final hidden
// state [B, H] (torch's h_n; for BlockRNN, hidden[-1] is the last one).
func (r *RNN) Forward(tp *Tape, x *Tensor) (out *Tensor, hN []*Tensor) {
	if x.Dims() != 3 {
		panic(fmt.Sprintf("nn: RNN needs a [batch, time, features] input, got %v", x.Shape))
	}
	T := x.Shape[1]
	if T < 1 {
		panic(fmt.Sprintf("nn: RNN input %v has no time steps", x.Shape))
	}
	for _, c := range r.Layers {
		// The input projection of every step in one GEMM.
		proj := tp.LinearOp(x, c.WeightIH.Tensor, c.BiasIH.Tensor)
		var h, cst *Tensor
		steps := make([]*Tensor, T)
		for t := 0; t < T; t++ {
			h, cst = c.stepProjected(tp, tp.Select(proj, 1, t), h, cst)
			steps[t] = h
		}
		hN = append(hN, h)
		x = tp.Stack(1, steps...)
	}
	return x, hN
}
