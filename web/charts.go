package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
)

// The charts are drawn here, on the server, as inline SVG: no chart library to vendor or keep
// up to date, no script for the Content-Security-Policy to allow, a page that shows its numbers
// with JavaScript off, and hover values through SVG <title> elements, which every browser shows
// as a tooltip. Colours and sizes are SVG presentation attributes, not style attributes, because
// the policy (style-src 'self') forbids inline styles.

// Chart geometry, in SVG user units; the SVG scales to its container's width.
const (
	chartWidth  = 960
	chartHeight = 380
	marginLeft  = 60
	marginRight = 20
	marginTop   = 20
	marginBot   = 44
)

// Colours of the charts.
const (
	colObserved = "#1f2937"
	colForecast = "#1d4ed8"
	colGrid     = "#e5e7eb"
	colAxis     = "#6b7280"
)

// palette colours the series of a multi-series chart; it is distinguishable for most kinds of
// colour blindness (Okabe-Ito, then a few more).
var palette = [...]string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442", "#7f7f7f", "#8c564b"}

// seriesColor returns the i-th colour of the palette, cycling.
func seriesColor(i int) string { return palette[i%len(palette)] }

// scale maps data coordinates to the plotting area.
type scale struct {
	x0, x1, y0, y1 float64 // data domain
	left, right    float64 // pixel range of x
	top, bottom    float64 // pixel range of y (bottom is y0)
}

func newScale(x0, x1, y0, y1 float64, rightMargin float64) scale {
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	return scale{x0: x0, x1: x1, y0: y0, y1: y1,
		left: marginLeft, right: chartWidth - rightMargin, top: marginTop, bottom: chartHeight - marginBot}
}

func (s scale) X(v float64) float64 { return s.left + (v-s.x0)/(s.x1-s.x0)*(s.right-s.left) }
func (s scale) Y(v float64) float64 { return s.bottom - (v-s.y0)/(s.y1-s.y0)*(s.bottom-s.top) }

// px formats a pixel coordinate with one decimal, which is plenty on screen and keeps pages small.
func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// niceStep returns a round step (1, 2 or 5 times a power of ten) giving about n intervals over span.
func niceStep(span float64, n int) float64 {
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

// niceMax rounds v up to a multiple of a nice step, so the top gridline has a round label.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	st := niceStep(v, 5)
	return math.Ceil(v/st) * st
}

// fmtTick formats an axis label: no decimals for steps of at least one, else enough to tell
// ticks apart.
func fmtTick(v, step float64) string {
	if step >= 1 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	d := int(math.Ceil(-math.Log10(step)))
	return strconv.FormatFloat(v, 'f', d, 64)
}

// svgOpen starts an SVG element with an accessible name and description.
func svgOpen(b *strings.Builder, id, class, title, desc string, attrs string) {
	fmt.Fprintf(b, `<svg id="%s" class="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12"%s>`,
		esc(id), esc(class), chartWidth, chartHeight, esc(id), esc(id), attrs)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

// yAxis draws horizontal gridlines with labels and the axis title.
func yAxis(b *strings.Builder, s scale, label string) {
	step := niceStep(s.y1-s.y0, 5)
	b.WriteString(`<g class="y-axis">`)
	for v := math.Ceil(s.y0/step) * step; v <= s.y1+step/1e6; v += step {
		y := px(s.Y(v))
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, px(s.left), px(s.right), y, y, colGrid)
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle" fill="%s">%s</text>`, px(s.left-6), y, colAxis, fmtTick(v, step))
	}
	fmt.Fprintf(b, `<text x="14" y="%s" transform="rotate(-90 14 %s)" text-anchor="middle" fill="%s">%s</text>`,
		px((s.top+s.bottom)/2), px((s.top+s.bottom)/2), colAxis, esc(label))
	b.WriteString(`</g>`)
}

// dateTicks returns tick dates for a span of days: month starts, every few months for long
// spans, or Mondays for spans of a few weeks.
func dateTicks(first, last prevoir.Date) (ticks []prevoir.Date, layout string) {
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

// xDateAxis draws date ticks along the bottom.
func xDateAxis(b *strings.Builder, s scale, first, last prevoir.Date) {
	ticks, layout := dateTicks(first, last)
	b.WriteString(`<g class="x-axis">`)
	fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, px(s.left), px(s.right), px(s.bottom), px(s.bottom), colAxis)
	for _, d := range ticks {
		x := px(s.X(float64(d)))
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, x, x, px(s.bottom), px(s.bottom+5), colAxis)
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, x, px(s.bottom+18), colAxis, d.Time().Format(layout))
	}
	b.WriteString(`</g>`)
}

// polylines draws a line through the points, broken where a value is missing.
func polylines(b *strings.Builder, pts [][2]float64, attrs string) {
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
		seg = append(seg, px(p[0])+","+px(p[1]))
	}
	flush()
}

// fanInput is what the fan chart draws: the observed history and, when there is one, the
// forecast with its central intervals.
type fanInput struct {
	ID     string
	Target string
	Dates  []prevoir.Date
	Values []float64
	// Forecast is nil when no model has made one yet.
	Forecast *prevoir.Forecast
}

// fanLevels are the central intervals of the fan, widest first so narrower bands paint on top.
var fanLevels = [...]struct {
	coverage float64
	opacity  string
	label    string
}{{0.95, "0.15", "95% range"}, {0.80, "0.25", "80% range"}, {0.50, "0.4", "50% range"}}

// fanChart draws the observed series and the forecast as a fan chart: the median line and the
// 50%, 80% and 95% ranges as nested bands. Each forecast day and each observed day has a hover
// target whose <title> gives its values.
func fanChart(in fanInput) template.HTML {
	var b strings.Builder
	fc := in.Forecast
	var first, last prevoir.Date
	switch {
	case len(in.Dates) > 0:
		first, last = in.Dates[0], in.Dates[len(in.Dates)-1]
	case fc != nil && len(fc.Dates) > 0:
		first, last = fc.Origin, fc.Origin
	default:
		return template.HTML(`<p class="empty">No data to chart yet.</p>`)
	}
	ymax := 0.0
	for _, v := range in.Values {
		if !math.IsNaN(v) {
			ymax = max(ymax, v)
		}
	}
	if fc != nil && len(fc.Dates) > 0 {
		first = min(first, fc.Origin)
		last = max(last, fc.Dates[len(fc.Dates)-1])
		for i := range fc.Dates {
			ymax = max(ymax, fc.Point[i])
			if _, hi, ok := fc.Interval(i, 0.95); ok {
				ymax = max(ymax, hi)
			}
		}
	}
	s := newScale(float64(first)-0.5, float64(last)+0.5, 0, niceMax(ymax*1.05), marginRight)
	desc := fmt.Sprintf("Daily %s from %s to %s", in.Target, first, last)
	var fcDates []string
	if fc != nil {
		desc += fmt.Sprintf("; forecast from %s for %d days, with 50%%, 80%% and 95%% ranges", fc.Origin, len(fc.Dates))
		for _, d := range fc.Dates {
			fcDates = append(fcDates, d.String())
		}
	}
	svgOpen(&b, in.ID, "chart fan-chart", "Observed and forecast daily deaths in hospital", desc,
		` data-forecast-dates="`+esc(strings.Join(fcDates, " "))+`"`)
	yAxis(&b, s, "deaths per day")
	xDateAxis(&b, s, first, last)

	// Forecast bands and median.
	if fc != nil && len(fc.Dates) > 0 {
		for _, lv := range fanLevels {
			var upper, lower []string
			for i, d := range fc.Dates {
				lo, hi, ok := fc.Interval(i, lv.coverage)
				if !ok {
					upper = nil
					break
				}
				x := px(s.X(float64(d)))
				upper = append(upper, x+","+px(s.Y(hi)))
				lower = append(lower, x+","+px(s.Y(lo)))
			}
			if upper == nil {
				continue
			}
			for i := len(lower) - 1; i >= 0; i-- {
				upper = append(upper, lower[i])
			}
			fmt.Fprintf(&b, `<polygon class="band band-%d" points="%s" fill="%s" fill-opacity="%s"/>`,
				int(lv.coverage*100), strings.Join(upper, " "), colForecast, lv.opacity)
		}
		// The median starts at the last observed value so the two lines join.
		var pts [][2]float64
		if i := indexOfDate(in.Dates, fc.Origin); i >= 0 && !math.IsNaN(in.Values[i]) {
			pts = append(pts, [2]float64{s.X(float64(fc.Origin)), s.Y(in.Values[i])})
		}
		for i, d := range fc.Dates {
			pts = append(pts, [2]float64{s.X(float64(d)), s.Y(fc.Point[i])})
		}
		b.WriteString(`<g class="median">`)
		polylines(&b, pts, `stroke="`+colForecast+`" stroke-width="2" stroke-dasharray="6 3"`)
		b.WriteString(`</g>`)
		ox := px(s.X(float64(fc.Origin) + 0.5))
		fmt.Fprintf(&b, `<line class="origin" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="2 3"/>`, ox, ox, px(s.top), px(s.bottom), colAxis)
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="%s" text-anchor="end">forecast →</text>`, px(s.X(float64(fc.Origin)+0.5)-4), px(s.top+12), colAxis)
	}

	// Observed series.
	pts := make([][2]float64, len(in.Dates))
	for i, d := range in.Dates {
		pts[i] = [2]float64{s.X(float64(d)), math.NaN()}
		if !math.IsNaN(in.Values[i]) {
			pts[i][1] = s.Y(in.Values[i])
		}
	}
	b.WriteString(`<g class="observed">`)
	polylines(&b, pts, `stroke="`+colObserved+`" stroke-width="1.5"`)
	b.WriteString(`</g>`)

	// Hover targets: one full-height column per day.
	colW := (s.right - s.left) / (s.x1 - s.x0)
	b.WriteString(`<g class="hover">`)
	for i, d := range in.Dates {
		v := "no value"
		if !math.IsNaN(in.Values[i]) {
			v = fmtNum(in.Values[i], 0) + " deaths observed"
		}
		fmt.Fprintf(&b, `<rect class="obs-point" data-date="%s" x="%s" y="%s" width="%s" height="%s" fill="transparent"><title>%s: %s</title></rect>`,
			d, px(s.X(float64(d))-colW/2), px(s.top), px(colW), px(s.bottom-s.top), d, v)
	}
	if fc != nil {
		for i, d := range fc.Dates {
			tip := fmt.Sprintf("%s (day %d): median %s", d, i+1, fmtNum(fc.Point[i], 1))
			for j := len(fanLevels) - 1; j >= 0; j-- {
				if lo, hi, ok := fc.Interval(i, fanLevels[j].coverage); ok {
					tip += fmt.Sprintf("; %s %s–%s", fanLevels[j].label, fmtNum(lo, 1), fmtNum(hi, 1))
				}
			}
			x := s.X(float64(d))
			fmt.Fprintf(&b, `<g class="fc-point" data-date="%s"><rect x="%s" y="%s" width="%s" height="%s" fill="transparent"/><circle cx="%s" cy="%s" r="3" fill="%s"/><title>%s</title></g>`,
				d, px(x-colW/2), px(s.top), px(colW), px(s.bottom-s.top), px(x), px(s.Y(fc.Point[i])), colForecast, esc(tip))
		}
	}
	b.WriteString(`</g>`)

	// Legend.
	lx, ly := s.left+10, s.top+6
	b.WriteString(`<g class="legend">`)
	fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"/><text x="%s" y="%s" dominant-baseline="middle">observed</text>`,
		px(lx), px(lx+18), px(ly), px(ly), colObserved, px(lx+24), px(ly))
	if fc != nil {
		ly += 16
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="6 3"/><text x="%s" y="%s" dominant-baseline="middle">forecast (median)</text>`,
			px(lx), px(lx+18), px(ly), px(ly), colForecast, px(lx+24), px(ly))
		for j := len(fanLevels) - 1; j >= 0; j-- {
			ly += 16
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="18" height="10" fill="%s" fill-opacity="%s"/><text x="%s" y="%s" dominant-baseline="middle">%s</text>`,
				px(lx), px(ly-5), colForecast, fanLevels[j].opacity, px(lx+24), px(ly), fanLevels[j].label)
		}
	}
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String())
}

func indexOfDate(dates []prevoir.Date, d prevoir.Date) int {
	for i := len(dates) - 1; i >= 0; i-- {
		if dates[i] == d {
			return i
		}
	}
	return -1
}

// lineSeries is one line of a line chart; X and Y have the same length, a NaN Y is a gap.
type lineSeries struct {
	Name string
	X    []float64
	Y    []float64
	// Bold draws the line thicker (the champion).
	Bold bool
}

// lineInput describes a line chart: X is a number (XLabel, e.g. the horizon) or, with XDates,
// a day number drawn as dates.
type lineInput struct {
	ID, Title, Desc string
	XLabel, YLabel  string
	XDates          bool
	Series          []lineSeries
	// YFormat formats a value in a tooltip (one decimal when nil).
	YFormat func(float64) string
}

// lineChart draws several series with a legend and a hover tooltip on each point.
func lineChart(in lineInput) template.HTML {
	x0, x1, ymax := math.Inf(1), math.Inf(-1), 0.0
	n := 0
	for _, sr := range in.Series {
		for i, x := range sr.X {
			if math.IsNaN(sr.Y[i]) {
				continue
			}
			x0, x1, ymax = min(x0, x), max(x1, x), max(ymax, sr.Y[i])
			n++
		}
	}
	if n == 0 {
		return template.HTML(`<p class="empty">Nothing to chart yet.</p>`)
	}
	yf := in.YFormat
	if yf == nil {
		yf = func(v float64) string { return fmtNum(v, 1) }
	}
	legendW := 170.0
	pad := 0.5
	if in.XDates {
		pad = 1
	}
	s := newScale(x0-pad, x1+pad, 0, niceMax(ymax*1.05), marginRight+legendW)
	var b strings.Builder
	svgOpen(&b, in.ID, "chart line-chart", in.Title, in.Desc, "")
	yAxis(&b, s, in.YLabel)
	if in.XDates {
		xDateAxis(&b, s, prevoir.Date(x0), prevoir.Date(x1))
	} else {
		step := math.Max(1, niceStep(x1-x0, 10))
		b.WriteString(`<g class="x-axis">`)
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, px(s.left), px(s.right), px(s.bottom), px(s.bottom), colAxis)
		for v := math.Ceil(x0/step) * step; v <= x1; v += step {
			fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, px(s.X(v)), px(s.bottom+18), colAxis, fmtTick(v, step))
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, px((s.left+s.right)/2), px(s.bottom+36), colAxis, esc(in.XLabel))
		b.WriteString(`</g>`)
	}
	for k, sr := range in.Series {
		col := seriesColor(k)
		width := "1.5"
		if sr.Bold {
			width = "3"
		}
		pts := make([][2]float64, len(sr.X))
		for i := range sr.X {
			pts[i] = [2]float64{s.X(sr.X[i]), math.NaN()}
			if !math.IsNaN(sr.Y[i]) {
				pts[i][1] = s.Y(sr.Y[i])
			}
		}
		fmt.Fprintf(&b, `<g class="series" data-name="%s">`, esc(sr.Name))
		polylines(&b, pts, `stroke="`+col+`" stroke-width="`+width+`"`)
		for i := range sr.X {
			if math.IsNaN(sr.Y[i]) {
				continue
			}
			xl := fmtNum(sr.X[i], 0)
			if in.XDates {
				xl = prevoir.Date(sr.X[i]).String()
			} else if in.XLabel != "" {
				xl = in.XLabel + " " + xl
			}
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="4" fill="%s" fill-opacity="0.01" stroke="none"><title>%s, %s: %s</title></circle>`,
				px(pts[i][0]), px(pts[i][1]), col, esc(sr.Name), esc(xl), esc(yf(sr.Y[i])))
		}
		b.WriteString(`</g>`)
		ly := s.top + 8 + float64(k)*18
		lx := s.right + 16
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="%s"/><text x="%s" y="%s" dominant-baseline="middle">%s</text>`,
			px(lx), px(lx+18), px(ly), px(ly), col, width, px(lx+24), px(ly), esc(truncate(sr.Name, 22)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// esc escapes text for HTML and SVG content and attribute values.
func esc(s string) string { return template.HTMLEscapeString(s) }

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// fmtNum formats a number with d decimals, and a missing one as a dash.
func fmtNum(v float64, d int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}
