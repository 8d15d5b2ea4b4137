package csvsource_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/csvsource"
)

// TestParseTextInRequiredColumn: text in a required column is an error naming the file, the
// line and the column, even as the column's first value (an optional column whose first value
// is text is a text column, ignored; a required one cannot be), and after missing values.
func TestParseTextInRequiredColumn(t *testing.T) {
	const header = "fra;jour;pop;P;T;Ti;Tp;Td;cl_age90\n"
	tests := []struct {
		name, data string
		line       int
		column     string
		field      int
		msg        string
	}{
		{"first value", header +
			"FR;2020-05-13;67000000;abc;2;3;4;5;0\n" +
			"FR;2020-05-14;67000000;7;2;3;4;5;0\n", 2, "P", 4, `value "abc" is not a number`},
		{"first value after missing ones", header +
			"FR;2020-05-13;67000000;NA;2;3;4;5;0\n" +
			"FR;2020-05-14;67000000;;2;3;4;5;0\n" +
			"FR;2020-05-15;67000000;n/d;2;3;4;5;0\n", 4, "P", 4, `value "n/d" is not a number`},
		{"first value of the last column", header +
			"FR;2020-05-13;67000000;1;2;3;4;cinq;0\n", 2, "Td", 8, `value "cinq" is not a number`},
	}
	src, err := prevoir.LookupSource(prevoir.DefaultSources(), prevoir.SourceSIDEP)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := csvsource.Parse("sp-fra-jour.csv", []byte(tt.data), src)
			var pe *csvsource.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got table %+v, error %v; want a *ParseError", tab, err)
			}
			if pe.File != "sp-fra-jour.csv" || pe.Line != tt.line || pe.Column != tt.column || pe.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %q (line %d, column %q, field %d), want line %d column %q field %d saying %q",
					err, pe.Line, pe.Column, pe.Field, tt.line, tt.column, tt.field, tt.msg)
			}
			if prevoir.ErrorCode(err) != prevoir.EINVALID {
				t.Errorf("code %q, want invalid", prevoir.ErrorCode(err))
			}
		})
	}
}
