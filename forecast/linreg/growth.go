package linreg

import "math"

// The growth design (Options.Growth) follows the practice of the COVID-19 forecast hubs'
// regression models on leading indicators: forecast the log growth of deaths relative to the
// last week, from the recent weekly growth of deaths and of admissions and from the current
// ratio of deaths to (lagged) admissions, e.g. the "lagged-ratio" and growth-rate regressions
// of Cramer et al. 2022, "Evaluation of individual and ensemble probabilistic forecasts of
// COVID-19 mortality in the United States", PNAS 119(15), and McDonald et al. 2021, "Can
// auxiliary indicators improve COVID-19 forecasting and hotspot prediction?", PNAS 118(51)
// (their autoregressive models on 7-day averages of the target and of indicators).

// weekLevel returns log(1+x̄7[i]), the log of the mean of x over days i−6..i (negative values
// counted as 0), NaN before from+6.
func weekLevel(x []float64, from int) []float64 {
	out := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		out[i] = math.NaN()
		if i < from {
			continue
		}
		sum += math.Max(v, 0)
		if i-7 >= from {
			sum -= math.Max(x[i-7], 0)
		}
		if i >= from+6 {
			out[i] = math.Log1p(math.Max(sum, 0) / 7)
		}
	}
	return out
}

// growthFeatures writes, from position p of row, the growth design's features of origin index
// t and returns the next position: the target's weekly growths log((1+ȳ7[t])/(1+ȳ7[t−7j])),
// then for each covariate its ratios to the target's weekly level log((1+x[t−l])/(1+ȳ7[t]))
// and its own weekly growths.
func (ft *fitted) growthFeatures(row []float64, p, t int) int {
	for j := 1; j <= ft.o.GrowthWeeks; j++ {
		row[p] = ft.base[t] - ft.base[t-7*j]
		p++
	}
	for _, c := range ft.covs {
		for l := range ft.o.CovariateLags {
			row[p] = c.x[t-l] - ft.base[t]
			p++
		}
		for j := 1; j <= ft.o.GrowthWeeks; j++ {
			row[p] = c.level[t] - c.level[t-7*j]
			p++
		}
	}
	return p
}
