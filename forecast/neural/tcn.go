package neural

import (
	"fmt"
	"math/rand/v2"

	"github.com/prevoir/prevoir/nn"
)

// tcn is Darts' _TCNModule with weight_norm=False (darts/models/forecasting/tcn_model.py,
// 0.21.0; Bai, Kolter & Koltun 2018). Block i (dilation d = base^i, causal left padding
// d·(k-1)) computes
//
//	h = dropout(relu(conv1(x)))
//	h = conv2(h); if not the last block: h = relu(h)
//	h = dropout(h)
//	x = h + (conv3(x) if in_channels ≠ out_channels else x)
//
// conv1 maps the block's input (InputSize features for the first block, Filters after) to
// Filters channels, conv2 maps Filters to Filters (1 = the target for the last block) and
// conv3 is the 1×1 residual projection. The output [B, InputLen, 1] is read as
// [B, InputLen]. Convolutions are channels-last (nn.Conv1D), so Darts' transposes vanish.
// Parameters are named res_blocks.<i>.conv<j>.weight / .bias.
type tcn struct {
	blocks  []*tcnBlock
	dropout float64
}

type tcnBlock struct {
	conv1, conv2, conv3 *nn.Conv1D // conv3 is nil when the residual needs no projection
	last                bool
}

func newTCN(rng *rand.Rand, c Config) (*tcn, error) {
	n := &tcn{dropout: c.Dropout}
	blocks := c.tcnBlocks()
	dil := 1
	for i := range blocks {
		in, out := c.Filters, c.Filters
		if i == 0 {
			in = c.InputSize
		}
		if i == blocks-1 {
			out = 1 // target_size · nr_params
		}
		b := &tcnBlock{last: i == blocks-1}
		name := fmt.Sprintf("res_blocks.%d.", i)
		var err error
		if b.conv1, err = nn.NewConv1D(rng, name+"conv1", in, c.Filters, c.Kernel, dil); err != nil {
			return nil, err
		}
		if b.conv2, err = nn.NewConv1D(rng, name+"conv2", c.Filters, out, c.Kernel, dil); err != nil {
			return nil, err
		}
		if in != out {
			if b.conv3, err = nn.NewConv1D(rng, name+"conv3", in, out, 1, 1); err != nil {
				return nil, err
			}
		}
		n.blocks = append(n.blocks, b)
		dil *= c.DilationBase
	}
	return n, nil
}

func (n *tcn) forward(tp *nn.Tape, x *nn.Tensor) *nn.Tensor {
	batch, steps := x.Shape[0], x.Shape[1]
	for _, b := range n.blocks {
		res := x
		h := tp.Dropout(tp.ReLU(b.conv1.Forward(tp, x)), n.dropout)
		h = b.conv2.Forward(tp, h)
		if !b.last {
			h = tp.ReLU(h)
		}
		h = tp.Dropout(h, n.dropout)
		if b.conv3 != nil {
			res = b.conv3.Forward(tp, res)
		}
		x = tp.Add(h, res)
	}
	return tp.Reshape(x, batch, steps)
}

func (n *tcn) params() []*nn.Param {
	var ms []nn.Module
	for _, b := range n.blocks {
		ms = append(ms, b.conv1, b.conv2)
		if b.conv3 != nil {
			ms = append(ms, b.conv3)
		}
	}
	return modules(ms...)
}
