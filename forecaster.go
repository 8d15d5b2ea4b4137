package prevoir

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// DefaultQuantiles are the probability levels every forecast carries: the 23 levels the
// COVID-19 forecast hubs ask for (US and European COVID-19 Forecast Hubs, and hubverse hubs
// since: 0.01, 0.025, 0.05 to 0.95 by 0.05, 0.975, 0.99; Cramer et al. 2022, "The United
// States COVID-19 Forecast Hub dataset", Sci Data 9:462; Sherratt et al. 2023, eLife 12:e81916;
// the weighted interval score of Bracher et al. 2021 is built on them). They hold the
// median and the bounds of the central 50%, 80%, 90%, 95% and 98% prediction intervals, so
// that a stored forecast can be submitted to a hub as is (forecast export --format hubverse).
func DefaultQuantiles() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
		0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99}
}

// WeekDays is the length of the forecast hubs' unit of time. A forecast's week w is its days
// 7w+1 .. 7w+7 after the origin: with a Saturday origin (the last observed day), weeks 1 and
// 2 are the hubs' Sunday-to-Saturday "1 wk ahead" and "2 wk ahead" targets.
const WeekDays = 7

// Forecaster is a model family: it fits on a frame and returns a fitted model.
//
// Fit must use only the rows of the frame it is given; callers that evaluate a model at a past
// origin give it Frame.Until(origin), so no model can read what happened after its origin.
type Forecaster interface {
	// Name is the model's name on the command line and in stored files ("snaive", "ets", ...).
	Name() string
	// Fit trains on every row of f; the last row's date is the forecast origin.
	Fit(ctx context.Context, f *Frame) (Fitted, error)
}

// Fitted is a trained model.
type Fitted interface {
	// Predict forecasts the h days after the origin, with the given quantiles (strictly
	// increasing probabilities in (0, 1)).
	Predict(ctx context.Context, h int, quantiles []float64) (*Forecast, error)
}

// Forecast is a point forecast with quantiles for the days after an origin.
type Forecast struct {
	Model  string `json:"model"`
	Origin Date   `json:"origin"`
	// Dates are the forecast days: origin+1 .. origin+h.
	Dates []Date    `json:"dates"`
	Point []float64 `json:"point"`
	// Quantiles are the probability levels; Values[i][j] is the quantile Quantiles[j] of day i.
	Quantiles []float64   `json:"quantiles"`
	Values    [][]float64 `json:"values"`
	// Weekly are the totals of the forecast's whole weeks, with their own quantiles, when the
	// model gives them. A week's quantiles are not the sums of its days' quantiles (that
	// would assume the seven days' errors perfectly correlated); models get them from sample
	// paths or calibrate them on weekly sums directly.
	Weekly *Weeks `json:"weekly,omitempty"`
}

// Weeks are the totals of a forecast's whole weeks (see WeekDays).
type Weeks struct {
	// Point[w] is the sum of the daily points of week w+1.
	Point []float64 `json:"point"`
	// Values[w][j] is the quantile Quantiles[j] of the total of week w+1.
	Values [][]float64 `json:"values"`
}

// Weeks returns the number of whole weeks in the forecast.
func (fc *Forecast) Weeks() int { return len(fc.Dates) / WeekDays }

// WeekSpan returns the first and last day of week w (0-based) of the forecast.
func (fc *Forecast) WeekSpan(w int) (from, to Date) {
	return fc.Dates[w*WeekDays], fc.Dates[(w+1)*WeekDays-1]
}

// WeekTotal returns the sum of x over week w (0-based) of a daily series aligned with the
// forecast's days.
func WeekTotal(x []float64, w int) float64 {
	s := 0.0
	for _, v := range x[w*WeekDays : (w+1)*WeekDays] {
		s += v
	}
	return s
}

// Validate checks a forecast's shape and that its quantiles are finite and non-decreasing.
func (fc *Forecast) Validate() error {
	h := len(fc.Dates)
	if len(fc.Point) != h || len(fc.Values) != h {
		return fmt.Errorf("forecast %s: %d dates, %d points, %d quantile rows", fc.Model, h, len(fc.Point), len(fc.Values))
	}
	for i := range h {
		if fc.Dates[i] != fc.Origin+Date(i+1) {
			return fmt.Errorf("forecast %s: day %d is %s, want %s", fc.Model, i+1, fc.Dates[i], fc.Origin+Date(i+1))
		}
		if math.IsNaN(fc.Point[i]) || math.IsInf(fc.Point[i], 0) {
			return fmt.Errorf("forecast %s: point %d is %v", fc.Model, i+1, fc.Point[i])
		}
		if err := fc.checkQuantileRow("day", i, fc.Values[i]); err != nil {
			return err
		}
	}
	if w := fc.Weekly; w != nil {
		n := fc.Weeks()
		if len(w.Point) != n || len(w.Values) != n {
			return fmt.Errorf("forecast %s: %d weeks, %d weekly points, %d weekly quantile rows", fc.Model, n, len(w.Point), len(w.Values))
		}
		for k := range n {
			if sum := WeekTotal(fc.Point, k); math.Abs(w.Point[k]-sum) > 1e-6*math.Max(1, math.Abs(sum)) {
				return fmt.Errorf("forecast %s: week %d: point %v is not the sum of its days' points %v", fc.Model, k+1, w.Point[k], sum)
			}
			if err := fc.checkQuantileRow("week", k, w.Values[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkQuantileRow checks that row, the quantiles of day or week k (0-based; unit names it),
// has one value per level and is finite and non-decreasing.
func (fc *Forecast) checkQuantileRow(unit string, k int, row []float64) error {
	if len(row) != len(fc.Quantiles) {
		return fmt.Errorf("forecast %s: %s %d has %d quantiles, want %d", fc.Model, unit, k+1, len(row), len(fc.Quantiles))
	}
	for j, v := range row {
		if math.IsNaN(v) || math.IsInf(v, 0) || (j > 0 && v < row[j-1]) {
			return fmt.Errorf("forecast %s: %s %d: quantiles %v not finite and non-decreasing", fc.Model, unit, k+1, row)
		}
	}
	return nil
}

// Interval returns the bounds of the central interval of the given coverage (0.8 for the 80%
// interval) on day i, if the forecast has both quantiles.
func (fc *Forecast) Interval(i int, coverage float64) (lo, hi float64, ok bool) {
	return fc.interval(fc.Values[i], coverage)
}

// WeekInterval is Interval for the total of week w (0-based) of Weekly.
func (fc *Forecast) WeekInterval(w int, coverage float64) (lo, hi float64, ok bool) {
	return fc.interval(fc.Weekly.Values[w], coverage)
}

func (fc *Forecast) interval(row []float64, coverage float64) (lo, hi float64, ok bool) {
	a := (1 - coverage) / 2
	j, k := fc.QuantileIndex(a), fc.QuantileIndex(1-a)
	if j < 0 || k < 0 {
		return 0, 0, false
	}
	return row[j], row[k], true
}

// QuantileIndex returns the index of level p in Quantiles (to 1e-9, since levels such as
// 1-0.975 are not exact in binary), or -1.
func (fc *Forecast) QuantileIndex(p float64) int {
	return slices.IndexFunc(fc.Quantiles, func(q float64) bool { return math.Abs(q-p) < 1e-9 })
}

// Until returns the frame's rows up to and including origin, sharing nothing with f, so that a
// model fitted on it cannot see later values. It fails when origin is outside the frame.
func (f *Frame) Until(origin Date) (*Frame, error) {
	if f.Len() == 0 || origin < f.Dates[0] {
		return nil, Errorf(EINVALID, "frame: origin %s before the first day", origin)
	}
	n, found := slices.BinarySearch(f.Dates, origin)
	if found {
		n++
	}
	g := *f
	g.Dates = slices.Clone(f.Dates[:n])
	g.Columns = make([]FrameColumn, len(f.Columns))
	for i, c := range f.Columns {
		c.Values = slices.Clone(c.Values[:n])
		g.Columns[i] = c
	}
	g.Decisions = slices.Clone(f.Decisions)
	g.Sources = slices.Clone(f.Sources)
	// The forecasts beyond the last day were handed for this frame's last day: an earlier
	// origin (a backtest's, a calibration's) has none, and its model forecasts the column
	// itself.
	g.Ahead = nil
	if n == f.Len() {
		g.Ahead = maps.Clone(f.Ahead)
	}
	return &g, nil
}

// WithTarget returns the frame with the column name as its target and the former target as a
// covariate, sharing the values (and the forecasts beyond the last day, Ahead) with f: how a
// model forecasts a covariate (hospital admissions, which lead deaths) with the models that
// forecast the target. It fails when f has no such column, or when the column is a flag.
func (f *Frame) WithTarget(name string) (*Frame, error) {
	i := slices.IndexFunc(f.Columns, func(c FrameColumn) bool { return c.Name == name })
	if i < 0 {
		return nil, Errorf(EINVALID, "frame: no column %q to forecast (columns: %s)", name, strings.Join(f.Names(), ", "))
	}
	if f.Columns[i].Kind == KindFlag {
		return nil, Errorf(EINVALID, "frame: column %q is a 0/1 availability flag, not a series to forecast", name)
	}
	g := *f
	g.Target = name
	g.Columns = slices.Clone(f.Columns)
	for j := range g.Columns {
		switch {
		case j == i:
			g.Columns[j].Kind = KindTarget
		case g.Columns[j].Kind == KindTarget:
			g.Columns[j].Kind = KindCovariate
		}
	}
	return &g, nil
}
