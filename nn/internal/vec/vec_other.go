//go:build !amd64 || purego

package vec

const hasAsm = false

func adamAVX2(theta, grad, m, v *float32, n int, c *AdamConsts) { panic("unreachable") }

func addAVX2(dst, src *float32, n int) { panic("unreachable") }

func reluAVX2(dst, src *float32, n int) { panic("unreachable") }

func reluGradAVX2(dst, y, grad *float32, n int) { panic("unreachable") }

func mulAVX2(dst, a, b *float32, n int) { panic("unreachable") }

func mulAddAVX2(dst, a, b *float32, n int) { panic("unreachable") }
