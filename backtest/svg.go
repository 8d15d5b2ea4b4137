package backtest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/svgplot"
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
	offScaleAt = 2.0            // models with a MAE above this multiple of the best are not drawn in panel 2
	maxLines   = svgplot.Colors // nor more than the palette's colours
)

// WriteSVG draws two charts as a standalone SVG document: the champion's forecasts at every
// origin (point forecast and 80% interval) against the observed values over the backtest
// span, and the MAE by horizon of the (at most 10) best models whose MAE is within twice the
// best (the others are listed).
func WriteSVG(w io.Writer, res *Result) error {
	var b strings.Builder
	svgplot.Open(&b, "backtest", "backtest-report", "Backtest of "+res.Protocol.Target,
		"The champion's forecasts from every origin against the observed values, and each model's mean absolute error by horizon",
		svgWidth, svgHeight, fmt.Sprintf(` width="%d" height="%d"`, svgWidth, svgHeight))
	b.WriteString("\n" + `<rect width="100%" height="100%" fill="white"/>` + "\n")
	forecastPanel(&b, res, svgTop)
	b.WriteByte('\n')
	horizonPanel(&b, res, svgTop+svgPanelH+svgGap)
	b.WriteString("\n</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// panel maps a panel's data domain onto its plotting area, which starts top pixels down.
func panel(x0, x1, ymax, top float64) svgplot.Scale {
	return svgplot.NewScale(x0, x1, 0, ymax, svgLeft, svgLeft+svgPlotW, top, top+svgPanelH)
}

// frame draws a panel's title, its y axis and the box around its plotting area.
func frame(b *strings.Builder, s svgplot.Scale, top float64, title, ylabel string) {
	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="14" font-weight="bold">%s</text>`, svgLeft, top-14, svgplot.Esc(title))
	svgplot.YAxis(b, s, ylabel)
	fmt.Fprintf(b, `<rect x="%d" y="%.0f" width="%d" height="%d" fill="none" stroke="%s"/>`, svgLeft, top, svgPlotW, svgPanelH, svgplot.ColAxis)
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
	if len(rows) == 0 && len(actual) == 0 {
		fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="14" font-weight="bold">%s</text>`, svgLeft, top-14, svgplot.Esc(title))
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
	s := panel(float64(d0), float64(d1), vmax*1.05, top)
	frame(b, s, top, title, res.Protocol.Target+" per day")
	svgplot.XDateAxis(b, s, d0, d1)
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
	col := svgplot.Color(0)
	for _, o := range origins {
		rs := byOrigin[o]
		slices.SortFunc(rs, func(a, b Row) int { return a.Horizon - b.Horizon })
		if lo >= 0 && hi >= 0 {
			var up, down [][2]float64
			for _, r := range rs {
				if len(r.Quantiles) > hi {
					x := s.X(float64(r.Date))
					up = append(up, [2]float64{x, s.Y(r.Quantiles[hi])})
					down = append(down, [2]float64{x, s.Y(r.Quantiles[lo])})
				}
			}
			svgplot.Band(b, up, down, `fill="`+col+`" fill-opacity="0.15" stroke="none"`)
		}
		pts := make([][2]float64, 0, len(rs))
		for _, r := range rs {
			pts = append(pts, [2]float64{s.X(float64(r.Date)), s.Y(r.Point)})
		}
		svgplot.Polylines(b, pts, `stroke="`+col+`" stroke-width="1.2"`)
	}
	// The observed values, day by day: a day without one breaks the line.
	var pts [][2]float64
	for d := d0; d <= d1; d++ {
		y := math.NaN()
		if v, ok := actual[d]; ok {
			y = s.Y(v)
		}
		pts = append(pts, [2]float64{s.X(float64(d)), y})
	}
	svgplot.Polylines(b, pts, `stroke="black" stroke-width="1.5"`)
}

func horizonPanel(b *strings.Builder, res *Result, top float64) {
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
	s := panel(0.5, float64(h)+0.5, vmax*1.05, top) // half a day beside the first and last horizons
	frame(b, s, top, "MAE by horizon (days ahead)", "mean absolute error")
	svgplot.XAxis(b, s, 1, float64(h), "days ahead")
	lx, ly := float64(svgLeft+svgPlotW+12), top+10
	for i, m := range shown {
		width := "1.5"
		if m.Name == res.Champion {
			width = "3"
		}
		stroke := `stroke="` + svgplot.Color(i) + `" stroke-width="` + width + `"`
		pts := make([][2]float64, 0, len(m.MAEByHorizon))
		for k, v := range m.MAEByHorizon {
			pts = append(pts, [2]float64{s.X(float64(k + 1)), s.Y(v)}) // a NaN MAE is a gap
		}
		svgplot.Polylines(b, pts, stroke)
		svgplot.LegendLine(b, lx, ly, stroke, fmt.Sprintf("%s (%.2f)", m.Name, float64(m.MAE)))
		ly += 16
	}
	if len(off) > 0 {
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" fill="%s">not drawn:</text>`, lx, ly+8, svgplot.ColAxis)
		for i := 0; i < len(off); i += 3 {
			names := make([]string, 0, 3)
			for _, m := range off[i:min(i+3, len(off))] {
				names = append(names, m.Name)
			}
			ly += 14
			fmt.Fprintf(b, `<text x="%.0f" y="%.1f" fill="%s">%s</text>`, lx, ly+8, svgplot.ColAxis, svgplot.Esc(strings.Join(names, ", ")))
		}
	}
}
