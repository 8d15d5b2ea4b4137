package weekly_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/ets"
	"github.com/prevoir/prevoir/forecast/holiday"
	"github.com/prevoir/prevoir/forecast/naive"
	"github.com/prevoir/prevoir/forecast/theta"
	"github.com/prevoir/prevoir/forecast/weekly"
	"github.com/prevoir/prevoir/internal/testutil"
)

// realFrame reads the target and the admissions from the real indicators file.
func realFrame(t *testing.T) *prevoir.Frame {
	t.Helper()
	fh, err := os.Open(filepath.Join(testutil.DataDir(t), "table-indicateurs-open-data-france.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]int{}
	for j, n := range rows[0] {
		cols[n] = j
	}
	names := []string{"incid_hosp", "incid_rea", "incid_dchosp"}
	f := &prevoir.Frame{Mode: prevoir.FrameFull, Target: "incid_dchosp"}
	vals := make([][]float64, len(names))
	for _, r := range rows[1:] {
		d, err := prevoir.ParseDate(r[cols["date"]])
		if err != nil {
			t.Fatal(err)
		}
		if d < prevoir.MustParseDate("2020-03-19") {
			continue
		}
		f.Dates = append(f.Dates, d)
		for k, n := range names {
			v := math.NaN()
			if s := r[cols[n]]; s != "" {
				if v, err = strconv.ParseFloat(s, 64); err != nil {
					t.Fatal(err)
				}
			}
			vals[k] = append(vals[k], v)
		}
	}
	for k, n := range names {
		kind := prevoir.KindCovariate
		if n == f.Target {
			kind = prevoir.KindTarget
		}
		f.Columns = append(f.Columns, prevoir.FrameColumn{Name: n, Kind: kind, Values: vals[k]})
	}
	return f
}

// TestProtocol scores settings of the weekly model on Saturday origins (days 1-7 and 8-14
// after the origin are the hubs' weeks 1 and 2): the weekly relative AE against the last
// observed week repeated, as ../shared/bench/hub/weekly_skill.py computes it, the 50% and 95%
// coverage of the weekly totals and the daily MAE. The settings were chosen on 2021
// (PREVOIR_PROTOCOL=2021) and reported on 2022 (PREVOIR_PROTOCOL=2022); see PROTOCOL.md.
//
//	PREVOIR_PROTOCOL=2021 go test ./forecast/weekly -run TestProtocol -v
func TestProtocol(t *testing.T) {
	year := os.Getenv("PREVOIR_PROTOCOL")
	if year == "" {
		t.Skip("set PREVOIR_PROTOCOL=2021 or 2022 to run the protocol")
	}
	f := realFrame(t)
	first, lastO := prevoir.MustParseDate(year+"-01-02"), prevoir.MustParseDate(year+"-12-18")
	if year == "2022" {
		first, lastO = prevoir.MustParseDate("2022-01-01"), prevoir.MustParseDate("2022-12-17")
	}
	y := f.TargetValues()
	at := func(d prevoir.Date) float64 { return y[int(d-f.Dates[0])] }
	models := map[string]prevoir.Forecaster{
		"weekly":  weekly.New(weekly.Options{}),
		"ets+hol": holiday.Adjust(ets.Forecaster{Window: 365, Options: ets.Options{Tol: 1e-6}}, holiday.Options{}),
		// The sample-path weekly quantiles of the statistical families, for their coverage.
		"ets":    ets.Forecaster{Window: 365, Options: ets.Options{Tol: 1e-6}},
		"snaive": naive.Forecaster{Method: naive.MethodSeasonalNaive, Window: 365},
		"naive":  naive.Forecaster{Method: naive.MethodNaive, Window: 365},
		"theta":  theta.Forecaster{Window: 365},
	}
	if os.Getenv("PREVOIR_PROTOCOL_GRID") != "" {
		// The grid searched on 2021.
		for _, pw := range []int{4, 6, 16} {
			n := fmt.Sprintf("profile%d", pw)
			models[n] = weekly.New(weekly.Options{Label: n, ProfileWeeks: pw})
		}
		covs := map[string][]string{"none": {}, "hosp": {"incid_hosp"}, "rea": {"incid_rea"}, "both": {"incid_hosp", "incid_rea"}}
		for _, w := range []int{26, 39, 52, 78, 104} {
			for _, l := range []float64{0, 0.01, 0.1} {
				for _, lags := range []int{1, 2, 3} {
					for cn, c := range covs {
						n := fmt.Sprintf("w%d_l%g_lag%d_%s", w, l, lags, cn)
						models[n] = weekly.New(weekly.Options{Label: n, Window: w, Lambda: l, Lags: lags, Covariates: c})
					}
				}
			}
		}
	}
	if only := os.Getenv("PREVOIR_PROTOCOL_MODELS"); only != "" {
		for n := range models {
			if n != only {
				delete(models, n)
			}
		}
	}
	for name, m := range models {
		var ae, nae, dae, c50, c95 float64
		var weeks, days, scored int
		for o := first; o <= lastO; o += 7 {
			g, err := f.Until(o)
			if err != nil {
				t.Fatal(err)
			}
			ft, err := m.Fit(context.Background(), g)
			if err != nil {
				t.Fatalf("%s at %s: %v", name, o, err)
			}
			fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
			if err != nil {
				t.Fatalf("%s at %s: %v", name, o, err)
			}
			naive := 0.0
			for i := range 7 {
				naive += at(o - prevoir.Date(i))
			}
			for w := range 2 {
				actual := 0.0
				for i := range 7 {
					d := o + prevoir.Date(7*w+i+1)
					actual += at(d)
					dae += math.Abs(fc.Point[7*w+i] - at(d))
					days++
				}
				ae += math.Abs(prevoir.WeekTotal(fc.Point, w) - actual)
				nae += math.Abs(naive - actual)
				weeks++
				if fc.Weekly != nil {
					scored++
					q := fc.Weekly.Values[w] // levels 0.025 0.1 0.25 0.5 0.75 0.9 0.975
					if actual >= q[2] && actual <= q[4] {
						c50++
					}
					if actual >= q[0] && actual <= q[6] {
						c95++
					}
				}
			}
		}
		fmt.Printf("%-16s %s weeks %3d relAE %.3f AE/week %7.1f cov50 %3.0f%% cov95 %3.0f%% (of %d weeks with quantiles) daily MAE %.2f\n",
			name, year, weeks, ae/nae, ae/float64(weeks), 100*c50/float64(scored), 100*c95/float64(scored), scored, dae/float64(days))
	}
	if os.Getenv("PREVOIR_PROTOCOL_GRID") != "" {
		weeklyETS(t, f, first, lastO, year)
	}
}

// weeklyETS scores the alternative tried on 2021: AutoETS on log1p of the weekly totals
// (weeks ending at the origin, all history), alone and combined with the regression (the mean
// of the two on the log scale).
func weeklyETS(t *testing.T, f *prevoir.Frame, first, lastO prevoir.Date, year string) {
	y := f.TargetValues()
	at := func(d prevoir.Date) float64 { return y[int(d-f.Dates[0])] }
	reg := weekly.New(weekly.Options{})
	var aeE, aeB, nae float64
	for o := first; o <= lastO; o += 7 {
		var wk []float64
		for e := o; e-6 >= f.Dates[0]; e -= 7 {
			s := 0.0
			for i := range 7 {
				s += at(e - prevoir.Date(i))
			}
			wk = append([]float64{s}, wk...)
		}
		md, err := ets.Auto(context.Background(), wk, ets.Options{Period: 1, Transform: ets.Log1p()})
		if err != nil {
			t.Fatal(err)
		}
		pe, _, err := md.Forecast(2, nil)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := f.Until(o)
		ft, err := reg.Fit(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := ft.Predict(context.Background(), 14, prevoir.DefaultQuantiles())
		if err != nil {
			t.Fatal(err)
		}
		for w := range 2 {
			actual := 0.0
			for i := range 7 {
				actual += at(o + prevoir.Date(7*w+i+1))
			}
			both := math.Exp((math.Log1p(math.Max(pe[w], 0))+math.Log1p(fc.Weekly.Point[w]))/2) - 1
			aeE += math.Abs(pe[w] - actual)
			aeB += math.Abs(both - actual)
			nae += math.Abs(wk[len(wk)-1] - actual)
		}
	}
	fmt.Printf("weekly ETS (log1p weekly totals) %s relAE %.3f; mean with the regression %.3f\n", year, aeE/nae, aeB/nae)
}
