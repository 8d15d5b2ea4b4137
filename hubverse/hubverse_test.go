package hubverse_test

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/hubverse"
)

// forecast is a 14-day forecast from Saturday 2022-12-10 with the given levels: day i's
// quantile at level p is 10i + 40(p-0.5), so the lowest levels of day 1 are negative; its
// weekly totals have quantiles 1000w + 100p, nothing like sums of daily quantiles.
func forecast(levels []float64) *prevoir.Forecast {
	o := prevoir.MustParseDate("2022-12-10")
	fc := &prevoir.Forecast{Model: "ets", Origin: o, Quantiles: levels}
	for i := 1; i <= 14; i++ {
		fc.Dates = append(fc.Dates, o+prevoir.Date(i))
		fc.Point = append(fc.Point, float64(10*i))
		row := make([]float64, len(levels))
		for j, p := range levels {
			row[j] = float64(10*i) + 40*(p-0.5)
		}
		fc.Values = append(fc.Values, row)
	}
	fc.Weekly = &prevoir.Weeks{}
	for w := range 2 {
		row := make([]float64, len(levels))
		for j, p := range levels {
			row[j] = float64(1000*(w+1)) + 100*p
		}
		fc.Weekly.Point = append(fc.Weekly.Point, prevoir.WeekTotal(fc.Point, w))
		fc.Weekly.Values = append(fc.Weekly.Values, row)
	}
	return fc
}

func parse(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestDaily(t *testing.T) {
	b, err := hubverse.CSV(forecast(prevoir.DefaultQuantiles()), false)
	if err != nil {
		t.Fatal(err)
	}
	rows := parse(t, b)
	if strings.Join(rows[0], ",") != "origin_date,target,horizon,location,output_type,output_type_id,value" || len(rows) != 1+14*23 {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	// Day 1 at 0.01: 10 - 19.6 < 0, written as 0; day 14 at 0.975: 140 + 19 = 159.
	want := map[[2]string]string{{"1", "0.01"}: "0", {"1", "0.5"}: "10", {"14", "0.975"}: "159", {"3", "0.025"}: "11"}
	for _, r := range rows[1:] {
		if r[0] != "2022-12-10" || r[1] != "inc death" || r[3] != "FR" || r[4] != "quantile" {
			t.Fatalf("row %v", r)
		}
		if v, ok := want[[2]string{r[2], r[5]}]; ok {
			if r[6] != v {
				t.Errorf("horizon %s level %s = %s, want %s", r[2], r[5], r[6], v)
			}
			delete(want, [2]string{r[2], r[5]})
		}
	}
	if len(want) != 0 {
		t.Errorf("rows missing: %v", want)
	}
}

func TestWeekly(t *testing.T) {
	fc := forecast(prevoir.DefaultQuantiles())
	b, err := hubverse.CSV(fc, true)
	if err != nil {
		t.Fatal(err)
	}
	rows := parse(t, b)
	if len(rows) != 1+2*23 {
		t.Fatalf("%d rows", len(rows))
	}
	for k, r := range rows[1:] {
		w, j := k/23+1, k%23
		p := prevoir.DefaultQuantiles()[j]
		// The weekly total's own quantile, not the sum of the days' quantiles.
		if r[1] != strconv.Itoa(w)+" wk ahead inc death" || r[2] != strconv.Itoa(w) || r[5] != strconv.FormatFloat(p, 'f', -1, 64) ||
			r[6] != strconv.FormatFloat(float64(1000*w)+100*p, 'f', -1, 64) {
			t.Errorf("row %d = %v", k+1, r)
		}
	}

	fc.Weekly = nil
	if _, err := hubverse.CSV(fc, true); err == nil || !strings.Contains(err.Error(), "no weekly totals") {
		t.Errorf("a forecast without weekly totals exported as weekly: %v", err)
	}
	if _, err := hubverse.CSV(fc, false); err != nil {
		t.Errorf("its days: %v", err)
	}
}

// TestRefusesOtherLevels: a forecast with the 7 levels of earlier prevoir versions is refused,
// with the levels it has and what to do; more levels than the hubs' are fine (the 23 are
// written).
func TestRefusesOtherLevels(t *testing.T) {
	old := forecast([]float64{0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975})
	for _, weekly := range []bool{false, true} {
		b, err := hubverse.CSV(old, weekly)
		if err == nil || b != nil || !strings.Contains(err.Error(), "7 quantile levels") || !strings.Contains(err.Error(), "re-run the forecast") {
			t.Errorf("weekly %v: %d bytes, %v", weekly, len(b), err)
		}
	}
	more := append(prevoir.DefaultQuantiles(), 0.995)
	b, err := hubverse.CSV(forecast(more), false)
	if err != nil || len(parse(t, b)) != 1+14*23 || bytes.Contains(b, []byte(",0.995,")) {
		t.Errorf("24 levels: %v, %d bytes", err, len(b))
	}
}

// TestSeveralTargets: several targets go in one file, one header, each target's rows under its
// hub name in the order given; an occupancy's weekly total is refused, naming the target.
func TestSeveralTargets(t *testing.T) {
	deaths, _ := prevoir.LookupTarget(prevoir.TargetDeaths)
	beds, _ := prevoir.LookupTarget(prevoir.TargetHospitalised)
	adm, _ := prevoir.LookupTarget(prevoir.TargetAdmissions)
	fc := forecast(prevoir.DefaultQuantiles())
	b, err := hubverse.TargetsCSV([]hubverse.Entry{{Target: beds, Forecast: fc}, {Target: deaths, Forecast: fc}}, false)
	if err != nil {
		t.Fatal(err)
	}
	rows := parse(t, b)
	if len(rows) != 1+2*14*23 {
		t.Fatalf("%d rows, want a header and 2×14×23", len(rows))
	}
	for k, r := range rows[1:] {
		want := "hosp occupancy"
		if k >= 14*23 {
			want = "inc death"
		}
		if r[1] != want {
			t.Fatalf("row %d: target %q, want %q", k+1, r[1], want)
		}
	}

	b, err = hubverse.TargetsCSV([]hubverse.Entry{{Target: adm, Forecast: fc}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if rows := parse(t, b); rows[1][1] != "1 wk ahead inc hosp" {
		t.Errorf("weekly admissions: target %q", rows[1][1])
	}
	if _, err := hubverse.TargetsCSV([]hubverse.Entry{{Target: deaths, Forecast: fc}, {Target: beds, Forecast: fc}}, true); err == nil ||
		!strings.Contains(err.Error(), "hosp (patients in hospital) is an occupancy") {
		t.Errorf("weekly occupancy: %v", err)
	}
}
