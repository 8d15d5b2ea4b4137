// Package cpu reports the x86 vector extensions that package nn's assembly
// kernels need. Detection runs on every call (a few CPUID instructions), so
// callers cache the result in their own values; there is no package state.
package cpu

// Features are the instruction sets usable by this process: the CPU must
// support them and the OS must save their registers.
type Features struct {
	AVX2FMA bool // AVX, AVX2 and FMA3 with ymm state enabled
	AVX512F bool // AVX-512 Foundation with opmask and zmm state enabled
}
