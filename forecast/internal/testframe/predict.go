package testframe

import (
	"context"
	"testing"

	"github.com/prevoir/prevoir"
)

// Predict fits fc on f and forecasts h days at the given quantile levels, failing the test
// (with the model's name) when either step fails or the forecast does not validate.
func Predict(t testing.TB, fc prevoir.Forecaster, f *prevoir.Frame, h int, quantiles []float64) (*prevoir.Forecast, prevoir.Fitted) {
	t.Helper()
	ft, err := fc.Fit(context.Background(), f)
	if err != nil {
		t.Fatalf("%s: fit: %v", fc.Name(), err)
	}
	out, err := ft.Predict(context.Background(), h, quantiles)
	if err != nil {
		t.Fatalf("%s: predict: %v", fc.Name(), err)
	}
	if err := out.Validate(); err != nil {
		t.Fatalf("%s: %v", fc.Name(), err)
	}
	return out, ft
}
