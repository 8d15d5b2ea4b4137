// Package svgplot draws the parts of a chart as SVG text: a linear scale from data to the
// plotting area, round tick steps, date ticks, axes with gridlines, lines broken at gaps,
// filled bands, legend entries, a palette and escaping. The dashboard's charts (package web)
// and the backtest's report (backtest.WriteSVG) are both drawn with it, so they look alike and
// are fixed in one place.
//
// Colours and sizes are SVG presentation attributes, never style attributes, so that a page
// whose Content-Security-Policy forbids inline styles shows them.
package svgplot

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prevoir/prevoir"
)

// Colours of the axes and gridlines.
const (
	ColGrid = "#e5e7eb"
	ColAxis = "#6b7280"
)

// palette colours the series of a multi-series chart; it is distinguishable for most kinds of
// colour blindness (Okabe & Ito 2008, then a few more).
var palette = [...]string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442", "#7f7f7f", "#8c564b"}

// Colors is the number of distinguishable colours Color has before it cycles.
const Colors = len(palette)

// Color returns the i-th colour of the palette, cycling.
func Color(i int) string { return palette[i%len(palette)] }

// Scale maps data coordinates to a plotting area.
type Scale struct {
	X0, X1, Y0, Y1 float64 // data domain
	Left, Right    float64 // pixel range of x
	Top, Bottom    float64 // pixel range of y (Bottom is Y0)
}

// NewScale maps [x0, x1] × [y0, y1] onto the pixels [left, right] × [bottom, top]; an empty
// domain is widened to one unit, so that every value has a place.
func NewScale(x0, x1, y0, y1, left, right, top, bottom float64) Scale {
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	return Scale{X0: x0, X1: x1, Y0: y0, Y1: y1, Left: left, Right: right, Top: top, Bottom: bottom}
}

// X is the pixel of the data value v along x.
func (s Scale) X(v float64) float64 { return s.Left + (v-s.X0)/(s.X1-s.X0)*(s.Right-s.Left) }

// Y is the pixel of the data value v along y.
func (s Scale) Y(v float64) float64 { return s.Bottom - (v-s.Y0)/(s.Y1-s.Y0)*(s.Bottom-s.Top) }

// Px formats a pixel coordinate with one decimal, which is plenty on screen and keeps pages small.
func Px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Esc escapes text for SVG (and HTML) content and attribute values.
func Esc(s string) string { return template.HTMLEscapeString(s) }

// NiceStep returns a round step (1, 2 or 5 times a power of ten) giving about n intervals over span.
func NiceStep(span float64, n int) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// NiceMax rounds v up to a multiple of a nice step, so the top gridline has a round label.
func NiceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	st := NiceStep(v, 5)
	return math.Ceil(v/st) * st
}

// TickLabel formats an axis label: no decimals for steps of at least one, else enough to tell
// ticks apart.
func TickLabel(v, step float64) string {
	if step >= 1 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	d := int(math.Ceil(-math.Log10(step)))
	return strconv.FormatFloat(v, 'f', d, 64)
}

// Open starts an SVG element of width × height user units with an accessible name (title) and
// description; attrs are more attributes, written as given: each starts with a space
// (` width="960"`).
func Open(b *strings.Builder, id, class, title, desc string, width, height int, attrs string) {
	fmt.Fprintf(b, `<svg id="%s" class="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12"%s>`,
		Esc(id), Esc(class), width, height, Esc(id), Esc(id), attrs)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, Esc(id), Esc(title), Esc(id), Esc(desc))
}

// YAxis draws horizontal gridlines with labels and the axis title.
func YAxis(b *strings.Builder, s Scale, label string) {
	step := NiceStep(s.Y1-s.Y0, 5)
	b.WriteString(`<g class="y-axis">`)
	for v := math.Ceil(s.Y0/step) * step; v <= s.Y1+step/1e6; v += step {
		y := Px(s.Y(v))
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, Px(s.Left), Px(s.Right), y, y, ColGrid)
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle" fill="%s">%s</text>`, Px(s.Left-6), y, ColAxis, TickLabel(v, step))
	}
	fmt.Fprintf(b, `<text x="14" y="%s" transform="rotate(-90 14 %s)" text-anchor="middle" fill="%s">%s</text>`,
		Px((s.Top+s.Bottom)/2), Px((s.Top+s.Bottom)/2), ColAxis, Esc(label))
	b.WriteString(`</g>`)
}

// XAxis draws the x axis of numbers (a horizon, a count) with about ten labelled ticks at
// whole steps, and its title.
func XAxis(b *strings.Builder, s Scale, x0, x1 float64, label string) {
	step := math.Max(1, NiceStep(x1-x0, 10))
	b.WriteString(`<g class="x-axis">`)
	fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, Px(s.Left), Px(s.Right), Px(s.Bottom), Px(s.Bottom), ColAxis)
	for v := math.Ceil(x0/step) * step; v <= x1; v += step {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, Px(s.X(v)), Px(s.Bottom+18), ColAxis, TickLabel(v, step))
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, Px((s.Left+s.Right)/2), Px(s.Bottom+36), ColAxis, Esc(label))
	b.WriteString(`</g>`)
}

// DateTicks returns tick dates for a span of days: month starts, every few months for long
// spans, or Mondays for spans of a few weeks; layout formats their labels.
func DateTicks(first, last prevoir.Date) (ticks []prevoir.Date, layout string) {
	days := int(last - first)
	switch {
	case days <= 45:
		for d := first; d <= last; d++ {
			if d.Weekday() == 1 {
				ticks = append(ticks, d)
			}
		}
		return ticks, "2 Jan"
	default:
		every := 1
		switch {
		case days > 900:
			every = 6
		case days > 500:
			every = 3
		case days > 200:
			every = 2
		}
		t := first.Time()
		cur := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		if cur.Before(t) {
			cur = cur.AddDate(0, 1, 0)
		}
		for ; prevoir.DateOf(cur) <= last; cur = cur.AddDate(0, 1, 0) {
			if (int(cur.Month())-1)%every == 0 {
				ticks = append(ticks, prevoir.DateOf(cur))
			}
		}
		return ticks, "Jan 2006"
	}
}

// XDateAxis draws date ticks (DateTicks) along the bottom.
func XDateAxis(b *strings.Builder, s Scale, first, last prevoir.Date) {
	ticks, layout := DateTicks(first, last)
	b.WriteString(`<g class="x-axis">`)
	fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, Px(s.Left), Px(s.Right), Px(s.Bottom), Px(s.Bottom), ColAxis)
	for _, d := range ticks {
		x := Px(s.X(float64(d)))
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, x, x, Px(s.Bottom), Px(s.Bottom+5), ColAxis)
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, x, Px(s.Bottom+18), ColAxis, d.Time().Format(layout))
	}
	b.WriteString(`</g>`)
}

// Polylines draws a line through the points (in pixels), broken where a y is NaN; a lone point
// between gaps is drawn as a dot. attrs are the stroke's attributes.
func Polylines(b *strings.Builder, pts [][2]float64, attrs string) {
	var seg []string
	flush := func() {
		if len(seg) == 1 { // a lone point between gaps: draw it as a dot
			xy := strings.Split(seg[0], ",")
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="1.5" %s/>`, xy[0], xy[1], attrs)
		} else if len(seg) > 1 {
			fmt.Fprintf(b, `<polyline fill="none" points="%s" %s/>`, strings.Join(seg, " "), attrs)
		}
		seg = seg[:0]
	}
	for _, p := range pts {
		if math.IsNaN(p[1]) {
			flush()
			continue
		}
		seg = append(seg, Px(p[0])+","+Px(p[1]))
	}
	flush()
}

// Band fills the area between two lines with the same x (in pixels), as a polygon along upper
// and back along lower; attrs are the fill's attributes. Nothing is drawn without points.
func Band(b *strings.Builder, upper, lower [][2]float64, attrs string) {
	if len(upper) == 0 {
		return
	}
	pts := make([]string, 0, len(upper)+len(lower))
	for _, p := range upper {
		pts = append(pts, Px(p[0])+","+Px(p[1]))
	}
	for i := len(lower) - 1; i >= 0; i-- {
		pts = append(pts, Px(lower[i][0])+","+Px(lower[i][1]))
	}
	fmt.Fprintf(b, `<polygon points="%s" %s/>`, strings.Join(pts, " "), attrs)
}

// LegendLine draws a legend entry at (x, y): a short line with the stroke's attributes, and
// the text after it.
func LegendLine(b *strings.Builder, x, y float64, attrs, text string) {
	fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" %s/><text x="%s" y="%s" dominant-baseline="middle">%s</text>`,
		Px(x), Px(x+18), Px(y), Px(y), attrs, Px(x+24), Px(y), Esc(text))
}
