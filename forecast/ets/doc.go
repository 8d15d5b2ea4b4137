// Package ets implements exponential smoothing in the innovations state-space form of
// Hyndman, Koehler, Ord & Snyder (2008), "Forecasting with Exponential Smoothing: The State
// Space Approach" (Springer), with maximum-likelihood estimation and automatic model
// selection by AICc as in Hyndman, Koehler, Snyder & Grose (2002) and R's forecast::ets.
//
// The models ETS(E,T,S) combine an additive (A) or multiplicative (M) error, no (N),
// additive (A) or damped additive (Ad) trend, and no, additive or multiplicative season of
// period m (7 for the daily hospital series). Multiplicative trends are not implemented;
// forecast::ets excludes them from its automatic search by default.
//
// # Estimation
//
// The recursions, the likelihood criterion n·log(Σe²) + 2·Σlog|ŷ_t| (Hyndman et al. 2008,
// section 5.2), the heuristic initial states (classical decomposition, then a regression on
// the first max(10, 2m) seasonally adjusted values), the starting smoothing parameters and
// the parameter region are those of forecast::ets (ets.R, etscalc.c): the "usual" bounds
// 1e-4 <= beta <= alpha <= 0.9999, 1e-4 <= gamma <= 1−alpha, 0.8 <= phi <= 0.98, intersected
// with the admissible region of Hyndman, Akram & Archibald (2008). The seasonal initial states
// are normalised (sum 0, or m for a multiplicative season), so one of them is implied.
//
// The criterion is minimised by a bounded Nelder & Mead (1965) simplex in which beta and
// gamma are parameterised as fractions of their usual upper bounds, which makes the usual
// region a box. Options.Init chooses what is optimised: the initial states jointly with the
// smoothing parameters (InitOptimize, the default and forecast::ets's choice), only the
// smoothing parameters with the initial states at their heuristic values (InitHeuristic,
// about ten times faster, less accurate on the hospital series), or both in turn
// (InitTwoStage). Options.Tol loosens the simplex's relative tolerance (R's 1.5e-8 by
// default); on the hospital series Tol = 1e-6 gives the same forecasts at half the cost
// (see docs/protocols/ets.md). The number of parameters
// used by AIC, AICc and BIC always counts the free initial states, as forecast::ets does, so
// that criteria are comparable across models and methods.
//
// # Forecasts
//
// Model.Forecast(h, quantiles) returns point forecasts and q[i][j], the quantiles[j]-quantile
// of the forecast distribution i+1 steps ahead. Classes 1 and 2 of Hyndman et al. (2008,
// chapter 6) have analytic means and variances (normal quantiles); class 3 (multiplicative
// error and season) is simulated with a seeded generator (Options.Seed, Options.SimPaths).
// Model.Paths simulates whole sample paths of every model (back-transformed path by path, with
// a seed derived from the fitted model): the forecaster's weekly totals take their quantiles
// from 2000 of them, since a week's quantiles are not the sums of its days'.
//
// # Missing values and transformations
//
// Fit and Auto reject non-finite input with an error naming the first bad index: callers
// must fill gaps first. Options.Transform applies a Box-Cox or log1p transformation before
// fitting (only additive models are then considered); quantiles are back-transformed exactly
// and the point forecast becomes the median.
//
// Fit and Auto take a context.Context so that long fits can be cancelled.
package ets
