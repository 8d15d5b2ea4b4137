package nn

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// The engine's split GEMM must give the same bits as one goroutine, for
// row splits, column splits (m < n, or a transposed B two tiles wide) and
// every transpose.
func TestEngineGemmSplitIsExact(t *testing.T) {
	r := testRand()
	one, two, three := NewEngine(1), NewEngine(2), NewEngine(3)
	for _, sh := range [][3]int{{449, 70, 64}, {45, 530, 64}, {300, 300, 20}, {13, 2000, 50}, {2000, 13, 50}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				a, b := New(m*k), New(k*n)
				Uniform(r, a, -1, 1)
				Uniform(r, b, -1, 1)
				lda, ldb := k, n
				if tA {
					lda = m
				}
				if tB {
					ldb = k
				}
				c1, c2, c3 := New(m*n), New(m*n), New(m*n)
				Uniform(r, c1, -1, 1)
				copy(c2.Data, c1.Data)
				copy(c3.Data, c1.Data)
				one.gemm(tA, tB, m, n, k, 0.5, a.Data, lda, b.Data, ldb, 0.25, c1.Data, n)
				two.gemm(tA, tB, m, n, k, 0.5, a.Data, lda, b.Data, ldb, 0.25, c2.Data, n)
				three.gemm(tA, tB, m, n, k, 0.5, a.Data, lda, b.Data, ldb, 0.25, c3.Data, n)
				if !slices.Equal(c1.Data, c2.Data) || !slices.Equal(c1.Data, c3.Data) {
					t.Fatalf("%v tA=%v tB=%v: 2- or 3-thread GEMM differs from 1-thread", sh, tA, tB)
				}
			}
		}
	}
}

func TestParallelCoversRangeOnce(t *testing.T) {
	e := NewEngine(3)
	for _, n := range []int{0, 1, 5, 100, 12345} {
		hits := make([]atomic.Int32, n)
		e.parallel(n, 7, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		})
		for i := range hits {
			if hits[i].Load() != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, hits[i].Load())
			}
		}
	}
	if NewEngine(0).Threads() != 1 {
		t.Error("NewEngine(0) should use one thread")
	}
}

func TestEngineHelpersStop(t *testing.T) {
	before := runtime.NumGoroutine()
	e := NewEngine(3)
	e.parallel(1<<20, 1, func(_, _, _ int) {})
	if n := runtime.NumGoroutine(); n < before+2 {
		t.Fatalf("%d goroutines after starting an engine with 3 threads, %d before", n, before)
	}
	e.Close()
	for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
	// An unreachable engine's helpers stop too.
	func() {
		e := NewEngine(2)
		e.parallel(1<<20, 1, func(_, _, _ int) {})
	}()
	for i := 0; i < 200 && runtime.NumGoroutine() > before; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after dropping an engine, %d before", n, before)
	}
}

// zero clears every element, split between workers for large slices and on
// the calling goroutine from inside a parallel region (no nested region).
func TestEngineZero(t *testing.T) {
	e := NewEngine(3)
	defer e.Close()
	for _, n := range []int{0, 5, 2*elemGrain - 1, 10*elemGrain + 3} {
		s := make([]float32, n)
		for i := range s {
			s[i] = 1
		}
		e.zero(s)
		if i := slices.IndexFunc(s, func(v float32) bool { return v != 0 }); i >= 0 {
			t.Fatalf("n=%d: element %d not cleared", n, i)
		}
	}
	bufs := make([][]float32, 8)
	for i := range bufs {
		bufs[i] = slices.Repeat([]float32{1}, 4*elemGrain)
	}
	e.parallel(len(bufs), 1, func(_, lo, hi int) {
		for _, b := range bufs[lo:hi] {
			e.zero(b)
		}
	})
	for i, b := range bufs {
		if slices.ContainsFunc(b, func(v float32) bool { return v != 0 }) {
			t.Fatalf("buffer %d cleared from inside a region is not zero", i)
		}
	}
}
