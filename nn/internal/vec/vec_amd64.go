//go:build amd64 && !purego

package vec

const hasAsm = true

// adamAVX2 updates n elements, n a multiple of 8.
//
//go:noescape
func adamAVX2(theta, grad, m, v *float32, n int, c *AdamConsts)

// addAVX2 does dst += src on n elements, n a multiple of 16.
//
//go:noescape
func addAVX2(dst, src *float32, n int)

// The following process n elements, n a multiple of 16.

//go:noescape
func reluAVX2(dst, src *float32, n int)

//go:noescape
func reluGradAVX2(dst, y, grad *float32, n int)

//go:noescape
func mulAVX2(dst, a, b *float32, n int)

//go:noescape
func mulAddAVX2(dst, a, b *float32, n int)
