package prevoir_test

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

func parse(t *testing.T, file, source string) *prevoir.Table {
	t.Helper()
	src, err := prevoir.LookupSource(prevoir.DefaultSources(), source)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := csvsource.Parse(file, testutil.ReadData(t, file), src)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestOriginalFrameGolden checks that the original mode reproduces, date for date and value for
// value, the original project's own preprocessed frame (covid_df.csv) built from the
// 2022-08-26 releases.
func TestOriginalFrameGolden(t *testing.T) {
	ind := parse(t, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", prevoir.SourceIndicators)
	sidep := parse(t, "sp-fra-jour.csv", prevoir.SourceSIDEP)
	opts := prevoir.DefaultFrameOptions()
	opts.Mode = prevoir.FrameOriginal
	f, err := prevoir.BuildFrame([]prevoir.FrameInput{{Table: ind}, {Table: sidep}}, opts)
	if err != nil {
		t.Fatal(err)
	}

	// The golden file is plain CSV with a date column; read it with the same parser.
	golden, err := csvsource.Parse("original-preprocessed-frame-2022-08-26.csv",
		testutil.ReadData(t, "vintages/original-preprocessed-frame-2022-08-26.csv"),
		prevoir.Source{Name: "golden", Dialect: prevoir.Dialect{Comma: ','}, Schema: prevoir.Schema{DateColumn: "date"}})
	if err != nil {
		t.Fatal(err)
	}
	if golden.Len() != 833 {
		t.Fatalf("golden has %d rows, want 833", golden.Len())
	}
	if !slices.Equal(f.Names(), golden.Columns) {
		t.Fatalf("columns\n got %v\nwant %v", f.Names(), golden.Columns)
	}
	if !slices.Equal(f.Dates, golden.Dates) {
		t.Fatalf("dates differ: got %d rows %v..%v, want %d", f.Len(), f.Dates[0], f.Dates[f.Len()-1], golden.Len())
	}
	for i, name := range golden.Columns {
		got, want := f.Column(name), golden.Values[i]
		for r := range want {
			if got[r] != want[r] {
				t.Errorf("%s on %s: got %v, want %v", name, f.Dates[r], got[r], want[r])
			}
		}
	}
}

func TestFullFrameStaleCovariates(t *testing.T) {
	ind := parse(t, "table-indicateurs-open-data-france.csv", prevoir.SourceIndicators)
	sidep := parse(t, "sp-fra-jour.csv", prevoir.SourceSIDEP)
	inputs := []prevoir.FrameInput{{Table: ind}, {Table: sidep}}

	f, err := prevoir.BuildFrame(inputs, prevoir.DefaultFrameOptions())
	if err != nil {
		t.Fatal(err)
	}
	// The target's span, continuous.
	if f.Dates[0].String() != "2020-03-19" || f.Dates[f.Len()-1].String() != "2022-12-31" {
		t.Errorf("span %s..%s", f.Dates[0], f.Dates[f.Len()-1])
	}
	for i := 1; i < f.Len(); i++ {
		if f.Dates[i] != f.Dates[i-1]+1 {
			t.Fatalf("calendar not continuous at %s", f.Dates[i])
		}
	}
	// SI-DEP stops on 2022-08-23: its six covariates are dropped, with a reason.
	dropped := map[string]string{}
	for _, d := range f.Decisions {
		if d.Action == prevoir.ActionDropped {
			dropped[d.Column] = d.Reason
		}
	}
	for _, c := range []string{"pop", "P", "T", "Ti", "Tp", "Td"} {
		if !strings.Contains(dropped[c], "stale: last value 2022-08-23") {
			t.Errorf("%s: decision %q, want dropped as stale", c, dropped[c])
		}
		if f.Column(c) != nil {
			t.Errorf("%s still in the frame", c)
		}
	}
	if len(dropped) != 6 {
		t.Errorf("dropped %v, want only the six SI-DEP columns", dropped)
	}
	// Missing covariate values before a covariate starts are explicit NaNs.
	pos := f.Column("pos")
	if !math.IsNaN(pos[0]) || math.IsNaN(pos[f.Len()-1]) {
		t.Errorf("pos first=%v last=%v: want NaN then a value", pos[0], pos[f.Len()-1])
	}
	if len(f.Gaps()) == 0 {
		t.Error("no gaps reported, but pos starts after the target")
	}

	// The flag policy keeps them with an availability column.
	opts := prevoir.DefaultFrameOptions()
	opts.Stale = prevoir.StaleFlag
	g, err := prevoir.BuildFrame(inputs, opts)
	if err != nil {
		t.Fatal(err)
	}
	flag, p := g.Column("P_available"), g.Column("P")
	if flag == nil || p == nil {
		t.Fatalf("flag policy: columns %v", g.Names())
	}
	last := int(prevoir.MustParseDate("2022-08-23") - g.Dates[0])
	if flag[last] != 1 || flag[last+1] != 0 || !math.IsNaN(p[last+1]) || p[last] != 20524 {
		t.Errorf("around 2022-08-23: flag %v %v, P %v %v", flag[last], flag[last+1], p[last], p[last+1])
	}
	if g.Names()[len(g.Names())-1] != prevoir.DefaultTarget {
		t.Errorf("target is not the last column: %v", g.Names())
	}
}

func TestFrameOptionErrors(t *testing.T) {
	tab := &prevoir.Table{Source: "s", Dates: []prevoir.Date{1, 2}, Columns: []string{"y"}, Values: [][]float64{{1, 2}}}
	in := []prevoir.FrameInput{{Table: tab}}
	for _, opts := range []prevoir.FrameOptions{
		{Target: "y", Mode: "weird", Stale: prevoir.StaleDrop},
		{Target: "y", Mode: prevoir.FrameFull, Stale: "keep"},
		{Target: "y", Covariates: []string{"y"}, Mode: prevoir.FrameFull, Stale: prevoir.StaleDrop},
		{Target: "nope", Mode: prevoir.FrameFull, Stale: prevoir.StaleDrop},
		{Target: "y", Covariates: []string{"x"}, Mode: prevoir.FrameOriginal, Stale: prevoir.StaleDrop},
	} {
		if _, err := prevoir.BuildFrame(in, opts); prevoir.ErrorCode(err) != prevoir.EINVALID {
			t.Errorf("%+v: got %v, want an invalid error", opts, err)
		}
	}
}

func TestDiffVintages(t *testing.T) {
	old := parse(t, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", prevoir.SourceIndicators)
	cur := parse(t, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", prevoir.SourceIndicators)
	r := prevoir.Diff(old, cur)
	if r.AddedDates != 21 || r.RemovedDates != 0 {
		t.Errorf("added %d removed %d dates, want 21 and 0", r.AddedDates, r.RemovedDates)
	}
	if !slices.Equal(r.AddedColumns, []string{"R"}) {
		t.Errorf("added columns %v, want [R]", r.AddedColumns)
	}
	if !r.Revised() || r.ChangedDates == 0 {
		t.Errorf("revision %+v: the later release revises past values", r)
	}
	if same := prevoir.Diff(cur, cur); same.Revised() || same.AddedDates != 0 || same.ChangedCells != 0 {
		t.Errorf("a release differs from itself: %+v", same)
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2022-02-30", "2022-2-01", "22-02-01", "2022-02-01T00:00", " 2022-02-01", "2022-00-10", "abcd-ef-gh"} {
		if _, err := prevoir.ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
	d := prevoir.MustParseDate("2024-02-29")
	if d.String() != "2024-02-29" || d.AddDays(1).String() != "2024-03-01" {
		t.Errorf("round trip: %s %s", d, d.AddDays(1))
	}
}

func TestFrameUntilSharesNothing(t *testing.T) {
	tab := &prevoir.Table{Source: "s", Dates: []prevoir.Date{10, 11, 12, 13}, Columns: []string{"y"}, Values: [][]float64{{1, 2, 3, 4}}}
	opts := prevoir.DefaultFrameOptions()
	opts.Target, opts.Covariates = "y", nil
	f, err := prevoir.BuildFrame([]prevoir.FrameInput{{Table: tab}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.Until(11)
	if err != nil || g.Len() != 2 || g.TargetValues()[1] != 2 {
		t.Fatalf("Until(11) = %v, %v", g, err)
	}
	g.TargetValues()[0] = 99
	if f.TargetValues()[0] != 1 {
		t.Error("Until shares its values with the frame")
	}
	if _, err := f.Until(9); err == nil {
		t.Error("origin before the frame accepted")
	}
	if g, _ := f.Until(20); g.Len() != 4 {
		t.Errorf("origin after the frame: %d rows", g.Len())
	}
}

// FuzzParseDate: whatever ParseDate accepts formats back to the same text.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2022-08-23", "2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "2022-8-23"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := prevoir.ParseDate(s)
		if err == nil && d.String() != s {
			t.Fatalf("ParseDate(%q) = %s", s, d)
		}
	})
}

// TestFrameWithTarget: the named column becomes the target and the former target a covariate,
// in a copy; an unknown column or a flag is refused with its name.
func TestFrameWithTarget(t *testing.T) {
	f := &prevoir.Frame{Target: "y", Dates: []prevoir.Date{10, 11}, Columns: []prevoir.FrameColumn{
		{Name: "a", Kind: prevoir.KindCovariate, Values: prevoir.Series{5, 6}},
		{Name: "a_available", Kind: prevoir.KindFlag, Values: prevoir.Series{1, 1}},
		{Name: "y", Kind: prevoir.KindTarget, Values: prevoir.Series{1, 2}},
	}}
	g, err := f.WithTarget("a")
	if err != nil {
		t.Fatal(err)
	}
	if g.Target != "a" || !slices.Equal(g.TargetValues(), []float64{5, 6}) {
		t.Fatalf("target %q %v, want a [5 6]", g.Target, g.TargetValues())
	}
	kinds := map[string]prevoir.ColumnKind{}
	for _, c := range g.Columns {
		kinds[c.Name] = c.Kind
	}
	if kinds["a"] != prevoir.KindTarget || kinds["y"] != prevoir.KindCovariate || kinds["a_available"] != prevoir.KindFlag {
		t.Errorf("kinds %v", kinds)
	}
	if f.Target != "y" || f.Columns[0].Kind != prevoir.KindCovariate || f.Columns[2].Kind != prevoir.KindTarget {
		t.Error("WithTarget changed the frame it was given")
	}
	for name, want := range map[string]string{"hosp": `no column "hosp"`, "a_available": "flag"} {
		if _, err := f.WithTarget(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("WithTarget(%q): %v, want an error with %q", name, err, want)
		}
	}
}

// TestFrameAheadOnlyFromItsOrigin: a forecast of a column beyond the frame's last day is read
// from the frame (AheadOf) when it starts there, carried by WithTarget and by Until up to the
// last day, and dropped by Until to an earlier day, even one a forecast starts on (a
// backtest's past origin has none); a forecast from another day never applies.
func TestFrameAheadOnlyFromItsOrigin(t *testing.T) {
	f := &prevoir.Frame{Target: "y", Dates: []prevoir.Date{10, 11, 12}, Columns: []prevoir.FrameColumn{
		{Name: "a", Kind: prevoir.KindCovariate, Values: prevoir.Series{5, 6, 7}},
		{Name: "y", Kind: prevoir.KindTarget, Values: prevoir.Series{1, 2, 3}},
	}}
	cf := &prevoir.CovariateForecast{Target: "a", Version: 3, Family: "ets", ForecastID: 9, Forecast: prevoir.Forecast{Origin: 12}}
	f.Ahead = map[string]*prevoir.CovariateForecast{"a": cf, "b": {Forecast: prevoir.Forecast{Origin: 11}}}
	if f.AheadOf("a") != cf || f.AheadOf("b") != nil || f.AheadOf("y") != nil {
		t.Errorf("AheadOf: a %v, b (another origin) %v, y (none) %v", f.AheadOf("a"), f.AheadOf("b"), f.AheadOf("y"))
	}
	g, err := f.WithTarget("a")
	if err != nil || g.AheadOf("a") != cf {
		t.Errorf("WithTarget: %v, %v; want the forecast carried", g, err)
	}
	same, err := f.Until(12)
	if err != nil || same.AheadOf("a") != cf {
		t.Errorf("Until the last day: ahead %v, %v; want a's forecast", same.Ahead, err)
	}
	same.Ahead["z"] = cf
	if _, ok := f.Ahead["z"]; ok {
		t.Error("Until shares its forecasts' map with the frame")
	}
	past, err := f.Until(11)
	if err != nil || past.AheadOf("a") != nil || past.AheadOf("b") != nil || past.Ahead != nil {
		t.Errorf("Until a past day: ahead %v, %v; want none: they were handed for the frame ending on 12", past.Ahead, err)
	}
}

// TestCovariateInputParams: the run params record the forecast used, or why the model forecast
// the column itself, under stable keys.
func TestCovariateInputParams(t *testing.T) {
	cf := prevoir.CovariateForecastOf(&prevoir.StoredForecast{ID: 41, Model: "incid_hosp", Version: 2, Family: "ets", Forecast: prevoir.Forecast{Origin: prevoir.MustParseDate("2022-12-31")}})
	got := prevoir.CovariateInput{Column: "incid_hosp", Forecast: cf}.Params()
	want := map[string]string{"input.incid_hosp.source": "champion", "input.incid_hosp.target": "incid_hosp", "input.incid_hosp.version": "2",
		"input.incid_hosp.family": "ets", "input.incid_hosp.forecast_id": "41", "input.incid_hosp.origin": "2022-12-31"}
	if !maps.Equal(got, want) {
		t.Errorf("champion's: %v, want %v", got, want)
	}
	got = prevoir.CovariateInput{Column: "incid_rea", Reason: "incid_rea has no champion"}.Params()
	if want := map[string]string{"input.incid_rea.source": "own", "input.incid_rea.reason": "incid_rea has no champion"}; !maps.Equal(got, want) {
		t.Errorf("own: %v, want %v", got, want)
	}
}
