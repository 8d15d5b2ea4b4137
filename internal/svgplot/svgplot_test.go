package svgplot_test

import (
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/svgplot"
)

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct {
		span float64
		n    int
		want float64
	}{{100, 5, 20}, {7, 5, 2}, {0.3, 5, 0.1}, {1450, 5, 500}, {0, 5, 1}, {math.NaN(), 5, 1}} {
		if got := svgplot.NiceStep(tc.span, tc.n); got != tc.want {
			t.Errorf("NiceStep(%v, %d) = %v, want %v", tc.span, tc.n, got, tc.want)
		}
	}
	if got := svgplot.NiceMax(287); got != 300 {
		t.Errorf("NiceMax(287) = %v", got)
	}
}

func TestDateTicks(t *testing.T) {
	d := prevoir.MustParseDate
	ticks, layout := svgplot.DateTicks(d("2022-09-03"), d("2022-12-31"))
	var got []string
	for _, x := range ticks {
		got = append(got, x.String())
	}
	if strings.Join(got, " ") != "2022-10-01 2022-11-01 2022-12-01" || layout != "Jan 2006" {
		t.Errorf("4 months: %v %q", got, layout)
	}
	ticks, _ = svgplot.DateTicks(d("2020-03-19"), d("2022-12-31"))
	for _, x := range ticks {
		if m := x.Time().Month(); m != 1 && m != 7 || x.Time().Day() != 1 {
			t.Errorf("2.8 years: tick %s is not a 1 January or 1 July", x)
		}
	}
	ticks, layout = svgplot.DateTicks(d("2022-12-18"), d("2023-01-14"))
	if len(ticks) != 4 || layout != "2 Jan" || ticks[0].Weekday() != 1 {
		t.Errorf("4 weeks: %v %q", ticks, layout)
	}
}

// TestPolylinesBreakAtGaps: a NaN y breaks the line; a lone point between gaps is a dot.
func TestPolylinesBreakAtGaps(t *testing.T) {
	var b strings.Builder
	nan := math.NaN()
	svgplot.Polylines(&b, [][2]float64{{1, 1}, {2, 2.25}, {3, nan}, {4, 4}, {5, nan}, {6, 6}, {7, 7}}, `stroke="red"`)
	want := `<polyline fill="none" points="1.0,1.0 2.0,2.2" stroke="red"/><circle cx="4.0" cy="4.0" r="1.5" stroke="red"/>` +
		`<polyline fill="none" points="6.0,6.0 7.0,7.0" stroke="red"/>`
	if b.String() != want {
		t.Errorf("Polylines =\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	svgplot.Band(&b, [][2]float64{{1, 10}, {2, 11}}, [][2]float64{{1, 20}, {2, 21}}, `fill="blue"`)
	if got := b.String(); got != `<polygon points="1.0,10.0 2.0,11.0 2.0,21.0 1.0,20.0" fill="blue"/>` {
		t.Errorf("Band = %s", got)
	}
	b.Reset()
	svgplot.Band(&b, nil, nil, `fill="blue"`)
	if b.Len() != 0 {
		t.Errorf("empty band drawn: %s", b.String())
	}
}

// TestScale: data values map linearly onto the pixels, y upwards; an empty domain is widened.
func TestScale(t *testing.T) {
	s := svgplot.NewScale(0, 10, 0, 100, 50, 150, 20, 220)
	if s.X(0) != 50 || s.X(10) != 150 || s.X(5) != 100 || s.Y(0) != 220 || s.Y(100) != 20 || s.Y(25) != 170 {
		t.Errorf("scale: x %v %v %v, y %v %v %v", s.X(0), s.X(10), s.X(5), s.Y(0), s.Y(100), s.Y(25))
	}
	flat := svgplot.NewScale(3, 3, 0, 0, 0, 100, 0, 100)
	if x, y := flat.X(3), flat.Y(0); math.IsNaN(x) || math.IsInf(x, 0) || y != 100 {
		t.Errorf("empty domain: x %v, y %v", x, y)
	}
}
