//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"github.com/prevoir/prevoir/nn/internal/cpu"
)

//go:noescape
func sgemmKernel6x16(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernel14x32(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernel14x32S(kc int, a *float32, ars, acs int, b *float32, brs int, c *float32, ldc int)

func avx2Kernel() kernel { return kernel{mr: 6, nr: 16, fn: kernel6x16} }

// The Go wrappers check the bounds once so the assembly can run unchecked.

func kernel6x16(kc int, a, b, c []float32, ldc int) {
	if kc == 0 {
		return
	}
	_ = a[6*kc-1]
	_ = b[16*kc-1]
	_ = c[5*ldc+15]
	sgemmKernel6x16(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc)
}

func avx512Kernel() kernel {
	return kernel{mr: 14, nr: 32, fn: kernel14x32, strided: kernel14x32S}
}

func kernel14x32S(kc int, a []float32, ars, acs int, b []float32, brs int, c []float32, ldc int) {
	if kc == 0 {
		return
	}
	_ = a[13*ars+(kc-1)*acs]
	_ = b[(kc-1)*brs+31]
	_ = c[13*ldc+31]
	sgemmKernel14x32S(kc, unsafe.SliceData(a), ars, acs, unsafe.SliceData(b), brs, unsafe.SliceData(c), ldc)
}

func kernel14x32(kc int, a, b, c []float32, ldc int) {
	if kc == 0 {
		return
	}
	_ = a[14*kc-1]
	_ = b[32*kc-1]
	_ = c[13*ldc+31]
	sgemmKernel14x32(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc)
}

func bestKernel() kernel {
	f := cpu.Detect()
	if f.AVX512F {
		return avx512Kernel()
	}
	if f.AVX2FMA {
		return avx2Kernel()
	}
	return genericKernel()
}

func kernelName(k kernel) string {
	switch k.mr {
	case 6:
		return "avx2-fma 6x16"
	case 14:
		return "avx512f 14x32"
	}
	return "go 2x4"
}

// availableKernels lists every kernel this CPU can run, for tests and
// benchmarks.
func availableKernels() map[string]kernel {
	ks := map[string]kernel{"generic": genericKernel()}
	f := cpu.Detect()
	if f.AVX2FMA {
		ks["avx2"] = avx2Kernel()
	}
	if f.AVX512F {
		ks["avx512"] = avx512Kernel()
	}
	return ks
}
