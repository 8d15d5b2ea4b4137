package naive

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/prevoir/prevoir"
)

// pinned is the state of a fitted benchmark: only its settings. The methods estimate nothing
// that outlives the data: the forecast is the latest values by definition, and σ is the noise
// of the latest Window days (the window exists so that intervals follow the current noise).
type pinned struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Period int    `json:"period,omitempty"`
	K      int    `json:"k,omitempty"`
	Window int    `json:"window,omitempty"`
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "naive"

// Pin returns the fitted model's state (prevoir.Pinner): its method and window, and that
// nothing else is pinned.
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	fc := ft.fc
	b, err := json.Marshal(pinned{Name: fc.Name(), Method: fc.Method.String(), Period: fc.Period, K: fc.K, Window: fc.Window})
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", fc.Name(), err)
	}
	window := "all days"
	if fc.Window > 0 {
		window = fmt.Sprintf("the last %d days", fc.Window)
	}
	return &prevoir.Pinned{Kind: PinnedKind, State: b,
		Summary: fmt.Sprintf("%s: nothing estimated (forecasts the latest values; sigma from %s of the data)", fc.Method, window)}, nil
}

// LoadPinned rebuilds the benchmark p pins on f: the method applied to f (nothing was estimated).
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("naive: pinned state: %w", err)
	}
	// The state names the method by Method.String.
	methods := []Method{MethodNaive, MethodSeasonalNaive, MethodMean, MethodDrift}
	i := slices.IndexFunc(methods, func(m Method) bool { return m.String() == st.Method })
	if i < 0 {
		return nil, fmt.Errorf("naive: pinned state: unknown method %q", st.Method)
	}
	fc := Forecaster{Method: methods[i], Period: st.Period, K: st.K, Window: st.Window, Label: st.Name}
	return fc.Fit(ctx, f)
}
