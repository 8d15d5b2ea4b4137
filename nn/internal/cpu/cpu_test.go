package cpu

import "testing"

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
