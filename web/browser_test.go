package web_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

// chromiumPath finds Debian's Chromium (scripts/setup-test-env.sh installs it), or
// $PREVOIR_CHROMIUM. Without it the browser tests are skipped, except under CI=true, where a
// missing browser is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("PREVOIR_CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found under CI: scripts/setup-test-env.sh installs it (apt-get install chromium)")
	}
	t.Skip("chromium not found (apt-get install chromium, or set PREVOIR_CHROMIUM): skipping the browser test")
	return ""
}

// artifactDir is where the browser tests write screenshots: $PREVOIR_TEST_ARTIFACTS, or
// test-artifacts/ at the module root (git-ignored).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PREVOIR_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(testutil.ModuleRoot(t), "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is a headless Chromium tab that records the console errors and the requests of
// the pages it loads.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	errors   []string
	requests []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	b := &browser{ctx: bctx}
	err := chromedp.Listen(bctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				b.errors = append(b.errors, "console."+string(ev.Type))
			}
		case *runtime.EventExceptionThrown:
			b.errors = append(b.errors, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				b.errors = append(b.errors, string(ev.Entry.Level)+" "+string(ev.Entry.Source)+": "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// check fails the test on any console error so far, or any request that left base (the
// test server on 127.0.0.1), and resets the records.
func (b *browser) check(t *testing.T, base string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("browser console: %s", e)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.requests) == 0 {
		t.Errorf("no request recorded: the network listener does not work")
	}
	for _, r := range b.requests {
		ru, err := url.Parse(r)
		if err != nil || ru.Host != u.Host || ru.Hostname() != "127.0.0.1" {
			t.Errorf("request to %s: only %s may be contacted", r, u.Host)
		}
	}
	b.errors, b.requests = nil, nil
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100) /* 100: PNG, lossless */)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

func evalJSON[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("evaluate %s: %v (%s)", expr, err, raw)
	}
	return v
}

func oneDecimal(v prevoir.Number) string { return strconv.FormatFloat(float64(v), 'f', 1, 64) }

func TestBrowserDashboard(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken})
	b := newBrowser(t)

	var api web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &api)

	if err := chromedp.Do(b.ctx, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#forecast-chart"))); err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}
	title, err := chromedp.Run(b.ctx, chromedp.Title())
	if err != nil || !strings.Contains(title, "Forecast") {
		t.Errorf("title %q, %v", title, err)
	}

	// The chart shows the forecast dates: in its data attribute and as hover titles.
	var wantDates []string
	for _, d := range api.Days {
		wantDates = append(wantDates, d.Date.String())
	}
	attr, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("#forecast-chart"), "data-forecast-dates"))
	if err != nil || attr.Value != strings.Join(wantDates, " ") {
		t.Errorf("chart forecast dates = %q, %v; want %v", attr.Value, err, wantDates)
	}
	type point struct{ Date, Title string }
	points := evalJSON[[]point](t, b, `Array.from(document.querySelectorAll('#forecast-chart .fc-point')).map(g => ({Date: g.dataset.date, Title: g.querySelector('title').textContent}))`)
	if len(points) != len(api.Days) {
		t.Fatalf("%d forecast points in the chart, want %d", len(points), len(api.Days))
	}
	for i, p := range points {
		d := api.Days[i]
		if p.Date != d.Date.String() || !strings.HasPrefix(p.Title, d.Date.String()) || !strings.Contains(p.Title, "median "+oneDecimal(d.Point)) ||
			!strings.Contains(p.Title, "80% range "+oneDecimal(d.Lower80)+"–"+oneDecimal(d.Upper80)) {
			t.Errorf("chart point %d: %+v; API day %+v", i, p, d)
		}
	}
	// The chart is drawn: the bands and the lines have a size on screen.
	box := evalJSON[map[string]float64](t, b, `(() => { const r = document.querySelector('#forecast-chart .band-95').getBoundingClientRect(); const s = document.querySelector('#forecast-chart').getBoundingClientRect(); return {bw: r.width, bh: r.height, sw: s.width, sh: s.height}; })()`)
	if box["bw"] < 10 || box["bh"] < 10 || box["sw"] < 600 || box["sh"] < 200 {
		t.Errorf("chart sizes on screen: %v", box)
	}

	// The table below the chart has the API's numbers.
	rows := evalJSON[[][]string](t, b, `Array.from(document.querySelectorAll('#forecast-table tbody tr')).map(tr => Array.from(tr.children).map(c => c.textContent.trim()))`)
	if len(rows) != len(api.Days) {
		t.Fatalf("%d table rows, want %d", len(rows), len(api.Days))
	}
	for i, d := range api.Days {
		want := []string{d.Date.String(), strconv.Itoa(d.Horizon), oneDecimal(d.Point),
			oneDecimal(d.Lower50) + " – " + oneDecimal(d.Upper50), oneDecimal(d.Lower80) + " – " + oneDecimal(d.Upper80), oneDecimal(d.Lower95) + " – " + oneDecimal(d.Upper95)}
		if !slices.Equal(rows[i], want) {
			t.Errorf("table row %d = %q, want %q", i, rows[i], want)
		}
	}

	// Plain words: what is forecast, how good it has been, when it was updated.
	text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Over the 14 days from " + api.Days[0].Date.String(), "off by 11.5 deaths per day on average", "The latest published day is 2022-12-31", "version 2 (ets)"} {
		if !strings.Contains(text, want) {
			t.Errorf("dashboard text lacks %q", want)
		}
	}
	b.screenshot(t, "dashboard.png")
	b.check(t, f.ts.URL)

	// The span selector is a link: one year of history has 365 observed days in the chart.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`.spans a[href="/?days=365"]`)), chromedp.WaitVisible(chromedp.CSS(`.spans a.current[href="/?days=365"]`))); err != nil {
		t.Fatalf("choose one year: %v", err)
	}
	if n := evalJSON[int](t, b, `document.querySelectorAll('#forecast-chart .obs-point').length`); n != 365 {
		t.Errorf("one year of history: %d observed days in the chart", n)
	}
	b.check(t, f.ts.URL)

	// The other pages load cleanly too (a CSP violation would be a console error).
	for _, p := range []struct{ path, sel, shot string }{
		{"/models", "#leaderboard", "models.png"},
		{"/runs", "#runs-table", "runs.png"},
		{"/runs/" + f.seeded.Champion.RunID, "#metrics-table", "run.png"},
		{"/data", "#sources-table", "data.png"},
		{"/actions", "form", "actions.png"},
	} {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(f.ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel))); err != nil {
			t.Fatalf("load %s: %v", p.path, err)
		}
		b.screenshot(t, p.shot)
		b.check(t, f.ts.URL)
		if p.path == "/models" {
			// The leaderboard chart has a line per backtested model.
			if n := evalJSON[int](t, b, `document.querySelectorAll('#horizon-chart .series').length`); n != 3 {
				t.Errorf("horizon chart: %d series, want 3", n)
			}
		}
	}
}

func TestBrowserNoModelYet(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "data"})
	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#no-forecast"))); err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}
	text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#no-forecast")))
	if err != nil || !strings.Contains(text, "No model trained yet") {
		t.Errorf("no-forecast notice = %q, %v", text, err)
	}
	// The observed history is still charted, without forecast points.
	if n := evalJSON[int](t, b, `document.querySelectorAll('#forecast-chart .obs-point').length`); n != 120 {
		t.Errorf("%d observed days in the chart, want 120", n)
	}
	if n := evalJSON[int](t, b, `document.querySelectorAll('#forecast-chart .fc-point, #forecast-table').length`); n != 0 {
		t.Errorf("%d forecast elements without a forecast", n)
	}
	b.screenshot(t, "dashboard-no-model.png")
	b.check(t, f.ts.URL)
}

// TestBrowserLeaderboard: the models page shows the backtest's leaderboard in its order, with
// the weekly columns beside the daily ones, as a browser renders it.
func TestBrowserLeaderboard(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", prepare: func(t *testing.T, env *seed.Env) { logBacktest(t, env, weeklyBacktest()) }})
	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(f.ts.URL+"/models"), chromedp.WaitVisible(chromedp.CSS("#leaderboard"))); err != nil {
		t.Fatalf("load the models page: %v", err)
	}
	header := evalJSON[[]string](t, b, `Array.from(document.querySelectorAll('#leaderboard thead th')).map(th => th.textContent.trim())`)
	rows := evalJSON[[][]string](t, b, `Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(tr => Array.from(tr.children).map(c => c.textContent.trim()))`)
	col := slices.Index(header, "Weekly error vs naive")
	if col < 0 || !slices.Contains(header, "WIS vs naive") {
		t.Fatalf("leaderboard header %q lacks the relative and weekly columns", header)
	}
	if len(rows) != 3 {
		t.Fatalf("%d leaderboard rows, want 3", len(rows))
	}
	var names []string
	for _, r := range rows {
		names = append(names, strings.Fields(r[0])[0])
	}
	if !slices.Equal(names, []string{"ets", "theta", "lin"}) {
		t.Errorf("leaderboard order %v, want ets theta lin (the failed model last)", names)
	}
	if got := []string{rows[0][col], rows[1][col], rows[2][col]}; !slices.Equal(got, []string{"0.710", "0.830", "–"}) {
		t.Errorf("weekly relative AE column %v, want 0.710 0.830 –", got)
	}
	b.check(t, f.ts.URL)
}

// TestBrowserSwitchTargets: the reader switches the dashboard from the default target to the
// second one with the selector, and sees that target's forecast; the home page's lines link to
// each target's page, and the other pages keep the target.
func TestBrowserSwitchTargets(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "targets"})
	b := newBrowser(t)
	var deaths, hosp web.ForecastResponse
	f.getJSON(t, "/api/v1/forecast", 200, &deaths)
	f.getJSON(t, "/api/v1/forecast?target="+seed.SecondTarget, 200, &hosp)
	firstPoint := func() string {
		t.Helper()
		return evalJSON[string](t, b, `document.querySelector('#forecast-table tbody tr td.point').textContent.trim()`)
	}

	if err := chromedp.Do(b.ctx, chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#target-selector"))); err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}
	if got := firstPoint(); got != oneDecimal(deaths.Days[0].Point) {
		t.Errorf("default dashboard: first forecast day %s, want the deaths' %s", got, oneDecimal(deaths.Days[0].Point))
	}
	// One line per target on the home page, in the API's order, each linking to its page.
	lines := evalJSON[[][]string](t, b, `Array.from(document.querySelectorAll('#targets-table tbody tr')).map(tr => [tr.dataset.target, tr.querySelector('a').getAttribute('href'), tr.querySelector('td.trend').textContent.trim()])`)
	if len(lines) != len(prevoir.Targets()) {
		t.Fatalf("%d target lines, want %d", len(lines), len(prevoir.Targets()))
	}
	for i, want := range prevoir.TargetNames() {
		href := "/?target=" + want
		if want == prevoir.DefaultTarget {
			href = "/"
		}
		if lines[i][0] != want || lines[i][1] != href {
			t.Errorf("target line %d = %q, want %s linking to %s", i, lines[i], want, href)
		}
	}
	if !strings.HasPrefix(lines[3][2], "down") || !strings.HasPrefix(lines[0][2], "flat") {
		t.Errorf("trends %q %q, want flat for the deaths and down for hosp", lines[0][2], lines[3][2])
	}
	b.screenshot(t, "dashboard-targets.png")
	b.check(t, f.ts.URL)

	// Switch with the selector: the page, the table and the chart are hosp's.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#target-selector a[data-target="hosp"]`)),
		chromedp.WaitVisible(chromedp.CSS(`h1[data-target="hosp"]`))); err != nil {
		t.Fatalf("switch to hosp: %v", err)
	}
	if got := firstPoint(); got != oneDecimal(hosp.Days[0].Point) || got == oneDecimal(deaths.Days[0].Point) {
		t.Errorf("hosp's dashboard: first forecast day %s, want hosp's %s", got, oneDecimal(hosp.Days[0].Point))
	}
	loc := evalJSON[string](t, b, `location.pathname + location.search`)
	cur := evalJSON[string](t, b, `document.querySelector('#target-selector a.current').dataset.target`)
	if loc != "/?target=hosp" || cur != "hosp" {
		t.Errorf("after the switch: at %s, current target %s", loc, cur)
	}
	attr, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("#forecast-chart"), "data-forecast-dates"))
	if err != nil || !strings.HasPrefix(attr.Value, hosp.Days[0].Date.String()) {
		t.Errorf("hosp's chart forecast dates = %q, %v", attr.Value, err)
	}
	// The span selector and the navigation keep the target.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`.chart-section .spans a[href="/?target=hosp&days=365"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.chart-section .spans a.current[href="/?target=hosp&days=365"]`))); err != nil {
		t.Fatalf("choose one year of hosp: %v", err)
	}
	if got := firstPoint(); got != oneDecimal(hosp.Days[0].Point) {
		t.Errorf("hosp's year: first forecast day %s", got)
	}
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`nav[aria-label="main"] a[href="/models?target=hosp"]`)),
		chromedp.WaitVisible(chromedp.CSS("#leaderboard"))); err != nil {
		t.Fatalf("go to hosp's models: %v", err)
	}
	rows := evalJSON[[]string](t, b, `Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(tr => tr.children[0].textContent.trim().split(/\s+/)[0])`)
	if !slices.Equal(rows, []string{"ets", "snaive"}) {
		t.Errorf("hosp's leaderboard %v, want ets snaive", rows)
	}
	b.screenshot(t, "models-hosp.png")
	b.check(t, f.ts.URL)
}
