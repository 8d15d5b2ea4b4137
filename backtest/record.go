package backtest

// Metrics returns the measures of every model of the result (ModelScore.Measures) under the
// names a backtest run records them by, "model.measure" ("ets.mae"), NaN included.
func (r *Result) Metrics() map[string]float64 {
	out := map[string]float64{}
	for _, m := range r.Models {
		for k, v := range m.Measures() {
			out[m.Name+"."+k] = v
		}
	}
	return out
}
