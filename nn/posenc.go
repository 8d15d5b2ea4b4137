package nn

import "math"

// PositionalEncoding returns the sinusoidal table of Vaswani et al. 2017
// (§3.5) as built by the PyTorch tutorial module that Darts uses:
// pe[pos, 2i] = sin(pos·10000^(-2i/d)), pe[pos, 2i+1] = cos(pos·10000^(-2i/d)),
// shape [maxLen, d]. It is a constant buffer (no gradient): add it to a
// batch-first [B, S, d] input with Add(x, Slice(pe, 0, 0, S)).
func PositionalEncoding(maxLen, d int) *Tensor {
	pe := New(maxLen, d)
	for pos := 0; pos < maxLen; pos++ {
		for i := 0; i < d; i += 2 {
			div := math.Exp(float64(i) * (-math.Log(10000) / float64(d)))
			pe.Data[pos*d+i] = float32(math.Sin(float64(pos) * div))
			if i+1 < d {
				pe.Data[pos*d+i+1] = float32(math.Cos(float64(pos) * div))
			}
		}
	}
	return pe
}
