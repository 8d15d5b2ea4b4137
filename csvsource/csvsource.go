// Package csvsource parses the CSV files published by Santé publique France into prevoir
// Tables, in both of their dialects: comma-separated with decimal points (the national
// indicators) and semicolon-separated with decimal commas (SI-DEP).
//
// Parsing is strict where a mistake would silently change a forecast (a required column
// missing, a date that does not parse or appears twice, text in a numeric column) and lenient
// where the publisher's habits vary harmlessly (a UTF-8 byte-order mark, CRLF line ends,
// quoted fields, rows in any order, extra columns, "NA" or an empty field for a missing value,
// columns that older releases lack). Every error names the file, the line and the column.
package csvsource

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir"
)

// ParseError is a problem in a source file, located by line (1-based, as an editor shows it)
// and, when it concerns one field, by column name and 1-based field position.
type ParseError struct {
	File   string
	Line   int
	Column string // column name, empty for a whole-row or whole-file problem
	Field  int    // 1-based field position, 0 when Column is empty
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("parse ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " column %s (field %d)", e.Column, e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrorCode marks every parse error as invalid input for prevoir.ErrorCode.
func (e *ParseError) ErrorCode() string { return prevoir.EINVALID }

// bom is the UTF-8 byte-order mark some spreadsheet exports put first.
const bom = "\xEF\xBB\xBF"

// Parse reads one release of src from data. name is the file name used in error messages.
func Parse(name string, data []byte, src prevoir.Source) (*prevoir.Table, error) {
	data = bytes.TrimPrefix(data, []byte(bom))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ParseError{File: name, Err: errors.New("empty file")}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = src.Comma
	r.ReuseRecord = true
	// FieldsPerRecord 0: every row must have as many fields as the header, so a truncated last
	// line is an error rather than a row of missing values.
	header, err := r.Read()
	if err != nil {
		return nil, csvError(name, err)
	}
	header = slices.Clone(header)
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	if looksLikeHTML(header) {
		return nil, &ParseError{File: name, Line: 1, Err: errors.New("got an HTML page, not a CSV file")}
	}

	p, err := newPlan(name, header, src)
	if err != nil {
		return nil, err
	}
	var rows []row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := r.FieldPos(0)
		if p.filter >= 0 && strings.TrimSpace(rec[p.filter]) != src.Filter.Value {
			continue
		}
		rw, err := p.parseRow(r, rec, line)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rw)
	}
	return p.table(rows)
}

// plan is what the header says about each field.
type plan struct {
	name    string
	src     prevoir.Source
	header  []string
	date    int   // field index of the date column
	filter  int   // field index of the filter column, -1 when none
	numeric []int // field indexes parsed as numbers, in file order
	// strict[k] is true for required columns: a non-number there is an error. Other numeric
	// candidates become text columns (ignored) when their first non-missing value is not a
	// number, and are errors when a later value is not.
	strict  []bool
	decided []bool // for non-strict columns: has the first non-missing value been seen?
	ignored []bool // non-strict columns found to hold text
}

type row struct {
	date prevoir.Date
	line int
	vals []float64 // aligned with plan.numeric
}

func newPlan(name string, header []string, src prevoir.Source) (*plan, error) {
	p := &plan{name: name, src: src, header: header, date: -1, filter: -1}
	seen := map[string]int{}
	for i, h := range header {
		if h == "" {
			return nil, &ParseError{File: name, Line: 1, Err: fmt.Errorf("header field %d is empty", i+1)}
		}
		if j, dup := seen[h]; dup {
			return nil, &ParseError{File: name, Line: 1, Err: fmt.Errorf("column %q appears twice (fields %d and %d)", h, j+1, i+1)}
		}
		seen[h] = i
	}
	var missing []string
	if _, ok := seen[src.DateColumn]; !ok {
		missing = append(missing, src.DateColumn)
	}
	for _, c := range src.Required {
		if _, ok := seen[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, &ParseError{File: name, Line: 1, Err: fmt.Errorf("missing required column(s) %s; the header has %s",
			strings.Join(missing, ", "), strings.Join(header, string(src.Comma)))}
	}
	p.date = seen[src.DateColumn]
	if src.Filter != nil {
		if i, ok := seen[src.Filter.Column]; ok {
			p.filter = i
		}
	}
	for i, h := range header {
		if i == p.date || i == p.filter || slices.Contains(src.Text, h) {
			continue
		}
		p.numeric = append(p.numeric, i)
		p.strict = append(p.strict, slices.Contains(src.Required, h))
	}
	p.decided = make([]bool, len(p.numeric))
	p.ignored = make([]bool, len(p.numeric))
	return p, nil
}

func (p *plan) parseRow(r *csv.Reader, rec []string, line int) (row, error) {
	d, err := prevoir.ParseDate(strings.TrimSpace(rec[p.date]))
	if err != nil {
		return row{}, p.fieldError(r, p.date, err)
	}
	rw := row{date: d, line: line, vals: make([]float64, len(p.numeric))}
	for k, i := range p.numeric {
		if p.ignored[k] {
			continue
		}
		v, err := parseNumber(rec[i], p.src.DecimalComma)
		if err != nil {
			if !p.strict[k] && !p.decided[k] {
				// The first value of an optional column is text: a text column, not ours.
				p.ignored[k] = true
				continue
			}
			return row{}, p.fieldError(r, i, err)
		}
		if !math.IsNaN(v) {
			p.decided[k] = true
		}
		rw.vals[k] = v
	}
	return rw, nil
}

func (p *plan) fieldError(r *csv.Reader, field int, err error) error {
	line, _ := r.FieldPos(field)
	return &ParseError{File: p.name, Line: line, Column: p.header[field], Field: field + 1, Err: err}
}

func (p *plan) table(rows []row) (*prevoir.Table, error) {
	// Rows may arrive in any order; sort, keeping file order among equal dates so that the
	// duplicate error names the earlier line first.
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].date < rows[j].date })
	for i := 1; i < len(rows); i++ {
		if rows[i].date == rows[i-1].date {
			a, b := rows[i-1].line, rows[i].line
			if a > b {
				a, b = b, a
			}
			return nil, &ParseError{File: p.name, Line: b, Column: p.header[p.date], Field: p.date + 1,
				Err: fmt.Errorf("date %s appears twice (lines %d and %d)", rows[i].date, a, b)}
		}
	}
	if len(rows) == 0 {
		what := "no data rows"
		if p.filter >= 0 {
			what = fmt.Sprintf("no data rows with %s = %s", p.src.Filter.Column, p.src.Filter.Value)
		}
		return nil, &ParseError{File: p.name, Err: errors.New(what)}
	}
	t := &prevoir.Table{Source: p.src.Name, Dates: make([]prevoir.Date, len(rows)), Lines: make([]int, len(rows))}
	for i, rw := range rows {
		t.Dates[i], t.Lines[i] = rw.date, rw.line
	}
	for k, i := range p.numeric {
		if p.ignored[k] {
			t.Ignored = append(t.Ignored, p.header[i])
			continue
		}
		col := make([]float64, len(rows))
		for r, rw := range rows {
			col[r] = rw.vals[k]
		}
		t.Columns = append(t.Columns, p.header[i])
		t.Values = append(t.Values, col)
	}
	return t, nil
}

// parseNumber parses a decimal number; an empty field, "NA", "N/A" or "NaN" is a missing value
// (NaN). Infinities, hexadecimal and other Go-only spellings are rejected: they never appear in
// the sources, so they signal corruption.
func parseNumber(s string, decimalComma bool) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || (len(s) <= 3 && (strings.EqualFold(s, "NA") || strings.EqualFold(s, "N/A") || strings.EqualFold(s, "NaN"))) {
		return math.NaN(), nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '.' && c != ',' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return 0, fmt.Errorf("value %q is not a number", s)
		}
	}
	if decimalComma {
		if strings.Contains(s, ".") {
			return 0, fmt.Errorf("value %q is not a number: this file writes decimals with a comma", s)
		}
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return v, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: name, Line: pe.Line, Err: fmt.Errorf("field %d: %w", pe.Column, pe.Err)}
	}
	return &ParseError{File: name, Err: err}
}

// looksLikeHTML spots an HTML error page served in place of the file.
func looksLikeHTML(header []string) bool {
	if len(header) == 0 {
		return false
	}
	h := strings.ToLower(strings.TrimSpace(header[0]))
	return strings.HasPrefix(h, "<!doctype") || strings.HasPrefix(h, "<html") || strings.HasPrefix(h, "<?xml") || strings.HasPrefix(h, "<")
}
