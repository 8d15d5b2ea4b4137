package neural

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/prevoir/prevoir/nn"
)

// transformer is Darts 0.21.0's _TransformerModule
// (darts/models/forecasting/transformer_model.py) around torch.nn.Transformer
// (https://pytorch.org/docs/stable/generated/torch.nn.Transformer.html), batch-first:
//
//	e   = encoder(x) · √InputSize           # one Linear(InputSize, d_model) for src and tgt
//	src = dropout(e + pe[0:InputLen])       # sinusoidal positional encoding
//	tgt = dropout(e[:, -1:] + pe[0:1])      # one decoder token: the last input step
//	mem = encoder_norm(EncoderLayer^n(src))
//	y   = decoder_norm(DecoderLayer^m(tgt, mem))
//	out = decoder(y)                        # Linear(d_model, OutputLen), [B, 1, OutputLen]
//
// with post-norm layers (norm_first=False) and ReLU feed-forward:
//
//	encoder layer: x = norm1(x + drop(SA(x)));  x = norm2(x + drop(FF(x)))
//	decoder layer: y = norm1(y + drop(SA(y)));  y = norm2(y + drop(CA(y, mem)));
//	               y = norm3(y + drop(FF(y)))
//	FF(x) = linear2(drop(relu(linear1(x))))
//
// The embedding is scaled by √InputSize, not √d_model: that is what Darts 0.21 does.
// Embedding the whole window once and taking its last step is the same as embedding the last
// step again (Darts applies the Linear to src[-1:]), row by row.
type transformer struct {
	embed   *nn.Linear
	enc     []*encoderLayer
	encNorm *nn.LayerNorm
	dec     []*decoderLayer
	decNorm *nn.LayerNorm
	head    *nn.Linear

	peSrc, peTgt *nn.Tensor // positional encoding rows [0, InputLen) and [0, 1)
	scale        float32
	dropout      float64
}

type encoderLayer struct {
	selfAttn     *nn.MultiheadAttention
	lin1, lin2   *nn.Linear
	norm1, norm2 *nn.LayerNorm
}

type decoderLayer struct {
	selfAttn, cross     *nn.MultiheadAttention
	lin1, lin2          *nn.Linear
	norm1, norm2, norm3 *nn.LayerNorm
}

// layerNormEps is torch.nn.Transformer's layer_norm_eps default.
const layerNormEps = 1e-5

// newTransformer builds the module in Darts' construction order: the encoder Linear, the
// positional encoding (no parameters), torch.nn.Transformer, the decoder Linear.
//
// torch.nn.Transformer builds one encoder layer and one decoder layer and deep-copies them
// (TransformerEncoder/Decoder use _get_clones), so every layer starts from the same
// parameters; its _reset_parameters then re-draws every parameter with more than one
// dimension from xavier_uniform_, in parameter order. What survives from the layers'
// own initialisation is therefore shared by all layers: the feed-forward biases (default
// Linear init), the attention biases (0) and the LayerNorms (1, 0). Both are mirrored here.
func newTransformer(rng *rand.Rand, c Config) (*transformer, error) {
	d := c.DModel
	n := &transformer{scale: float32(math.Sqrt(float64(c.InputSize))), dropout: c.Dropout}
	var err error
	if n.embed, err = nn.NewLinear(rng, "encoder", c.InputSize, d, true); err != nil {
		return nil, err
	}
	pe := nn.PositionalEncoding(c.InputLen, d)
	n.peSrc = pe
	if n.peTgt, err = nn.FromSlice(pe.Data[:d], 1, d); err != nil {
		return nil, err
	}

	// The layers' initial values come from one template layer each; the copies are built
	// with a throw-away random source and overwritten.
	scratch := rand.New(rand.NewPCG(0, 0))
	for i := range c.EncoderLayers {
		r := rng
		if i > 0 {
			r = scratch
		}
		l, err := newEncoderLayer(r, fmt.Sprintf("transformer.encoder.layers.%d", i), c)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			copyParams(l.params(), n.enc[0].params())
		}
		n.enc = append(n.enc, l)
	}
	if n.encNorm, err = nn.NewLayerNorm("transformer.encoder.norm", d, layerNormEps); err != nil {
		return nil, err
	}
	for i := range c.DecoderLayers {
		r := rng
		if i > 0 {
			r = scratch
		}
		l, err := newDecoderLayer(r, fmt.Sprintf("transformer.decoder.layers.%d", i), c)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			copyParams(l.params(), n.dec[0].params())
		}
		n.dec = append(n.dec, l)
	}
	if n.decNorm, err = nn.NewLayerNorm("transformer.decoder.norm", d, layerNormEps); err != nil {
		return nil, err
	}
	for _, p := range n.transformerParams() {
		if p.Dims() > 1 {
			if err := nn.XavierUniform(rng, p.Tensor, 1); err != nil {
				return nil, err
			}
		}
	}
	if n.head, err = nn.NewLinear(rng, "decoder", d, c.OutputLen, true); err != nil {
		return nil, err
	}
	return n, nil
}

// newEncoderLayer is torch.nn.TransformerEncoderLayer's constructor: self_attn, linear1,
// linear2, norm1, norm2.
func newEncoderLayer(rng *rand.Rand, name string, c Config) (*encoderLayer, error) {
	l := &encoderLayer{}
	var err error
	if l.selfAttn, err = nn.NewMultiheadAttention(rng, name+".self_attn", c.DModel, c.Heads, c.Dropout); err != nil {
		return nil, err
	}
	if l.lin1, err = nn.NewLinear(rng, name+".linear1", c.DModel, c.FF, true); err != nil {
		return nil, err
	}
	if l.lin2, err = nn.NewLinear(rng, name+".linear2", c.FF, c.DModel, true); err != nil {
		return nil, err
	}
	if l.norm1, err = nn.NewLayerNorm(name+".norm1", c.DModel, layerNormEps); err != nil {
		return nil, err
	}
	if l.norm2, err = nn.NewLayerNorm(name+".norm2", c.DModel, layerNormEps); err != nil {
		return nil, err
	}
	return l, nil
}

// newDecoderLayer is torch.nn.TransformerDecoderLayer's constructor: self_attn,
// multihead_attn, linear1, linear2, norm1, norm2, norm3.
func newDecoderLayer(rng *rand.Rand, name string, c Config) (*decoderLayer, error) {
	l := &decoderLayer{}
	var err error
	if l.selfAttn, err = nn.NewMultiheadAttention(rng, name+".self_attn", c.DModel, c.Heads, c.Dropout); err != nil {
		return nil, err
	}
	if l.cross, err = nn.NewMultiheadAttention(rng, name+".multihead_attn", c.DModel, c.Heads, c.Dropout); err != nil {
		return nil, err
	}
	if l.lin1, err = nn.NewLinear(rng, name+".linear1", c.DModel, c.FF, true); err != nil {
		return nil, err
	}
	if l.lin2, err = nn.NewLinear(rng, name+".linear2", c.FF, c.DModel, true); err != nil {
		return nil, err
	}
	for i, p := range []**nn.LayerNorm{&l.norm1, &l.norm2, &l.norm3} {
		if *p, err = nn.NewLayerNorm(fmt.Sprintf("%s.norm%d", name, i+1), c.DModel, layerNormEps); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *encoderLayer) params() []*nn.Param {
	return modules(l.selfAttn, l.lin1, l.lin2, l.norm1, l.norm2)
}

func (l *decoderLayer) params() []*nn.Param {
	return modules(l.selfAttn, l.cross, l.lin1, l.lin2, l.norm1, l.norm2, l.norm3)
}

// copyParams copies the values of src into dst, parameter by parameter.
func copyParams(dst, src []*nn.Param) {
	for i, p := range dst {
		copy(p.Data, src[i].Data)
	}
}

// transformerParams are the parameters of the torch.nn.Transformer part, in its order.
func (n *transformer) transformerParams() []*nn.Param {
	var ps []*nn.Param
	for _, l := range n.enc {
		ps = append(ps, l.params()...)
	}
	ps = append(ps, n.encNorm.Params()...)
	for _, l := range n.dec {
		ps = append(ps, l.params()...)
	}
	return append(ps, n.decNorm.Params()...)
}

func (n *transformer) params() []*nn.Param {
	ps := n.embed.Params()
	ps = append(ps, n.transformerParams()...)
	return append(ps, n.head.Params()...)
}

func (n *transformer) forward(tp *nn.Tape, x *nn.Tensor) *nn.Tensor {
	batch, steps := x.Shape[0], x.Shape[1]
	p := n.dropout
	e := tp.Scale(n.embed.Forward(tp, x), n.scale)
	src := tp.Dropout(tp.Add(e, n.peSrc), p)
	tgt := tp.Dropout(tp.Add(tp.Slice(e, 1, steps-1, steps), n.peTgt), p)
	for _, l := range n.enc {
		a := l.selfAttn.Forward(tp, src, src, src)
		src = l.norm1.Forward(tp, tp.Add(src, tp.Dropout(a, p)))
		src = l.norm2.Forward(tp, tp.Add(src, tp.Dropout(feedForward(tp, l.lin1, l.lin2, src, p), p)))
	}
	mem := n.encNorm.Forward(tp, src)
	y := tgt
	for _, l := range n.dec {
		a := l.selfAttn.Forward(tp, y, y, y)
		y = l.norm1.Forward(tp, tp.Add(y, tp.Dropout(a, p)))
		a = l.cross.Forward(tp, y, mem, mem)
		y = l.norm2.Forward(tp, tp.Add(y, tp.Dropout(a, p)))
		y = l.norm3.Forward(tp, tp.Add(y, tp.Dropout(feedForward(tp, l.lin1, l.lin2, y, p), p)))
	}
	y = n.decNorm.Forward(tp, y)
	out := n.head.Forward(tp, y) // [B, 1, OutputLen]
	return tp.Reshape(out, batch, out.Shape[2])
}

// feedForward is linear2(dropout(relu(linear1(x)))).
func feedForward(tp *nn.Tape, lin1, lin2 *nn.Linear, x *nn.Tensor, p float64) *nn.Tensor {
	return lin2.Forward(tp, tp.Dropout(tp.ReLU(lin1.Forward(tp, x)), p))
}
