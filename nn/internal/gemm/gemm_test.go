package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm is the textbook triple loop in float64.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				var av, bv float32
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if transB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = v
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.Float64()*2 - 1)
	}
	return x
}

func kernels() map[string]kernel {
	return availableKernels()
}

func TestSgemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {7, 5, 3}, {6, 16, 8}, {13, 33, 17}, {14, 14, 16}, {32, 25, 25},
		{100, 70, 300}, {97, 200, 513}, {5, 1, 0}, {0, 3, 4}, {200, 2100, 3}}
	for name, kern := range kernels() {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
						alpha, beta := ab[0], ab[1]
						lda, ldb, ldc := k+3, n+1, n+2
						if tA {
							lda = m + 2
						}
						if tB {
							ldb = k + 1
						}
						a := randSlice(r, max(m, k)*max(lda, 1)+4)
						b := randSlice(r, max(k, n)*max(ldb, 1)+4)
						c := randSlice(r, m*ldc+2)
						if beta == 0 {
							for i := range c {
								c[i] = float32(math.NaN()) // must not leak
							}
						}
						want := refGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
						ws := &Workspace{k: kern}
						ws.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								got := float64(c[i*ldc+j])
								w := want[i*n+j]
								if math.Abs(got-w) > 1e-4*(1+math.Sqrt(float64(k))) {
									t.Fatalf("%s %v tA=%v tB=%v a=%v b=%v: C[%d,%d]=%v want %v", name, sh, tA, tB, alpha, beta, i, j, got, w)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestSplitIsBitIdentical checks the property package nn relies on for
// determinism: computing C in row or column strips gives the same bits.
func TestSplitIsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 91, 77, 300
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	full := make([]float32, m*n)
	var ws Workspace
	ws.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, full, n)
	for _, cut := range []int{1, 6, 7, 45} {
		rows := make([]float32, m*n)
		ws.Sgemm(false, true, cut, n, k, 1, a, k, b, k, 0, rows, n)
		ws.Sgemm(false, true, m-cut, n, k, 1, a[cut*k:], k, b, k, 0, rows[cut*n:], n)
		cols := make([]float32, m*n)
		ws.Sgemm(false, true, m, cut, k, 1, a, k, b, k, 0, cols, n)
		ws.Sgemm(false, true, m, n-cut, k, 1, a, k, b[cut*k:], k, 0, cols[cut:], n)
		for i := range full {
			if full[i] != rows[i] || full[i] != cols[i] {
				t.Fatalf("cut %d: element %d differs: %v %v %v", cut, i, full[i], rows[i], cols[i])
			}
		}
	}
}

func TestSgemmPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	var ws Workspace
	ws.Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
}

// Shapes of the Transformer (448 = 32 batch × 14 steps, d_model 64, ff 512)
// and of the RNN (32×25·25×25), with the transposes that Linear's backward
// pass uses: dX = dY·W (NN), dW = dYᵀ·X (TN), forward Y = X·Wᵀ (NT).
var benchShapes = []struct {
	m, n, k int
	tA, tB  bool
}{
	{448, 64, 64, false, false}, {448, 64, 64, false, true}, {64, 64, 448, true, false},
	{448, 512, 64, false, false}, {448, 512, 64, false, true}, {512, 64, 448, true, false},
	{448, 64, 512, false, false}, {448, 64, 512, false, true}, {64, 512, 448, true, false},
	{448, 192, 64, false, true},
	{32, 25, 25, false, false}, {32, 25, 25, false, true}, {25, 25, 32, true, false},
	{14, 14, 16, false, true}, {14, 16, 14, false, false},
}

func BenchmarkSgemm(b *testing.B) {
	for name, kern := range kernels() {
		for _, s := range benchShapes {
			tn := func(t bool) string {
				if t {
					return "T"
				}
				return "N"
			}
			b.Run(fmt.Sprintf("%s/%dx%dx%d_%s%s", name, s.m, s.n, s.k, tn(s.tA), tn(s.tB)), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				a := randSlice(r, s.m*s.k)
				bb := randSlice(r, s.k*s.n)
				c := make([]float32, s.m*s.n)
				lda, ldb := s.k, s.n
				if s.tA {
					lda = s.m
				}
				if s.tB {
					ldb = s.k
				}
				ws := &Workspace{k: kern}
				b.ResetTimer()
				for b.Loop() {
					ws.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
