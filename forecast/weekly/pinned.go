package weekly

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/holiday"
)

// PinnedKind is the pinned states' kind.
const PinnedKind = "weekly"

// pinned is a fitted model's state: its settings, the covariates it reads, every horizon's
// regression, the weekday profile and the holiday factors.
type pinned struct {
	Name         string     `json:"name"`
	Window       int        `json:"window"`
	Lags         int        `json:"lags"`
	Lambda       float64    `json:"lambda"`
	ProfileWeeks int        `json:"profile_weeks"`
	MaxGap       int        `json:"max_gap,omitempty"`
	Covariates   []string   `json:"covariates"`
	Horizons     []horizon  `json:"horizons"`
	Shares       [7]float64 `json:"weekday_shares"`
	ProfileSigma float64    `json:"profile_sigma"`
	Holiday      float64    `json:"holiday_factor"`
	After        float64    `json:"after_holiday_factor"`
}

// Pin returns the fitted model's state (prevoir.Pinner).
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ft.mu.Lock()
	hzs := slices.Clone(ft.hzs)
	ft.mu.Unlock()
	st := pinned{Name: ft.o.Label, Window: ft.o.Window, Lags: ft.o.Lags, Lambda: ft.o.Lambda, ProfileWeeks: ft.o.ProfileWeeks,
		MaxGap: ft.o.MaxGap, Covariates: append([]string{}, ft.covs...), Horizons: hzs, Shares: ft.share, ProfileSigma: ft.sigmaP,
		Holiday: ft.factor[holiday.Holiday], After: ft.factor[holiday.After]}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", ft.o.Label, err)
	}
	return &prevoir.Pinned{Kind: PinnedKind, Summary: ft.Describe(), State: b}, nil
}

// LoadPinned rebuilds the model p pins on f: its regressions, profile and factors applied to
// f's latest weeks, nothing estimated.
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("weekly: pinned state: %w", err)
	}
	o := Options{Label: st.Name, Window: st.Window, Lags: st.Lags, Lambda: st.Lambda, ProfileWeeks: st.ProfileWeeks,
		MaxGap: st.MaxGap, Covariates: st.Covariates}
	o = o.withDefaults()
	if len(st.Horizons) == 0 {
		return nil, fmt.Errorf("%s: pinned state has no horizon", o.Label)
	}
	p0 := o.nfeatures(len(st.Covariates))
	for k, h := range st.Horizons {
		if len(h.Beta) != p0 {
			return nil, fmt.Errorf("%s: pinned horizon %d has %d coefficients for %d features", o.Label, k+1, len(h.Beta), p0)
		}
	}
	ft, err := build(f, o, st.Covariates)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(ft.covs, st.Covariates) {
		return nil, fmt.Errorf("%s: the pinned model reads %v, observed in the last week of the frame: %v", o.Label, st.Covariates, ft.covs)
	}
	ft.hzs, ft.pinned = st.Horizons, true
	ft.share, ft.sigmaP = st.Shares, st.ProfileSigma
	ft.factor = map[holiday.Kind]float64{holiday.Holiday: st.Holiday, holiday.After: st.After}
	return ft, nil
}
