package adapt

import (
	"math"
	"slices"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/forecast/internal/testframe"
)

var nan = math.NaN()

func TestCalendarReindexesAndWindows(t *testing.T) {
	f := testframe.New([]float64{1, 2, 3, 4, 5, 6}, nil)
	// Drop the third row, as the original frame mode does.
	f.Dates = slices.Delete(f.Dates, 2, 3)
	f.Columns[0].Values = slices.Delete(f.Columns[0].Values, 2, 3)
	start, y, err := Calendar(f, "y", 0)
	if err != nil {
		t.Fatal(err)
	}
	if start != testframe.Start() || len(y) != 6 || !math.IsNaN(y[2]) || y[5] != 6 {
		t.Errorf("calendar %s %v", start, y)
	}
	start, y, _ = Calendar(f, "y", 3)
	if start != testframe.Start()+3 || !slices.Equal(y, []float64{4, 5, 6}) {
		t.Errorf("window 3: %s %v", start, y)
	}
	if _, _, err := Calendar(f, "nope", 0); err == nil {
		t.Error("unknown column accepted")
	}
	f.Columns[0].Values[1] = math.Inf(1)
	if _, _, err := Calendar(f, "y", 0); err == nil {
		t.Error("infinite value accepted")
	}
}

func TestFillSeasonal(t *testing.T) {
	y := testframe.Weekly(42)
	g := slices.Clone(y)
	g[0], g[1] = nan, nan // leading
	for i := 16; i < 20; i++ {
		g[i] = nan // interior, 4 days: same-weekday neighbours exist
	}
	g[41] = nan // trailing
	z, from, filled := Fill(g, 7, 14)
	if from != 2 || filled != 4 {
		t.Fatalf("from %d filled %d, want 2 and 4", from, filled)
	}
	for i := 16; i < 20; i++ {
		if z[i] != y[i] {
			t.Errorf("day %d filled %v, want the weekly value %v", i, z[i], y[i])
		}
	}
	if !math.IsNaN(z[41]) {
		t.Error("trailing NaN filled")
	}
	// Plain linear interpolation.
	z, _, _ = Fill([]float64{1, nan, nan, 4}, 1, 14)
	if !slices.Equal(z, []float64{1, 2, 3, 4}) {
		t.Errorf("linear fill %v", z)
	}
	// Same-weekday neighbour missing: falls back to linear.
	z, _, _ = Fill([]float64{1, nan, 3}, 7, 14)
	if z[1] != 2 {
		t.Errorf("fallback fill %v", z)
	}
	// A gap longer than maxGap cuts the series after it.
	g = testframe.Weekly(60)
	for i := 10; i < 30; i++ {
		g[i] = nan
	}
	_, from, filled = Fill(g, 7, 14)
	if from != 30 || filled != 0 {
		t.Errorf("long gap: from %d filled %d, want 30 and 0", from, filled)
	}
}

func TestColumn(t *testing.T) {
	g := testframe.Weekly(60)
	g[0], g[58], g[59] = nan, nan, nan
	f := testframe.New(g, nil)
	s, err := Target(f, Options{Period: 7, Fill: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Origin != testframe.Start()+59 || s.Start != testframe.Start()+1 || s.Lead != 2 || len(s.Values) != 57 {
		t.Errorf("series origin %s start %s lead %d len %d", s.Origin, s.Start, s.Lead, len(s.Values))
	}
	s, _ = Target(f, Options{})
	if s.Lead != 0 || len(s.Values) != 59 || !math.IsNaN(s.Values[58]) {
		t.Errorf("unfilled series lead %d len %d", s.Lead, len(s.Values))
	}
	if _, err := Target(f, Options{MinLen: 100}); err == nil {
		t.Error("MinLen not enforced")
	}
	if _, err := Target(testframe.New([]float64{nan, nan}, nil), Options{}); err == nil {
		t.Error("all-missing column accepted")
	}
}

func TestForecastClipsSortsAndDates(t *testing.T) {
	origin := prevoir.MustParseDate("2022-03-06")
	point := []float64{99, -3, 5}
	q := [][]float64{{0, 0}, {-5, -1}, {6, 4}}
	fc, err := Forecast("m", origin, 1, 2, point, q, []float64{0.1, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if fc.Dates[0] != origin+1 || fc.Dates[1] != origin+2 {
		t.Errorf("dates %v", fc.Dates)
	}
	if !slices.Equal(fc.Point, []float64{0, 5}) || !slices.Equal(fc.Values[0], []float64{0, 0}) || !slices.Equal(fc.Values[1], []float64{4, 6}) {
		t.Errorf("forecast %v %v", fc.Point, fc.Values)
	}
	if _, err := Forecast("m", origin, 0, 1, []float64{nan}, [][]float64{{}}, nil); err == nil {
		t.Error("NaN forecast accepted")
	}
	if _, err := Forecast("m", origin, 0, 3, point[:2], q[:2], nil); err == nil {
		t.Error("short forecast accepted")
	}
}
