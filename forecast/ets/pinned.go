package ets

import (
	"context"
	"fmt"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/adapt"
	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// Code returns the model code ParseSpec reads: "ANN", "AAdA", "MAdM".
func (s Spec) Code() string {
	t := s.Trend.letter()
	if s.Damped {
		t += "d"
	}
	return s.Error.letter() + t + s.Season.letter()
}

// ModelState is what a fitted Model estimated, the parameters that make it that model: its
// form, smoothing parameters, initial state and innovation variance, with the settings its
// forecasts depend on. Filter applies it to a series without estimating anything.
type ModelState struct {
	// Spec is the model code ("MAdM").
	Spec  string  `json:"spec"`
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
	Gamma float64 `json:"gamma"`
	Phi   float64 `json:"phi"`
	// Initial is the initial state x0 = [l, b?, s_1..s_m], the seasonal states in chronological
	// order (s_1 applies to the series' first value).
	Initial []float64 `json:"initial_state"`
	// Period is the seasonal period (1 without a season).
	Period    int        `json:"period"`
	Sigma2    float64    `json:"sigma2"`
	Transform *Transform `json:"transform,omitempty"`
	SimPaths  int        `json:"sim_paths"`
	Seed      uint64     `json:"seed"`
}

// State returns the model's state.
func (md *Model) State() ModelState {
	return ModelState{Spec: md.spec.Code(), Alpha: md.par.Alpha, Beta: md.par.Beta, Gamma: md.par.Gamma, Phi: md.par.Phi,
		Initial: append([]float64(nil), md.x0...), Period: md.m, Sigma2: md.sigma2, Transform: md.tr, SimPaths: md.paths, Seed: md.seed}
}

// Summary describes the model in one line: its form and the parameters it uses.
func (st ModelState) Summary() string {
	sp, err := ParseSpec(st.Spec)
	if err != nil {
		return "ETS(" + st.Spec + ")"
	}
	parts := []string{sp.String(), fmt.Sprintf("alpha=%.4g", st.Alpha)}
	if sp.Trend != None {
		parts = append(parts, fmt.Sprintf("beta=%.4g", st.Beta))
	}
	if sp.Season != None {
		parts = append(parts, fmt.Sprintf("gamma=%.4g", st.Gamma))
	}
	if sp.Damped {
		parts = append(parts, fmt.Sprintf("phi=%.4g", st.Phi))
	}
	parts = append(parts, fmt.Sprintf("sigma2=%.4g", st.Sigma2), fmt.Sprintf("l0=%.4g", st.Initial[0]))
	if st.Transform != nil {
		parts = append(parts, fmt.Sprintf("Box-Cox lambda=%g shift=%g", st.Transform.Lambda, st.Transform.Shift))
	}
	return strings.Join(parts, " ")
}

// Filter applies the model st to y: the innovations state-space recursions of Hyndman,
// Koehler, Ord & Snyder (2008), "Forecasting with Exponential Smoothing: The State Space
// Approach" (Springer), chapter 2 (as etscalc.c runs them), from the fixed initial state with
// the fixed parameters, over every value of y, give the state at y's end, from which the model
// forecasts. Nothing is estimated: on the series it was fitted to, it is the fitted model; on
// a longer one (the same start, newer days), the same model brought up to date. y must be
// finite.
func Filter(st ModelState, y []float64) (*Model, error) {
	sp, err := ParseSpec(st.Spec)
	if err != nil {
		return nil, err
	}
	if err := stats.CheckFinite("y", y); err != nil {
		return nil, fmt.Errorf("ets: %w (fill gaps before filtering)", err)
	}
	m := 1
	if sp.Season != None {
		m = st.Period
		if m < 2 || m > maxPeriod {
			return nil, fmt.Errorf("ets: %v: period %d must be between 2 and %d", sp, m, maxPeriod)
		}
	}
	nstate, npar := sp.counts(m)
	want := 1
	if sp.Trend != None {
		want++
	}
	if sp.Season != None {
		want += m
	}
	if len(st.Initial) != want {
		return nil, fmt.Errorf("ets: %v: %d initial states, want %d", sp, len(st.Initial), want)
	}
	if len(y) == 0 {
		return nil, fmt.Errorf("ets: %v: no value to filter", sp)
	}
	z := y
	if st.Transform != nil {
		if err := st.Transform.Validate(y); err != nil {
			return nil, fmt.Errorf("ets: %w", err)
		}
		z = st.Transform.ForwardAll(y)
	}
	md := &Model{spec: sp, m: m, par: Params{Alpha: st.Alpha, Beta: st.Beta, Gamma: st.Gamma, Phi: st.Phi},
		x0: append([]float64(nil), st.Initial...), n: len(z), np: npar + nstate, sigma2: st.Sigma2, tr: st.Transform,
		paths: st.SimPaths, seed: st.Seed, resid: make([]float64, len(z)), fitted: make([]float64, len(z))}
	if md.paths <= 0 {
		md.paths = 2000
	}
	sse, slf, ok := recursion(z, sp, m, md.par, md.x0, make([]float64, m), md.resid, md.fitted, &md.final)
	if !ok {
		return nil, fmt.Errorf("ets: %v: non-finite one-step forecasts when filtering %d values with the pinned parameters", sp, len(z))
	}
	md.lik = minusTwoLogLik(len(z), sse, slf, sp.Error == Multiplicative)
	return md, nil
}

// PinnedKind is the pinned states' kind.
const PinnedKind = "ets"

// Pin returns the fitted model's state (prevoir.Pinner): its form and parameters.
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
