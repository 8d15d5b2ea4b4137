package backtest

import (
	"math"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/naive"
)

// Weekly scoring: the forecast hubs score weekly totals, the unit planners use. A forecast's
// week w is its days 7w+1 .. 7w+7 after the origin (prevoir.WeekDays); with Saturday origins
// weeks 1 and 2 are the hubs' "1 wk ahead" and "2 wk ahead" (Sunday to Saturday). A week is
// scored when all its seven days are observed. Its point is the sum of the daily points; its
// quantiles are the model's own weekly quantiles (Forecast.Weekly) or none: the sums of the
// days' quantiles are not a week's quantiles, so they are never used.

// WeeklyReference is the name of the naive weekly forecast the weekly measures are relative to.
const WeeklyReference = "hub_baseline"

// weeklyReferenceDescription says what WeeklyReference is.
const weeklyReferenceDescription = "the European COVID-19 Forecast Hub's baseline (EuroCOVIDhub-baseline) on the target's weekly totals: " +
	"median the last observed week's total (the origin and the 6 days before it), repeated; quantiles from the symmetrised " +
	"week-to-week changes of every past week up to the origin (package forecast/naive, HubBaseline)"

// WeeklyRow is one whole week of a forecast.
type WeeklyRow struct {
	Model  string       `json:"model"`
	Origin prevoir.Date `json:"origin"`
	// Week is 1 for days 1-7 after the origin, 2 for days 8-14, ...
	Week int `json:"week"`
	// Actual is the observed total, NaN (null) when a day of the week is not observed.
	Actual prevoir.Number `json:"actual"`
	Point  float64        `json:"point"`
	// Quantiles are the weekly total's quantiles at Protocol.Quantiles (finite: forecasts
	// are validated), null when the model gives none.
	Quantiles []float64 `json:"quantiles"`
}

// WeeklyScore is a model's accuracy on weekly totals. A measure that cannot be computed is NaN
// (null in JSON): WIS and coverages without weekly quantiles, relative measures without a
// reference.
type WeeklyScore struct {
	// MAE is the mean absolute error of the weekly totals (per week, not per day).
	MAE prevoir.Number `json:"mae"`
	WIS prevoir.Number `json:"wis"`
	// RelativeAE is the model's summed absolute error over the reference's on the same
	// (origin, week) pairs; RelativeWIS likewise for WIS.
	RelativeAE  prevoir.Number `json:"relative_ae"`
	RelativeWIS prevoir.Number `json:"relative_wis"`
	Coverage50  prevoir.Number `json:"coverage_50"`
	Coverage95  prevoir.Number `json:"coverage_95"`
	// Weeks counts the weeks scored (every day observed).
	Weeks int `json:"weeks"`
}

// Reference holds the forecasts the relative measures are computed against, so that every
// relative number can be recomputed from the result.
type Reference struct {
	// Weekly names the naive weekly forecast (WeeklyReference) and WeeklyDescription says
	// what it is; WeeklyRows are its forecasts, WeeklyScore its own score.
	Weekly            string      `json:"weekly"`
	WeeklyDescription string      `json:"weekly_description"`
	WeeklyRows        []WeeklyRow `json:"weekly_rows"`
	WeeklyScore       WeeklyScore `json:"weekly_score"`
	// Daily names the seasonal naive model whose daily WIS ModelScore.RelativeWIS divides
	// by; DailyRows are its forecasts at the scored origins.
	Daily     string `json:"daily"`
	DailyRows []Row  `json:"daily_rows"`
}

// weeklyRows returns the rows of the whole weeks of fc, scored against y on dates.
func weeklyRows(fc *prevoir.Forecast, dates []prevoir.Date, y []float64) []WeeklyRow {
	var out []WeeklyRow
	for w := range fc.Weeks() {
		r := WeeklyRow{Model: fc.Model, Origin: fc.Origin, Week: w + 1, Actual: prevoir.Number(weekTotal(dates, y, fc.Origin+prevoir.Date(prevoir.WeekDays*(w+1))))}
		if fc.Weekly != nil {
			r.Point = fc.Weekly.Point[w]
			r.Quantiles = fc.Weekly.Values[w]
		} else {
			r.Point = prevoir.WeekTotal(fc.Point, w)
		}
		out = append(out, r)
	}
	return out
}

// weekTotal is the total of y over the week ending on end, NaN unless its seven days are
// observed.
func weekTotal(dates []prevoir.Date, y []float64, end prevoir.Date) float64 {
	var s float64
	for d := end - prevoir.WeekDays + 1; d <= end; d++ {
		s += valueOn(dates, y, d) // NaN for a missing day
	}
	return s
}

// referenceRows returns the hub baseline's weekly rows at origin, from the data up to the
// origin only (all of it: the hubs' baseline uses the whole history), scored against the
// later weeks; none when the week ending on the origin is not wholly observed.
func referenceRows(dates []prevoir.Date, y []float64, origin prevoir.Date, weeks int, levels []float64) []WeeklyRow {
	if weeks < 1 || len(dates) == 0 {
		return nil
	}
	// Weekly totals ending on the origin, the origin−7, ..., back to the first whole week.
	var totals []float64
	for end := origin; end-prevoir.WeekDays+1 >= dates[0]; end -= prevoir.WeekDays {
		totals = append(totals, weekTotal(dates, y, end))
	}
	for i, j := 0, len(totals)-1; i < j; i, j = i+1, j-1 {
		totals[i], totals[j] = totals[j], totals[i]
	}
	point, q, err := naive.HubBaseline(totals, weeks, levels, uint64(origin))
	if err != nil || q == nil { // err only for weeks < 1
		return nil
	}
	out := make([]WeeklyRow, weeks)
	for w := range out {
		out[w] = WeeklyRow{Model: WeeklyReference, Origin: origin, Week: w + 1, Point: point, Quantiles: q[w],
			Actual: prevoir.Number(weekTotal(dates, y, origin+prevoir.Date(prevoir.WeekDays*(w+1))))}
	}
	return out
}

// noWeeklyScore is the score of no week: every measure NaN, Weeks 0.
func noWeeklyScore() WeeklyScore {
	nan := prevoir.NaN()
	return WeeklyScore{MAE: nan, WIS: nan, RelativeAE: nan, RelativeWIS: nan, Coverage50: nan, Coverage95: nan}
}

// weekKey identifies a week of a forecast.
type weekKey struct {
	origin prevoir.Date
	week   int
}

// ScoreWeekly scores weekly rows (one model's) at the quantile levels, relative to the
// reference rows (matched by origin and week; nil for no relative measures). MAE, WIS and
// coverages are over the rows with an actual total; WIS and coverages over those with
// quantiles too, and NaN unless every scored row has them. RelativeAE is Σ|AE| of the rows
// that have a reference row over the reference's Σ|AE| on the same rows; RelativeWIS the
// same with WIS, when both have quantiles.
func ScoreWeekly(rows, reference []WeeklyRow, levels []float64) WeeklyScore {
	s := noWeeklyScore()
	ref := map[weekKey]WeeklyRow{}
	for _, r := range reference {
		ref[weekKey{r.Origin, r.Week}] = r
	}
	wis := func(r WeeklyRow) (float64, bool) {
		if len(r.Quantiles) != len(levels) || len(levels) == 0 {
			return 0, false
		}
		return quantileWIS(float64(r.Actual), r.Point, levels, r.Quantiles), true
	}
	var ae, ws, relAE, refAE, relWIS, refWIS float64
	n, nq, npaired := 0, 0, 0
	cover := coverage{0.5: {}, 0.95: {}}
	for _, r := range rows {
		a := float64(r.Actual)
		if math.IsNaN(a) {
			continue
		}
		n++
		e := math.Abs(a - r.Point)
		ae += e
		w, ok := wis(r)
		if ok {
			nq++
			ws += w
			cover.add(a, levels, r.Quantiles)
		}
		rr, found := ref[weekKey{r.Origin, r.Week}]
		if !found {
			continue
		}
		npaired++
		relAE += e
		refAE += math.Abs(a - rr.Point)
		if rw, rok := wis(rr); ok && rok {
			relWIS += w
			refWIS += rw
		}
	}
	s.Weeks = n
	if n == 0 {
		return s
	}
	s.MAE = prevoir.Number(ae / float64(n))
	if nq == n {
		s.WIS = prevoir.Number(ws / float64(n))
		s.Coverage50, s.Coverage95 = cover.fraction(0.5), cover.fraction(0.95)
	}
	if npaired > 0 && refAE > 0 {
		s.RelativeAE = prevoir.Number(relAE / refAE)
	}
	if nq == n && npaired > 0 && refWIS > 0 {
		s.RelativeWIS = prevoir.Number(relWIS / refWIS)
	}
	return s
}

// RelativeWIS is the summed daily WIS of rows over that of the reference rows (the seasonal
// naive's) on the same forecast days (origin and horizon) with an actual value; NaN when no
// day is shared or the reference's WIS is 0.
func RelativeWIS(rows, reference []Row, levels []float64) prevoir.Number {
	type day struct {
		origin prevoir.Date
		h      int
	}
	ref := map[day]Row{}
	for _, r := range reference {
		ref[day{r.Origin, r.Horizon}] = r
	}
	var s, sr float64
	for _, r := range rows {
		rr, ok := ref[day{r.Origin, r.Horizon}]
		if !ok || math.IsNaN(float64(r.Actual)) {
			continue
		}
		s += dayWIS(r, levels)
		sr += dayWIS(rr, levels)
	}
	if !(sr > 0) {
		return prevoir.Number(math.NaN())
	}
	return prevoir.Number(s / sr)
}

// dayWIS is the WIS of a daily row with an actual value: of its quantiles when it has them at
// every level (the median the 0.5 quantile when present, else the point), else the absolute
// error of its point.
func dayWIS(r Row, levels []float64) float64 {
	a := float64(r.Actual)
	if len(r.Quantiles) != len(levels) {
		return math.Abs(a - r.Point)
	}
	return quantileWIS(a, r.Point, levels, r.Quantiles)
}
