package ets

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Candidates returns the models Auto considers for a series, in forecast::ets's search order:
// every combination of error {A, M}, trend {N, A, Ad} and season {N, A, M}, less the
// restricted ones (Spec.Restricted), the multiplicative-error ones unless the data are
// strictly positive, the multiplicative ones when additiveOnly, and the seasonal ones when
// seasonal is false. Multiplicative trends are never considered (forecast::ets's default
// allow.multiplicative.trend = FALSE).
func Candidates(positive, seasonal, additiveOnly bool) []Spec {
	var out []Spec
	for _, e := range []Component{Additive, Multiplicative} {
		for _, t := range []Component{None, Additive} {
			for _, s := range []Component{None, Additive, Multiplicative} {
				for _, d := range []bool{true, false} {
					sp := Spec{Error: e, Trend: t, Season: s, Damped: d}
					switch {
					case t == None && d,
						sp.Restricted(),
						e == Multiplicative && !positive,
						additiveOnly && (e == Multiplicative || s == Multiplicative),
						!seasonal && s != None:
						continue
					}
					out = append(out, sp)
				}
			}
		}
	}
	return out
}

// Auto fits every candidate model (see Candidates) and returns the one with the smallest
// AICc, the automatic procedure of Hyndman, Koehler, Snyder & Grose (2002) "A state space
// framework for automatic forecasting using exponential smoothing methods", International
// Journal of Forecasting 18(3), 439-454, as implemented by forecast::ets(y) and statsforecast's
// AutoETS. Seasonal models are considered when the Period is at least 2 and the series is
// longer than one period. A constant series gets ETS(A,N,N) with alpha = 0.99999 and zero
// variance, as forecast::ets does.
//
// Candidates that cannot be fitted (too few observations, no finite likelihood) are skipped;
// Auto fails only if none can be fitted or ctx is cancelled.
func Auto(ctx context.Context, y []float64, opts Options) (*Model, error) {
	p, err := prepare(y, opts)
	if err != nil {
		return nil, err
	}
	m := opts.period()
	if p.constant {
		return constantModel(p.y, opts), nil
	}
	additiveOnly := opts.AdditiveOnly || opts.Transform != nil
	seasonal := m >= 2 && len(p.y) > m
	var best *Model
	var errs []error
	for _, sp := range Candidates(p.positive, seasonal, additiveOnly) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		md, err := fit(ctx, p.y, sp, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		if ic := md.AICc(); !math.IsNaN(ic) && (best == nil || ic < best.AICc()) {
			best = md
		}
	}
	if best == nil {
		return nil, fmt.Errorf("ets: no model could be fitted: %w", errors.Join(errs...))
	}
	return best, nil
}

// constantModel is forecast::ets's answer for a constant series:
// ses(y, alpha = 0.99999, initial = "simple").
func constantModel(y []float64, opts Options) *Model {
	n := len(y)
	md := &Model{spec: Spec{Error: Additive}, m: 1, par: Params{Alpha: 0.99999, Phi: 1},
		x0: []float64{y[0]}, n: n, np: 2, lik: -1e10, tr: opts.Transform,
		resid: make([]float64, n), fitted: append([]float64(nil), y...),
		final: state{level: y[0]}, paths: 2000, seed: opts.Seed}
	return md
}
