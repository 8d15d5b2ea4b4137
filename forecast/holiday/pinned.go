package holiday

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/prevoir/prevoir"
)

// pinned is the state of a corrected model: its factors, with the number of past days behind
// each (the inner model is pinned beside).
type pinned struct {
	Name string `json:"name"`
	PinnedFactors
}

// PinnedFactors are the factors and day counts of Factors in a pinned state; embedded, their
// fields are at the state's top level (the correction's and the secondary model's states).
type PinnedFactors struct {
	Holiday      float64 `json:"holiday_factor"`
	HolidayDays  int     `json:"holiday_days"`
	DayAfter     float64 `json:"day_after_factor"`
	DayAfterDays int     `json:"day_after_days"`
}

// PinFactors returns the pinned form of Factors' results.
func PinFactors(factors map[Kind]float64, days map[Kind]int) PinnedFactors {
	return PinnedFactors{Holiday: factors[Holiday], HolidayDays: days[Holiday], DayAfter: factors[After], DayAfterDays: days[After]}
}

// Factors returns the factors and day counts p pins, as Forecaster.Factors returns them.
func (p PinnedFactors) Factors() (factors map[Kind]float64, days map[Kind]int) {
	return map[Kind]float64{Holiday: p.Holiday, After: p.DayAfter}, map[Kind]int{Holiday: p.HolidayDays, After: p.DayAfterDays}
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "holiday"

// Pin returns the correction's state with the inner model's (prevoir.Pinner). Only the French
// calendar is pinned: a custom calendar is code.
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	if ft.custom {
		return nil, fmt.Errorf("%s: a custom holiday calendar cannot be pinned", ft.name)
	}
	in, ok := ft.inner.(prevoir.Pinner)
	if !ok {
		return nil, fmt.Errorf("%s: the corrected model (%T) cannot be pinned", ft.name, ft.inner)
	}
	ip, err := in.Pin(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(pinned{Name: ft.name, PinnedFactors: PinFactors(ft.factors, ft.days)})
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", ft.name, err)
	}
	return &prevoir.Pinned{Kind: PinnedKind, State: b, Inner: []*prevoir.Pinned{ip},
		Summary: fmt.Sprintf("%s; holiday factor %.3f, day-after factor %.3f", ip.Summary, ft.factors[Holiday], ft.factors[After])}, nil
}

// LoadPinned rebuilds the corrected model p pins on f: the inner model loaded by load on f with the
// special days masked, as Fit fits it, and the pinned factors.
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame, load prevoir.PinnedLoader) (prevoir.Fitted, error) {
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("holiday: pinned state: %w", err)
	}
	if len(p.Inner) != 1 {
		return nil, errors.New("holiday: pinned state: want one inner model")
	}
	g, special := mask(f, Remember(France))
	inner, err := load(ctx, p.Inner[0], g)
	if err != nil {
		return nil, err
	}
	factors, days := st.Factors()
	return &fitted{name: st.Name, inner: inner, cal: France, special: special, factors: factors, days: days}, nil
}
