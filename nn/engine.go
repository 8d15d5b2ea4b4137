package nn

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prevoir/prevoir/nn/internal/gemm"
	"github.com/prevoir/prevoir/nn/internal/vec"
)

// Engine carries the execution settings shared by tapes and optimisers: the
// number of worker goroutines and one GEMM workspace per worker.
//
// Work is split into contiguous chunks, each output element is computed by
// exactly one goroutine, and reductions (bias and LayerNorm parameter
// gradients, GEMM's k loop) run in a fixed order inside one goroutine, so
// results are bit-identical for a given seed whatever the thread count.
//
// An Engine is not safe for concurrent use: give each concurrently training
// model its own.
type Engine struct {
	threads int
	ws      []gemm.Workspace
	vk      vec.Kernels
	workers *workerPool // started on first parallel use
	// busy is set while a parallel region runs, so that an operation
	// started from inside one (zero) runs on its goroutine instead of
	// nesting a region.
	busy atomic.Bool
	// share, when set (benchmarks), times on a 1-thread engine the work
	// that a 2-thread engine would split: the parallel fraction of a
	// step, independent of how busy the machine's other core is.
	share *shareStats
}

// shareStats accumulates the time spent in splittable work.
type shareStats struct {
	split   time.Duration
	regions int
}

// splittable runs f, timing it into e.share when it is set.
func (e *Engine) splittable(f func()) {
	if e.share == nil {
		f()
		return
	}
	start := time.Now()
	f()
	e.share.split += time.Since(start)
	e.share.regions++
}

// NewEngine returns an engine using the given number of goroutines
// (values below 1 mean 1).
func NewEngine(threads int) *Engine {
	threads = max(threads, 1)
	return &Engine{threads: threads, ws: make([]gemm.Workspace, threads), vk: vec.New()}
}

// Threads is the number of worker goroutines.
func (e *Engine) Threads() int { return e.threads }

// KernelName names the GEMM micro-kernel in use, e.g. "avx2-fma 6x16".
func (e *Engine) KernelName() string { return e.ws[0].Name() }

// parallel splits [0,n) into contiguous chunks of at least grain items and
// runs fn(worker, lo, hi) on each; worker 0 is the calling goroutine and
// worker w may use per-worker state such as e.ws[w]. Chunks are handed out
// dynamically, a few per worker, so that when another process occupies a
// core the free workers take over its share instead of waiting for it (the
// machine prevoir trains on is shared). Callers must make every output
// element independent of the chunking, which keeps results deterministic.
func (e *Engine) parallel(n, grain int, fn func(w, lo, hi int)) {
	const perWorker = 4
	if n <= 0 {
		return
	}
	t := e.threads
	chunks := n / max(grain, 1)
	chunks = min(chunks, t*perWorker)
	if min(t, chunks) <= 1 {
		if t == 1 && n/max(grain, 1) > 1 {
			e.splittable(func() { fn(0, 0, n) }) // 2 threads would split it
			return
		}
		fn(0, 0, n)
		return
	}
	e.busy.Store(true)
	e.pool().run(&job{fn: fn, n: n, chunks: chunks})
	e.busy.Store(false)
}

// zero clears s, split between the workers when it is large (gradient
// buffers of the Transformer's feed-forward layers are 229376 floats).
func (e *Engine) zero(s []float32) {
	if len(s) < 2*elemGrain || e.busy.Load() {
		clear(s)
		return
	}
	e.parallel(len(s), elemGrain, func(_, lo, hi int) { clear(s[lo:hi]) })
}

func (e *Engine) pool() *workerPool {
	if e.workers == nil {
		e.workers = newWorkerPool(e.threads - 1)
		// The helpers only reference the pool, so the Engine can become
		// unreachable; stop them then.
		runtime.AddCleanup(e, func(p *workerPool) { p.close() }, e.workers)
	}
	return e.workers
}

// Close stops the engine's helper goroutines; they are also stopped when
// the Engine is garbage collected, so Close is only needed to release them
// early. A later parallel operation starts new ones.
func (e *Engine) Close() {
	if e.workers != nil {
		e.workers.close()
		e.workers = nil
	}
}

// gemmParallelMin is the m·n·k below which a GEMM runs on one goroutine.
// 256K multiply-adds take a few µs on one core, several times the cost of
// handing part of them to a helper that is already spinning (the pool's
// helpers stay awake between the back-to-back regions of a training step).
// It splits the Transformer's 448×64·64×64 projections and their
// gradients, which together with the other small ops kept the second
// thread idle for a third of the step when only products ≥ 4M were split
// (docs/benchmarks/nn.md, issue 16).
const gemmParallelMin = 1 << 18

// gemm computes C = alpha·op(A)·op(B) + beta·C (see gemm.Workspace.Sgemm),
// splitting the rows or columns of C between the workers. Because the
// kernel's accumulation order does not depend on the split, the result is
// the same for every thread count.
func (e *Engine) gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m*n*k < gemmParallelMin {
		e.ws[0].Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if e.threads == 1 {
		e.splittable(func() { e.ws[0].Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) })
		return
	}
	rowQuantum, colQuantum := e.ws[0].Tile() // split at whole tiles
	// A transposed B is packed by every Sgemm call, A is read in place: a
	// row split would pack all of B once per chunk (Linear's forward
	// x·Wᵀ packed its weight four times), a column split packs each
	// column of B once. Otherwise (with the strided kernel) neither
	// operand is packed, so chunks cost no repacking and the usual few
	// per worker balance the load.
	colSplit := m < n || (tB && n >= 2*colQuantum)
	if !colSplit {
		e.parallel(m/rowQuantum, 1, func(w, lo, hi int) {
			lo *= rowQuantum
			hi *= rowQuantum
			if hi == m/rowQuantum*rowQuantum {
				hi = m
			}
			aOff := lo * lda
			if tA {
				aOff = lo
			}
			e.ws[w].Sgemm(tA, tB, hi-lo, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		if m < rowQuantum {
			e.ws[0].Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
		return
	}
	e.parallel(n/colQuantum, 1, func(w, lo, hi int) {
		lo *= colQuantum
		hi *= colQuantum
		if hi == n/colQuantum*colQuantum {
			hi = n
		}
		bOff := lo
		if tB {
			bOff = lo * ldb
		}
		e.ws[w].Sgemm(tA, tB, m, hi-lo, k, alpha, a, lda, b[bOff:], ldb, beta, c[lo:], ldc)
	})
	if n < colQuantum {
		e.ws[0].Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}
