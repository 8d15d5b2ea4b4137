package csvsource_test

import (
	"math"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

// lines returns lines first to last (1-based, the header is line 1) of a real file, as a
// fuzzing seed. Seeds stay a few hundred bytes: the fuzzer minimises every new interesting
// input, at a cost that grows with the cube of its length, and inputs grow from the seeds.
func lines(tb testing.TB, name string, first, last int) []byte {
	b := testutil.ReadData(tb, name)
	start, n := -1, 1
	for i, c := range b {
		if n == first && start < 0 {
			start = i
		}
		if c == '\n' {
			if n == last {
				return b[start : i+1]
			}
			n++
		}
	}
	tb.Fatalf("%s has no lines %d to %d", name, first, last)
	return nil
}

// checkTable asserts what every successfully parsed table must satisfy.
func checkTable(t *testing.T, tab *prevoir.Table) {
	if len(tab.Columns) != len(tab.Values) {
		t.Fatalf("%d columns, %d value slices", len(tab.Columns), len(tab.Values))
	}
	for i := 1; i < len(tab.Dates); i++ {
		if tab.Dates[i] <= tab.Dates[i-1] {
			t.Fatalf("dates not strictly increasing at %d", i)
		}
	}
	for i, v := range tab.Values {
		if len(v) != len(tab.Dates) {
			t.Fatalf("column %s has %d values for %d dates", tab.Columns[i], len(v), len(tab.Dates))
		}
		for _, x := range v {
			if math.IsInf(x, 0) {
				t.Fatalf("column %s holds an infinity", tab.Columns[i])
			}
		}
	}
}

func fuzzSource(f *testing.F, source string, seeds ...[]byte) {
	src, err := prevoir.LookupSource(prevoir.DefaultSources(), source)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := csvsource.Parse("fuzz.csv", data, src)
		if err != nil {
			if _, ok := err.(*csvsource.ParseError); !ok {
				t.Fatalf("error of type %T, want *ParseError: %v", err, err)
			}
			return
		}
		checkTable(t, tab)
	})
}

func FuzzParseSIDEP(f *testing.F) {
	fuzzSource(f, prevoir.SourceSIDEP,
		lines(f, "sp-fra-jour.csv", 1, 6),
		[]byte("\ufefffra;jour;pop;P;T;Ti;Tp;Td;cl_age90\r\nFR;2020-05-13;\"1,5\";NA;;3;4;5;0\r\n"),
		[]byte("jour;pop;P;T;Ti;Tp;Td\n2020-05-14;1;2;3;4;5;6\n2020-05-13;1;2;3;4;5;6\n"))
}

func FuzzParseIndicators(f *testing.F) {
	fuzzSource(f, prevoir.SourceIndicators,
		// The header, two days before the epidemic (every value missing), then two days with
		// a value in nearly every column.
		append(lines(f, "table-indicateurs-open-data-france.csv", 1, 3), lines(f, "table-indicateurs-open-data-france.csv", 700, 701)...),
		lines(f, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", 1, 3))
}
