//go:build amd64 && !purego

package cpu

//go:noescape
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

//go:noescape
func xgetbv0() (eax, edx uint32)

// Detect reads CPUID leaf 1 ECX bits 12 (FMA), 27 (OSXSAVE) and 28 (AVX),
// leaf 7 EBX bits 5 (AVX2) and 16 (AVX512F), and XCR0 bits 1-2 (xmm/ymm)
// and 5-7 (opmask, zmm) (Intel SDM vol. 1 §14.3 and §15.2; AMD APM vol. 3
// appendix E).
func Detect() Features {
	var f Features
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return f
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return f
	}
	xcr0, _ := xgetbv0()
	_, ebx7, _, _ := cpuid(7, 0)
	f.AVX2FMA = xcr0&0x6 == 0x6 && ebx7&(1<<5) != 0
	f.AVX512F = f.AVX2FMA && xcr0&0xe6 == 0xe6 && ebx7&(1<<16) != 0
	return f
}
