package naive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/prevoir/prevoir/forecast/internal/stats"
)

// HubBaselineSamples is the number of sample paths behind the hub baseline's quantiles beyond
// its first week, as in the hubs' code (num_samples = 100000).
const HubBaselineSamples = 100000

// HubBaseline is the weekly baseline of the European COVID-19 Forecast Hub
// (EuroCOVIDhub-baseline, built by the hub's code/R/build_baseline.R with
// covidModels::fit_quantile_baseline and predict.quantile_baseline, the COVIDhub-baseline of
// Cramer et al. 2022, "Evaluation of individual and ensemble probabilistic forecasts of
// COVID-19 mortality in the United States", PNAS 119(15), supplement): the relative scores of
// the hubs are measured against it.
//
// totals are the weekly totals up to the origin, oldest first, the last one the week that
// ends on the origin; NaN marks a week not wholly observed. The median of every week ahead is
// the last total. Its distribution is built from the week-to-week changes of every pair of
// consecutive observed weeks, symmetrised (each change and its negative, so the baseline
// predicts no trend):
//
//   - week 1: last total + the changes' quantiles, clipped at 0 (the hubs' code takes them
//     from a grid of 100000 quantiles of the changes, which is the same thing);
//   - week k > 1: a sample path adds k independent changes to the last total (the hubs'
//     code permutes its grid of changes once per week); the paths' median is moved back to
//     the last total, negative values clipped at 0, and their quantiles taken.
//
// The hubs' R code uses quantile type 7; this uses the type-6 estimate (stats.Quantile6), a
// negligible difference with a hundred weeks of history. The permutations come from a PCG
// generator seeded with seed, so the baseline is reproducible. It returns NaN point and nil
// quantiles when the last week is not observed, and quantiles all equal to the last total
// when no change is observed.
func HubBaseline(totals []float64, weeks int, levels []float64, seed uint64) (point float64, q [][]float64, err error) {
	n := len(totals)
	if n == 0 || math.IsNaN(totals[n-1]) {
		return math.NaN(), nil, nil
	}
	if weeks < 1 {
		return 0, nil, fmt.Errorf("hub baseline: %d weeks ahead: want at least 1", weeks)
	}
	last := totals[n-1]
	var changes []float64
	for i := 1; i < n; i++ {
		if d := totals[i] - totals[i-1]; !math.IsNaN(d) {
			changes = append(changes, d, -d)
		}
	}
	q = make([][]float64, weeks)
	if len(changes) == 0 {
		for k := range q {
			q[k] = make([]float64, len(levels))
			for j := range levels {
				q[k][j] = last
			}
		}
		return last, q, nil
	}
	slices.Sort(changes)
	q[0] = make([]float64, len(levels))
	for j, p := range levels {
		q[0][j] = math.Max(last+stats.Quantile6(changes, p), 0)
	}
	if weeks == 1 {
		return last, q, nil
	}
	const m = HubBaselineSamples
	grid := make([]float64, m)
	raw := make([]float64, m)
	for i := range grid {
		grid[i] = stats.Quantile6(changes, float64(i)/float64(m-1))
		raw[i] = last + grid[i]
	}
	rng := rand.New(rand.NewPCG(seed, math.Float64bits(last)))
	sample := make([]float64, m)
	for k := 1; k < weeks; k++ {
		rng.Shuffle(m, func(a, b int) { grid[a], grid[b] = grid[b], grid[a] })
		for i := range raw {
			raw[i] += grid[i]
		}
		copy(sample, raw)
		slices.Sort(sample)
		shift := stats.Quantile6(sample, 0.5) - last
		for i, v := range sample {
			sample[i] = math.Max(v-shift, 0)
		}
		q[k] = stats.Quantiles6(sample, levels)
	}
	return last, q, nil
}
