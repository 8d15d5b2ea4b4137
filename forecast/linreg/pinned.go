package linreg

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
)

// pinnedHorizon is one horizon's regression: the standardisation of its features, its
// coefficients and its in-sample residuals (the intervals), by sample origin (sorted in
// states pinned before weekly totals, which have no by_origin).
type pinnedHorizon struct {
	Mean      []float64 `json:"feature_mean"`
	Scale     []float64 `json:"feature_scale"`
	YMean     float64   `json:"y_mean"`
	Beta      []float64 `json:"beta"`
	Residuals []float64 `json:"residuals"`
}

type pinnedCovariate struct {
	Name  string `json:"name"`
	Log1p bool   `json:"log1p"`
}

// pinned is the state of a fitted regression: its features, penalty and every horizon's
// coefficients.
type pinned struct {
	Name          string            `json:"name"`
	Lags          int               `json:"lags"`
	Log1p         bool              `json:"log1p"`
	Weekday       bool              `json:"weekday"`
	CovariateLags int               `json:"covariate_lags,omitempty"`
	Covariates    []pinnedCovariate `json:"covariates,omitempty"`
	Window        int               `json:"window,omitempty"`
	MaxGap        int               `json:"max_gap,omitempty"`
	Growth        bool              `json:"growth,omitempty"`
	GrowthWeeks   int               `json:"growth_weeks,omitempty"`
	Holidays      bool              `json:"holidays,omitempty"`
	Lambda        float64           `json:"lambda"`
	// ByOrigin says the horizons' residuals are by sample origin, the same index the same
	// origin at every horizon: the joint vectors of the weekly totals' paths.
	ByOrigin bool            `json:"by_origin,omitempty"`
	Horizons []pinnedHorizon `json:"horizons"`
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "linreg"

// Pin returns the fitted model's state (prevoir.Pinner). The horizons fitted on demand are
// fitted first up to Horizon plus adapt.DefaultMaxGap, so that the pinned model can forecast
// when the origin's latest values are missing (they add horizons).
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	if !ft.pinned {
		if err := ft.ensure(ctx, ft.o.Horizon+ft.s.Lead+adapt.DefaultMaxGap); err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	ft.mu.Lock()
	models := ft.models
	ft.mu.Unlock()
	st := pinned{Name: ft.o.Label, Lags: ft.o.Lags, Log1p: ft.o.Log1p, Weekday: ft.o.Weekday, Window: ft.o.Window,
		MaxGap: ft.o.MaxGap, Holidays: ft.o.Holidays, Lambda: ft.lambda, ByOrigin: true}
	if ft.o.Growth {
		st.Growth, st.GrowthWeeks = true, ft.o.GrowthWeeks
	}
	if len(ft.covs) > 0 {
		st.CovariateLags = ft.o.CovariateLags
	}
	for _, c := range ft.covs {
		st.Covariates = append(st.Covariates, pinnedCovariate{Name: c.name, Log1p: c.log1p})
	}
	for _, m := range models {
		st.ByOrigin = st.ByOrigin && m.res != nil
	}
	for _, m := range models {
		res := m.res
		if !st.ByOrigin {
			res = m.sorted
		}
		st.Horizons = append(st.Horizons, pinnedHorizon{Mean: m.st.mean, Scale: m.st.scale, YMean: m.st.ymean, Beta: m.beta, Residuals: res})
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%s: pin: %w", ft.o.Label, err)
	}
	var d strings.Builder
	fmt.Fprintf(&d, "ridge lambda=%g on %d lags", ft.lambda, ft.o.Lags)
	ft.writeFeatures(&d)
	fmt.Fprintf(&d, "; coefficients of horizons 1-%d", len(models))
	return &prevoir.Pinned{Kind: PinnedKind, Summary: d.String(), State: b}, nil
}

// LoadPinned rebuilds the regression p pins on f: its coefficients applied to f's latest lags.
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var st pinned
	if err := json.Unmarshal(p.State, &st); err != nil {
		return nil, fmt.Errorf("linreg: pinned state: %w", err)
	}
	o := Options{Label: st.Name, Lags: st.Lags, Log1p: st.Log1p, Weekday: st.Weekday, CovariateLags: st.CovariateLags,
		Window: st.Window, MaxGap: st.MaxGap, Growth: st.Growth, GrowthWeeks: st.GrowthWeeks, Holidays: st.Holidays,
		Lambda: st.Lambda}.withDefaults()
	if len(st.Horizons) == 0 {
		return nil, fmt.Errorf("%s: pinned state has no horizon", o.Label)
	}
	ft := &fitted{o: o, lambda: st.Lambda, pinned: true}
	s, err := adapt.Target(f, adapt.Options{Window: o.Window, Period: 7, Fill: true, MaxGap: o.MaxGap, MinLen: ft.lookback() + 1})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Label, err)
	}
	if len(s.Values) <= ft.lookback() {
		return nil, fmt.Errorf("%s: %d days from %s, the pinned model reads %d", o.Label, len(s.Values), s.Start, ft.lookback()+1)
	}
	ft.setTarget(s)
	n := len(ft.z)
	for _, pc := range st.Covariates {
		z, from, err := ft.align(f, pc.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Label, err)
		}
		if from > n-1-ft.covLookback() || math.IsNaN(z[n-1]) {
			return nil, fmt.Errorf("%s: covariate %q is missing in the last %d days, which the pinned model reads", o.Label, pc.Name, ft.covLookback()+1)
		}
		c := covariate{name: pc.Name, x: z, log1p: pc.Log1p}
		c.transform(from, o.Growth)
		ft.covs = append(ft.covs, c)
	}
	p0 := ft.nfeatures()
	for k, h := range st.Horizons {
		if len(h.Mean) != p0 || len(h.Scale) != p0 || len(h.Beta) != p0 || len(h.Residuals) == 0 {
			return nil, fmt.Errorf("%s: pinned horizon %d: %d means, %d scales, %d coefficients, %d residuals for %d features",
				o.Label, k+1, len(h.Mean), len(h.Scale), len(h.Beta), len(h.Residuals), p0)
		}
		m := &model{st: &standardised{mean: h.Mean, scale: h.Scale, ymean: h.YMean}, beta: h.Beta, sorted: h.Residuals}
		if st.ByOrigin {
			m.res, m.sorted = h.Residuals, slices.Sorted(slices.Values(h.Residuals))
		}
		ft.models = append(ft.models, m)
	}
	return ft, nil
}
