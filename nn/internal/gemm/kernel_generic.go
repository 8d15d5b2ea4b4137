package gemm

// genericKernel is the portable micro-kernel: a 2×4 tile. The Go compiler
// does not vectorise and has 15 usable float registers on amd64, so larger
// tiles spill their accumulators to the stack; measured on 448×512×64,
// 2×4 ran at ~5 GFLOP/s against ~3.5 for 4×4 and ~4.7 for 3×3.
func genericKernel() kernel { return kernel{mr: 2, nr: 4, fn: kernel2x4} }

func kernel2x4(kc int, a, b, c []float32, ldc int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	a = a[:kc*2]
	b = b[:kc*4]
	for l := 0; l < kc; l++ {
		aa := a[2*l : 2*l+2 : 2*l+2]
		bb := b[4*l : 4*l+4 : 4*l+4]
		a0, a1 := aa[0], aa[1]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	r := c[0:4:4]
	r[0] += c00
	r[1] += c01
	r[2] += c02
	r[3] += c03
	r = c[ldc : ldc+4 : ldc+4]
	r[0] += c10
	r[1] += c11
	r[2] += c12
	r[3] += c13
}
