package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/svgplot"
)

// The charts are drawn here, on the server, as inline SVG (with internal/svgplot, which the
// backtest report shares): no chart library to vendor or keep up to date, no script for the
// Content-Security-Policy to allow, a page that shows its numbers with JavaScript off, and hover
// values through SVG <title> elements, which every browser shows as a tooltip. Colours and sizes
// are SVG presentation attributes, not style attributes, because the policy (style-src 'self')
// forbids inline styles.

// Chart geometry, in SVG user units; the SVG scales to its container's width.
const (
	chartWidth  = 960
	chartHeight = 380
	marginLeft  = 60
	marginRight = 20
	marginTop   = 20
	marginBot   = 44
)

// Colours of the charts' data (the axes' are svgplot's).
const (
	colObserved = "#1f2937"
	colForecast = "#1d4ed8"
)

// newScale maps the data domain onto a chart's plotting area, leaving rightMargin for a legend.
func newScale(x0, x1, y0, y1 float64, rightMargin float64) svgplot.Scale {
	return svgplot.NewScale(x0, x1, y0, y1, marginLeft, chartWidth-rightMargin, marginTop, chartHeight-marginBot)
}

// svgOpen starts a chart's SVG element with an accessible name and description.
func svgOpen(b *strings.Builder, id, class, title, desc string, attrs string) {
	svgplot.Open(b, id, class, title, desc, chartWidth, chartHeight, attrs)
}

// fanInput is what the fan chart draws: the observed history and, when there is one, the
// forecast with its central intervals.
type fanInput struct {
	ID     string
	Target string
	// Label and Unit say what the target is ("new deaths in hospital", "deaths per day").
	Label, Unit string
	Dates       []prevoir.Date
	Values      []float64
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
	s := newScale(float64(first)-0.5, float64(last)+0.5, 0, svgplot.NiceMax(ymax*1.05), marginRight)
	desc := fmt.Sprintf("Daily %s from %s to %s", in.Target, first, last)
	var fcDates []string
	if fc != nil {
		desc += fmt.Sprintf("; forecast from %s for %d days, with 50%%, 80%% and 95%% ranges", fc.Origin, len(fc.Dates))
		for _, d := range fc.Dates {
			fcDates = append(fcDates, d.String())
		}
	}
	svgOpen(&b, in.ID, "chart fan-chart", "Observed and forecast: "+in.Label, desc,
		` data-forecast-dates="`+svgplot.Esc(strings.Join(fcDates, " "))+`"`)
	svgplot.YAxis(&b, s, in.Unit)
	svgplot.XDateAxis(&b, s, first, last)

	// Forecast bands and median.
	if fc != nil && len(fc.Dates) > 0 {
		for _, lv := range fanLevels {
			var upper, lower [][2]float64
			for i, d := range fc.Dates {
				lo, hi, ok := fc.Interval(i, lv.coverage)
				if !ok {
					upper = nil
					break
				}
				x := s.X(float64(d))
				upper = append(upper, [2]float64{x, s.Y(hi)})
				lower = append(lower, [2]float64{x, s.Y(lo)})
			}
			svgplot.Band(&b, upper, lower, fmt.Sprintf(`class="band band-%d" fill="%s" fill-opacity="%s"`, int(lv.coverage*100), colForecast, lv.opacity))
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
		svgplot.Polylines(&b, pts, `stroke="`+colForecast+`" stroke-width="2" stroke-dasharray="6 3"`)
		b.WriteString(`</g>`)
		ox := svgplot.Px(s.X(float64(fc.Origin) + 0.5))
		fmt.Fprintf(&b, `<line class="origin" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="2 3"/>`, ox, ox, svgplot.Px(s.Top), svgplot.Px(s.Bottom), svgplot.ColAxis)
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="%s" text-anchor="end">forecast →</text>`, svgplot.Px(s.X(float64(fc.Origin)+0.5)-4), svgplot.Px(s.Top+12), svgplot.ColAxis)
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
	svgplot.Polylines(&b, pts, `stroke="`+colObserved+`" stroke-width="1.5"`)
	b.WriteString(`</g>`)

	// Hover targets: one full-height column per day.
	colW := (s.Right - s.Left) / (s.X1 - s.X0)
	b.WriteString(`<g class="hover">`)
	for i, d := range in.Dates {
		v := "no value"
		if !math.IsNaN(in.Values[i]) {
			v = fmtNum(in.Values[i], 0) + " deaths observed"
		}
		fmt.Fprintf(&b, `<rect class="obs-point" data-date="%s" x="%s" y="%s" width="%s" height="%s" fill="transparent"><title>%s: %s</title></rect>`,
			d, svgplot.Px(s.X(float64(d))-colW/2), svgplot.Px(s.Top), svgplot.Px(colW), svgplot.Px(s.Bottom-s.Top), d, v)
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
				d, svgplot.Px(x-colW/2), svgplot.Px(s.Top), svgplot.Px(colW), svgplot.Px(s.Bottom-s.Top), svgplot.Px(x), svgplot.Px(s.Y(fc.Point[i])), colForecast, svgplot.Esc(tip))
		}
	}
	b.WriteString(`</g>`)

	// Legend.
	lx, ly := s.Left+10, s.Top+6
	b.WriteString(`<g class="legend">`)
	svgplot.LegendLine(&b, lx, ly, `stroke="`+colObserved+`" stroke-width="2"`, "observed")
	if fc != nil {
		ly += 16
		svgplot.LegendLine(&b, lx, ly, `stroke="`+colForecast+`" stroke-width="2" stroke-dasharray="6 3"`, "forecast (median)")
		for j := len(fanLevels) - 1; j >= 0; j-- {
			ly += 16
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="18" height="10" fill="%s" fill-opacity="%s"/><text x="%s" y="%s" dominant-baseline="middle">%s</text>`,
				svgplot.Px(lx), svgplot.Px(ly-5), colForecast, fanLevels[j].opacity, svgplot.Px(lx+24), svgplot.Px(ly), fanLevels[j].label)
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
	s := newScale(x0-pad, x1+pad, 0, svgplot.NiceMax(ymax*1.05), marginRight+legendW)
	var b strings.Builder
	svgOpen(&b, in.ID, "chart line-chart", in.Title, in.Desc, "")
	svgplot.YAxis(&b, s, in.YLabel)
	if in.XDates {
		svgplot.XDateAxis(&b, s, prevoir.Date(x0), prevoir.Date(x1))
	} else {
		svgplot.XAxis(&b, s, x0, x1, in.XLabel)
	}
	for k, sr := range in.Series {
		col := svgplot.Color(k)
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
		fmt.Fprintf(&b, `<g class="series" data-name="%s">`, svgplot.Esc(sr.Name))
		svgplot.Polylines(&b, pts, `stroke="`+col+`" stroke-width="`+width+`"`)
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
				svgplot.Px(pts[i][0]), svgplot.Px(pts[i][1]), col, svgplot.Esc(sr.Name), svgplot.Esc(xl), svgplot.Esc(yf(sr.Y[i])))
		}
		b.WriteString(`</g>`)
		ly := s.Top + 8 + float64(k)*18
		lx := s.Right + 16
		svgplot.LegendLine(&b, lx, ly, `stroke="`+col+`" stroke-width="`+width+`"`, truncate(sr.Name, 22))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

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
