// Package stats holds the small numerical methods the forecasting packages share, each with
// its reference beside it: the standard normal quantile (AS 241) and the type-6 and type-8
// sample quantiles (quantile.go), sample paths turned into weekly quantiles (paths.go), the
// Cholesky factorisation and solve (cholesky.go), the shifted Box-Cox transformation
// (boxcox.go), the classical seasonal decomposition (decompose.go), and the input checks and
// data-derived seeds of the forecasters (check.go).
//
// They are written here rather than taken from gonum because the forecasts must reproduce
// their recorded numbers to the digit, which gonum would not: its stat.Quantile offers the
// empirical (type 1) and linear-interpolation (type 4) definitions, not types 6 and 8; its
// mathext.NormalQuantile is AS 241 too, but with the published coefficient where
// NormalQuantile carries a transcription slip (see there), so two of the hubs' 23 levels
// would change in the last bit; its Cholesky is LAPACK's (dpotrf and triangular solves),
// whose operation order is not this one, a large dependency for matrices of a few dozen rows.
package stats
