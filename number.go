package prevoir

import (
	"encoding/json"
	"math"
	"strconv"
)

// Number is a float64 that is null in JSON when it is missing (NaN) or infinite, so that "not
// measured yet" is never confused with zero. It is the one number type of the JSON the
// backtests store and the API serves; Series is a column of them.
type Number float64

// NaN is a missing Number.
func NaN() Number { return Number(math.NaN()) }

// Valid reports whether n is a finite value.
func (n Number) Valid() bool { return finite(float64(n)) }

// MarshalJSON writes NaN and ±Inf as null.
func (n Number) MarshalJSON() ([]byte, error) { return appendNumber(nil, float64(n)), nil }

// UnmarshalJSON reads null as NaN.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = NaN()
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// Series is a column of values with NaN for missing; it marshals as an array of Numbers (NaN
// as null) and stays a []float64 for the code that computes with it.
type Series []float64

// MarshalJSON writes NaN as null.
func (s Series) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 8*len(s)+2)
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNumber(b, v)
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads null as NaN.
func (s *Series) UnmarshalJSON(b []byte) error {
	var vs []Number
	if err := json.Unmarshal(b, &vs); err != nil {
		return err
	}
	out := make(Series, len(vs))
	for i, v := range vs {
		out[i] = float64(v)
	}
	*s = out
	return nil
}

// appendNumber appends f as JSON: the shortest decimal that reads back as f, null when it is
// NaN or infinite.
func appendNumber(b []byte, f float64) []byte {
	if !finite(f) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
