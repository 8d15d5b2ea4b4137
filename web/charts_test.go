package web

import (
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir"
)

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
