package neural

import (
	"fmt"
	"math"
	"slices"
)

// Arch names a network architecture.
type Arch string

// The architectures, named as on the command line. RNN, LSTM and GRU are Darts'
// BlockRNNModel with model="RNN", "LSTM" or "GRU".
const (
	RNN         Arch = "rnn"
	LSTM        Arch = "lstm"
	GRU         Arch = "gru"
	TCN         Arch = "tcn"
	Transformer Arch = "transformer"
)

// Archs returns every architecture.
func Archs() []Arch { return []Arch{RNN, LSTM, GRU, TCN, Transformer} }

// ParseArch returns the architecture with the given name.
func ParseArch(s string) (Arch, error) {
	a := Arch(s)
	if !slices.Contains(Archs(), a) {
		return "", fmt.Errorf("neural: unknown model %q: want rnn, lstm, gru, tcn or transformer", s)
	}
	return a, nil
}

// Config describes a network: its architecture, its sizes and the shape of its input and
// output windows. DefaultConfig gives Darts 0.21's defaults; the fields that do not apply to
// the architecture are ignored (and omitted from model files).
type Config struct {
	Arch Arch `json:"arch"`
	// InputSize is the number of features per time step: the target, then the covariates.
	// Train sets it from the data.
	InputSize int `json:"input_size"`
	// InputLen is Darts' input_chunk_length: the days the network reads.
	InputLen int `json:"input_len"`
	// OutputLen is Darts' output_chunk_length: the days it forecasts.
	OutputLen int `json:"output_len"`
	// Dropout is the dropout probability (TCN: after each convolution; Transformer:
	// everywhere torch.nn.Transformer applies it; BlockRNN: between stacked recurrent
	// layers, as torch.nn.RNN's dropout argument).
	Dropout float64 `json:"dropout"`

	// BlockRNN: hidden state size and number of stacked recurrent layers.
	Hidden int `json:"hidden,omitempty"`
	Layers int `json:"layers,omitempty"`

	// TCN: kernel size, filters per convolution, dilation base and number of residual
	// blocks (0: Darts' rule, the fewest blocks whose receptive field covers the input).
	Kernel       int `json:"kernel,omitempty"`
	Filters      int `json:"filters,omitempty"`
	DilationBase int `json:"dilation_base,omitempty"`
	Blocks       int `json:"blocks,omitempty"`

	// Transformer: model width, attention heads, encoder and decoder layers, width of the
	// feed-forward layers.
	DModel        int `json:"d_model,omitempty"`
	Heads         int `json:"heads,omitempty"`
	EncoderLayers int `json:"encoder_layers,omitempty"`
	DecoderLayers int `json:"decoder_layers,omitempty"`
	FF            int `json:"dim_feedforward,omitempty"`
}

// DefaultConfig returns the configuration the original project used: Darts 0.21's defaults
// for the architecture (darts/models/forecasting/block_rnn_model.py, tcn_model.py,
// transformer_model.py), with input_chunk_length 14 (15 for the TCN, which Darts requires to
// exceed output_chunk_length) and output_chunk_length 14. InputSize is left 0 for Train to
// fill in.
func DefaultConfig(a Arch) Config {
	c := Config{Arch: a, InputLen: 14, OutputLen: 14}
	switch a {
	case RNN, LSTM, GRU:
		c.Hidden, c.Layers = 25, 1
	case TCN:
		c.InputLen = 15
		c.Kernel, c.Filters, c.DilationBase, c.Dropout = 3, 3, 2, 0.2
	case Transformer:
		c.DModel, c.Heads, c.EncoderLayers, c.DecoderLayers, c.FF, c.Dropout = 64, 4, 3, 3, 512, 0.1
	}
	return c
}

// Validate checks the configuration, InputSize included.
func (c Config) Validate() error {
	if _, err := ParseArch(string(c.Arch)); err != nil {
		return err
	}
	if c.InputSize < 1 || c.InputLen < 1 || c.OutputLen < 1 {
		return fmt.Errorf("neural: %s: input size %d, input length %d and output length %d must be positive",
			c.Arch, c.InputSize, c.InputLen, c.OutputLen)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return fmt.Errorf("neural: %s: dropout %v outside [0, 1)", c.Arch, c.Dropout)
	}
	switch c.Arch {
	case RNN, LSTM, GRU:
		if c.Hidden < 1 || c.Layers < 1 {
			return fmt.Errorf("neural: %s: hidden size %d and layers %d must be positive", c.Arch, c.Hidden, c.Layers)
		}
	case TCN:
		if c.Kernel < 2 || c.Filters < 1 || c.DilationBase < 1 || c.Blocks < 0 {
			return fmt.Errorf("neural: tcn: kernel %d must be at least 2, filters %d and dilation base %d positive, blocks %d non-negative",
				c.Kernel, c.Filters, c.DilationBase, c.Blocks)
		}
		// Darts' TCNModel asserts both (tcn_model.py, TCNModel.__init__).
		if c.Kernel >= c.InputLen || c.OutputLen >= c.InputLen {
			return fmt.Errorf("neural: tcn: kernel %d and output length %d must be smaller than the input length %d",
				c.Kernel, c.OutputLen, c.InputLen)
		}
	case Transformer:
		if c.DModel < 1 || c.Heads < 1 || c.DModel%c.Heads != 0 || c.EncoderLayers < 1 || c.DecoderLayers < 1 || c.FF < 1 {
			return fmt.Errorf("neural: transformer: d_model %d must be a positive multiple of heads %d; layers %d+%d and feed-forward %d positive",
				c.DModel, c.Heads, c.EncoderLayers, c.DecoderLayers, c.FF)
		}
	}
	return nil
}

// tcnBlocks is the number of residual blocks: Blocks, or Darts' rule (tcn_model.py,
// _TCNModule.__init__): the fewest blocks whose receptive field covers the input,
// ceil(log_b((L-1)(b-1)/(k-1)/2 + 1)) for dilation base b > 1, ceil((L-1)/(k-1)/2) for b = 1.
func (c Config) tcnBlocks() int {
	if c.Blocks > 0 {
		return c.Blocks
	}
	l, k, b := float64(c.InputLen), float64(c.Kernel), float64(c.DilationBase)
	if c.DilationBase > 1 {
		return max(1, int(math.Ceil(math.Log((l-1)*(b-1)/(k-1)/2+1)/math.Log(b))))
	}
	return max(1, int(math.Ceil((l-1)/(k-1)/2)))
}

// targetLen is the number of target values a training window carries: OutputLen, except for
// the TCN, which Darts trains on its shifted dataset (PastCovariatesShiftedDataset with
// length InputLen and shift OutputLen, darts/utils/data/shifted_dataset.py): output position
// j, which sees inputs up to j, is compared with the target OutputLen days later, at every
// one of the InputLen positions.
func (c Config) targetLen() int {
	if c.Arch == TCN {
		return c.InputLen
	}
	return c.OutputLen
}

// shift is the offset from a window's first input row to its first target row.
func (c Config) shift() int {
	if c.Arch == TCN {
		return c.OutputLen
	}
	return c.InputLen
}

// span is the number of consecutive rows a training window covers.
func (c Config) span() int { return max(c.InputLen, c.shift()+c.targetLen()) }
