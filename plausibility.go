package prevoir

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// A release can parse and still be implausible: a negative death count, a bed count of 1e308,
// a day in 2099. Such a release is quarantined rather than made current, because every model
// downstream would otherwise learn from it. The rules are declared with the sources (Schema.Rules)
// and checked here, with no I/O, so that any caller (ingest, fuzzing) applies the same ones.

// Plausibility bounds shared by the sources.
const (
	// MaxCount bounds every count: more people, tests or beds in a day than France has
	// inhabitants (68 million in 2024) is not a count of them.
	MaxCount = 1e8
	// MaxUndeclared bounds the numeric columns that have no rule of their own (columns prevoir
	// does not use, or that a new release adds): finite, but not absurd.
	MaxUndeclared = 1e9
	// JumpFactor: a value more than JumpFactor times the largest value seen so far in its
	// column (in the source's current release and on the earlier days of the new one) is
	// flagged. The real data never jump by more than 2.3 times.
	JumpFactor = 10
	// FirstPlausibleDay is 2020-01-01: the epidemic's data start in 2020.
	FirstPlausibleDay Date = 18262
	// MaxViolationsKept bounds the violations recorded with a quarantined release: the first
	// ones locate the problem, the count says how widespread it is.
	MaxViolationsKept = 20
)

// RuleNonNegativeInteger is the rule a count breaks when negative or fractional.
const RuleNonNegativeInteger = "non-negative integer"

// ColumnRule is the plausibility rule of one numeric column. Missing values (NaN) are allowed:
// the parser already decided they are missing.
type ColumnRule struct {
	Column string
	// Integer: whole numbers only (counts of people, tests, beds).
	Integer bool
	// Min and Max bound the values, inclusive.
	Min, Max float64
}

// Counts declares columns holding counts: non-negative integers up to MaxCount.
func Counts(columns ...string) []ColumnRule {
	out := make([]ColumnRule, len(columns))
	for i, c := range columns {
		out[i] = ColumnRule{Column: c, Integer: true, Min: 0, Max: MaxCount}
	}
	return out
}

// Within declares columns holding rates or ratios within [min, max].
func Within(min, max float64, columns ...string) []ColumnRule {
	out := make([]ColumnRule, len(columns))
	for i, c := range columns {
		out[i] = ColumnRule{Column: c, Min: min, Max: max}
	}
	return out
}

// Rule returns the rule declared for a column, or false when it has none.
func (s Schema) Rule(column string) (ColumnRule, bool) {
	i := slices.IndexFunc(s.Rules, func(r ColumnRule) bool { return r.Column == column })
	if i < 0 {
		return ColumnRule{}, false
	}
	return s.Rules[i], true
}

// Violation is one value of a release that breaks a plausibility rule.
type Violation struct {
	File string `json:"file"`
	// Line is the 1-based line of the row in the file (0 when the table does not say).
	Line   int    `json:"line,omitempty"`
	Date   Date   `json:"date"`
	Column string `json:"column"`
	Value  string `json:"value"`
	Rule   string `json:"rule"`
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.File)
	if v.Line > 0 {
		fmt.Fprintf(&b, " line %d", v.Line)
	} else {
		fmt.Fprintf(&b, " date %s", v.Date)
	}
	fmt.Fprintf(&b, " column %s: %s breaks rule %q", v.Column, v.Value, v.Rule)
	return b.String()
}

// dateRule names the rule on a source's days, given the last plausible day.
func dateRule(last Date) string {
	return fmt.Sprintf("date between %s and %s", FirstPlausibleDay, last)
}

// CheckPlausibility checks a parsed release of src against the source's rules and returns
// every violation, in file order. fetched is the day the release was fetched: a row dated
// after the next day is implausible. prev, when not nil, is the source's current release; with
// the new release's earlier days it is the baseline of the jump rule.
func CheckPlausibility(src Source, t *Table, fetched Date, prev *Table) []Violation {
	var out []Violation
	at := func(row int, column, value, rule string) Violation {
		v := Violation{File: src.FileName, Date: t.Dates[row], Column: column, Value: value, Rule: rule}
		if row < len(t.Lines) {
			v.Line = t.Lines[row]
		}
		return v
	}
	last := fetched.AddDays(1)
	for i, d := range t.Dates {
		if d < FirstPlausibleDay || d > last {
			out = append(out, at(i, src.DateColumn, d.String(), dateRule(last)))
		}
	}
	for c, name := range t.Columns {
		rule, declared := src.Rule(name)
		if !declared {
			rule = ColumnRule{Column: name, Min: -MaxUndeclared, Max: MaxUndeclared}
		}
		baseline := 0.0
		if declared && prev != nil {
			if vals, ok := prev.Column(name); ok {
				for _, v := range vals {
					if v > baseline { // NaN compares false
						baseline = v
					}
				}
			}
		}
		for i, v := range t.Values[c] {
			if math.IsNaN(v) {
				continue
			}
			var broken string
			switch {
			case rule.Integer && (v != math.Trunc(v) || (rule.Min == 0 && v < 0)):
				broken = "integer"
				if rule.Min == 0 {
					broken = RuleNonNegativeInteger
				}
			case v < rule.Min || v > rule.Max:
				broken = fmt.Sprintf("within [%s, %s]", formatValue(rule.Min), formatValue(rule.Max))
			case declared && baseline > 0 && v > JumpFactor*baseline:
				broken = fmt.Sprintf("at most %d × the largest value seen so far (%s)", JumpFactor, formatValue(baseline))
			}
			if broken != "" {
				out = append(out, at(i, name, formatValue(v), broken))
				continue // a flagged value is not a baseline
			}
			if declared && v > baseline {
				baseline = v
			}
		}
	}
	// Rows are in date order and violations in column order: report them as the file reads.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// formatValue writes a value as a person would read it: whole numbers in full up to 1e15,
// anything else in the shortest form that reads back exactly.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// QuarantineError says that a release broke plausibility rules and was quarantined: its bytes
// are stored, it did not become current, and an operator must review it. Retrying cannot help.
type QuarantineError struct {
	Source     string
	SnapshotID int64
	// Violations are the first violations (at most MaxViolationsKept); Count is how many there
	// are in all.
	Violations []Violation
	Count      int
}

// Summary is the first violation and how many more there are.
func (e *QuarantineError) Summary() string {
	var b strings.Builder
	if len(e.Violations) > 0 {
		b.WriteString(e.Violations[0].String())
	}
	if e.Count > 1 {
		fmt.Fprintf(&b, " (and %d more)", e.Count-1)
	}
	return b.String()
}

func (e *QuarantineError) Error() string {
	var b strings.Builder
	b.WriteString("quarantined: ")
	b.WriteString(e.Summary())
	if e.SnapshotID != 0 {
		fmt.Fprintf(&b, "; the release is kept as snapshot %d and the previous one stays current: review it, then run prevoir snapshots accept %d", e.SnapshotID, e.SnapshotID)
	}
	return b.String()
}

// ErrorCode makes a quarantine permanent for prevoir.ErrorCode: bad input, not a transient
// failure.
func (e *QuarantineError) ErrorCode() string { return EINVALID }
