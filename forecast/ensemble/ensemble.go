// Package ensemble combines forecasters: per forecast day, the median (or mean, or trimmed
// mean) of the members' point forecasts and of each of their quantiles, and of the quantiles
// of their weekly totals when every member gives them.
//
// Combining forecasts is one of the most reliable ways to improve accuracy (Hyndman &
// Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., section 13.4; for epidemic
// forecasts the COVID-19 Forecast Hub ensemble, Ray et al. 2023, "Comparing trained and
// untrained probabilistic ensemble forecasts of COVID-19 cases and deaths in the United
// States", International Journal of Forecasting 39(3)). The median resists one member going
// astray; combining quantile by quantile (Vincentisation) keeps them monotone.
//
// With K > 0 the ensemble keeps, at each origin, the K members with the smallest mean absolute
// error over the past Window origins, scored only on target days up to the current origin, so
// the choice uses nothing the forecaster could not have known (see package forecast/rolling).
package ensemble

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/rolling"
)

// Combine is how member forecasts are combined.
type Combine int

const (
	// Median takes the per-day median of points and of each quantile; the default.
	Median Combine = iota
	// Mean takes the per-day mean.
	Mean
	// TrimmedMean drops the lowest and the highest member at each day and quantile level and
	// takes the mean of the rest (the mean of all with fewer than three members): the robust
	// middle between the mean and the median. The forecast hubs moved their ensembles from
	// the mean to the median for robustness to one team going astray (Ray et al. 2023, above;
	// Sherratt et al. 2023, "Predictive performance of multi-model ensemble forecasts of
	// COVID-19 across European nations", eLife 12:e81916); a trimmed mean resists one such
	// member and keeps most of the mean's averaging of the others.
	TrimmedMean
)

// String returns the rule's name.
func (c Combine) String() string {
	switch c {
	case Mean:
		return "mean"
	case TrimmedMean:
		return "trimmed_mean"
	}
	return "median"
}

// ParseCombine returns the rule named s (Combine.String).
func ParseCombine(s string) (Combine, error) {
	for _, c := range []Combine{Median, Mean, TrimmedMean} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown combination %q: want median, mean or trimmed_mean", s)
}

// Defaults.
const (
	DefaultName    = "ensemble"
	DefaultWindow  = 12 // origins, about three months of weekly origins
	DefaultEvery   = 7
	DefaultHorizon = prevoir.DefaultHorizon
)

// Options configure the ensemble. The zero value combines every member by the median.
type Options struct {
	// Name is the ensemble's name (DefaultName).
	Name string
	// Combine is the combination rule (Median).
	Combine Combine
	// K, when positive and below the number of members, keeps the K members with the
	// smallest past MAE.
	K int
	// Window is the number of past origins the members are ranked on (DefaultWindow).
	Window int
	// Every is the spacing of the past origins in days (DefaultEvery).
	Every int
	// Horizon is the horizon of the past forecasts that are scored (DefaultHorizon).
	Horizon int
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Horizon <= 0 {
		o.Horizon = DefaultHorizon
	}
	return o
}

// Forecaster is an ensemble of forecasters. It implements prevoir.Forecaster and
// rolling.Composite.
type Forecaster struct {
	Members []prevoir.Forecaster
	Options Options
}

// New returns the ensemble of members.
func New(opts Options, members ...prevoir.Forecaster) *Forecaster {
	return &Forecaster{Members: members, Options: opts}
}

// Name returns the ensemble's name.
func (e *Forecaster) Name() string { return e.Options.withDefaults().Name }

// WithHorizon implements rolling.Horizoned: the copy scores its members' past forecasts up
// to h days, and its members are set up for h days too.
func (e *Forecaster) WithHorizon(h int) prevoir.Forecaster {
	w := *e
	w.Options.Horizon = h
	w.Members = make([]prevoir.Forecaster, len(e.Members))
	for i, m := range e.Members {
		w.Members[i] = rolling.WithHorizon(m, h)
	}
	return &w
}

func (e *Forecaster) selecting() bool { return e.Options.K > 0 && e.Options.K < len(e.Members) }

// Needs lists the members at origin and, when selecting, at the past origins.
func (e *Forecaster) Needs(origin prevoir.Date) []rolling.Need {
	o := e.Options.withDefaults()
	var needs []rolling.Need
	for _, m := range e.Members {
		needs = append(needs, rolling.Need{Model: m, Origin: origin})
		if e.selecting() {
			for _, p := range rolling.Past(origin, o.Every, o.Window) {
				needs = append(needs, rolling.Need{Model: m, Origin: p})
			}
		}
	}
	return needs
}

// Fit fits the ensemble at f's last date.
func (e *Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	return e.FitFrom(ctx, f, rolling.Direct(f))
}

// Standing is a member's past accuracy at a fit.
type Standing struct {
	Name   string
	MAE    float64 // NaN when the member has no scored past forecast
	Points int
}

// FitFrom fits the ensemble at f's last date with the members from src. A member that cannot
// be fitted at the origin is left out; the fit fails only when no member is left.
func (e *Forecaster) FitFrom(ctx context.Context, f *prevoir.Frame, src rolling.Source) (prevoir.Fitted, error) {
	if len(e.Members) == 0 {
		return nil, fmt.Errorf("%s: no members", e.Name())
	}
	if f.Len() == 0 {
		return nil, fmt.Errorf("%s: empty frame", e.Name())
	}
	o := e.Options.withDefaults()
	origin := f.Dates[f.Len()-1]
	src = rolling.Bounded(src, origin)
	members := e.Members
	var standings []Standing
	if e.selecting() {
		var err error
		standings, err = e.rank(ctx, f, src, o, origin)
		if err != nil {
			return nil, err
		}
		members = nil
		for _, s := range standings {
			for _, m := range e.Members {
				if m.Name() == s.Name {
					members = append(members, m)
				}
			}
		}
	}
	ft := &fitted{name: o.Name, combine: o.Combine, standings: standings}
	var errs []error
	for _, m := range members {
		if e.selecting() && len(ft.members) == o.K {
			break
		}
		mf, err := src.Fit(ctx, m, origin)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		ft.members = append(ft.members, mf)
		ft.names = append(ft.names, m.Name())
	}
	if len(ft.members) == 0 {
		return nil, fmt.Errorf("%s: no member could be fitted: %w", o.Name, errors.Join(errs...))
	}
	return ft, nil
}

// rank orders the members by MAE over the past origins (members without a score last, ties
// in member order).
func (e *Forecaster) rank(ctx context.Context, f *prevoir.Frame, src rolling.Source, o Options, origin prevoir.Date) ([]Standing, error) {
	y := f.TargetValues()
	past := rolling.Past(origin, o.Every, o.Window)
	standings := make([]Standing, len(e.Members))
	for i, m := range e.Members {
		fcs, err := rolling.PastForecasts(ctx, src, m, past, o.Horizon)
		if err != nil {
			return nil, err
		}
		var sum float64
		n := 0
		for _, fc := range fcs {
			if fc == nil {
				continue
			}
			for j, d := range fc.Dates {
				if d > origin {
					break
				}
				if a := rolling.Actual(f, y, d); !math.IsNaN(a) {
					sum += math.Abs(a - fc.Point[j])
					n++
				}
			}
		}
		standings[i] = Standing{Name: m.Name(), MAE: math.NaN(), Points: n}
		if n > 0 {
			standings[i].MAE = sum / float64(n)
		}
	}
	slices.SortStableFunc(standings, func(a, b Standing) int {
		switch an, bn := math.IsNaN(a.MAE), math.IsNaN(b.MAE); {
		case an && bn:
			return 0
		case an:
			return 1
		case bn:
			return -1
		}
		return cmp.Compare(a.MAE, b.MAE)
	})
	return standings, nil
}

type fitted struct {
	name      string
	combine   Combine
	members   []prevoir.Fitted
	names     []string
	standings []Standing
}

// Members returns the names of the members combined at this fit.
func (ft *fitted) Members() []string { return slices.Clone(ft.names) }

// Predict combines the members' forecasts.
func (ft *fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	fcs := make([]*prevoir.Forecast, len(ft.members))
	for i, m := range ft.members {
		fc, err := m.Predict(ctx, h, quantiles)
		if err != nil {
			return nil, err
		}
		fcs[i] = fc
	}
	out := &prevoir.Forecast{Model: ft.name, Origin: fcs[0].Origin, Dates: fcs[0].Dates,
		Point: make([]float64, h), Quantiles: slices.Clone(quantiles), Values: make([][]float64, h)}
	buf := make([]float64, len(fcs))
	for i := range h {
		for k, fc := range fcs {
			buf[k] = fc.Point[i]
		}
		out.Point[i] = combine(ft.combine, buf)
		row := make([]float64, len(quantiles))
		for j := range quantiles {
			for k, fc := range fcs {
				buf[k] = fc.Values[i][j]
			}
			row[j] = combine(ft.combine, buf)
		}
		out.Values[i] = row
	}
	out.Weekly = ft.weeks(fcs, out)
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// weeks combines the members' weekly totals when every member gives them: each quantile
// level of a week's total is combined across members by the ensemble's rule, as the daily
// quantiles are, around the week's point, the sum of the combined daily points (widened to
// contain it, the combined quantiles being centred on the members' weekly points). With a
// member without weekly totals there are none: a week's quantiles are not the sums of its
// days'.
func (ft *fitted) weeks(fcs []*prevoir.Forecast, out *prevoir.Forecast) *prevoir.Weeks {
	n := out.Weeks()
	if n == 0 {
		return nil
	}
	for _, fc := range fcs {
		if fc.Weekly == nil || len(fc.Weekly.Values) < n || !slices.Equal(fc.Quantiles, out.Quantiles) {
			return nil
		}
	}
	w := &prevoir.Weeks{Point: make([]float64, n), Values: make([][]float64, n)}
	buf := make([]float64, len(fcs))
	for k := range n {
		w.Point[k] = prevoir.WeekTotal(out.Point, k)
		row := make([]float64, len(out.Quantiles))
		for j := range row {
			for m, fc := range fcs {
				buf[m] = fc.Weekly.Values[k][j]
			}
			row[j] = combine(ft.combine, buf)
		}
		w.Values[k] = stats.Contain(row, out.Quantiles, w.Point[k])
	}
	return w
}

// Describe names the members combined and, when they were selected, the ranking.
func (ft *fitted) Describe() string {
	d := fmt.Sprintf("%s of %s", ft.combine, strings.Join(ft.names, ", "))
	if ft.standings != nil {
		parts := make([]string, len(ft.standings))
		for i, s := range ft.standings {
			parts[i] = fmt.Sprintf("%s %.2f", s.Name, s.MAE)
		}
		d += "; past MAE " + strings.Join(parts, ", ")
	}
	return d
}

// combine returns the median, mean or trimmed mean of x (reordering x).
func combine(c Combine, x []float64) float64 {
	mean := func(x []float64) float64 {
		var s float64
		for _, v := range x {
			s += v
		}
		return s / float64(len(x))
	}
	switch c {
	case Mean:
		return mean(x)
	case TrimmedMean:
		if len(x) < 3 {
			return mean(x)
		}
		slices.Sort(x)
		return mean(x[1 : len(x)-1])
	}
	slices.Sort(x)
	return stats.Median(x)
}
