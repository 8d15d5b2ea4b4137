package csvsource_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

// fuzzPlausibility parses data as a release of source and checks it against the source's
// plausibility rules, alone and with a real release as the current one. Invariants: no panic;
// every violation names the source's file, a line of the input holding the row it is about, a
// column of the table (or the date column) and a rule; violations come in file order; and a
// release with no violation holds only plausible values.
func fuzzPlausibility(f *testing.F, source, current string, seeds ...[]byte) {
	src, err := prevoir.LookupSource(prevoir.DefaultSources(), source)
	if err != nil {
		f.Fatal(err)
	}
	prev, err := csvsource.Parse(current, testutil.ReadData(f, current), src)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	fetched := prevoir.MustParseDate("2022-08-26")
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := csvsource.Parse("fuzz.csv", data, src)
		if err != nil {
			return
		}
		if len(tab.Lines) != len(tab.Dates) {
			t.Fatalf("%d lines for %d rows", len(tab.Lines), len(tab.Dates))
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, base := range []*prevoir.Table{nil, prev} {
			vs := prevoir.CheckPlausibility(src, tab, fetched, base)
			for i, v := range vs {
				row := slices.Index(tab.Dates, v.Date)
				switch {
				case v.File != src.FileName || v.Rule == "" || v.Value == "":
					t.Fatalf("violation %+v: file, rule or value missing", v)
				case v.Line < 2 || v.Line > lines:
					t.Fatalf("violation %s: line %d outside the input's 2..%d", v, v.Line, lines)
				case row < 0 || tab.Lines[row] != v.Line:
					t.Fatalf("violation %s: no row dated %s on line %d", v, v.Date, v.Line)
				case v.Column != src.DateColumn && !slices.Contains(tab.Columns, v.Column):
					t.Fatalf("violation %s: no column %s", v, v.Column)
				case i > 0 && v.Line < vs[i-1].Line:
					t.Fatalf("violations out of file order: %s after %s", v, vs[i-1])
				case !strings.Contains(v.String(), fmt.Sprintf("line %d column %s: ", v.Line, v.Column)):
					t.Fatalf("violation message %q does not locate it", v)
				}
			}
			if len(vs) == 0 {
				checkPlausible(t, src, tab, fetched)
			}
		}
	})
}

// checkPlausible asserts, independently of CheckPlausibility, what a release that passed the
// rules holds: days from 2020 to the day after the fetch, values within their column's bounds.
func checkPlausible(t *testing.T, src prevoir.Source, tab *prevoir.Table, fetched prevoir.Date) {
	t.Helper()
	for _, d := range tab.Dates {
		if d < prevoir.FirstPlausibleDay || d > fetched+1 {
			t.Fatalf("passed with a row dated %s", d)
		}
	}
	for c, name := range tab.Columns {
		rule, ok := src.Rule(name)
		if !ok {
			rule = prevoir.ColumnRule{Min: -prevoir.MaxUndeclared, Max: prevoir.MaxUndeclared}
		}
		for _, v := range tab.Values[c] {
			if math.IsNaN(v) {
				continue
			}
			if math.IsInf(v, 0) || v < rule.Min || v > rule.Max || (rule.Integer && v != math.Trunc(v)) {
				t.Fatalf("passed with %s = %v (rule %+v)", name, v, rule)
			}
		}
	}
}

func FuzzPlausibilitySIDEP(f *testing.F) {
	fuzzPlausibility(f, prevoir.SourceSIDEP, "vintages/sp-fra-jour-2022-08-05-19h01.csv",
		head(f, "sp-fra-jour.csv", 6),
		[]byte("fra;jour;pop;P;T;Ti;Tp;Td;cl_age90\nFR;2020-05-13;67114992,00;-3,00;39846,00;1,34;2,26;59,37;0\nFR;2099-01-01;1e308;901,5;1;1;120;1;0\n"),
		[]byte("jour;pop;P;T;Ti;Tp;Td\n2020-05-14;1;2;3;4;5;6\n1472-05-13;1;2;3000000;4;5;6\n"))
}

func FuzzPlausibilityIndicators(f *testing.F) {
	fuzzPlausibility(f, prevoir.SourceIndicators, "vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv",
		head(f, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", 3),
		[]byte("date,incid_dchosp,hosp,incid_hosp,rea,incid_rea,rad,incid_rad,pos,pos_7j,tx_pos,tx_incid,TO\n"+
			"2022-08-01,40,15000,500,900,60,700000,400,20000,150000,20.5,300,0.2\n"+
			"2022-08-02,-3,1e308,12.5,900,60,700000,400,20000,150000,120,300,1.5\n"+
			"2099-01-01,9999,15000,500,900,60,700000,400,20000,150000,20.5,300,138.7\n"))
}
