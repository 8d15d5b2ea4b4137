package neural

import (
	"fmt"
	"math/rand/v2"

	"github.com/prevoir/prevoir/nn"
)

// blockRNN is Darts' _BlockRNNModule (darts/models/forecasting/block_rnn_model.py, 0.21.0)
// with hidden_fc_sizes=None:
//
//	_, h_n = RNN(x)               # torch.nn.RNN / LSTM / GRU, batch_first, zero initial state
//	y = fc(h_n[-1])               # fc = Sequential(Linear(hidden, output_chunk_length))
//
// The recurrent layers are kept one nn.RNN each so that dropout can sit between them, as
// torch.nn.RNN(num_layers, dropout) applies it to every layer's output but the last
// (https://pytorch.org/docs/stable/generated/torch.nn.RNN.html). Parameters are named
// rnn.weight_ih_l0 … and fc.0.weight, fc.0.bias.
type blockRNN struct {
	layers  []*nn.RNN
	fc      *nn.Linear
	dropout float64
}

func newBlockRNN(rng *rand.Rand, c Config) (*blockRNN, error) {
	kind := map[Arch]nn.CellKind{RNN: nn.RNNTanh, LSTM: nn.LSTM, GRU: nn.GRU}[c.Arch]
	n := &blockRNN{dropout: c.Dropout}
	in := c.InputSize
	// torch's RNNBase.reset_parameters draws every tensor from U(±1/√hidden), layer by
	// layer in the order weight_ih, weight_hh, bias_ih, bias_hh: what NewCell does.
	for l := range c.Layers {
		cell, err := nn.NewCell(rng, "rnn", fmt.Sprintf("_l%d", l), kind, in, c.Hidden)
		if err != nil {
			return nil, err
		}
		n.layers = append(n.layers, &nn.RNN{Layers: []*nn.Cell{cell}})
		in = c.Hidden
	}
	var err error
	if n.fc, err = nn.NewLinear(rng, "fc.0", c.Hidden, c.OutputLen, true); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *blockRNN) forward(tp *nn.Tape, x *nn.Tensor) *nn.Tensor {
	var last *nn.Tensor
	for i, r := range n.layers {
		out, hN := r.Forward(tp, x)
		last = hN[0]
		if i < len(n.layers)-1 {
			x = tp.Dropout(out, n.dropout)
		}
	}
	return n.fc.Forward(tp, last)
}

func (n *blockRNN) params() []*nn.Param {
	ms := make([]nn.Module, 0, len(n.layers)+1)
	for _, r := range n.layers {
		ms = append(ms, r)
	}
	return modules(append(ms, n.fc)...)
}
