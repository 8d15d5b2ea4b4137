package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// headView locates the per-head matrices of a projected tensor: rows are
// the B·S tokens (row stride ld), and head h occupies columns
// [off + h·dh, off + (h+1)·dh). Packed projections (q, k and v side by side
// in one [B, S, 3E] tensor) are read in place, without copies.
type headView struct {
	t   *Tensor
	off int
	ld  int
}

// attention is the core of multi-head attention (Vaswani et al. 2017,
// "Attention Is All You Need", §3.2.1-3.2.2) for batch-first tokens:
// for every batch item b and head h,
//
//	A = softmax(Q Kᵀ / √dh),  P = dropout(A),  O = P V,
//
// with Q [Sq, dh], K and V [Sk, dh] read through their headViews, and O
// written to columns h·dh… of the [B, Sq, heads·dh] result. Dropout on the
// attention weights is torch.nn.MultiheadAttention's dropout. Each
// (b, h) pair is independent, so the pairs are spread over the workers,
// and each writes disjoint parts of the outputs and input gradients.
func (tp *Tape) attention(q, k, v headView, batch, sq, sk, heads, dh int, p float64) *Tensor {
	e := heads * dh
	out := tp.newRaw(batch, sq, e)
	scale := float32(1 / math.Sqrt(float64(dh)))
	pairs := batch * heads
	attn := tp.arena.get(pairs*sq*sk, false) // softmax weights A
	probs := attn                            // P = A without dropout
	var mask []float32
	if tp.training && p > 0 {
		if tp.rng == nil {
			panic("nn: attention dropout in training mode needs a tape with a random source")
		}
		mask = tp.arena.get(pairs*sq*sk, false)
		tp.dropoutMask(mask, p) // drawn in (b, h, i, j) order before going parallel
		probs = tp.arena.get(pairs*sq*sk, false)
	}
	tp.eng.parallel(pairs, 1, func(w, lo, hi int) {
		ws := &tp.eng.ws[w]
		for bh := lo; bh < hi; bh++ {
			b, h := bh/heads, bh%heads
			qo := b*sq*q.ld + q.off + h*dh
			ko := b*sk*k.ld + k.off + h*dh
			vo := b*sk*v.ld + v.off + h*dh
			a := attn[bh*sq*sk : (bh+1)*sq*sk]
			ws.Sgemm(false, true, sq, sk, dh, scale, q.t.Data[qo:], q.ld, k.t.Data[ko:], k.ld, 0, a, sk)
			for i := 0; i < sq; i++ {
				softmaxRow(a[i*sk:(i+1)*sk], a[i*sk:(i+1)*sk])
			}
			pm := a
			if mask != nil {
				pm = probs[bh*sq*sk : (bh+1)*sq*sk]
				for i, m := range mask[bh*sq*sk : (bh+1)*sq*sk] {
					pm[i] = a[i] * m
				}
			}
			ws.Sgemm(false, false, sq, dh, sk, 1, pm, sk, v.t.Data[vo:], v.ld, 0, out.Data[b*sq*e+h*dh:], e)
		}
	})
	tp.record(out, func() {
		// Gradients for one (b, h):
		//   dP = dO Vᵀ, dV += Pᵀ dO, dA = dP ⊙ mask,
		//   dS = A ⊙ (dA - rowsum(dA ⊙ A)),
		//   dQ += dS K / √dh, dK += dSᵀ Q / √dh.
		var gq, gk, gv []float32
		if q.t.needGrad {
			gq = tp.gradOf(q.t)
		}
		if k.t.needGrad {
			gk = tp.gradOf(k.t)
		}
		if v.t.needGrad {
			gv = tp.gradOf(v.t)
		}
		dS := tp.arena.get(pairs*sq*sk, false)
		tp.eng.parallel(pairs, 1, func(w, lo, hi int) {
			ws := &tp.eng.ws[w]
			for bh := lo; bh < hi; bh++ {
				b, h := bh/heads, bh%heads
				qo := b*sq*q.ld + q.off + h*dh
				ko := b*sk*k.ld + k.off + h*dh
				vo := b*sk*v.ld + v.off + h*dh
				do := out.Grad[b*sq*e+h*dh:]
				a := attn[bh*sq*sk : (bh+1)*sq*sk]
				pm := probs[bh*sq*sk : (bh+1)*sq*sk]
				ds := dS[bh*sq*sk : (bh+1)*sq*sk]
				ws.Sgemm(false, true, sq, sk, dh, 1, do, e, v.t.Data[vo:], v.ld, 0, ds, sk)
				if gv != nil {
					ws.Sgemm(true, false, sk, dh, sq, 1, pm, sk, do, e, 1, gv[vo:], v.ld)
				}
				if mask != nil {
					for i, m := range mask[bh*sq*sk : (bh+1)*sq*sk] {
						ds[i] *= m
					}
				}
				for i := 0; i < sq; i++ {
					ar, dr := a[i*sk:(i+1)*sk], ds[i*sk:(i+1)*sk]
					var dot float32
					for j, av := range ar {
						dot += av * dr[j]
					}
					for j, av := range ar {
						dr[j] = av * (dr[j] - dot)
					}
				}
				if gq != nil {
					ws.Sgemm(false, false, sq, dh, sk, scale, ds, sk, k.t.Data[ko:], k.ld, 1, gq[qo:], q.ld)
				}
				if gk != nil {
					ws.Sgemm(true, false, sk, dh, sq, scale, ds, sk, q.t.Data[qo:], q.ld, 1, gk[ko:], k.ld)
				}
			}
		})
	}, q.t, k.t, v.t)
	return out
}

// MultiheadAttention is torch.nn.MultiheadAttention (batch-first tokens,
// no masks, no bias_k/bias_v, kdim = vdim = embed): the query, key and value
// projections are the three row blocks of one packed in_proj weight
// [3E, E] and bias [3E], followed by softmax attention per head (with
// dropout on the attention weights in training) and out_proj.
type MultiheadAttention struct {
	InProjWeight *Param // [3E, E]: q, k, v blocks
	InProjBias   *Param // [3E]
	OutProj      *Linear
	Heads        int
	Dropout      float64
}

// NewMultiheadAttention returns an attention layer initialised as PyTorch
// does (MultiheadAttention._reset_parameters): out_proj is built first as a
// default Linear, then in_proj_weight is xavier_uniform, and in_proj_bias
// and out_proj.bias are zero. Parameters are named name.in_proj_weight,
// name.in_proj_bias, name.out_proj.weight, name.out_proj.bias. It returns an
// error if embed is not a multiple of heads or dropout is not in [0, 1).
func NewMultiheadAttention(rng *rand.Rand, name string, embed, heads int, dropout float64) (*MultiheadAttention, error) {
	if embed < 1 || heads < 1 || embed%heads != 0 {
		return nil, fmt.Errorf("nn: attention %s: embed dim %d must be a positive multiple of heads %d", name, embed, heads)
	}
	if dropout < 0 || dropout >= 1 {
		return nil, fmt.Errorf("nn: attention %s: dropout %v outside [0, 1)", name, dropout)
	}
	m := &MultiheadAttention{
		InProjWeight: NewParam(join(name, "in_proj_weight"), 3*embed, embed),
		InProjBias:   NewParam(join(name, "in_proj_bias"), 3*embed),
		Heads:        heads,
		Dropout:      dropout,
	}
	var err error
	if m.OutProj, err = NewLinear(rng, join(name, "out_proj"), embed, embed, true); err != nil {
		return nil, err
	}
	if err := XavierUniform(rng, m.InProjWeight.Tensor, 1); err != nil {
		return nil, err
	}
	Fill(m.OutProj.Bias.Tensor, 0)
	return m, nil
}

// Params returns in_proj_weight, in_proj_bias, out_proj.weight,
// out_proj.bias (PyTorch's order).
func (m *MultiheadAttention) Params() []*Param {
	return append([]*Param{m.InProjWeight, m.InProjBias}, m.OutProj.Params()...)
}

// Forward attends from query [B, Sq, E] to key and value [B, Sk, E] and
// returns [B, Sq, E]. When query, key and value are the same tensor
// (self-attention) the three projections run as one GEMM; when key and
// value are the same (encoder-decoder attention) k and v share one.
func (m *MultiheadAttention) Forward(tp *Tape, query, key, value *Tensor) *Tensor {
	e := m.InProjWeight.Shape[1]
	if query.Dims() != 3 || key.Dims() != 3 || value.Dims() != 3 ||
		query.Shape[2] != e || key.Shape[2] != e || value.Shape[2] != e ||
		query.Shape[0] != key.Shape[0] || !sameShape(key.Shape, value.Shape) {
		panic(fmt.Sprintf("nn: attention with embed dim %d cannot take query %v, key %v, value %v ([batch, seq, embed])", e, query.Shape, key.Shape, value.Shape))
	}
	batch, sq, sk := query.Shape[0], query.Shape[1], key.Shape[1]
	w, b := m.InProjWeight.Tensor, m.InProjBias.Tensor
	var q, k, v headView
	switch {
	case query == key && key == value:
		qkv := tp.linearRows(query, w, b, 0, 3*e)
		q, k, v = headView{qkv, 0, 3 * e}, headView{qkv, e, 3 * e}, headView{qkv, 2 * e, 3 * e}
	case key == value:
		q = headView{tp.linearRows(query, w, b, 0, e), 0, e}
		kv := tp.linearRows(key, w, b, e, 3*e)
		k, v = headView{kv, 0, 2 * e}, headView{kv, e, 2 * e}
	default:
		q = headView{tp.linearRows(query, w, b, 0, e), 0, e}
		k = headView{tp.linearRows(key, w, b, e, 2*e), 0, e}
		v = headView{tp.linearRows(value, w, b, 2*e, 3*e), 0, e}
	}
	o := tp.attention(q, k, v, batch, sq, sk, m.Heads, e/m.Heads, m.Dropout)
	return m.OutProj.Forward(tp, o)
}
