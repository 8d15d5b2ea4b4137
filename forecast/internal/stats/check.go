package stats

// The input validation shared by the forecasting packages, so that every forecaster reports
// bad input with the same messages, and the data-derived seed of their simulations.

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
)

// CheckFinite returns an error naming the first non-finite value of y (NaN or ±Inf).
func CheckFinite(name string, y []float64) error {
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s[%d] = %v is not finite", name, i, v)
		}
	}
	return nil
}

// CheckNoInf returns an error naming the first infinite value of y; NaN (a gap) is allowed.
func CheckNoInf(name string, y []float64) error {
	for i, v := range y {
		if math.IsInf(v, 0) {
			return fmt.Errorf("%s[%d] = %v is infinite", name, i, v)
		}
	}
	return nil
}

// CheckHorizon validates a forecast horizon and a list of quantile probabilities.
func CheckHorizon(h int, quantiles []float64) error {
	if h < 1 {
		return fmt.Errorf("horizon h = %d must be at least 1", h)
	}
	for j, p := range quantiles {
		if !(p > 0 && p < 1) {
			return fmt.Errorf("quantiles[%d] = %v must lie strictly between 0 and 1", j, p)
		}
	}
	return nil
}

// Seed returns a seed for a random generator derived from the values of y (FNV-1a of their
// bits): simulations seeded by the data they model are reproducible, and differ between
// data sets.
func Seed(y ...float64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, v := range y {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	return h.Sum64()
}
