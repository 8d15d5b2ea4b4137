package backtest

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
)

// SVG layout, in pixels.
const (
	svgWidth   = 960
	svgLeft    = 64
	svgRight   = 200 // room for the legend
	svgPanelH  = 300
	svgTop     = 40
	svgGap     = 80
	svgBottom  = 40
	svgPlotW   = svgWidth - svgLeft - svgRight
	svgHeight  = svgTop + 2*svgPanelH + svgGap + svgBottom
	offScaleAt = 2.0 // models with a MAE above this multiple of the best are not drawn in panel 2
	maxLines   = 10  // nor more than this many models (the palette's size)
)

// color returns the i-th colour of a palette of distinguishable colours (Okabe & Ito 2008,
// colour-blind safe, then greys).
func color(i int) string {
	p := [...]string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000", "#777777", "#AAAAAA"}
	return p[i%len(p)]
}

// WriteSVG draws two charts as a standalone SVG document: the champion's forecasts at every
// origin (point forecast and 80% interval) against the observed values over the backtest
// span, and the MAE by horizon of the (at most 10) best models whose MAE is within twice the
// best (the others are listed).
func WriteSVG(w io.Writer, res *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, svgHeight, svgWidth, svgHeight)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	forecastPanel(&b, res, svgTop)
	horizonPanel(&b, res, svgTop+svgPanelH+svgGap)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// scale maps data values to pixels.
type scale struct{ d0, d1, p0, p1 float64 }

func (s scale) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.p0 + s.p1) / 2
	}
	return s.p0 + (v-s.d0)/(s.d1-s.d0)*(s.p1-s.p0)
}

// niceStep returns a round tick step (1, 2 or 5 times a power of ten) giving about n ticks.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
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

func esc(s string) string { return html.EscapeString(s) }

func polyline(b *strings.Builder, pts [][2]float64, stroke string, width float64) {
	if len(pts) == 0 {
		return
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="%g" points="`, stroke, width)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%.1f,%.1f", p[0], p[1])
	}
	b.WriteString(`"/>` + "\n")
}

// yAxis draws horizontal grid lines with labels.
func yAxis(b *strings.Builder, y scale, top float64) {
	step := niceStep(y.d1-y.d0, 5)
	for v := math.Ceil(y.d0/step) * step; v <= y.d1+1e-9; v += step {
		py := y.at(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", svgLeft, py, svgLeft+svgPlotW, py)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", svgLeft-6, py, trimFloat(v))
	}
	fmt.Fprintf(b, `<rect x="%d" y="%.1f" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", svgLeft, top, svgPlotW, svgPanelH)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func forecastPanel(b *strings.Builder, res *Result, top float64) {
	champ := res.Champion
	actual := map[prevoir.Date]float64{}
	var rows []Row
	for _, r := range res.Forecasts {
		if !math.IsNaN(float64(r.Actual)) {
			actual[r.Date] = float64(r.Actual)
		}
		if r.Model == champ {
			rows = append(rows, r)
		}
	}
	title := fmt.Sprintf("Champion %s: %d-day forecasts from each origin, 80%% interval, observed values (black)", champ, res.Protocol.Horizon)
	if champ == "" {
		title = "No champion (see the leaderboard): observed values (black)"
	}
	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="14" font-weight="bold">%s</text>`+"\n", svgLeft, top-14, esc(title))
	if len(rows) == 0 && len(actual) == 0 {
		return
	}
	var d0, d1 prevoir.Date = math.MaxInt32, math.MinInt32
	vmax := 0.0
	for d, v := range actual {
		d0, d1 = min(d0, d), max(d1, d)
		vmax = math.Max(vmax, v)
	}
	lo, hi := level(res.Protocol.Quantiles, 0.1), level(res.Protocol.Quantiles, 0.9)
	for _, r := range rows {
		d0, d1 = min(d0, r.Origin), max(d1, r.Date)
		vmax = math.Max(vmax, r.Point)
		if hi >= 0 && len(r.Quantiles) > hi {
			vmax = math.Max(vmax, r.Quantiles[hi])
		}
	}
	x := scale{float64(d0), float64(d1), svgLeft, svgLeft + svgPlotW}
	y := scale{0, vmax * 1.05, top + svgPanelH, top}
	yAxis(b, y, top)
	// Month ticks.
	for d := d0; d <= d1; d++ {
		if t := d.Time(); t.Day() == 1 {
			px := x.at(float64(d))
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/>`+"\n", px, top+svgPanelH, px, top+svgPanelH+5)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px, top+svgPanelH+18, t.Format("2006-01"))
		}
	}
	// Forecast paths by origin.
	byOrigin := map[prevoir.Date][]Row{}
	var origins []prevoir.Date
	for _, r := range rows {
		if _, ok := byOrigin[r.Origin]; !ok {
			origins = append(origins, r.Origin)
		}
		byOrigin[r.Origin] = append(byOrigin[r.Origin], r)
	}
	slices.Sort(origins)
	for _, o := range origins {
		rs := byOrigin[o]
		slices.SortFunc(rs, func(a, b Row) int { return a.Horizon - b.Horizon })
		if lo >= 0 && hi >= 0 {
			var up, down []string
			for _, r := range rs {
				if len(r.Quantiles) > hi {
					px := x.at(float64(r.Date))
					up = append(up, fmt.Sprintf("%.1f,%.1f", px, y.at(r.Quantiles[hi])))
					down = append(down, fmt.Sprintf("%.1f,%.1f", px, y.at(r.Quantiles[lo])))
				}
			}
			slices.Reverse(down)
			if len(up) > 0 {
				fmt.Fprintf(b, `<polygon fill="%s" fill-opacity="0.15" stroke="none" points="%s"/>`+"\n", color(0), strings.Join(append(up, down...), " "))
			}
		}
		pts := make([][2]float64, 0, len(rs))
		for _, r := range rs {
			pts = append(pts, [2]float64{x.at(float64(r.Date)), y.at(r.Point)})
		}
		polyline(b, pts, color(0), 1.2)
	}
	days := make([]prevoir.Date, 0, len(actual))
	for d := range actual {
		days = append(days, d)
	}
	slices.Sort(days)
	var pts [][2]float64
	for i, d := range days {
		if i > 0 && d != days[i-1]+1 { // a gap: draw separate segments
			polyline(b, pts, "black", 1.5)
			pts = nil
		}
		pts = append(pts, [2]float64{x.at(float64(d)), y.at(actual[d])})
	}
	polyline(b, pts, "black", 1.5)
	fmt.Fprintf(b, `<text x="%d" y="%.1f" transform="rotate(-90 %d %.1f)" text-anchor="middle">%s</text>`+"\n",
		16, top+svgPanelH/2, 16, top+svgPanelH/2, esc(res.Protocol.Target+" per day"))
}

func horizonPanel(b *strings.Builder, res *Result, top float64) {
	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="14" font-weight="bold">MAE by horizon (days ahead)</text>`+"\n", svgLeft, top-14)
	h := res.Protocol.Horizon
	best := math.Inf(1)
	for _, m := range res.Models {
		if v := float64(m.MAE); v < best {
			best = v
		}
	}
	var shown, off []ModelScore
	vmax := 0.0
	for _, m := range res.Models {
		if math.IsNaN(float64(m.MAE)) || float64(m.MAE) > offScaleAt*best || len(shown) == maxLines {
			off = append(off, m)
			continue
		}
		shown = append(shown, m)
		for _, v := range m.MAEByHorizon {
			if !math.IsNaN(v) {
				vmax = math.Max(vmax, v)
			}
		}
	}
	x := scale{1, float64(max(h, 2)), svgLeft + 10, svgLeft + svgPlotW - 10}
	y := scale{0, vmax * 1.05, top + svgPanelH, top}
	yAxis(b, y, top)
	for k := 1; k <= h; k++ {
		px := x.at(float64(k))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", px, top+svgPanelH+18, k)
	}
	ly := top + 10
	for i, m := range shown {
		col := color(i)
		width := 1.5
		if m.Name == res.Champion {
			width = 3
		}
		var pts [][2]float64
		for k, v := range m.MAEByHorizon {
			if !math.IsNaN(v) {
				pts = append(pts, [2]float64{x.at(float64(k + 1)), y.at(v)})
			}
		}
		polyline(b, pts, col, width)
		lx := float64(svgLeft + svgPlotW + 12)
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="%s" stroke-width="%g"/>`+"\n", lx, ly, lx+18, ly, col, width)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" dominant-baseline="middle">%s</text>`+"\n", lx+24, ly, esc(fmt.Sprintf("%s (%.2f)", m.Name, float64(m.MAE))))
		ly += 16
	}
	if len(off) > 0 {
		lx := svgLeft + svgPlotW + 12
		fmt.Fprintf(b, `<text x="%d" y="%.1f" fill="#777">not drawn:</text>`+"\n", lx, ly+8)
		for i := 0; i < len(off); i += 3 {
			names := make([]string, 0, 3)
			for _, m := range off[i:min(i+3, len(off))] {
				names = append(names, m.Name)
			}
			ly += 14
			fmt.Fprintf(b, `<text x="%d" y="%.1f" fill="#777">%s</text>`+"\n", lx, ly+8, esc(strings.Join(names, ", ")))
		}
	}
}
