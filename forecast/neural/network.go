package neural

import (
	"fmt"
	"math/rand/v2"

	"github.com/prevoir/prevoir/nn"
)

// network is a forecasting network: it maps a batch of input windows
// [B, InputLen, InputSize] (scaled; the target is feature 0) to [B, targetLen] scaled
// outputs. Its parameters are named as PyTorch's state_dict names the Darts module's.
type network interface {
	forward(tp *nn.Tape, x *nn.Tensor) *nn.Tensor
	params() []*nn.Param
}

// newNetwork builds the network of a validated configuration, drawing its initial
// parameters from rng in the order the Darts module's constructor draws them.
func newNetwork(rng *rand.Rand, c Config) (network, error) {
	switch c.Arch {
	case RNN, LSTM, GRU:
		return newBlockRNN(rng, c)
	case TCN:
		return newTCN(rng, c)
	case Transformer:
		return newTransformer(rng, c)
	}
	return nil, fmt.Errorf("neural: unknown model %q", c.Arch)
}

// modules collects the parameters of modules in order.
func modules(ms ...nn.Module) []*nn.Param {
	var ps []*nn.Param
	for _, m := range ms {
		ps = append(ps, m.Params()...)
	}
	return ps
}
