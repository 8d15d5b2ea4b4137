// Package cpu reports the x86 vector extensions that package nn's assembly kernels need, from
// golang.org/x/sys/cpu: it reads CPUID and checks, with XGETBV, that the OS saves the ymm (and,
// for AVX-512, the opmask and zmm) registers (Intel SDM vol. 1 §14.3 and §15.2), so that a
// feature reported here is usable by this process. The kernels are amd64-only and their files
// carry the purego build tag; on other architectures every feature is false.
package cpu

import "golang.org/x/sys/cpu"

// Features are the instruction sets usable by this process: the CPU must
// support them and the OS must save their registers.
type Features struct {
	AVX2FMA bool // AVX, AVX2 and FMA3 with ymm state enabled
	AVX512F bool // AVX-512 Foundation with opmask and zmm state enabled, and AVX2FMA
}

// Detect returns the features golang.org/x/sys/cpu detected at start-up.
func Detect() Features {
	x := cpu.X86
	avx2fma := x.HasAVX && x.HasAVX2 && x.HasFMA
	return Features{AVX2FMA: avx2fma, AVX512F: avx2fma && x.HasAVX512F}
}
