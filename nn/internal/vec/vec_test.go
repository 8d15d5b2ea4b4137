package vec

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((r.Float64()*2 - 1) * scale)
	}
	return x
}

// The assembly and Go paths must agree bit for bit.
func TestAdamPathsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := &AdamConsts{0.9, 0.1, 0.999, 0.001, 0.0031, 0.044, 1e-8}
	for _, n := range []int{1, 7, 8, 9, 100, 1027} {
		th, g := randSlice(r, n, 1), randSlice(r, n, 1e-3)
		m, v := randSlice(r, n, 1e-3), randSlice(r, n, 1e-6)
		for i := range v {
			v[i] *= v[i] // non-negative
		}
		th2, m2, v2 := slices.Clone(th), slices.Clone(m), slices.Clone(v)
		New().Adam(th, g, m, v, c)
		Generic().Adam(th2, g, m2, v2, c)
		if !slices.Equal(th, th2) || !slices.Equal(m, m2) || !slices.Equal(v, v2) {
			t.Fatalf("n=%d: assembly and Go Adam differ", n)
		}
	}
}

func TestAddTo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 5, 16, 33, 1000} {
		a, b := randSlice(r, n, 1), randSlice(r, n, 1)
		want := slices.Clone(a)
		for i := range want {
			want[i] += b[i]
		}
		New().AddTo(a, b)
		if !slices.Equal(a, want) {
			t.Fatalf("n=%d: AddTo wrong", n)
		}
	}
}

// ReLU, ReLUGrad, Mul and MulAdd: assembly and Go paths agree bit for bit,
// including -0, NaN and ±Inf.
func TestElementwisePathsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	nan := float32(math.NaN())
	for _, n := range []int{0, 3, 16, 17, 100, 1000} {
		x := randSlice(r, n, 2)
		if n > 10 {
			x[0], x[1], x[2], x[3] = 0, float32(math.Copysign(0, -1)), nan, float32(math.Inf(-1))
		}
		g, d := randSlice(r, n, 1), randSlice(r, n, 1)
		run := func(k Kernels) [][]float32 {
			relu, rg, mul, ma := make([]float32, n), slices.Clone(d), make([]float32, n), slices.Clone(d)
			k.ReLU(relu, x)
			k.ReLUGrad(rg, x, g)
			k.Mul(mul, x, g)
			k.MulAdd(ma, x, g)
			return [][]float32{relu, rg, mul, ma}
		}
		a, b := run(New()), run(Generic())
		for i := range a {
			for j := range a[i] {
				if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
					t.Fatalf("n=%d op %d element %d: assembly %v, Go %v", n, i, j, a[i][j], b[i][j])
				}
			}
		}
		if n > 10 {
			if math.Float32bits(a[0][1]) != 0 || !math.IsNaN(float64(a[0][2])) || a[0][3] != 0 {
				t.Errorf("ReLU(-0, NaN, -Inf) = %v, %v, %v", a[0][1], a[0][2], a[0][3])
			}
		}
	}
}

func BenchmarkAdam(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 16
	th, g, m, v := randSlice(r, n, 1), randSlice(r, n, 1), make([]float32, n), make([]float32, n)
	c := &AdamConsts{0.9, 0.1, 0.999, 0.001, 0.001, 0.5, 1e-8}
	for name, k := range map[string]Kernels{"go": Generic(), "best": New()} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				k.Adam(th, g, m, v, c)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/param")
		})
	}
}
