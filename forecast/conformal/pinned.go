package conformal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/prevoir/prevoir"
)

// pinned is the state of a conformal fit: its calibration (the inner model is pinned beside).
// Versions registered before pinning stored the calibration alone, in the same form.
type pinned struct {
	Name string `json:"name,omitempty"`
	Calibration
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "conformal"

// PinnedState returns the state of a calibration of the model name, for a pinned state
// assembled from parts (a version registered before pinning).
func PinnedState(name string, cal Calibration) (json.RawMessage, error) {
	return json.Marshal(pinned{Name: name, Calibration: cal})
}

// Pin returns the calibration with the inner model's state (prevoir.Pinner).
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	in, ok := ft.inner.(prevoir.Pinner)
	if !ok {
		return nil, fmt.Errorf("%s: the inner model (%T) cannot be pinned", ft.name, ft.inner)
	}
	ip, err := in.Pin(ctx)
	if err != nil {
		return nil, err
	}
	b, err := PinnedState(ft.name, Calibration{Scale: ft.scale, Residuals: ft.res, WeeklyResiduals: ft.wres})
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", ft.name, err)
	}
	return &prevoir.Pinned{Kind: PinnedKind, State: b, Inner: []*prevoir.Pinned{ip}, Summary: fmt.Sprintf("%s; %s", ip.Summary, ft.calibrationSummary())}, nil
}

// calibrationSummary says what the intervals were calibrated on.
func (ft *fitted) calibrationSummary() string {
	lo, hi := counts(ft.res)
	d := fmt.Sprintf("conformal %s intervals from %d-%d residuals per horizon, horizons 1-%d", ft.scale, lo, hi, len(ft.res))
	if len(ft.wres) > 0 {
		lo, hi = counts(ft.wres)
		d += fmt.Sprintf(", weekly totals from %d-%d residuals per week, weeks 1-%d", lo, hi, len(ft.wres))
	}
	return d
}

// counts returns the fewest and the most residuals of the non-empty res's horizons or weeks.
func counts(res [][]float64) (lo, hi int) {
	lo, hi = len(res[0]), len(res[0])
	for _, r := range res {
		lo, hi = min(lo, len(r)), max(hi, len(r))
	}
	return lo, hi
}

// LoadPinned rebuilds the conformal fit p pins on f: the inner model loaded by load on f, with the
// pinned calibration.
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame, load prevoir.PinnedLoader) (prevoir.Fitted, error) {
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("conformal: pinned state: %w", err)
	}
	if len(p.Inner) != 1 {
		return nil, errors.New("conformal: pinned state: want one inner model")
	}
	inner, err := load(ctx, p.Inner[0], f)
	if err != nil {
		return nil, err
	}
	return withCalibration(st.Name, inner, st.Calibration)
}
