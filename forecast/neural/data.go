package neural

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/prevoir/prevoir"
)

// Dataset is a multivariate daily series as the networks read it: one row per day, the
// target in column 0, then the covariates (Darts concatenates past target and past
// covariates along the feature axis, target first).
type Dataset struct {
	// Names are the column names, target first.
	Names []string
	// Rows[t][j] is column j on day t; every value must be finite.
	Rows [][]float64
	// Dates are the rows' days (optional; consecutive when set).
	Dates []prevoir.Date
}

// Len is the number of rows.
func (d *Dataset) Len() int { return len(d.Rows) }

// Target returns column 0.
func (d *Dataset) Target() []float64 {
	t := make([]float64, len(d.Rows))
	for i, r := range d.Rows {
		t[i] = r[0]
	}
	return t
}

// Slice returns rows [lo, hi) (sharing the rows).
func (d *Dataset) Slice(lo, hi int) *Dataset {
	s := &Dataset{Names: d.Names, Rows: d.Rows[lo:hi]}
	if d.Dates != nil {
		s.Dates = d.Dates[lo:hi]
	}
	return s
}

// validate checks that every row has one finite value per name.
func (d *Dataset) validate() error {
	if len(d.Names) == 0 {
		return fmt.Errorf("neural: dataset has no columns")
	}
	for t, r := range d.Rows {
		if len(r) != len(d.Names) {
			return fmt.Errorf("neural: dataset row %d has %d values for %d columns", t, len(r), len(d.Names))
		}
		for j, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("neural: dataset row %d, column %s: value %v is not finite", t, d.Names[j], v)
			}
		}
	}
	if d.Dates != nil && len(d.Dates) != len(d.Rows) {
		return fmt.Errorf("neural: dataset has %d dates for %d rows", len(d.Dates), len(d.Rows))
	}
	return nil
}

// DatasetFromFrame returns the frame's target and every other column (covariates and
// availability flags, in frame order) on the frame's last run of complete days: consecutive
// dates on which every column has a value. A network needs complete inputs; rather than
// invent values, it learns from the longest recent stretch that has them (in the original
// mode the whole frame). The run ends at the last complete day, which may be before the
// frame's last date when the origin's own values are not yet published.
func DatasetFromFrame(f *prevoir.Frame) (*Dataset, error) {
	target := f.TargetValues()
	if target == nil {
		return nil, fmt.Errorf("neural: frame has no target column %q", f.Target)
	}
	cols := [][]float64{target}
	names := []string{f.Target}
	for _, c := range f.Columns {
		if c.Name != f.Target {
			cols = append(cols, c.Values)
			names = append(names, c.Name)
		}
	}
	complete := func(i int) bool {
		for _, c := range cols {
			if math.IsNaN(c[i]) || math.IsInf(c[i], 0) {
				return false
			}
		}
		return true
	}
	end := f.Len()
	for end > 0 && !complete(end-1) {
		end--
	}
	if end == 0 {
		return nil, fmt.Errorf("neural: frame has no day on which every column (%d) has a value", len(cols))
	}
	start := end - 1
	for start > 0 && complete(start-1) && f.Dates[start-1]+1 == f.Dates[start] {
		start--
	}
	d := &Dataset{Names: names, Dates: slices.Clone(f.Dates[start:end])}
	for i := start; i < end; i++ {
		row := make([]float64, len(cols))
		for j, c := range cols {
			row[j] = c[i]
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// Scaler is a per-column min-max scaling to [0, 1], sklearn's MinMaxScaler as Darts' Scaler
// uses it: v' = (v - Min) / Range, with Range = max - min, or 1 for a constant column.
type Scaler struct {
	Min   []float64 `json:"min"`
	Range []float64 `json:"range"`
}

// FitScaler fits a scaler to rows (at least one).
func FitScaler(rows [][]float64) (*Scaler, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("neural: cannot fit a scaler to no rows")
	}
	k := len(rows[0])
	lo, hi := slices.Clone(rows[0]), slices.Clone(rows[0])
	for _, r := range rows[1:] {
		for j, v := range r {
			lo[j], hi[j] = min(lo[j], v), max(hi[j], v)
		}
	}
	s := &Scaler{Min: lo, Range: make([]float64, k)}
	for j := range k {
		s.Range[j] = hi[j] - lo[j]
		if s.Range[j] == 0 {
			s.Range[j] = 1
		}
	}
	return s, nil
}

// TrainScaled is Train with the min-max scaler given instead of fitted to ds: the PyTorch
// reference benchmark (internal/bench) fits it on every row, the held-out block included, as
// the original project did, and trains on the rows before the block.
func TrainScaled(ctx context.Context, cfg Config, ds *Dataset, scaler *Scaler, opts TrainOptions) (*Model, *Report, error) {
	if scaler == nil {
		return nil, nil, fmt.Errorf("neural: no scaler")
	}
	return train(ctx, cfg, ds, scaler, opts)
}

func (s *Scaler) validate(features int) error {
	if len(s.Min) != features || len(s.Range) != features {
		return fmt.Errorf("neural: scaler has %d/%d columns, want %d", len(s.Min), len(s.Range), features)
	}
	for j, r := range s.Range {
		if !(r > 0) || math.IsInf(r, 0) || math.IsNaN(s.Min[j]) || math.IsInf(s.Min[j], 0) {
			return fmt.Errorf("neural: scaler column %d: min %v, range %v", j, s.Min[j], r)
		}
	}
	return nil
}

// transform scales rows into a flat row-major float32 matrix (computed in float64, then
// rounded, as the reference casts the scaled float64 array).
func (s *Scaler) transform(rows [][]float64) []float32 {
	k := len(s.Min)
	out := make([]float32, len(rows)*k)
	for t, r := range rows {
		for j, v := range r {
			out[t*k+j] = float32((v - s.Min[j]) / s.Range[j])
		}
	}
	return out
}

// inverseTarget maps scaled target values back to the target's units.
func (s *Scaler) inverseTarget(v float64) float64 { return v*s.Range[0] + s.Min[0] }

// windows are the samples of a dataset: x [n, inLen, features], y [n, yLen].
type windows struct {
	x, y                 []float32
	n, inLen, feat, yLen int
}

// trainingWindows returns every stride-1 window of Darts' training dataset lying in the
// scaled rows (rows × feat): PastCovariatesSequentialDataset(InputLen, OutputLen) —
// inputs [t, t+InputLen), target [t+InputLen, t+InputLen+OutputLen) — or, for the TCN,
// PastCovariatesShiftedDataset(InputLen, shift=OutputLen) — inputs [t, t+InputLen),
// target [t+OutputLen, t+OutputLen+InputLen) (darts/utils/data/sequential_dataset.py,
// shifted_dataset.py). Darts enumerates them from the end; the order does not matter for
// shuffled training.
func trainingWindows(c Config, scaled []float32, rows int) windows {
	return makeWindows(c, scaled, rows, rows-c.span()+1, func(t int) (int, int) { return t, t + c.shift() }, c.targetLen())
}

// forecastWindows returns the windows whose OutputLen targets follow their InputLen inputs
// and lie in rows [from, rows): forecasts made from the end of an input window, as at
// prediction time.
func forecastWindows(c Config, scaled []float32, rows, from int) windows {
	first := max(from, c.InputLen) // first target row
	n := rows - c.OutputLen - first + 1
	return makeWindows(c, scaled, rows, n, func(i int) (int, int) {
		e := first + i
		return e - c.InputLen, e
	}, c.OutputLen)
}

func makeWindows(c Config, scaled []float32, rows, n int, at func(int) (x0, y0 int), yLen int) windows {
	f := len(scaled) / max(rows, 1)
	w := windows{n: max(n, 0), inLen: c.InputLen, feat: f, yLen: yLen}
	w.x = make([]float32, w.n*c.InputLen*f)
	w.y = make([]float32, w.n*yLen)
	for i := range w.n {
		x0, y0 := at(i)
		copy(w.x[i*c.InputLen*f:(i+1)*c.InputLen*f], scaled[x0*f:(x0+c.InputLen)*f])
		for j := range yLen {
			w.y[i*yLen+j] = scaled[(y0+j)*f]
		}
	}
	return w
}
