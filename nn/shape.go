package nn

import (
	"fmt"
	"slices"
)

// Reshape returns x with a new shape of the same size (data is copied so
// that the result is an independent tape tensor). One dimension may be -1
// and is then inferred. It panics if the sizes differ.
func (tp *Tape) Reshape(x *Tensor, shape ...int) *Tensor {
	shape = slices.Clone(shape)
	infer, n := -1, 1
	for i, d := range shape {
		if d == -1 && infer < 0 {
			infer = i
			continue
		}
		n *= d
	}
	if infer >= 0 && n > 0 {
		shape[infer] = x.Len() / n
		n *= shape[infer]
	}
	if n != x.Len() {
		panic(fmt.Sprintf("nn: cannot reshape %v to %v", x.Shape, shape))
	}
	out := tp.newRaw(shape...)
	copy(out.Data, x.Data)
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for i, g := range out.Grad {
			gx[i] += g
		}
	}, x)
	return out
}

// Permute reorders the dimensions of x: result dimension i is input
// dimension perm[i] (torch.Tensor.permute), copying the data.
func (tp *Tape) Permute(x *Tensor, perm ...int) *Tensor {
	nd := x.Dims()
	if len(perm) != nd {
		panic(fmt.Sprintf("nn: permutation %v for shape %v", perm, x.Shape))
	}
	seen := make([]bool, nd)
	shape := make([]int, nd)
	for i, p := range perm {
		if p < 0 || p >= nd || seen[p] {
			panic(fmt.Sprintf("nn: invalid permutation %v", perm))
		}
		seen[p] = true
		shape[i] = x.Shape[p]
	}
	inStride := strides(x.Shape)
	// srcStride[i] is the input stride of result dimension i.
	srcStride := make([]int, nd)
	for i, p := range perm {
		srcStride[i] = inStride[p]
	}
	out := tp.newRaw(shape...)
	// src[k] is the input offset of result element k.
	src := make([]int, out.Len())
	idx := make([]int, nd)
	off := 0
	for k := range src {
		src[k] = off
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			off += srcStride[d]
			if idx[d] < shape[d] {
				break
			}
			off -= srcStride[d] * shape[d]
			idx[d] = 0
		}
	}
	for k, s := range src {
		out.Data[k] = x.Data[s]
	}
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for k, s := range src {
			gx[s] += out.Grad[k]
		}
	}, x)
	return out
}

// Slice returns x[..., lo:hi, ...] along axis.
func (tp *Tape) Slice(x *Tensor, axis, lo, hi int) *Tensor {
	return tp.slice(x, axis, lo, hi, false)
}

// Select returns x[..., i, ...] with axis removed (torch.select), e.g. one
// time step [B, F] of a [B, T, F] sequence.
func (tp *Tape) Select(x *Tensor, axis, i int) *Tensor {
	return tp.slice(x, axis, i, i+1, true)
}

func (tp *Tape) slice(x *Tensor, axis, lo, hi int, drop bool) *Tensor {
	if axis < 0 || axis >= x.Dims() || lo < 0 || hi > x.Shape[axis] || lo > hi {
		panic(fmt.Sprintf("nn: slice [%d:%d] of axis %d out of range for shape %v", lo, hi, axis, x.Shape))
	}
	outer, inner := outerInner(x.Shape, axis)
	n := x.Shape[axis]
	shape := slices.Clone(x.Shape)
	shape[axis] = hi - lo
	if drop { // same memory layout as the one-wide slice
		shape = slices.Delete(shape, axis, axis+1)
	}
	out := tp.newRaw(shape...)
	w := (hi - lo) * inner
	for o := 0; o < outer; o++ {
		copy(out.Data[o*w:(o+1)*w], x.Data[(o*n+lo)*inner:(o*n+hi)*inner])
	}
	tp.record(out, func() {
		gx := tp.gradOf(x)
		for o := 0; o < outer; o++ {
			dst := gx[(o*n+lo)*inner : (o*n+hi)*inner]
			for i, g := range out.Grad[o*w : (o+1)*w] {
				dst[i] += g
			}
		}
	}, x)
	return out
}

// Concat joins tensors along axis; all other dimensions must agree.
func (tp *Tape) Concat(axis int, xs ...*Tensor) *Tensor {
	return tp.concat(axis, xs, xs)
}

// Stack joins same-shaped tensors along a new axis (torch.stack), e.g. T
// hidden states [B, H] into a sequence [B, T, H] with axis 1.
func (tp *Tape) Stack(axis int, xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("nn: Stack of nothing")
	}
	if axis < 0 || axis > xs[0].Dims() {
		panic(fmt.Sprintf("nn: Stack axis %d for shape %v", axis, xs[0].Shape))
	}
	// Stacking along axis has the memory layout of concatenating the
	// inputs viewed with a unit dimension inserted at axis.
	views := make([]*Tensor, len(xs))
	for i, x := range xs {
		if !sameShape(x.Shape, xs[0].Shape) {
			panic(fmt.Sprintf("nn: Stack of shapes %v and %v", xs[0].Shape, x.Shape))
		}
		views[i] = &Tensor{Shape: slices.Insert(slices.Clone(x.Shape), axis, 1), Data: x.Data}
	}
	return tp.concat(axis, views, xs)
}

// concat lays out the data of xs along axis and sends the gradient of each
// part to gradTo[i] (xs itself for Concat; the unsqueezed views' originals
// for Stack).
func (tp *Tape) concat(axis int, xs, gradTo []*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("nn: Concat of nothing")
	}
	first := xs[0]
	if axis < 0 || axis >= first.Dims() {
		panic(fmt.Sprintf("nn: Concat axis %d for shape %v", axis, first.Shape))
	}
	total := 0
	for _, x := range xs {
		if x.Dims() != first.Dims() {
			panic(fmt.Sprintf("nn: Concat of shapes %v and %v", first.Shape, x.Shape))
		}
		for d := range x.Shape {
			if d != axis && x.Shape[d] != first.Shape[d] {
				panic(fmt.Sprintf("nn: Concat of shapes %v and %v along axis %d", first.Shape, x.Shape, axis))
			}
		}
		total += x.Shape[axis]
	}
	outer, inner := outerInner(first.Shape, axis)
	shape := slices.Clone(first.Shape)
	shape[axis] = total
	out := tp.newRaw(shape...)
	rowW := total * inner
	start := 0
	for _, x := range xs {
		w := x.Shape[axis] * inner
		for o := 0; o < outer; o++ {
			copy(out.Data[o*rowW+start:o*rowW+start+w], x.Data[o*w:(o+1)*w])
		}
		start += w
	}
	tp.record(out, func() {
		start := 0
		for i, x := range xs {
			w := x.Shape[axis] * inner
			if gradTo[i].needGrad {
				gx := tp.gradOf(gradTo[i])
				for o := 0; o < outer; o++ {
					src := out.Grad[o*rowW+start : o*rowW+start+w]
					dst := gx[o*w : (o+1)*w]
					for i, g := range src {
						dst[i] += g
					}
				}
			}
			start += w
		}
	}, gradTo...)
	return out
}

func outerInner(shape []int, axis int) (outer, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}
