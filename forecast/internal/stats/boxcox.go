package stats

// The shifted Box-Cox family of variance-stabilising transformations used before fitting
// additive forecasting models, with the inverse used to back-transform forecast quantiles.
//
// Reference: Box, G.E.P. and Cox, D.R. (1964) "An analysis of transformations", JRSS B 26,
// 211-252; Hyndman & Athanasopoulos, "Forecasting: Principles and Practice" (3rd ed.),
// sections 3.1 and 5.6. Because the transformation is strictly increasing, quantiles
// back-transform exactly: the p-quantile of y is Inverse of the p-quantile of the transformed
// series. The back-transformed point forecast is therefore the forecast median, not the mean
// (no bias adjustment), as in forecast::forecast.ets with biasadj=FALSE.

import (
	"fmt"
	"math"
)

// BoxCox is the transformation z = ((y+Shift)^Lambda - 1)/Lambda, or log(y+Shift) when
// Lambda is 0. Log1p is BoxCox{Lambda: 0, Shift: 1}.
type BoxCox struct {
	Lambda float64
	Shift  float64
}

// Log1p returns the log(1+y) transformation, suitable for counts that can be zero.
func Log1p() BoxCox { return BoxCox{Lambda: 0, Shift: 1} }

// Validate reports whether the transformation can be applied to every value of y.
func (b BoxCox) Validate(y []float64) error {
	if math.IsNaN(b.Lambda) || math.IsInf(b.Lambda, 0) || math.IsNaN(b.Shift) || math.IsInf(b.Shift, 0) {
		return fmt.Errorf("transform: Lambda (%v) and Shift (%v) must be finite", b.Lambda, b.Shift)
	}
	for i, v := range y {
		if v+b.Shift <= 0 && !math.IsNaN(v) {
			return fmt.Errorf("transform: y[%d]+Shift = %v is not positive", i, v+b.Shift)
		}
	}
	return nil
}

// Forward returns the transformed value of y.
func (b BoxCox) Forward(y float64) float64 {
	x := y + b.Shift
	if b.Lambda == 0 {
		return math.Log(x)
	}
	return (math.Pow(x, b.Lambda) - 1) / b.Lambda
}

// Inverse returns the value whose transform is z. Where the inverse is undefined
// (Lambda*z+1 <= 0 for Lambda > 0) it returns the lower end of the range, -Shift.
func (b BoxCox) Inverse(z float64) float64 {
	if b.Lambda == 0 {
		return math.Exp(z) - b.Shift
	}
	u := b.Lambda*z + 1
	if u <= 0 {
		if b.Lambda > 0 {
			return -b.Shift
		}
		return math.Inf(1)
	}
	return math.Pow(u, 1/b.Lambda) - b.Shift
}

// ForwardAll returns the transformed copy of y (NaN stays NaN).
func (b BoxCox) ForwardAll(y []float64) []float64 {
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = b.Forward(v)
	}
	return out
}
