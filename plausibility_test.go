package prevoir_test

import (
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
)

// TestRealDataPassesPlausibilityRules: every real release, old and new, passes the rules, alone
// and against the release before it, when fetched on its last day.
func TestRealDataPassesPlausibilityRules(t *testing.T) {
	for _, chain := range []struct {
		source string
		files  []string
	}{
		{prevoir.SourceIndicators, []string{"vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv",
			"vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", "table-indicateurs-open-data-france.csv"}},
		{prevoir.SourceSIDEP, []string{"vintages/sp-fra-jour-2022-08-05-19h01.csv", "sp-fra-jour.csv"}},
	} {
		src, err := prevoir.LookupSource(prevoir.DefaultSources(), chain.source)
		if err != nil {
			t.Fatal(err)
		}
		var prev *prevoir.Table
		for _, file := range chain.files {
			tab := parse(t, file, chain.source)
			_, last, _ := tab.Span()
			for _, base := range []*prevoir.Table{nil, prev} {
				if vs := prevoir.CheckPlausibility(src, tab, last, base); len(vs) > 0 {
					t.Errorf("%s (baseline %v): %d violations, first %s", file, base != nil, len(vs), vs[0])
				}
			}
			prev = tab
		}
	}
}

// TestSourcesDeclareRules: every column a source requires has a rule of its own.
func TestSourcesDeclareRules(t *testing.T) {
	for _, src := range prevoir.DefaultSources() {
		for _, c := range src.Required {
			if _, ok := src.Rule(c); !ok {
				t.Errorf("source %s: required column %s has no plausibility rule", src.Name, c)
			}
		}
	}
}

func TestCheckPlausibility(t *testing.T) {
	src, err := prevoir.LookupSource(prevoir.DefaultSources(), prevoir.SourceIndicators)
	if err != nil {
		t.Fatal(err)
	}
	d := prevoir.MustParseDate
	fetched := d("2022-08-26")
	// A release of four days (lines 2..5) with a good value everywhere; each case spoils one.
	table := func() *prevoir.Table {
		return &prevoir.Table{
			Source:  src.Name,
			Dates:   []prevoir.Date{d("2022-08-20"), d("2022-08-21"), d("2022-08-22"), d("2022-08-23")},
			Lines:   []int{2, 3, 4, 5},
			Columns: []string{"incid_dchosp", "hosp", "tx_pos", "TO", "extra"},
			Values: [][]float64{
				{40, 50, math.NaN(), 45},
				{15000, 15100, 15200, 15300},
				{20.5, 21, 22.25, 23},
				{0.2, 0.21, 0.22, 0.23},
				{-7, 3, 0.5, 12},
			},
		}
	}
	prev := &prevoir.Table{Source: src.Name, Dates: []prevoir.Date{d("2022-08-01")}, Columns: []string{"incid_dchosp"},
		Values: [][]float64{{120}}}
	for _, tt := range []struct {
		name  string
		spoil func(*prevoir.Table)
		prev  *prevoir.Table
		want  string // the first violation; empty: none
		count int
	}{
		{name: "plausible", spoil: func(*prevoir.Table) {}},
		{name: "negative death count", spoil: func(t *prevoir.Table) { t.Values[0][2] = -3 },
			want: `table-indicateurs-open-data-france.csv line 4 column incid_dchosp: -3 breaks rule "non-negative integer"`, count: 1},
		{name: "negative bed count", spoil: func(t *prevoir.Table) { t.Values[1][3] = -15300 },
			want: `line 5 column hosp: -15300 breaks rule "non-negative integer"`, count: 1},
		{name: "non-integer count", spoil: func(t *prevoir.Table) { t.Values[1][0] = 15000.5 },
			want: `line 2 column hosp: 15000.5 breaks rule "non-negative integer"`, count: 1},
		{name: "1e308", spoil: func(t *prevoir.Table) { t.Values[1][1] = 1e308 },
			want: `line 3 column hosp: 1e+308 breaks rule "within [0, 100000000]"`, count: 1},
		{name: "1e308 in a column without a rule", spoil: func(t *prevoir.Table) { t.Values[4][1] = 1e308 },
			want: `line 3 column extra: 1e+308 breaks rule "within [-1000000000, 1000000000]"`, count: 1},
		{name: "rate above its range", spoil: func(t *prevoir.Table) { t.Values[2][1] = 100.5 },
			want: `line 3 column tx_pos: 100.5 breaks rule "within [0, 100]"`, count: 1},
		{name: "ratio in percent", spoil: func(t *prevoir.Table) { t.Values[3][0] = 20 },
			want: `line 2 column TO: 20 breaks rule "within [0, 5]"`, count: 1},
		{name: "date after the fetch date + 1", spoil: func(t *prevoir.Table) { t.Dates[3] = d("2099-01-01") },
			want: `line 5 column date: 2099-01-01 breaks rule "date between 2020-01-01 and 2022-08-27"`, count: 1},
		{name: "the day after the fetch is plausible", spoil: func(t *prevoir.Table) { t.Dates[3] = d("2022-08-27") }},
		{name: "date before 2020", spoil: func(t *prevoir.Table) { t.Dates[0] = d("1472-08-20") },
			want: `line 2 column date: 1472-08-20 breaks rule "date between 2020-01-01 and 2022-08-27"`, count: 1},
		{name: "ten times the earlier days", spoil: func(t *prevoir.Table) { t.Values[0][3] = 501 },
			want: `line 5 column incid_dchosp: 501 breaks rule "at most 10 × the largest value seen so far (50)"`, count: 1},
		{name: "ten times exactly is plausible", spoil: func(t *prevoir.Table) { t.Values[0][3] = 500 }},
		{name: "the current release raises the baseline", spoil: func(t *prevoir.Table) { t.Values[0][3] = 1100 }, prev: prev},
		{name: "ten times the current release", spoil: func(t *prevoir.Table) { t.Values[0][0] = 1201 }, prev: prev,
			want: `line 2 column incid_dchosp: 1201 breaks rule "at most 10 × the largest value seen so far (120)"`, count: 1},
		{name: "a flagged value is no baseline", spoil: func(t *prevoir.Table) { t.Values[0][0], t.Values[0][1] = 4, 400 },
			// 400 > 10 × 4 is flagged; 45 is then compared with 4 and flagged too.
			want: `line 3 column incid_dchosp: 400 breaks rule "at most 10 × the largest value seen so far (4)"`, count: 2},
		{name: "several, in file order", spoil: func(t *prevoir.Table) {
			t.Values[2][3], t.Values[1][1], t.Dates[0] = -1, -2, d("2019-12-31")
		}, want: `line 2 column date: 2019-12-31`, count: 3},
		{name: "no line numbers: the date", spoil: func(t *prevoir.Table) { t.Lines = nil; t.Values[0][1] = -1 },
			want: `table-indicateurs-open-data-france.csv date 2022-08-21 column incid_dchosp: -1 breaks rule "non-negative integer"`, count: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tab := table()
			tt.spoil(tab)
			vs := prevoir.CheckPlausibility(src, tab, fetched, tt.prev)
			if len(vs) != tt.count {
				t.Fatalf("%d violations %v, want %d", len(vs), vs, tt.count)
			}
			if tt.count == 0 {
				return
			}
			if got := vs[0].String(); !strings.Contains(got, tt.want) {
				t.Errorf("violation %q\nwant it to contain %q", got, tt.want)
			}
			for i := 1; i < len(vs); i++ {
				if vs[i].Line < vs[i-1].Line {
					t.Errorf("violations out of file order: %v", vs)
				}
			}
		})
	}
}

func TestQuarantineErrorMessage(t *testing.T) {
	v := prevoir.Violation{File: "sp-fra-jour.csv", Line: 812, Column: "P", Value: "-3", Rule: prevoir.RuleNonNegativeInteger}
	err := &prevoir.QuarantineError{Source: "sidep", SnapshotID: 7, Violations: []prevoir.Violation{v}, Count: 3}
	want := `quarantined: sp-fra-jour.csv line 812 column P: -3 breaks rule "non-negative integer" (and 2 more); ` +
		`the release is kept as snapshot 7 and the previous one stays current: review it, then run prevoir snapshots accept 7`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if prevoir.ErrorCode(err) != prevoir.EINVALID {
		t.Errorf("code %s: a quarantine is permanent, not worth retrying", prevoir.ErrorCode(err))
	}
	if prevoir.FirstPlausibleDay != prevoir.MustParseDate("2020-01-01") {
		t.Errorf("FirstPlausibleDay is %s", prevoir.FirstPlausibleDay)
	}
}
