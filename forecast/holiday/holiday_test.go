package holiday_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
	"github.com/prevoir/prevoir/forecast/linreg"
	"github.com/prevoir/prevoir/forecast/naive"
)

func TestCalendar(t *testing.T) {
	for y, want := range map[int]string{2019: "2019-04-21", 2020: "2020-04-12", 2021: "2021-04-04",
		2022: "2022-04-17", 2023: "2023-04-09", 2024: "2024-03-31", 2025: "2025-04-20"} {
		if got := holiday.Easter(y); got.String() != want {
			t.Errorf("Easter %d = %s, want %s", y, got, want)
		}
	}
	for d, want := range map[string]bool{"2022-01-01": true, "2022-04-18": true, "2022-05-26": true, "2022-06-06": true,
		"2022-07-14": true, "2022-07-15": false, "2022-08-15": true, "2022-11-11": true, "2022-12-25": true, "2022-04-17": false} {
		if got := holiday.France(prevoir.MustParseDate(d)); got != want {
			t.Errorf("France(%s) = %v", d, got)
		}
	}
	for d, want := range map[string]holiday.Kind{
		"2022-04-18": holiday.Holiday,  // Easter Monday
		"2022-04-19": holiday.After,    // the Tuesday after
		"2022-05-01": holiday.Ordinary, // a Sunday
		"2022-05-27": holiday.After,    // Friday after Ascension Thursday
		"2022-11-11": holiday.Holiday,  // a Friday
		"2022-11-12": holiday.Ordinary, // the Saturday after
		"2021-12-25": holiday.Ordinary, // a Saturday
	} {
		if got := holiday.Classify(prevoir.MustParseDate(d), holiday.France); got != want {
			t.Errorf("Classify(%s) = %v, want %v", d, got, want)
		}
	}
}

// TestAdjust: on a weekly pattern where holidays report a quarter of a normal day and the day
// after one and a half, the factors are recovered from the past holidays and the seasonal
// naive, fitted on the masked series, forecasts a coming holiday and its next day correctly.
func TestAdjust(t *testing.T) {
	n := 300 // 2022-01-02 .. 2022-10-28
	w := testframe.Weekly(n)
	y := append([]float64(nil), w...)
	for i := range y {
		switch holiday.Classify(testframe.Start()+prevoir.Date(i), holiday.France) {
		case holiday.Holiday:
			y[i] *= 0.25
		case holiday.After:
			y[i] *= 1.5
		}
	}
	origin := prevoir.MustParseDate("2022-07-10")
	f, err := testframe.New(y, nil).Until(origin)
	if err != nil {
		t.Fatal(err)
	}
	h := holiday.Adjust(naive.Forecaster{Method: naive.MethodSeasonalNaive}, holiday.Options{})
	if h.Name() != "snaive+hol" {
		t.Errorf("name %q", h.Name())
	}
	factors, days := h.Factors(f)
	if math.Abs(factors[holiday.Holiday]-0.25) > 1e-12 || math.Abs(factors[holiday.After]-1.5) > 1e-12 || days[holiday.Holiday] != 3 {
		t.Errorf("factors %v from %v days", factors, days)
	}
	ft, err := h.Fit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	med := slices.Index(fc.Quantiles, 0.5)
	for i, d := range fc.Dates {
		want := w[int(d-testframe.Start())]
		switch d.String() {
		case "2022-07-14":
			want *= 0.25
		case "2022-07-15":
			want *= 1.5
		}
		if math.Abs(fc.Point[i]-want) > 1e-9 || fc.Values[i][med] > want+1e-9 {
			t.Errorf("%s: %v (median %v), want %v", d, fc.Point[i], fc.Values[i][med], want)
		}
	}
	// With fewer than three past holidays the factor is 1.
	early, _ := testframe.New(y, nil).Until(prevoir.MustParseDate("2022-06-01"))
	if factors, _ := h.Factors(early); factors[holiday.Holiday] != 1 {
		t.Errorf("factor %v from two holidays, want 1", factors[holiday.Holiday])
	}
}

// TestAdjustWeekly: the weekly totals of a corrected forecast are the sums of the corrected
// days, their quantiles shifted by the correction (the spread is kept), and the forecast
// validates; a week without a special day is unchanged.
func TestAdjustWeekly(t *testing.T) {
	y := testframe.Weekly(300)
	for i := range y {
		if holiday.Classify(testframe.Start()+prevoir.Date(i), holiday.France) == holiday.Holiday {
			y[i] *= 0.25
		}
	}
	// Origin Sunday 2022-07-10: week 1 holds 14 July, week 2 none.
	f, err := testframe.New(y, nil).Until(prevoir.MustParseDate("2022-07-10"))
	if err != nil {
		t.Fatal(err)
	}
	inner := testframe.WithWeeks{Forecaster: naive.Forecaster{Method: naive.MethodSeasonalNaive}, Spread: 100}
	ctx := context.Background()
	levels := prevoir.DefaultQuantiles()
	raw, err := inner.Fit(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	before, err := raw.Predict(ctx, 14, levels)
	if err != nil {
		t.Fatal(err)
	}
	ft, err := holiday.Adjust(inner, holiday.Options{}).Fit(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ft.Predict(ctx, 14, levels)
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Validate(); err != nil || fc.Weekly == nil {
		t.Fatalf("weekly %v: %v", fc.Weekly, err)
	}
	for w := range 2 {
		shift := prevoir.WeekTotal(fc.Point, w) - before.Weekly.Point[w]
		if (w == 0) != (shift < -1) {
			t.Errorf("week %d: the correction moved the total by %v", w+1, shift)
		}
		for j := range levels {
			if got, want := fc.Weekly.Values[w][j], before.Weekly.Values[w][j]+shift; math.Abs(got-want) > 1e-9 {
				t.Errorf("week %d quantiles %v, want %v shifted by %v", w+1, fc.Weekly.Values[w], before.Weekly.Values[w], shift)
				break
			}
		}
	}
}

// TestAdjustKeepsWeeklyConsistent: a model with weekly totals, corrected across a holiday,
// gives a forecast that still validates (its weekly totals, if any, sum the corrected days).
func TestAdjustKeepsWeeklyConsistent(t *testing.T) {
	// The forecast days 2022-07-10 .. 2022-07-23 hold 14 July.
	f, err := testframe.New(testframe.Noisy(400, 5), nil).Until(prevoir.MustParseDate("2022-07-09"))
	if err != nil {
		t.Fatal(err)
	}
	inner := linreg.New(linreg.DefaultOptions())
	ctx := context.Background()
	predict := func(m prevoir.Forecaster) *prevoir.Forecast {
		ft, err := m.Fit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(ctx, 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Fatal(err)
		}
		return fc
	}
	ifc, fc := predict(inner), predict(holiday.Adjust(inner, holiday.Options{}))
	if ifc.Weekly == nil {
		t.Fatal("the inner model gives no weekly totals: the test is not testing anything")
	}
	if ifc.Point[4] == fc.Point[4] {
		t.Fatalf("14 July not corrected: %v", fc.Point[4])
	}
	if fc.Weekly == nil {
		t.Fatal("the corrected forecast lost the inner model's weekly totals")
	}
	if err := fc.Validate(); err != nil {
		t.Error(err)
	}
}
