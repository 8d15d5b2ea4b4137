package cpu

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestDetectIsConsistent(t *testing.T) {
	f := Detect()
	if f.AVX512F && !f.AVX2FMA {
		t.Error("AVX-512F reported without AVX2/FMA")
	}
	if Detect() != f {
		t.Error("Detect is not stable")
	}
	t.Logf("%+v", f)
}

// TestDetectAgreesWithLinux compares Detect with the flags Linux reports in /proc/cpuinfo, which
// it clears for the extensions whose register state the kernel does not save.
func TestDetectAgreesWithLinux(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("needs linux/amd64")
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip(err)
	}
	var flags []string
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			flags = strings.Fields(v)
			break
		}
	}
	if flags == nil {
		t.Skip("no flags line in /proc/cpuinfo")
	}
	has := func(s string) bool { return slices.Contains(flags, s) }
	want := Features{AVX2FMA: has("avx") && has("avx2") && has("fma")}
	want.AVX512F = want.AVX2FMA && has("avx512f")
	if got := Detect(); got != want {
		t.Errorf("Detect() = %+v, /proc/cpuinfo says %+v", got, want)
	}
}
