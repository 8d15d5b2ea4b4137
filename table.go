package prevoir

import (
	"math"
	"slices"
	"strings"
)

// Table is one parsed release of a source: one row per day, sorted by date with no duplicate,
// and one float64 slice per numeric column with NaN for a missing value. Dates need not be
// consecutive: the Frame makes the calendar continuous and the gaps explicit.
type Table struct {
	// Source is the name of the source the table was parsed from.
	Source string
	// Dates are the row dates, strictly increasing.
	Dates []Date
	// Columns are the numeric column names, in file order (the date and text columns excluded).
	Columns []string
	// Values[i] holds the values of Columns[i], aligned with Dates.
	Values [][]float64
	// Ignored lists columns of the file that were not kept (unknown non-numeric columns).
	Ignored []string
	// Lines are the 1-based file lines of the rows, aligned with Dates, so that a problem found
	// after parsing (a plausibility rule) can still point into the file; nil when unknown.
	Lines []int
}

// Column returns the values of the named column, or false if the table has no such column.
func (t *Table) Column(name string) ([]float64, bool) {
	i := slices.Index(t.Columns, name)
	if i < 0 {
		return nil, false
	}
	return t.Values[i], true
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.Dates) }

// Span returns the first and last dates; ok is false for an empty table.
func (t *Table) Span() (first, last Date, ok bool) {
	if len(t.Dates) == 0 {
		return 0, 0, false
	}
	return t.Dates[0], t.Dates[len(t.Dates)-1], true
}

// Revision describes how a release of a source differs from the release before it. A source
// revises past values (late death reports are added to the day of death, for instance): such a
// release is reported, never merged silently.
type Revision struct {
	// AddedDates are dates present only in the new release; RemovedDates only in the old one.
	AddedDates   int `json:"added_dates"`
	RemovedDates int `json:"removed_dates"`
	// ChangedDates counts dates present in both whose value changed in at least one column
	// present in both; ChangedCells counts the changed (date, column) cells.
	ChangedDates int `json:"changed_dates"`
	ChangedCells int `json:"changed_cells"`
	// ChangedColumns maps each column that changed on past dates to the number of dates changed.
	ChangedColumns map[string]int `json:"changed_columns,omitempty"`
	// FirstChanged and LastChanged bound the changed dates (zero when none changed).
	FirstChanged Date `json:"first_changed,omitzero"`
	LastChanged  Date `json:"last_changed,omitzero"`
	// AddedColumns and RemovedColumns are schema changes between the releases.
	AddedColumns   []string `json:"added_columns,omitempty"`
	RemovedColumns []string `json:"removed_columns,omitempty"`
}

// Revised reports whether the new release changed or removed anything that the old one had, as
// opposed to only appending days or columns.
func (r Revision) Revised() bool {
	return r.ChangedCells > 0 || r.RemovedDates > 0 || len(r.RemovedColumns) > 0
}

// Diff compares two releases of the same source. A value that goes from missing to present or
// back counts as a change; two missing values are equal.
func Diff(old, new *Table) Revision {
	var r Revision
	for _, c := range new.Columns {
		if !slices.Contains(old.Columns, c) {
			r.AddedColumns = append(r.AddedColumns, c)
		}
	}
	type pair struct {
		name     string
		old, new []float64
	}
	var common []pair
	for i, c := range old.Columns {
		if j := slices.Index(new.Columns, c); j >= 0 {
			common = append(common, pair{c, old.Values[i], new.Values[j]})
		} else {
			r.RemovedColumns = append(r.RemovedColumns, c)
		}
	}
	// Both date lists are sorted: walk them together.
	i, j := 0, 0
	for i < len(old.Dates) || j < len(new.Dates) {
		switch {
		case j == len(new.Dates) || (i < len(old.Dates) && old.Dates[i] < new.Dates[j]):
			r.RemovedDates++
			i++
		case i == len(old.Dates) || new.Dates[j] < old.Dates[i]:
			r.AddedDates++
			j++
		default:
			changed := false
			for _, p := range common {
				if !sameValue(p.old[i], p.new[j]) {
					changed = true
					r.ChangedCells++
					if r.ChangedColumns == nil {
						r.ChangedColumns = map[string]int{}
					}
					r.ChangedColumns[p.name]++
				}
			}
			if changed {
				d := old.Dates[i]
				if r.ChangedDates == 0 {
					r.FirstChanged = d
				}
				r.LastChanged = d
				r.ChangedDates++
			}
			i++
			j++
		}
	}
	return r
}

func sameValue(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// ChangedColumnsByUse splits the columns changed on past dates into those in used (the
// columns a frame uses: its target and covariates), which matter to the forecasts, and the
// others; each list is ordered by most dates changed, then by name.
func (r Revision) ChangedColumnsByUse(used []string) (usedCols, others []string) {
	for c := range r.ChangedColumns {
		if slices.Contains(used, c) {
			usedCols = append(usedCols, c)
		} else {
			others = append(others, c)
		}
	}
	byCount := func(a, b string) int {
		if n := r.ChangedColumns[b] - r.ChangedColumns[a]; n != 0 {
			return n
		}
		return strings.Compare(a, b)
	}
	slices.SortFunc(usedCols, byCount)
	slices.SortFunc(others, byCount)
	return usedCols, others
}
