// Package gemm is the single-precision matrix-multiply kernel behind package
// nn: C = alpha·op(A)·op(B) + beta·C on row-major float32 slices, where op(X)
// is X or Xᵀ.
//
// It follows the Goto/BLIS design (Goto & van de Geijn, "Anatomy of
// High-Performance Matrix Multiplication", ACM TOMS 34(3), 2008; Van Zee & van
// de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS Functionality",
// ACM TOMS 41(3), 2015): op(B) is packed into kc×nr column panels and op(A)
// into mr×kc row panels, so that the transposed and non-transposed variants
// run the same inner loop on contiguous memory, and a register-blocked
// micro-kernel computes one mr×nr tile of C at a time. On amd64 the
// micro-kernel is Go assembly: with AVX-512F a 14×32 tile held in 28 zmm
// accumulators (14 divides the 448 = 32·14 token rows of the Transformer),
// with AVX2 and FMA a 6×16 tile in 12 ymm accumulators; elsewhere, or with
// the purego build tag, a pure-Go 2×4 kernel is used. The AVX-512 kernel
// also has a strided form that reads A (either orientation) and a
// non-transposed B in place, so most of the packing is skipped for full
// tiles; only partial tiles and a transposed B are packed.
//
// Every element of C is accumulated in the same order (k ascending within
// kc blocks, blocks ascending) whatever the tile it falls in, so a caller that
// splits C between goroutines gets bit-identical results for any split. This
// is what makes package nn deterministic for every thread count.
//
// A Workspace holds the packing buffers; it is not safe for concurrent use,
// so each goroutine needs its own.
package gemm
