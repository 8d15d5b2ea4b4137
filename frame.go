package prevoir

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// FrameMode chooses how sources are merged into a frame.
type FrameMode string

const (
	// FrameFull keeps the target's whole span on a continuous daily calendar, makes gaps
	// explicit (NaN) and handles covariates that stop early by the StalePolicy. The default.
	FrameFull FrameMode = "full"
	// FrameOriginal reproduces the original project's preprocessing exactly: inner join of the
	// sources on date, the target and the covariates, rows with any missing value dropped.
	FrameOriginal FrameMode = "original"
)

// StalePolicy says what the full frame does with a covariate whose last observation is
// well before the target's (SI-DEP stopped on 2022-08-23 while the indicators went on).
type StalePolicy string

const (
	// StaleDrop removes the covariate from the frame; the decision is recorded.
	StaleDrop StalePolicy = "drop"
	// StaleFlag keeps the covariate, missing (NaN) after it stops, and adds a 0/1 column
	// "<name>_available" that models can use.
	StaleFlag StalePolicy = "flag"
)

// FrameOptions configure BuildFrame.
type FrameOptions struct {
	Target     string
	Covariates []string
	Mode       FrameMode
	Stale      StalePolicy
	// StaleAfter is the tolerance, in days, between a covariate's last observed day and the
	// target's: the sources are published a few days apart, so a short lag is normal.
	StaleAfter int
}

// DefaultFrameOptions returns the defaults: the original project's target and covariates, the
// full mode, stale covariates dropped after 7 days.
func DefaultFrameOptions() FrameOptions {
	return FrameOptions{
		Target:     DefaultTarget,
		Covariates: DefaultCovariates(),
		Mode:       FrameFull,
		Stale:      StaleDrop,
		StaleAfter: 7,
	}
}

// Columns returns the source columns the frame is built from: the covariates, then the target.
func (o FrameOptions) Columns() []string {
	return append(slices.Clone(o.Covariates), o.Target)
}

// Validate checks the options.
func (o FrameOptions) Validate() error {
	switch {
	case o.Target == "":
		return Errorf(EINVALID, "frame: empty target")
	case o.Mode != FrameFull && o.Mode != FrameOriginal:
		return Errorf(EINVALID, "frame: mode %q: want %q or %q", o.Mode, FrameFull, FrameOriginal)
	case o.Stale != StaleDrop && o.Stale != StaleFlag:
		return Errorf(EINVALID, "frame: stale covariate policy %q: want %q or %q", o.Stale, StaleDrop, StaleFlag)
	case o.StaleAfter < 0:
		return Errorf(EINVALID, "frame: stale-after %d days: want >= 0", o.StaleAfter)
	}
	if slices.Contains(o.Covariates, o.Target) {
		return Errorf(EINVALID, "frame: %q is both the target and a covariate", o.Target)
	}
	for i, c := range o.Covariates {
		if slices.Contains(o.Covariates[:i], c) {
			return Errorf(EINVALID, "frame: covariate %q listed twice", c)
		}
	}
	return nil
}

// UnknownColumnError is a frame column, the target or a covariate, that none of the sources
// has: a misspelt name, which must not pass for a column that is merely missing.
type UnknownColumnError struct {
	Column string
	Kind   ColumnKind
	// Known are the numeric columns of the sources, in their order.
	Known []string
}

func (e *UnknownColumnError) Error() string {
	return fmt.Sprintf("frame: %s %q is in none of the sources; their columns are %s", e.Kind, e.Column, strings.Join(e.Known, ", "))
}

// ErrorCode makes it an invalid-input error.
func (e *UnknownColumnError) ErrorCode() string { return EINVALID }

// unknownColumn returns the error for a column none of inputs has.
func unknownColumn(inputs []FrameInput, name string, kind ColumnKind) error {
	var known []string
	for _, in := range inputs {
		for _, c := range in.Table.Columns {
			if !slices.Contains(known, c) {
				known = append(known, c)
			}
		}
	}
	return &UnknownColumnError{Column: name, Kind: kind, Known: known}
}

// declaringSource returns the name of the default source whose schema declares column.
func declaringSource(column string) (string, bool) {
	for _, s := range DefaultSources() {
		if slices.Contains(s.Required, column) || slices.ContainsFunc(s.Rules, func(r ColumnRule) bool { return r.Column == column }) {
			return s.Name, true
		}
	}
	return "", false
}

// FrameInput is one parsed source release given to BuildFrame, with the snapshot it was
// parsed from (nil when it does not come from the store, as in some tests).
type FrameInput struct {
	Table    *Table
	Snapshot *Snapshot
}

// ColumnKind says what a frame column is.
type ColumnKind string

// Column kinds.
const (
	KindTarget    ColumnKind = "target"
	KindCovariate ColumnKind = "covariate"
	KindFlag      ColumnKind = "flag" // 1 where the covariate it names is available, 0 elsewhere
)

// FrameColumn is one column of a Frame.
type FrameColumn struct {
	Name   string     `json:"name"`
	Source string     `json:"source"`
	Kind   ColumnKind `json:"kind"`
	Values Series     `json:"values"`
}

// Decision records what the frame builder did with a requested column and why, so that the
// choice is visible to whoever reads the frame (and stored with every run that uses it).
type Decision struct {
	Column string `json:"column"`
	Source string `json:"source,omitempty"`
	// Action is "kept", "dropped" or "flagged".
	Action string `json:"action"`
	Reason string `json:"reason"`
	// First and Last bound the column's observed (non-missing) values; zero when it has none.
	First Date `json:"first,omitzero"`
	Last  Date `json:"last,omitzero"`
	// Missing counts the missing values inside the frame's span.
	Missing int `json:"missing"`
}

// Decision actions.
const (
	ActionKept    = "kept"
	ActionDropped = "dropped"
	ActionFlagged = "flagged"
)

// FrameSource names a snapshot a frame was built from.
type FrameSource struct {
	Source     string `json:"source"`
	SnapshotID int64  `json:"snapshot_id,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	FirstDate  Date   `json:"first_date"`
	LastDate   Date   `json:"last_date"`
}

// Frame is the daily table models learn from: one row per date, the covariates then the target.
type Frame struct {
	Mode    FrameMode     `json:"mode"`
	Target  string        `json:"target"`
	Dates   []Date        `json:"dates"`
	Columns []FrameColumn `json:"columns"`
	// Sources are the snapshots the frame was built from.
	Sources []FrameSource `json:"sources"`
	// Decisions explain every requested column's fate.
	Decisions []Decision `json:"decisions"`
	// Options are the options the frame was built with.
	Options FrameOptions `json:"options"`
	// Ahead are forecasts of columns beyond the last day, by column, made by other targets'
	// champions (CovariateForecast): the forecast flow sets them for a model that reads a
	// column ahead of the origin; frames built from sources have none. Read them by AheadOf.
	Ahead map[string]*CovariateForecast `json:"ahead,omitempty"`
}

// Len is the number of rows.
func (f *Frame) Len() int { return len(f.Dates) }

// Column returns the named column's values, or nil.
func (f *Frame) Column(name string) []float64 {
	for _, c := range f.Columns {
		if c.Name == name {
			return c.Values
		}
	}
	return nil
}

// TargetValues returns the target column.
func (f *Frame) TargetValues() []float64 { return f.Column(f.Target) }

// Names returns the column names in order.
func (f *Frame) Names() []string {
	names := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		names[i] = c.Name
	}
	return names
}

// Gap is a run of consecutive missing values in one column of a frame.
type Gap struct {
	Column string `json:"column"`
	From   Date   `json:"from"`
	To     Date   `json:"to"`
	Days   int    `json:"days"`
}

// Gaps lists the runs of missing values of every column, in column order.
func (f *Frame) Gaps() []Gap {
	var gaps []Gap
	for _, c := range f.Columns {
		start := -1
		for i := 0; i <= len(c.Values); i++ {
			missing := i < len(c.Values) && math.IsNaN(c.Values[i])
			switch {
			case missing && start < 0:
				start = i
			case !missing && start >= 0:
				gaps = append(gaps, Gap{Column: c.Name, From: f.Dates[start], To: f.Dates[i-1], Days: i - start})
				start = -1
			}
		}
	}
	return gaps
}

// BuildFrame merges parsed source releases into a daily frame. A column is taken from the
// first input that has it, so the order of inputs settles a name present in two sources.
func BuildFrame(inputs []FrameInput, opts FrameOptions) (*Frame, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, Errorf(EINVALID, "frame: no source tables")
	}
	f := &Frame{Mode: opts.Mode, Target: opts.Target, Options: opts}
	f.Options.Covariates = slices.Clone(opts.Covariates)
	for _, in := range inputs {
		fs := FrameSource{Source: in.Table.Source}
		fs.FirstDate, fs.LastDate, _ = in.Table.Span()
		if in.Snapshot != nil {
			fs.SnapshotID, fs.SHA256 = in.Snapshot.ID, in.Snapshot.SHA256
		}
		f.Sources = append(f.Sources, fs)
	}
	if opts.Mode == FrameOriginal {
		return buildOriginal(f, inputs, opts)
	}
	return buildFull(f, inputs, opts)
}

// locate finds the first input with the named column and returns its index and values; the
// index is -1 when no input has it.
func locate(inputs []FrameInput, name string) (int, []float64) {
	for k, in := range inputs {
		if v, ok := in.Table.Column(name); ok {
			return k, v
		}
	}
	return -1, nil
}

// buildOriginal reproduces the original project's preprocessing: pandas merge (inner join) on
// date, selection of the covariates and the target, dropna.
func buildOriginal(f *Frame, inputs []FrameInput, opts FrameOptions) (*Frame, error) {
	names := opts.Columns()
	from := make([]int, len(names)) // input index of each column
	vals := make([][]float64, len(names))
	for i, n := range names {
		from[i], vals[i] = locate(inputs, n)
		if from[i] < 0 {
			kind := KindCovariate
			if n == opts.Target {
				kind = KindTarget
			}
			return nil, unknownColumn(inputs, n, kind)
		}
	}
	// rows[k][d] is the row of date d in input k.
	rows := make([]map[Date]int, len(inputs))
	for k, in := range inputs {
		rows[k] = make(map[Date]int, len(in.Table.Dates))
		for i, d := range in.Table.Dates {
			rows[k][d] = i
		}
	}
	values := make([][]float64, len(names))
	row := make([]float64, len(names))
	dropped := 0
dates:
	for _, d := range inputs[0].Table.Dates {
		for k := range inputs {
			if _, ok := rows[k][d]; !ok {
				continue dates // not in the inner join
			}
		}
		for i := range names {
			row[i] = vals[i][rows[from[i]][d]]
			if math.IsNaN(row[i]) {
				dropped++
				continue dates
			}
		}
		f.Dates = append(f.Dates, d)
		for i := range names {
			values[i] = append(values[i], row[i])
		}
	}
	if len(f.Dates) == 0 {
		return nil, Errorf(EINVALID, "frame: the inner join of the sources has no complete row")
	}
	for i, n := range names {
		kind := KindCovariate
		if n == opts.Target {
			kind = KindTarget
		}
		t := inputs[from[i]].Table
		f.Columns = append(f.Columns, FrameColumn{Name: n, Source: t.Source, Kind: kind, Values: values[i]})
		first, last, _ := observedSpan(t.Dates, vals[i])
		f.Decisions = append(f.Decisions, Decision{Column: n, Source: t.Source, Action: ActionKept,
			Reason: fmt.Sprintf("original preprocessing: inner join on date, rows with a missing value dropped (%d dropped)", dropped),
			First:  first, Last: last})
	}
	return f, nil
}

// buildFull keeps the target's whole span on a continuous calendar.
func buildFull(f *Frame, inputs []FrameInput, opts FrameOptions) (*Frame, error) {
	tk, tv := locate(inputs, opts.Target)
	if tk < 0 {
		return nil, unknownColumn(inputs, opts.Target, KindTarget)
	}
	tt := inputs[tk].Table
	first, last, ok := observedSpan(tt.Dates, tv)
	if !ok {
		return nil, Errorf(EINVALID, "frame: target %q has no value in source %s", opts.Target, tt.Source)
	}
	n := int(last-first) + 1
	f.Dates = make([]Date, n)
	for i := range f.Dates {
		f.Dates[i] = first + Date(i)
	}
	align := func(t *Table, v []float64) Series {
		out := make(Series, n)
		for i := range out {
			out[i] = math.NaN()
		}
		for i, d := range t.Dates {
			if d >= first && d <= last {
				out[d-first] = v[i]
			}
		}
		return out
	}
	var flags []FrameColumn
	for _, name := range opts.Covariates {
		k, v := locate(inputs, name)
		if k < 0 {
			src, ok := declaringSource(name)
			if !ok || slices.ContainsFunc(inputs, func(in FrameInput) bool { return in.Table.Source == src }) {
				return nil, unknownColumn(inputs, name, KindCovariate)
			}
			// A covariate of a source left out (--sources): nothing to take it from.
			f.Decisions = append(f.Decisions, Decision{Column: name, Source: src, Action: ActionDropped, Reason: "its source is not used"})
			continue
		}
		t := inputs[k].Table
		cf, cl, _ := observedSpan(t.Dates, v)
		vals := align(t, v)
		d := Decision{Column: name, Source: t.Source, First: cf, Last: cl, Missing: countNaN(vals)}
		switch {
		case d.Missing == n:
			d.Action, d.Reason = ActionDropped, "no value in the target's span"
		case cl < last-Date(opts.StaleAfter):
			lag := int(last - cl)
			if opts.Stale == StaleDrop {
				d.Action = ActionDropped
				d.Reason = fmt.Sprintf("stale: last value %s, %d days before the target's last day %s (tolerance %d days)", cl, lag, last, opts.StaleAfter)
			} else {
				d.Action = ActionFlagged
				d.Reason = fmt.Sprintf("stale: last value %s, %d days before the target's last day %s; kept with availability flag %s_available", cl, lag, last, name)
			}
		default:
			d.Action, d.Reason = ActionKept, "observed up to the target's last day"
			if cl < last {
				d.Reason = fmt.Sprintf("observed up to %s, within %d days of the target's last day", cl, opts.StaleAfter)
			}
		}
		f.Decisions = append(f.Decisions, d)
		if d.Action == ActionDropped {
			continue
		}
		f.Columns = append(f.Columns, FrameColumn{Name: name, Source: t.Source, Kind: KindCovariate, Values: vals})
		if d.Action == ActionFlagged {
			flag := make(Series, n)
			for i, x := range vals {
				if !math.IsNaN(x) {
					flag[i] = 1
				}
			}
			flags = append(flags, FrameColumn{Name: name + "_available", Source: t.Source, Kind: KindFlag, Values: flag})
		}
	}
	f.Columns = append(f.Columns, flags...)
	tvals := align(tt, tv)
	f.Columns = append(f.Columns, FrameColumn{Name: opts.Target, Source: tt.Source, Kind: KindTarget, Values: tvals})
	f.Decisions = append(f.Decisions, Decision{Column: opts.Target, Source: tt.Source, Action: ActionKept,
		Reason: "target: the frame spans its first to its last observed day", First: first, Last: last, Missing: countNaN(tvals)})
	return f, nil
}

// observedSpan returns the first and last dates with a value; ok is false when there is none.
func observedSpan(dates []Date, vals []float64) (first, last Date, ok bool) {
	i := slices.IndexFunc(vals, func(v float64) bool { return !math.IsNaN(v) })
	if i < 0 {
		return 0, 0, false
	}
	j := len(vals) - 1
	for math.IsNaN(vals[j]) {
		j--
	}
	return dates[i], dates[j], true
}

func countNaN(v []float64) int {
	n := 0
	for _, x := range v {
		if math.IsNaN(x) {
			n++
		}
	}
	return n
}
