package secondary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/holiday"
)

// pinned is the state of a fitted model: its settings, its estimates and the holiday factors
// (the admissions model is pinned beside, as the inner model).
type pinned struct {
	Name        string  `json:"name"`
	Primary     string  `json:"primary"`
	Window      int     `json:"window"`
	MaxDelay    int     `json:"max_delay"`
	Gamma       bool    `json:"gamma_delay,omitempty"`
	Trend       bool    `json:"trend,omitempty"`
	Extrapolate bool    `json:"extrapolate,omitempty"`
	HalfLife    float64 `json:"half_life,omitempty"`
	Paths       int     `json:"paths"`
	Median      bool    `json:"median,omitempty"`
	Drift       float64 `json:"drift,omitempty"`
	Params      Params  `json:"params"`
	holiday.PinnedFactors
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "secondary"

// Pin returns the model's state with its admissions model's (prevoir.Pinner).
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	in, ok := ft.adm.(prevoir.Pinner)
	if !ok {
		return nil, fmt.Errorf("%s: the admissions model (%T) cannot be pinned", ft.o.Label, ft.adm)
	}
	ip, err := in.Pin(ctx)
	if err != nil {
		return nil, err
	}
	o := ft.o
	b, err := json.Marshal(pinned{Name: o.Label, Primary: o.Primary, Window: o.Window, MaxDelay: o.MaxDelay, Gamma: o.Delay == Gamma, Trend: o.Trend,
		Extrapolate: o.Extrapolate, HalfLife: o.HalfLife, Paths: o.Paths, Median: o.Median, Drift: o.Drift, Params: ft.p,
		PinnedFactors: holiday.PinFactors(ft.factors, ft.days)})
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", o.Label, err)
	}
	p := ft.p
	return &prevoir.Pinned{Kind: PinnedKind, State: b, Inner: []*prevoir.Pinned{ip},
		Summary: fmt.Sprintf("deaths = %.4f x %s convolved with a %s delay (mean %.1f, sd %.1f days); admissions: %s",
			math.Exp(p.LogFraction), o.Primary, o.Delay, p.DelayMean, p.DelaySD, ip.Summary)}, nil
}

// LoadPinned rebuilds the model p pins on f: its estimates applied to f's latest admissions, its
// admissions model loaded by load on f with the primary column as target. A forecast of the
// primary column given with f (Frame.AheadOf) is used beyond the origin, as by Fit; it is an
// input of the forecast, not part of the pinned state.
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame, load prevoir.PinnedLoader) (prevoir.Fitted, error) {
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("secondary: pinned state: %w", err)
	}
	if len(p.Inner) != 1 {
		return nil, errors.New("secondary: pinned state: want one inner (admissions) model")
	}
	o := Options{Label: st.Name, Primary: st.Primary, Window: st.Window, MaxDelay: st.MaxDelay, Trend: st.Trend,
		Extrapolate: st.Extrapolate, HalfLife: st.HalfLife, Paths: st.Paths, Median: st.Median, Drift: st.Drift}.withDefaults()
	if st.Gamma {
		o.Delay = Gamma
	}
	if !(st.Params.DelayMean > 0 && st.Params.DelaySD > 0 && st.Params.Dispersion > 0) {
		return nil, fmt.Errorf("%s: pinned state: delay mean %v, sd %v and dispersion %v must be positive",
			o.Label, st.Params.DelayMean, st.Params.DelaySD, st.Params.Dispersion)
	}
	pb, err := newProblem(f, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	g, err := f.WithTarget(o.Primary)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	adm, err := load(ctx, p.Inner[0], g)
	if err != nil {
		return nil, err
	}
	factors, days := st.Factors()
	return &fitted{o: o, p: st.Params, pb: pb, adm: adm, given: f.AheadOf(o.Primary), factors: factors, days: days}, nil
}

// PinnedPrimary returns the column a pinned secondary model reads ahead of the origin (its
// primary column, forecast beyond it).
func PinnedPrimary(p *prevoir.Pinned) (string, error) {
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return "", fmt.Errorf("secondary: pinned state: %w", err)
	}
	return Options{Primary: st.Primary}.withDefaults().Primary, nil
}
