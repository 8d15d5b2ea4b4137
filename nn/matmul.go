package nn

import "fmt"

// MatMul returns op(a)·op(b) for 2-d tensors, where op transposes its
// argument when the matching flag is set (so MatMul(x, w, false, true) is
// x·wᵀ, as in Linear). It panics if the inner dimensions differ.
func (tp *Tape) MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	if a.Dims() != 2 || b.Dims() != 2 {
		panic(fmt.Sprintf("nn: MatMul needs 2-d tensors, got %v and %v", a.Shape, b.Shape))
	}
	m, k, k2, n := opDims(a.Shape[0], a.Shape[1], transA, b.Shape[0], b.Shape[1], transB)
	if k != k2 {
		panic(fmt.Sprintf("nn: MatMul inner dimensions differ: %v (trans %v) · %v (trans %v)", a.Shape, transA, b.Shape, transB))
	}
	out := tp.newRaw(m, n)
	lda, ldb := a.Shape[1], b.Shape[1]
	tp.eng.gemm(transA, transB, m, n, k, 1, a.Data, lda, b.Data, ldb, 0, out.Data, n)
	tp.record(out, func() {
		matMulBackward(tp, tp.eng.gemm, a, b, out.Grad, transA, transB, m, n, k, 0, 0, 0)
	}, a, b)
	return out
}

// BatchMatMul multiplies 3-d tensors item by item: out[i] = op(a[i])·op(b[i]).
// Items are spread over the engine's workers. It panics on mismatched
// shapes.
func (tp *Tape) BatchMatMul(a, b *Tensor, transA, transB bool) *Tensor {
	if a.Dims() != 3 || b.Dims() != 3 || a.Shape[0] != b.Shape[0] {
		panic(fmt.Sprintf("nn: BatchMatMul needs 3-d tensors with the same batch size, got %v and %v", a.Shape, b.Shape))
	}
	m, k, k2, n := opDims(a.Shape[1], a.Shape[2], transA, b.Shape[1], b.Shape[2], transB)
	if k != k2 {
		panic(fmt.Sprintf("nn: BatchMatMul inner dimensions differ: %v (trans %v) · %v (trans %v)", a.Shape, transA, b.Shape, transB))
	}
	batch := a.Shape[0]
	out := tp.newRaw(batch, m, n)
	sa, sb, sc := m*k, k*n, m*n
	lda, ldb := a.Shape[2], b.Shape[2]
	tp.eng.parallel(batch, 1, func(w, lo, hi int) {
		ws := &tp.eng.ws[w]
		for i := lo; i < hi; i++ {
			ws.Sgemm(transA, transB, m, n, k, 1, a.Data[i*sa:], lda, b.Data[i*sb:], ldb, 0, out.Data[i*sc:], n)
		}
	})
	tp.record(out, func() {
		// Allocate gradients before going parallel: the arena is not
		// safe for concurrent use.
		if a.needGrad {
			tp.gradOf(a)
		}
		if b.needGrad {
			tp.gradOf(b)
		}
		tp.eng.parallel(batch, 1, func(w, lo, hi int) {
			ws := &tp.eng.ws[w]
			for i := lo; i < hi; i++ {
				matMulBackward(tp, ws.Sgemm, a, b, out.Grad, transA, transB, m, n, k, i*sa, i*sb, i*sc)
			}
		})
	}, a, b)
	return out
}

type gemmFunc func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int)

// matMulBackward accumulates the gradients of C = op(A)·op(B) (m×n, inner k)
// into A and B, for the matrices starting at offsets offA, offB, offC:
//
//	d op(A) = dC·op(B)ᵀ,  d op(B) = op(A)ᵀ·dC.
func matMulBackward(tp *Tape, mm gemmFunc, a, b *Tensor, dC []float32, tA, tB bool, m, n, k, offA, offB, offC int) {
	lda, ldb := a.Shape[len(a.Shape)-1], b.Shape[len(b.Shape)-1]
	dc := dC[offC:]
	if a.needGrad {
		da := tp.gradOf(a)[offA:]
		if !tA {
			mm(false, !tB, m, k, n, 1, dc, n, b.Data[offB:], ldb, 1, da, lda)
		} else {
			mm(tB, true, k, m, n, 1, b.Data[offB:], ldb, dc, n, 1, da, lda)
		}
	}
	if b.needGrad {
		db := tp.gradOf(b)[offB:]
		if !tB {
			mm(!tA, false, k, n, m, 1, a.Data[offA:], lda, dc, n, 1, db, ldb)
		} else {
			mm(true, tA, n, k, m, 1, dc, n, a.Data[offA:], lda, 1, db, ldb)
		}
	}
}

// opDims returns the shapes of op(A) (m×k) and op(B) (k2×n).
func opDims(ar, ac int, tA bool, br, bc int, tB bool) (m, k, k2, n int) {
	m, k = ar, ac
	if tA {
		m, k = ac, ar
	}
	k2, n = br, bc
	if tB {
		k2, n = bc, br
	}
	return
}
