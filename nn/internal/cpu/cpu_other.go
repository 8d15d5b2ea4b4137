//go:build !amd64 || purego

package cpu

// Detect reports no extensions: the assembly kernels are amd64-only, and
// the purego build tag disables them.
func Detect() Features { return Features{} }
