package backtest

import (
	"math"

	"github.com/prevoir/prevoir"
)

// Result is everything a backtest measured, in the form it is stored (JSON): the protocol,
// the champion decision, a score per model and every forecast with its actual value, so that
// any number in the summary can be recomputed from the rows.
type Result struct {
	// Champion is the model chosen by the champion rule (see Decision), "" if none.
	Champion string `json:"champion"`
	// Decision explains the choice with every number it used.
	Decision Decision `json:"decision"`
	// Protocol describes how the forecasts were made and scored.
	Protocol Protocol `json:"protocol"`
	// Models holds one score per model, in the order of SortModels: by increasing MAE, the
	// models that failed at some origins last.
	Models []ModelScore `json:"models"`
	// Forecasts holds one row per model, origin and horizon.
	Forecasts []Row `json:"forecasts"`
	// Weekly holds one row per model, origin and whole week of its forecast (see WeeklyRow).
	Weekly []WeeklyRow `json:"weekly"`
	// Reference holds the forecasts the relative measures are relative to.
	Reference Reference `json:"reference"`
	// Fits records each model's fit at each scored origin.
	Fits []Fit `json:"fits"`
}

// Protocol describes a backtest.
type Protocol struct {
	Target string `json:"target"`
	// Origins are the scored forecast origins (the last day of data each fit sees).
	Origins []prevoir.Date `json:"origins"`
	Every   int            `json:"every_days"`
	Horizon int            `json:"horizon"`
	// Window is the sliding training window in days, 0 for an expanding window (all the data
	// up to the origin). Models may use a shorter window of their own.
	Window int `json:"window_days"`
	// Refit is the refit policy.
	Refit     string    `json:"refit"`
	Quantiles []float64 `json:"quantiles"`
	// MASEScale says how the MASE denominator is computed.
	MASEScale   string                `json:"mase_scale"`
	Description string                `json:"description"`
	Data        []prevoir.FrameSource `json:"data,omitempty"`
}

// ModelScore is a model's accuracy over the scored origins. Coverages are fractions in [0, 1];
// sMAPE is in percent (0-200). A measure that cannot be computed (no interval, no actual) is
// NaN, null in JSON.
type ModelScore struct {
	Name  string         `json:"name"`
	MAE   prevoir.Number `json:"mae"`
	RMSE  prevoir.Number `json:"rmse"`
	MASE  prevoir.Number `json:"mase"`
	SMAPE prevoir.Number `json:"smape"`
	WIS   prevoir.Number `json:"wis"`
	// Coverage50, 80 and 95 are the fractions of actual values inside the central 50%, 80%
	// and 95% prediction intervals.
	Coverage50 prevoir.Number `json:"coverage_50"`
	Coverage80 prevoir.Number `json:"coverage_80"`
	Coverage95 prevoir.Number `json:"coverage_95"`
	// RelativeWIS is the daily WIS relative to the seasonal naive's on the same days
	// (Reference.Daily).
	RelativeWIS prevoir.Number `json:"relative_wis"`
	// Weekly scores the totals of the forecasts' whole weeks.
	Weekly WeeklyScore `json:"weekly"`
	// MAEByHorizon[i] is the MAE of the forecasts i+1 days ahead.
	MAEByHorizon prevoir.Series `json:"mae_by_horizon"`
	// FitSeconds is the wall-clock time of every fit and prediction needed to produce the
	// model's forecasts from scratch, summed (for composite models it includes their
	// members' and past origins' fits).
	FitSeconds float64 `json:"fit_seconds"`
	// Origins counts the scored origins with a forecast, Points the forecast days with an
	// actual value.
	Origins int `json:"origins"`
	Points  int `json:"points"`
	// Failures counts the scored origins where the model failed; Error is the first failure.
	Failures int    `json:"failures"`
	Error    string `json:"error,omitempty"`
}

// recorded lists the measures of s that runs and model versions record besides fit_seconds,
// under their recorded names: the one mapping that Measures and ScoreOfMetrics both follow.
func (s *ModelScore) recorded() []struct {
	name string
	p    *prevoir.Number
} {
	w := &s.Weekly
	return []struct {
		name string
		p    *prevoir.Number
	}{{"mae", &s.MAE}, {"rmse", &s.RMSE}, {"mase", &s.MASE}, {"wis", &s.WIS},
		{"coverage_80", &s.Coverage80}, {"coverage_95", &s.Coverage95}, {"relative_wis", &s.RelativeWIS},
		{"weekly_mae", &w.MAE}, {"weekly_wis", &w.WIS}, {"weekly_relative_ae", &w.RelativeAE},
		{"weekly_relative_wis", &w.RelativeWIS}, {"weekly_coverage_50", &w.Coverage50}, {"weekly_coverage_95", &w.Coverage95}}
}

// Measures returns every measure of the score that runs record, under the names they and
// model versions record them by, NaN included (a backtest run records it as not computed).
func (s ModelScore) Measures() map[string]float64 {
	m := map[string]float64{"fit_seconds": s.FitSeconds}
	for _, r := range s.recorded() {
		m[r.name] = float64(*r.p)
	}
	return m
}

// Metrics returns the Measures that could be computed: a NaN one (no interval, nothing
// observed) is left out.
func (s ModelScore) Metrics() map[string]float64 {
	m := s.Measures()
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(m, k)
		}
	}
	return m
}

// ScoreOfMetrics returns the score that Metrics recorded (a measure it lacks is NaN), for the
// champion rule's gate on a registered version. A version is registered only when its model
// did not fail at any backtest origin.
func ScoreOfMetrics(name string, m map[string]float64) ModelScore {
	s := ModelScore{Name: name, SMAPE: prevoir.NaN(), Coverage50: prevoir.NaN(), FitSeconds: m["fit_seconds"]}
	for _, r := range s.recorded() {
		*r.p = prevoir.NaN()
		if v, ok := m[r.name]; ok {
			*r.p = prevoir.Number(v)
		}
	}
	return s
}

// Row is one forecast day.
type Row struct {
	Model   string       `json:"model"`
	Origin  prevoir.Date `json:"origin"`
	Date    prevoir.Date `json:"date"`
	Horizon int          `json:"horizon"`
	// Actual is the observed value, NaN (null) when not (yet) published.
	Actual prevoir.Number `json:"actual"`
	Point  float64        `json:"point"`
	// Quantiles are the forecast's values at Protocol.Quantiles.
	Quantiles prevoir.Series `json:"quantiles"`
}

// Fit records one model fit at a scored origin.
type Fit struct {
	Model   string       `json:"model"`
	Origin  prevoir.Date `json:"origin"`
	Seconds float64      `json:"seconds"`
	// Description is the model's own account of the fit (the ETS model picked, the members
	// of an ensemble, ...), when it gives one.
	Description string `json:"description,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Score returns the named model's score, if any.
func (r *Result) Score(name string) (ModelScore, bool) {
	for _, m := range r.Models {
		if m.Name == name {
			return m, true
		}
	}
	return ModelScore{}, false
}
