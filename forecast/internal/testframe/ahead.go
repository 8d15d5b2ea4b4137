package testframe

import "github.com/prevoir/prevoir"

// Ahead returns a forecast of a column for the days after origin, as another target's champion
// stores it (to hand with a frame, prevoir.Frame.Ahead): level every day, with the quantiles
// level·(1 + spread·(q − 0.5)) at the default levels, made by version 2 of target's "ets".
func Ahead(target string, origin prevoir.Date, days int, level, spread float64) *prevoir.CovariateForecast {
	q := prevoir.DefaultQuantiles()
	fc := prevoir.Forecast{Model: "ets", Origin: origin, Quantiles: q}
	for i := range days {
		fc.Dates = append(fc.Dates, origin+prevoir.Date(i+1))
		fc.Point = append(fc.Point, level)
		row := make([]float64, len(q))
		for j, p := range q {
			row[j] = level * (1 + spread*(p-0.5))
		}
		fc.Values = append(fc.Values, row)
	}
	return &prevoir.CovariateForecast{Target: target, Version: 2, Family: "ets", ForecastID: 7, Forecast: fc}
}
