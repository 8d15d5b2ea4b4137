package theta

import (
	"context"
	"fmt"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/ets"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// ModelState is what a fitted Model estimated: its smoothing parameter, theta coefficient,
// initial level, drift or trend line, seasonal indices and error variance. Filter applies it
// to a series without estimating anything.
type ModelState struct {
	Optimized bool    `json:"optimized"`
	Alpha     float64 `json:"alpha"`
	Theta     float64 `json:"theta"`
	Sigma2    float64 `json:"sigma2"`
	// Level0 is the initial level of the SES (standard method) or of the theta line (OTM).
	Level0 float64 `json:"initial_level"`
	// Drift is the standard method's drift.
	Drift float64 `json:"drift,omitempty"`
	// A and B are the OTM's trend line A + B t, t = 1, 2, ... from the series' first value.
	A float64 `json:"trend_intercept,omitempty"`
	B float64 `json:"trend_slope,omitempty"`
	// Seasonal are the seasonal indices by position t mod m from the series' first value;
	// empty when the series was not found seasonal.
	Seasonal []float64 `json:"seasonal,omitempty"`
}

// State returns the model's state.
func (md *Model) State() ModelState {
	return ModelState{Optimized: md.optimized, Alpha: md.alpha, Theta: md.theta, Sigma2: md.sigma2, Level0: md.l0,
		Drift: md.drift, A: md.a, B: md.b, Seasonal: append([]float64(nil), md.figure...)}
}

// Summary describes the model in one line.
func (st ModelState) Summary() string {
	parts := []string{"Theta", fmt.Sprintf("theta=%.4g", st.Theta), fmt.Sprintf("alpha=%.4g", st.Alpha), fmt.Sprintf("l0=%.4g", st.Level0)}
	if st.Optimized {
		parts[0] = "OTM"
		parts = append(parts, fmt.Sprintf("trend=%.4g%+.4g*t", st.A, st.B))
	} else {
		parts = append(parts, fmt.Sprintf("drift=%.4g", st.Drift))
	}
	parts = append(parts, fmt.Sprintf("sigma2=%.4g", st.Sigma2))
	if len(st.Seasonal) > 0 {
		idx := make([]string, len(st.Seasonal))
		for i, v := range st.Seasonal {
			idx[i] = fmt.Sprintf("%.3g", v)
		}
		parts = append(parts, "seasonal="+strings.Join(idx, ","))
	}
	return strings.Join(parts, " ")
}

// Filter applies the model st to y: y is seasonally adjusted with the fixed indices and the
// fixed smoothing recursion runs over it from the fixed initial level (for the standard method,
// the ETS(A,N,N) filter of Hyndman et al. 2008, see ets.Filter), so that the model forecasts
// from y's end with the parameters it was fitted with. y must be finite.
func Filter(st ModelState, y []float64) (*Model, error) {
	if err := stats.CheckFinite("y", y); err != nil {
		return nil, fmt.Errorf("theta: %w (fill gaps before filtering)", err)
	}
	n := len(y)
	if n == 0 {
		return nil, fmt.Errorf("theta: no value to filter")
	}
	if st.Theta == 0 || st.Alpha <= 0 {
		return nil, fmt.Errorf("theta: pinned state has theta=%v alpha=%v", st.Theta, st.Alpha)
	}
	x := y
	var fig []float64
	if m := len(st.Seasonal); m > 0 {
		x = make([]float64, n)
		for t := range y {
			x[t] = y[t] / st.Seasonal[t%m]
		}
		fig = make([]float64, m)
		for i := range fig {
			fig[i] = st.Seasonal[(n+i)%m]
		}
	}
	md := &Model{optimized: st.Optimized, n: n, alpha: st.Alpha, theta: st.Theta, sigma2: st.Sigma2, seasonal: fig,
		figure: append([]float64(nil), st.Seasonal...), l0: st.Level0, drift: st.Drift, a: st.A, b: st.B}
	if st.Optimized {
		md.zlevel = thetaLevel(x, st.A, st.B, st.Alpha, st.Theta, st.Level0)
		return md, nil
	}
	ses, err := ets.Filter(ets.ModelState{Spec: "ANN", Alpha: st.Alpha, Phi: 1, Initial: []float64{st.Level0}, Period: 1, Sigma2: st.Sigma2}, x)
	if err != nil {
		return nil, fmt.Errorf("theta: %w", err)
	}
	level, _, err := ses.Forecast(1, nil)
	if err != nil {
		return nil, fmt.Errorf("theta: %w", err)
	}
	md.level = level[0]
	return md, nil
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "theta"

// Pin returns the fitted model's state (prevoir.Pinner).
func (ft *fitted) Pin(ctx context.Context) (*prevoir.Pinned, error) {
	st := ft.md.State()
	return adapt.Pinned[ModelState]{Name: ft.Name, Start: ft.s.Start, Fill: ft.fill, MaxGap: ft.maxGap, Model: st}.Pin(PinnedKind, st.Summary())
}

// LoadPinned rebuilds the fitted model p pins on f: its parameters applied by Filter to the target
// from the day the model's series began to f's last day, gaps handled as Fit does.
func LoadPinned(ctx context.Context, p *prevoir.Pinned, f *prevoir.Frame) (prevoir.Fitted, error) {
	st, s, md, err := adapt.Load(ctx, p, f, Filter)
	if err != nil {
		return nil, err
	}
	return &fitted{Fitted: adapt.Fitted{Name: st.Name, Origin: s.Origin, Lead: s.Lead, Model: md}, s: s, md: md, fill: st.Fill, maxGap: st.MaxGap}, nil
}
