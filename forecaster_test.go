package prevoir_test

import (
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
)

// validForecast returns a valid 7-day forecast at levels 0.1, 0.5 and 0.9 with its week.
func validForecast() *prevoir.Forecast {
	fc := &prevoir.Forecast{Model: "m", Origin: prevoir.MustParseDate("2022-01-01"), Quantiles: []float64{0.1, 0.5, 0.9}}
	for i := range prevoir.WeekDays {
		fc.Dates = append(fc.Dates, fc.Origin+prevoir.Date(i+1))
		fc.Point = append(fc.Point, 10)
		fc.Values = append(fc.Values, []float64{8, 10, 12})
	}
	fc.Weekly = &prevoir.Weeks{Point: []float64{70}, Values: [][]float64{{60, 70, 80}}}
	return fc
}

// TestValidateQuantileRows: the days' and the weeks' quantile rows are checked alike, and the
// error names the day or the week.
func TestValidateQuantileRows(t *testing.T) {
	if err := validForecast().Validate(); err != nil {
		t.Fatalf("valid forecast: %v", err)
	}
	for _, c := range []struct {
		name  string
		spoil func(*prevoir.Forecast)
		want  string
	}{
		{"day short", func(fc *prevoir.Forecast) { fc.Values[2] = []float64{8, 10} }, "day 3 has 2 quantiles, want 3"},
		{"day decreasing", func(fc *prevoir.Forecast) { fc.Values[0][2] = 9 }, "day 1: quantiles [8 10 9] not finite and non-decreasing"},
		{"day NaN", func(fc *prevoir.Forecast) { fc.Values[6][0] = math.NaN() }, "day 7: quantiles"},
		{"week short", func(fc *prevoir.Forecast) { fc.Weekly.Values[0] = []float64{70} }, "week 1 has 1 quantiles, want 3"},
		{"week decreasing", func(fc *prevoir.Forecast) { fc.Weekly.Values[0][0] = 75 }, "week 1: quantiles [75 70 80] not finite and non-decreasing"},
		{"week infinite", func(fc *prevoir.Forecast) { fc.Weekly.Values[0][2] = math.Inf(1) }, "week 1: quantiles"},
	} {
		fc := validForecast()
		c.spoil(fc)
		if err := fc.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", c.name, err, c.want)
		}
	}
}

// TestValidateDateAlignment: a forecast's days must be the days right after its origin, in
// order, without a gap: a forecast shifted by a day, with a day missing or repeated, would be
// scored against the wrong outcomes.
func TestValidateDateAlignment(t *testing.T) {
	for _, c := range []struct {
		name  string
		spoil func(*prevoir.Forecast)
		want  string
	}{
		{"origin moved", func(fc *prevoir.Forecast) { fc.Origin-- }, "day 1 is 2022-01-02, want 2022-01-01"},
		{"first day is the origin", func(fc *prevoir.Forecast) {
			for i := range fc.Dates {
				fc.Dates[i]--
			}
		}, "day 1 is 2022-01-01, want 2022-01-02"},
		{"a day skipped", func(fc *prevoir.Forecast) {
			for i := 3; i < len(fc.Dates); i++ {
				fc.Dates[i]++
			}
		}, "day 4 is 2022-01-06, want 2022-01-05"},
		{"a day repeated", func(fc *prevoir.Forecast) { fc.Dates[6] = fc.Dates[5] }, "day 7 is 2022-01-07, want 2022-01-08"},
	} {
		fc := validForecast()
		c.spoil(fc)
		if err := fc.Validate(); err == nil || !strings.Contains(err.Error(), "forecast m: "+c.want) {
			t.Errorf("%s: error %v, want it to say %q", c.name, err, c.want)
		}
	}
}
