package web

import (
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
)

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct {
		span float64
		n    int
		want float64
	}{{100, 5, 20}, {7, 5, 2}, {0.3, 5, 0.1}, {1450, 5, 500}, {0, 5, 1}, {math.NaN(), 5, 1}} {
		if got := niceStep(tc.span, tc.n); got != tc.want {
			t.Errorf("niceStep(%v, %d) = %v, want %v", tc.span, tc.n, got, tc.want)
		}
	}
	if got := niceMax(287); got != 300 {
		t.Errorf("niceMax(287) = %v", got)
	}
}

func TestDateTicks(t *testing.T) {
	d := prevoir.MustParseDate
	ticks, layout := dateTicks(d("2022-09-03"), d("2022-12-31"))
	var got []string
	for _, x := range ticks {
		got = append(got, x.String())
	}
	if strings.Join(got, " ") != "2022-10-01 2022-11-01 2022-12-01" || layout != "Jan 2006" {
		t.Errorf("4 months: %v %q", got, layout)
	}
	ticks, _ = dateTicks(d("2020-03-19"), d("2022-12-31"))
	for _, x := range ticks {
		if m := x.Time().Month(); m != 1 && m != 7 || x.Time().Day() != 1 {
			t.Errorf("2.8 years: tick %s is not a 1 January or 1 July", x)
		}
	}
	ticks, layout = dateTicks(d("2022-12-18"), d("2023-01-14"))
	if len(ticks) != 4 || layout != "2 Jan" || ticks[0].Weekday() != 1 {
		t.Errorf("4 weeks: %v %q", ticks, layout)
	}
}

func TestFanChartDrawsGapsAndEscapes(t *testing.T) {
	origin := prevoir.MustParseDate("2022-12-31")
	in := fanInput{ID: "c", Target: "incid_dchosp"}
	for i := range 10 {
		in.Dates = append(in.Dates, origin-prevoir.Date(9-i))
		in.Values = append(in.Values, float64(10+i))
	}
	in.Values[4] = math.NaN() // a gap splits the observed line in two
	fc := &prevoir.Forecast{Model: `<script>alert(1)</script>`, Origin: origin, Quantiles: []float64{0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975}}
	for i := 1; i <= 3; i++ {
		fc.Dates = append(fc.Dates, origin+prevoir.Date(i))
		fc.Point = append(fc.Point, 20)
		fc.Values = append(fc.Values, []float64{5, 10, 15, 20, 25, 30, 35})
	}
	in.Forecast = fc
	svg := string(fanChart(in))
	if n := strings.Count(svg, `<polyline fill="none" points=`); n != 3 { // two observed pieces, the median
		t.Errorf("%d polylines, want 3", n)
	}
	for _, want := range []string{`class="band band-95"`, `class="band band-80"`, `class="band band-50"`, `data-forecast-dates="2023-01-01 2023-01-02 2023-01-03"`,
		`<title>2023-01-02 (day 2): median 20.0; 50% range 15.0–25.0; 80% range 10.0–30.0; 95% range 5.0–35.0</title>`, `<title>2022-12-26: no value</title>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %s", want)
		}
	}
	if strings.Contains(svg, "style=") || strings.Contains(svg, "<script") {
		t.Errorf("chart has inline style or script")
	}

	lc := string(lineChart(lineInput{ID: "l", Title: "t", Series: []lineSeries{{Name: `a<b>"c"`, X: []float64{1, 2}, Y: []float64{1, math.NaN()}}}}))
	if strings.Contains(lc, `a<b>`) || !strings.Contains(lc, `a&lt;b&gt;&#34;c&#34;`) {
		t.Errorf("series name not escaped: %s", lc)
	}
	if got := string(lineChart(lineInput{ID: "e"})); !strings.Contains(got, "Nothing to chart") {
		t.Errorf("empty line chart: %s", got)
	}
	if got := string(fanChart(fanInput{ID: "e"})); !strings.Contains(got, "No data") {
		t.Errorf("empty fan chart: %s", got)
	}
}

func TestPromLabelsAreEscaped(t *testing.T) {
	var p promWriter
	p.sample("m", 1.5, "l", "a\"b\\c\nd")
	if got := p.b.String(); got != `m{l="a\"b\\c\nd"} 1.5`+"\n" {
		t.Errorf("sample = %q", got)
	}
}
