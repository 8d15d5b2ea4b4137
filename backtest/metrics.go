package backtest

import (
	"math"
	"slices"

	"github.com/prevoir/prevoir"
)

// IntervalScore is the interval score of the central (1−alpha) prediction interval [lo, hi]
// for the observation y (Gneiting & Raftery 2007, section 6.2; Bracher, Ray, Gneiting & Reich
// 2021, "Evaluating epidemic forecasts in an interval format", PLoS Computational Biology
// 17(2), e1008618, eq. 1): its width plus 2/alpha times the distance by which y falls outside.
func IntervalScore(y, lo, hi, alpha float64) float64 {
	s := hi - lo
	if y < lo {
		s += 2 / alpha * (lo - y)
	}
	if y > hi {
		s += 2 / alpha * (y - hi)
	}
	return s
}

// WIS is the weighted interval score of Bracher et al. (2021, eq. 2), as the COVID-19 Forecast
// Hubs compute it: with the K central intervals given by the quantile pairs (p, 1−p), p < 0.5,
// of levels and values, alpha_k = 2p,
//
//	WIS = (|y − median|/2 + Σ_k alpha_k/2 · IS_{alpha_k}(y)) / (K + 1/2).
//
// It approximates the continuous ranked probability score and, with K = 0, reduces to the
// absolute error of the median. Levels must be sorted; a level without its mirror is ignored.
func WIS(y, median float64, levels, values []float64) float64 {
	s := 0.5 * math.Abs(y-median)
	k := 0
	for i, p := range levels {
		if p >= 0.5-1e-9 {
			break
		}
		j := mirror(levels, p)
		if j < 0 {
			continue
		}
		alpha := 2 * p
		s += alpha / 2 * IntervalScore(y, values[i], values[j], alpha)
		k++
	}
	return s / (float64(k) + 0.5)
}

// mirror returns the index of the level 1−p, or −1.
func mirror(levels []float64, p float64) int {
	return slices.IndexFunc(levels, func(q float64) bool { return math.Abs(q-(1-p)) < 1e-9 })
}

func level(levels []float64, p float64) int {
	return slices.IndexFunc(levels, func(q float64) bool { return math.Abs(q-p) < 1e-9 })
}

// quantileWIS is the WIS of the quantiles q at levels for the observation y, the median being
// the 0.5 quantile when levels has it, else point: the daily and the weekly scores' WIS.
func quantileWIS(y, point float64, levels, q []float64) float64 {
	m := point
	if med := level(levels, 0.5); med >= 0 {
		m = q[med]
	}
	return WIS(y, m, levels, q)
}

// coverage counts, for each central interval it has a key for (0.5: the 50% one), the
// observations inside it and the forecasts that had it: the daily and the weekly coverages.
type coverage map[float64][2]int

// add counts the observation y against the quantiles q at levels: in every interval whose
// two bounds levels has, when q has a value at every level.
func (c coverage) add(y float64, levels, q []float64) {
	for p, v := range c {
		lo, hi := level(levels, (1-p)/2), level(levels, (1+p)/2)
		if lo < 0 || hi < 0 || len(q) != len(levels) {
			continue
		}
		if y >= q[lo] && y <= q[hi] {
			v[0]++
		}
		v[1]++
		c[p] = v
	}
}

// fraction is the share of the counted observations inside the interval p, NaN if none was
// counted.
func (c coverage) fraction(p float64) prevoir.Number {
	v := c[p]
	if v[1] == 0 {
		return prevoir.Number(math.NaN())
	}
	return prevoir.Number(float64(v[0]) / float64(v[1]))
}

// SeasonalScale is the MASE denominator at an origin: the in-sample mean absolute error of the
// seasonal naive forecast on the last days days up to the origin, mean |y_t − y_{t−period}|
// over the pairs of observed values that both fall in (origin−days, origin] (Hyndman & Koehler
// 2006, "Another look at measures of forecast accuracy", IJF 22(4); FPP3 section 5.8). With
// days = 365 and period = 7 that is 358 differences, the statsmodels reference's scale. y is
// indexed by dates, which must be increasing. It is NaN when no pair is observed.
func SeasonalScale(dates []prevoir.Date, y []float64, origin prevoir.Date, period, days int) float64 {
	var s float64
	n := 0
	for t := origin - prevoir.Date(days-1-period); t <= origin; t++ {
		a, b := valueOn(dates, y, t), valueOn(dates, y, t-prevoir.Date(period))
		if !math.IsNaN(a) && !math.IsNaN(b) {
			s += math.Abs(a - b)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

func valueOn(dates []prevoir.Date, y []float64, d prevoir.Date) float64 {
	i, ok := slices.BinarySearch(dates, d)
	if !ok {
		return math.NaN()
	}
	return y[i]
}

// Score computes the accuracy measures of one model's rows (its forecasts for the given
// quantile levels and horizon): MAE and RMSE over every forecast day with an actual value;
// MASE, the mean over origins of the origin's MAE divided by scale(origin) (FPP3 section 5.8,
// scaled errors; origins with no finite positive scale are skipped); sMAPE, mean of
// 200|y−ŷ|/(|y|+|ŷ|) over the days where y and ŷ are not both 0, in percent (FPP3 section
// 5.8); coverage of the central 50/80/95% intervals (fractions; NaN for a point-only model,
// one whose every quantile equals its point, as the networks' do: it has no interval to
// cover anything, which is not the same as an interval that never covers); WIS (see WIS; the median is
// the 0.5 quantile when present, else the point forecast); MAE by horizon. Rows without an
// actual value are ignored. Name, FitSeconds, the failure fields and the relative and weekly
// measures (NaN here; see RelativeWIS and ScoreWeekly) are left to the caller.
func Score(rows []Row, levels []float64, horizon int, scale func(origin prevoir.Date) float64) ModelScore {
	var ae, se, sm, wis float64
	var nsm int
	byH := make([]float64, horizon)
	nH := make([]int, horizon)
	cover := coverage{0.5: {}, 0.8: {}, 0.95: {}}
	type originSum struct {
		ae float64
		n  int
	}
	perOrigin := map[prevoir.Date]*originSum{}
	var origins []prevoir.Date
	n := 0
	intervals := false // whether any scored forecast has an interval wider than its point
	for _, r := range rows {
		if _, ok := perOrigin[r.Origin]; !ok {
			perOrigin[r.Origin] = &originSum{}
			origins = append(origins, r.Origin)
		}
		a := float64(r.Actual)
		if math.IsNaN(a) {
			continue
		}
		n++
		e := a - r.Point
		ae += math.Abs(e)
		se += e * e
		if d := math.Abs(a) + math.Abs(r.Point); d > 0 {
			sm += 200 * math.Abs(e) / d
			nsm++
		}
		if r.Horizon >= 1 && r.Horizon <= horizon {
			byH[r.Horizon-1] += math.Abs(e)
			nH[r.Horizon-1]++
		}
		o := perOrigin[r.Origin]
		o.ae += math.Abs(e)
		o.n++
		if len(r.Quantiles) == len(levels) && slices.ContainsFunc(r.Quantiles, func(q float64) bool { return q != r.Point }) {
			intervals = true
		}
		cover.add(a, levels, r.Quantiles)
		wis += dayWIS(r, levels)
	}
	nan := prevoir.Number(math.NaN())
	s := ModelScore{MAE: nan, RMSE: nan, MASE: nan, SMAPE: nan, WIS: nan, Coverage50: nan, Coverage80: nan,
		Coverage95: nan, MAEByHorizon: make(prevoir.Series, horizon), Origins: len(origins), Points: n,
		RelativeWIS: nan, Weekly: ScoreWeekly(nil, nil, levels)}
	for i := range byH {
		s.MAEByHorizon[i] = math.NaN()
		if nH[i] > 0 {
			s.MAEByHorizon[i] = byH[i] / float64(nH[i])
		}
	}
	if n == 0 {
		return s
	}
	s.MAE = prevoir.Number(ae / float64(n))
	s.RMSE = prevoir.Number(math.Sqrt(se / float64(n)))
	s.WIS = prevoir.Number(wis / float64(n))
	if nsm > 0 {
		s.SMAPE = prevoir.Number(sm / float64(nsm))
	}
	var mase float64
	nm := 0
	for _, o := range origins {
		sum := perOrigin[o]
		if sum.n == 0 || scale == nil {
			continue
		}
		if q := scale(o); q > 0 && !math.IsInf(q, 0) {
			mase += sum.ae / float64(sum.n) / q
			nm++
		}
	}
	if nm > 0 {
		s.MASE = prevoir.Number(mase / float64(nm))
	}
	if intervals {
		s.Coverage50, s.Coverage80, s.Coverage95 = cover.fraction(0.5), cover.fraction(0.8), cover.fraction(0.95)
	}
	return s
}
