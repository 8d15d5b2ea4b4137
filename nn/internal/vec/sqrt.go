package vec

import "math"

// sqrt32 is the correctly rounded float32 square root (rounding the
// float64 root is exact here: double rounding cannot occur for sqrt from
// 24 to 53 bits), equal to SQRTPS.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
