package csvsource_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
	"github.com/prevoir/prevoir/internal/testutil"
)

func source(t *testing.T, name string) prevoir.Source {
	t.Helper()
	s, err := prevoir.LookupSource(prevoir.DefaultSources(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseRealFiles(t *testing.T) {
	tests := []struct {
		file        string
		source      string
		rows        int
		first, last string
		hasR        bool
	}{
		{"table-indicateurs-open-data-france.csv", prevoir.SourceIndicators, 1074, "2020-01-23", "2022-12-31", true},
		{"vintages/table-indicateurs-open-data-france-2022-08-26-19h01.csv", prevoir.SourceIndicators, 947, "2020-01-23", "2022-08-26", true},
		{"vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv", prevoir.SourceIndicators, 926, "2020-01-23", "2022-08-05", false},
		{"sp-fra-jour.csv", prevoir.SourceSIDEP, 833, "2020-05-13", "2022-08-23", false},
		{"vintages/sp-fra-jour-2022-08-05-19h01.csv", prevoir.SourceSIDEP, 812, "2020-05-13", "2022-08-02", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			tab, err := csvsource.Parse(tt.file, testutil.ReadData(t, tt.file), source(t, tt.source))
			if err != nil {
				t.Fatal(err)
			}
			first, last, _ := tab.Span()
			if tab.Len() != tt.rows || first.String() != tt.first || last.String() != tt.last {
				t.Errorf("got %d rows %s..%s, want %d rows %s..%s", tab.Len(), first, last, tt.rows, tt.first, tt.last)
			}
			if _, ok := tab.Column("R"); ok != tt.hasR {
				t.Errorf("column R present = %v, want %v", ok, tt.hasR)
			}
			for i := 1; i < len(tab.Dates); i++ {
				if tab.Dates[i] <= tab.Dates[i-1] {
					t.Fatalf("dates not strictly increasing at row %d", i)
				}
			}
		})
	}
}

func TestParseSIDEPValues(t *testing.T) {
	tab, err := csvsource.Parse("sp-fra-jour.csv", testutil.ReadData(t, "sp-fra-jour.csv"), source(t, prevoir.SourceSIDEP))
	if err != nil {
		t.Fatal(err)
	}
	// Last line: FR;2022-08-23;67863600,00;20524,00;114162,00;30,24;17,98;168,22;0
	want := map[string]float64{"pop": 67863600, "P": 20524, "T": 114162, "Ti": 30.24, "Tp": 17.98, "Td": 168.22}
	for c, w := range want {
		v, ok := tab.Column(c)
		if !ok {
			t.Fatalf("no column %s", c)
		}
		if got := v[len(v)-1]; got != w {
			t.Errorf("%s on 2022-08-23 = %v, want %v", c, got, w)
		}
	}
	if _, ok := tab.Column("fra"); ok {
		t.Error("text column fra parsed as numeric")
	}
	if _, ok := tab.Column("cl_age90"); ok {
		t.Error("filter column cl_age90 kept as a value column")
	}
}

func TestParseMissingValues(t *testing.T) {
	tab, err := csvsource.Parse("vintage.csv", testutil.ReadData(t, "vintages/table-indicateurs-open-data-france-2022-08-05-19h01.csv"), source(t, prevoir.SourceIndicators))
	if err != nil {
		t.Fatal(err)
	}
	// First line is 2020-01-23 with every field empty; on 2022-08-05 tx_pos is empty, rea is 1142.
	rea, _ := tab.Column("rea")
	txPos, _ := tab.Column("tx_pos")
	if !math.IsNaN(rea[0]) || !math.IsNaN(txPos[len(txPos)-1]) || rea[len(rea)-1] != 1142 {
		t.Errorf("rea[0]=%v tx_pos[last]=%v rea[last]=%v; want NaN, NaN, 1142", rea[0], txPos[len(txPos)-1], rea[len(rea)-1])
	}
}

// TestParseDialectQuirks covers what the publisher's files may contain: BOM, CRLF, quotes, NA,
// unsorted rows, unknown columns numeric or text.
func TestParseDialectQuirks(t *testing.T) {
	src := source(t, prevoir.SourceSIDEP)
	data := "\ufeff\"fra\";jour;pop;P;T;Ti;Tp;Td;cl_age90;note;extra\r\n" +
		"FR;2020-05-14;\"1,5\";NA;2;3;4;5;0;hello;7,25\r\n" +
		"FR;2020-05-13;1;;2;3;4;5;0;world;8\r\n" +
		"FR;2020-05-13;9;9;9;9;9;9;09;x;9\r\n"
	tab, err := csvsource.Parse("q.csv", []byte(data), src)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 2 || tab.Dates[0].String() != "2020-05-13" {
		t.Fatalf("got %d rows starting %v, want 2 sorted rows (the cl_age90=09 row filtered out)", tab.Len(), tab.Dates)
	}
	pop, _ := tab.Column("pop")
	p, _ := tab.Column("P")
	extra, ok := tab.Column("extra")
	if pop[1] != 1.5 || !math.IsNaN(p[0]) || !math.IsNaN(p[1]) || !ok || extra[1] != 7.25 {
		t.Errorf("pop=%v P=%v extra=%v", pop, p, extra)
	}
	if len(tab.Ignored) != 1 || tab.Ignored[0] != "note" {
		t.Errorf("ignored = %v, want [note]", tab.Ignored)
	}
}

func TestParseErrors(t *testing.T) {
	good := string(testutil.ReadData(t, "sp-fra-jour.csv"))
	lines := strings.Split(good, "\n")
	replaceLine := func(n int, s string) string { // n is 1-based
		c := append([]string(nil), lines...)
		c[n-1] = s
		return strings.Join(c, "\n")
	}
	tests := []struct {
		name string
		data string
		line int
		col  string
		msg  string
	}{
		{"missing column", strings.Replace(good, ";Td;", ";Tx;", 1), 1, "", "missing required column(s) Td"},
		{"bad date", replaceLine(812, "FR;2022-13-01;67863600,00;1,00;2,00;1,00;1,00;1,00;0"), 812, "jour", "no such day"},
		{"text in number", replaceLine(300, "FR;2021-03-08;67407241,00;abc;2,00;1,00;1,00;1,00;0"), 300, "P", `"abc" is not a number`},
		{"duplicate date", replaceLine(5, strings.Replace(lines[3], "", "", 1)), 5, "jour", "appears twice (lines 4 and 5)"},
		{"short row", replaceLine(10, "FR;2020-05-21;1,00"), 10, "", "wrong number of fields"},
		{"html", "<!DOCTYPE html><html><body>503</body></html>\n", 1, "", "HTML page"},
		{"empty", "", 0, "", "empty file"},
		{"point in decimal-comma file", replaceLine(20, "FR;2020-06-01;67114992.00;1,00;2,00;1,00;1,00;1,00;0"), 20, "pop", "decimals with a comma"},
		{"infinity", replaceLine(21, "FR;2020-06-02;67114992,00;Inf;2,00;1,00;1,00;1,00;0"), 21, "P", "not a number"},
	}
	src := source(t, prevoir.SourceSIDEP)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := csvsource.Parse("sp-fra-jour.csv", []byte(tt.data), src)
			var pe *csvsource.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(err.Error(), tt.msg) || pe.File != "sp-fra-jour.csv" {
				t.Errorf("got %q (line %d, column %q), want line %d column %q containing %q", err, pe.Line, pe.Column, tt.line, tt.col, tt.msg)
			}
			if prevoir.ErrorCode(err) != prevoir.EINVALID {
				t.Errorf("code %q, want invalid", prevoir.ErrorCode(err))
			}
		})
	}
}

func BenchmarkParseIndicators(b *testing.B) {
	data := testutil.ReadData(b, "table-indicateurs-open-data-france.csv")
	src, _ := prevoir.LookupSource(prevoir.DefaultSources(), prevoir.SourceIndicators)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := csvsource.Parse("bench.csv", data, src); err != nil {
			b.Fatal(err)
		}
	}
}
