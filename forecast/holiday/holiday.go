// Package holiday corrects forecasts of hospital deaths for French public holidays.
//
// Deaths are counted by the day they are reported, and hospitals report on a public holiday
// as they do on a Sunday: on the weekday holidays of 2021-2022 the count fell to a tenth to a
// half of the same weekday a week before and after (Easter Monday 2022: 44 against 176 and
// 196; 15 August 2022: 7 against 109 and 64), and the next working day made up part of it.
// A model fitted on such days learns a spurious dip, and no model can know that a coming day
// is a holiday.
//
// Forecaster wraps a model: it fits it on the frame with the target of every special day —
// a weekday (Monday to Friday) public holiday and the working day right after it, when it is
// a Tuesday to Friday — set missing, so the model's own gap handling replaces them by
// ordinary days (see package forecast/internal/adapt); it then multiplies the forecasts (point
// and quantiles) of a coming special day by a factor, the median over the most recent past
// days of the same kind in the frame of the ratio between the day's count and the mean of the
// same weekday one week before and one week after. Only days whose week-after value is in the
// frame count, so the factors use nothing after the origin. This is the holiday regressor of
// Prophet (Taylor & Letham 2018, "Forecasting at scale", The American Statistician 72(1),
// section 3.3) in its simplest multiplicative form, and the treatment of moving holidays as
// interventions in Hyndman & Athanasopoulos, "Forecasting: Principles and Practice" (3rd ed.),
// section 7.4. When the model gives weekly totals, they follow the corrected days (see
// shiftWeeks).
package holiday

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/stats"
	"github.com/prevoir/prevoir/forecast/rolling"
)

// France reports whether d is a public holiday in metropolitan France (Code du travail,
// article L3133-1): 1 January, Easter Monday, 1 May, 8 May, Ascension Day, Whit Monday,
// 14 July, 15 August, 1 November, 11 November and 25 December.
func France(d prevoir.Date) bool {
	t := d.Time()
	m, day := t.Month(), t.Day()
	switch {
	case m == time.January && day == 1, m == time.May && (day == 1 || day == 8), m == time.July && day == 14,
		m == time.August && day == 15, m == time.November && (day == 1 || day == 11), m == time.December && day == 25:
		return true
	}
	e := Easter(t.Year())
	return d == e+1 || d == e+39 || d == e+50 // Easter Monday, Ascension, Whit Monday
}

// Easter returns Easter Sunday of the Gregorian year y (the anonymous algorithm of Meeus,
// "Astronomical Algorithms", 1991, chapter 8).
func Easter(y int) prevoir.Date {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return prevoir.DateOf(time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC))
}

// Kind classifies a day for the correction.
type Kind int

const (
	// Ordinary days are not corrected.
	Ordinary Kind = iota
	// Holiday is a public holiday falling Monday to Friday.
	Holiday
	// After is the day after such a holiday when it is a Tuesday to Friday and not itself a
	// holiday: the day that reports what the holiday did not.
	After
)

// Classify returns the kind of d under the calendar isHoliday.
func Classify(d prevoir.Date, isHoliday func(prevoir.Date) bool) Kind {
	weekday := func(d prevoir.Date) bool { w := d.Weekday(); return w >= time.Monday && w <= time.Friday }
	switch {
	case isHoliday(d) && weekday(d):
		return Holiday
	case !isHoliday(d) && d.Weekday() != time.Monday && weekday(d) && isHoliday(d-1) && weekday(d-1):
		return After
	}
	return Ordinary
}

// DefaultRecent is the number of past days of a kind its factor is the median of: about a
// year of weekday holidays, so the factor follows changes in reporting practice.
const DefaultRecent = 8

// minDays is the fewest past days of a kind needed to estimate its factor; with fewer the
// factor is 1.
const minDays = 3

// Options configure the correction. The zero value uses the French calendar.
type Options struct {
	// Name is the model's name; the inner name + "+hol" when empty.
	Name string
	// Calendar reports public holidays; nil means France.
	Calendar func(prevoir.Date) bool
	// Recent is the number of past days per kind behind a factor (DefaultRecent).
	Recent int
}

// Forecaster is a model corrected for public holidays; it implements prevoir.Forecaster.
type Forecaster struct {
	Inner   prevoir.Forecaster
	Options Options
}

// Adjust returns inner corrected for public holidays.
func Adjust(inner prevoir.Forecaster, opts Options) *Forecaster {
	return &Forecaster{Inner: inner, Options: opts}
}

// Name returns the model's name.
func (h *Forecaster) Name() string {
	if h.Options.Name != "" {
		return h.Options.Name
	}
	return h.Inner.Name() + "+hol"
}

// WithHorizon implements rolling.Horizoned: the correction itself does not depend on the
// horizon, the model it corrects may (a model with conformal intervals).
func (h *Forecaster) WithHorizon(n int) prevoir.Forecaster {
	w := *h
	w.Inner = rolling.WithHorizon(h.Inner, n)
	return &w
}

// calendar returns the holiday calendar.
func (h *Forecaster) calendar() func(prevoir.Date) bool {
	if h.Options.Calendar != nil {
		return h.Options.Calendar
	}
	return France
}

// Remember returns cal remembering each day's answer, for one fit or forecast: France computes
// Easter on every call, and a fit asks about every day of the frame three times. The result is
// not safe for concurrent use.
func Remember(cal func(prevoir.Date) bool) func(prevoir.Date) bool {
	seen := map[prevoir.Date]bool{}
	return func(d prevoir.Date) bool {
		v, ok := seen[d]
		if !ok {
			v = cal(d)
			seen[d] = v
		}
		return v
	}
}

// Factors returns the correction factor of each special kind estimated from the target of f
// (1 when fewer than 3 past days of the kind can be scored), with the number of days behind
// each.
func (h *Forecaster) Factors(f *prevoir.Frame) (factors map[Kind]float64, days map[Kind]int) {
	return h.factors(f, Remember(h.calendar()))
}

func (h *Forecaster) factors(f *prevoir.Frame, cal func(prevoir.Date) bool) (factors map[Kind]float64, days map[Kind]int) {
	recent := h.Options.Recent
	if recent <= 0 {
		recent = DefaultRecent
	}
	y := f.TargetValues()
	value := func(d prevoir.Date) float64 {
		i, ok := slices.BinarySearch(f.Dates, d)
		if !ok || Classify(d, cal) != Ordinary {
			return math.NaN()
		}
		return y[i]
	}
	ratios := map[Kind][]float64{}
	for i := f.Len() - 1; i >= 0; i-- {
		d := f.Dates[i]
		k := Classify(d, cal)
		if k == Ordinary || len(ratios[k]) >= recent || math.IsNaN(y[i]) {
			continue
		}
		base := (value(d-7) + value(d+7)) / 2
		if base > 0 { // false for NaN
			ratios[k] = append(ratios[k], y[i]/base)
		}
	}
	factors, days = map[Kind]float64{Holiday: 1, After: 1}, map[Kind]int{}
	for k, r := range ratios {
		days[k] = len(r)
		if len(r) >= minDays {
			slices.Sort(r)
			factors[k] = stats.Median(r)
		}
	}
	return factors, days
}

// Fit fits the inner model on f with the special days' target set missing and estimates the
// factors.
func (h *Forecaster) Fit(ctx context.Context, f *prevoir.Frame) (prevoir.Fitted, error) {
	cal := Remember(h.calendar())
	g, special := mask(f, cal)
	inner, err := h.Inner.Fit(ctx, g)
	if err != nil {
		return nil, err
	}
	factors, days := h.factors(f, cal)
	return &fitted{name: h.Name(), inner: inner, cal: h.calendar(), custom: h.Options.Calendar != nil,
		factors: factors, days: days, special: special}, nil
}

// mask returns f with the target of every special day set missing, and how many there are.
func mask(f *prevoir.Frame, cal func(prevoir.Date) bool) (*prevoir.Frame, int) {
	g := *f
	g.Columns = slices.Clone(f.Columns)
	special := 0
	for c := range g.Columns {
		if g.Columns[c].Name != f.Target {
			continue
		}
		vals := slices.Clone(g.Columns[c].Values)
		for i, d := range f.Dates {
			if Classify(d, cal) != Ordinary {
				vals[i] = math.NaN()
				special++
			}
		}
		g.Columns[c].Values = vals
	}
	return &g, special
}

type fitted struct {
	name    string
	inner   prevoir.Fitted
	cal     func(prevoir.Date) bool
	custom  bool // cal is not France: it cannot be pinned
	factors map[Kind]float64
	days    map[Kind]int
	special int
}

// Predict forecasts with the inner model and scales the special days.
func (ft *fitted) Predict(ctx context.Context, h int, quantiles []float64) (*prevoir.Forecast, error) {
	fc, err := ft.inner.Predict(ctx, h, quantiles)
	if err != nil {
		return nil, err
	}
	fc.Model = ft.name
	fc.Point = slices.Clone(fc.Point) // the inner forecast is not ours to change
	fc.Values = slices.Clone(fc.Values)
	for i, d := range fc.Dates {
		k := Classify(d, ft.cal)
		if k == Ordinary {
			continue
		}
		s := ft.factors[k]
		fc.Point[i] *= s
		row := make([]float64, len(fc.Values[i]))
		for j, v := range fc.Values[i] {
			row[j] = v * s
		}
		fc.Values[i] = row
	}
	if fc.Weekly != nil {
		fc.Weekly = shiftWeeks(fc.Weekly, fc.Point)
	}
	return fc, nil
}

// shiftWeeks returns the weekly totals w of a forecast consistent with its corrected daily
// points: each week's point is the sum of the corrected days, and its quantiles are shifted
// by the change in that sum (clipped at 0, which keeps them ordered). Shifting, not scaling:
// a holiday moves a day's count by a known factor, which moves the week's expected total, but
// the uncertainty of the total is that of the epidemic's course over the week, which one
// day's reporting does not shrink or widen (scaling the quantiles by the ratio of the totals
// would narrow a whole week's interval for a one-day dip).
func shiftWeeks(w *prevoir.Weeks, point []float64) *prevoir.Weeks {
	out := &prevoir.Weeks{Point: make([]float64, len(w.Point)), Values: make([][]float64, len(w.Values))}
	for k := range w.Point {
		out.Point[k] = prevoir.WeekTotal(point, k)
		shift := out.Point[k] - w.Point[k]
		out.Values[k] = make([]float64, len(w.Values[k]))
		for j, v := range w.Values[k] {
			out.Values[k][j] = math.Max(v+shift, 0)
		}
	}
	return out
}

// Describe gives the factors, for the run record.
func (ft *fitted) Describe() string {
	d := fmt.Sprintf("holiday factor %.3f (%d days), day-after factor %.3f (%d days), %d special days masked",
		ft.factors[Holiday], ft.days[Holiday], ft.factors[After], ft.days[After], ft.special)
	if in, ok := ft.inner.(interface{ Describe() string }); ok {
		d += "; " + in.Describe()
	}
	return d
}
