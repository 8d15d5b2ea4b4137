package nn

import (
	"fmt"
	"math"
)

// Dropout is inverted dropout (torch.nn.Dropout,
// https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html): in
// training mode each element is zeroed with probability p and the kept ones
// are scaled by 1/(1-p); in evaluation mode, or with p = 0, x is returned
// unchanged. The mask is derived from one draw of the tape's random source
// (see dropoutMask), so a seed fixes it. p must be in [0, 1); Dropout panics
// otherwise.
func (tp *Tape) Dropout(x *Tensor, p float64) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("nn: dropout probability %v outside [0, 1)", p))
	}
	if !tp.training || p == 0 {
		return x
	}
	if tp.rng == nil {
		panic("nn: Dropout in training mode needs a tape with a random source")
	}
	out := tp.newRaw(x.Shape...)
	mask := tp.arena.get(x.Len(), false) // 0 or 1/(1-p)
	tp.dropoutMask(mask, p)
	tp.eng.parallel(x.Len(), elemGrain, func(_, lo, hi int) {
		tp.eng.vk.Mul(out.Data[lo:hi], x.Data[lo:hi], mask[lo:hi])
	})
	tp.record(out, func() {
		gx := tp.gradOf(x)
		tp.eng.parallel(x.Len(), elemGrain, func(_, lo, hi int) {
			tp.eng.vk.MulAdd(gx[lo:hi], out.Grad[lo:hi], mask[lo:hi])
		})
	}, x)
	return out
}

// dropoutMask fills mask with 0 (probability p) or 1/(1-p).
//
// One draw from the tape's random source seeds the whole mask; element i
// then keeps or drops according to 32 bits of a hash of (seed, i/2) (the
// SplitMix64 finaliser, Steele, Lea & Flood 2014), compared with p·2³².
// This is counter-based, so the mask does not depend on how the elements
// are split between workers, and it costs one multiply per element
// instead of a generator call.
func (tp *Tape) dropoutMask(mask []float32, p float64) {
	seed := tp.rng.Uint64()
	thr := uint64(min(math.Round(p*(1<<32)), (1<<32)-1))
	scaleBits := uint64(math.Float32bits(float32(1 / (1 - p))))
	// Element i uses half i%2 of the hash of i/2.
	bit := func(i int) float32 {
		u := splitMix64(seed+uint64(i>>1)*0x9e3779b97f4a7c15) >> (32 * uint(i&1)) & 0xffffffff
		drop := (u - thr) >> 63 // 1 when u < thr
		return math.Float32frombits(uint32(scaleBits & (drop - 1)))
	}
	tp.eng.parallel(len(mask), elemGrain, func(_, lo, hi int) {
		i := lo
		if i&1 == 1 && i < hi {
			mask[i] = bit(i)
			i++
		}
		for ; i+1 < hi; i += 2 {
			h := splitMix64(seed + uint64(i>>1)*0x9e3779b97f4a7c15)
			d0 := (h&0xffffffff - thr) >> 63
			d1 := (h>>32 - thr) >> 63
			mask[i] = math.Float32frombits(uint32(scaleBits & (d0 - 1)))
			mask[i+1] = math.Float32frombits(uint32(scaleBits & (d1 - 1)))
		}
		if i < hi {
			mask[i] = bit(i)
		}
	})
}

func splitMix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
