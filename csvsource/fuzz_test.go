package csvsource_test

import (
	"math"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

// head returns the first n lines of a real file, as a fuzzing seed.
func head(tb testing.TB, name string, n int) []byte {
	b := testutil.ReadData(tb, name)
	for i, c := range b {
		if c == '\n' {
			if n--; n == 0 {
				return b[:i+1]
			}
		}
	}
	return b
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
		head(f, "sp-fra-jour.csv", 6),
		[]byte("\ufefffra;jour;pop;P;T;Ti;Tp;Td;cl_age90\r\nFR;2020-05-13;\"1,5\";NA;;3;4;5;0\r\n"),
		[]byte("jour;pop;P;T;Ti;Tp;Td\n2020-05-14;1;2;3;4;5;6\n2020-05-13;1;2;3;4;5;6\n"))
}

func FuzzParseIndicators(f *testing.F) {
	fuzzSource(f, prevoir.SourceIndicators,
		head(f, "table-indicateurs-open-data-france.csv", 120),
		head(f, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", 3))
}
