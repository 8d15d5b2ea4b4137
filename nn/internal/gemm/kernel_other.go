//go:build !amd64 || purego

package gemm

func bestKernel() kernel { return genericKernel() }

func kernelName(k kernel) string { return "go 2x4" }

func availableKernels() map[string]kernel { return map[string]kernel{"generic": genericKernel()} }
