package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/monitor"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = [...]string{"dashboard", "models", "runs", "run", "data", "actions", "job", "message"}

var templateFuncs = template.FuncMap{
	"num": func(v any, d int) string {
		switch x := v.(type) {
		case prevoir.Number:
			return fmtNum(float64(x), d)
		case float64:
			return fmtNum(x, d)
		case int:
			return strconv.Itoa(x)
		}
		return fmt.Sprint(v)
	},
	"pct": func(v prevoir.Number) string {
		if !v.Valid() {
			return "–"
		}
		return strconv.FormatFloat(100*float64(v), 'f', 0, 64) + "%"
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"ago": ago,
	// signedPct is a relative change in percent, with its sign.
	"signedPct": func(v prevoir.Number) string {
		sign := ""
		if v > 0 {
			sign = "+"
		}
		return sign + strconv.FormatFloat(100*float64(v), 'f', 0, 64) + "%"
	},
	"short": func(s string) string { return truncate(s, 13) },
	// revisedColumns lists a revision's changed columns, those the frame uses first.
	"revisedColumns": func(r *prevoir.Revision) string {
		used, others := r.ChangedColumnsByUse(prevoir.DefaultFrameOptions().Columns())
		var parts []string
		for _, c := range append(used, others...) {
			parts = append(parts, fmt.Sprintf("%s (%d)", c, r.ChangedColumns[c]))
		}
		if len(used) > 0 && len(others) > 0 {
			parts[len(used)] = "not used: " + parts[len(used)]
		}
		return strings.Join(parts, " ")
	},
	"dur": func(a, b time.Time) string {
		if b.IsZero() || a.IsZero() {
			return "–"
		}
		return b.Sub(a).Round(time.Second).String()
	},
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
	"join": strings.Join,
}

// ago says how long before now t was, in words.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < 2*time.Minute:
		return "just now"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// loadAssets reads the embedded static files into memory once. Only these names are served:
// no request path reaches a file system.
func loadAssets() (map[string]*blob, error) {
	types := map[string]string{".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	out := map[string]*blob{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		ct, ok := types[name[strings.LastIndexByte(name, '.'):]]
		if !ok {
			return fmt.Errorf("web: static file %s: unknown type", name)
		}
		out["static/"+name] = withGzip(&blob{status: http.StatusOK, ctype: ct, body: body, etag: newBlobETag(body)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	out["api-index"] = jsonBlob(http.StatusOK, apiIndex)
	return out, nil
}

// apiIndex describes the API for a person exploring it at /api/v1/.
var apiIndex = map[string]any{
	"endpoints": []map[string]string{
		{"path": "/api/v1/targets", "what": "the served targets (name, column, label, unit, kind), the default one, and each one's summary: last observed value and date, champion, next week's forecast (the total of days 1-7 for a daily count, their mean for an occupancy), the same over the past week and the trend (up/down/flat beyond/within 5%)"},
		{"path": "/api/v1/forecast", "query": "target, format=json|csv", "what": "the served forecast, the champion's from the latest origin: dates, point, the 23 quantile levels of the forecast hubs, 50/80/95% ranges, model version, data snapshots, made-at; weeks: the weekly totals with their own quantiles when the model gives them (JSON only); is_champion false with a note while a new champion's forecast is pending; 404 before the champion has forecast"},
		{"path": "/api/v1/history", "query": "target, days=N|all or from=YYYY-MM-DD&to=YYYY-MM-DD, format=json|csv", "what": "the target's observed daily values"},
		{"path": "/api/v1/forecasts", "query": "target, limit=1..100, version=N, format=json|csv", "what": "past forecasts and their realised errors"},
		{"path": "/api/v1/leaderboard", "query": "target, format=json|csv, table=backtest|live (csv)", "what": "backtest and live metrics of the models, the champion and its history"},
		{"path": "/api/v1/runs", "query": "target, kind, status, name, limit, format=json|csv", "what": "recorded runs, newest first (every target's unless target is given)"},
		{"path": "/api/v1/runs/{id}", "what": "a run with its parameters, metrics and artifacts"},
		{"path": "/api/v1/models", "query": "target, format=json|csv", "what": "the target's registered model's versions and aliases"},
		{"path": "/api/v1/models/{version}", "query": "target", "what": "one model version"},
		{"path": "/api/v1/data", "what": "data freshness: current snapshot, last date and age of each source; the frame"},
		{"path": "/api/v1/snapshots", "query": "source, limit, format=json|csv", "what": "stored releases of the sources and what each revised"},
		{"path": "/api/v1/jobs/{id}", "what": "state of a job queued by an action"},
		{"path": "/api/v1/alerts", "query": "target=NAME|all", "what": "monitoring alerts: model drift, stale sources, quarantined releases, failing flows (every target's, or one target's drift with the others)"},
		{"path": "POST /api/v1/actions/refresh|retrain|promote", "what": "actions; need Authorization: Bearer <admin token>; retrain and promote take {\"target\": NAME} (the default target when absent); promote takes {\"version\": N, \"reason\": \"...\", \"force\": false} and refuses (409) a version the champion rule refuses unless force, and queues the champion's forecast (its job_id)"},
		{"path": "/healthz, /readyz, /metrics", "what": "liveness, readiness, Prometheus metrics"},
	},
}

// page is what every page template gets.
type page struct {
	Title  string
	Active string
	Now    time.Time
	// Model is the registered model of Target, the target the page is about (the default one
	// on pages about none).
	Model  string
	Target prevoir.Target
	// TQ is the query that keeps the target in the navigation's links: "?target=NAME", or ""
	// for the default target.
	TQ string
	// Targets switch the page to another target (none on pages that show no target's things).
	Targets        []targetLink
	ActionsEnabled bool
	// AutoRefresh reloads the page every so many seconds (a job in progress), without script.
	AutoRefresh int
	// Alerts are the monitoring alerts, shown on every page.
	Alerts []monitor.Alert
}

// targetLink is a link of the target selector.
type targetLink struct {
	Name, Label, URL string
	Current          bool
}

// activePaths are the pages' paths, by their navigation name.
var activePaths = map[string]string{"forecast": "/", "models": "/models", "runs": "/runs", "data": "/data", "actions": "/actions"}

// targetQuery is the query that names t in a page's URL: none for the default target, so that
// its pages keep their URLs.
func (s *Server) targetQuery(t prevoir.Target) string {
	if t.Name == s.defTarget {
		return ""
	}
	return "?target=" + url.QueryEscape(t.Name)
}

// basePage is the layout's data for a page about st's target (the default one when st is nil);
// selector adds the links that show the same page for the other targets.
func (s *Server) basePage(st *state, title, active string, selector bool) page {
	p := page{Title: title, Active: active, ActionsEnabled: s.actionsEnabled(), Now: s.now()}
	if st == nil {
		if sh := s.state.Load(); sh != nil {
			st = sh.def
		}
	}
	if st == nil {
		p.Model, p.Target.Name = s.defTarget, s.defTarget
		return p
	}
	p.Now, p.Alerts, p.Model, p.Target, p.TQ = st.at, st.alerts, st.model, st.t, s.targetQuery(st.t)
	if path, ok := activePaths[active]; ok && selector && len(st.targets) > 1 {
		for _, o := range st.targets {
			p.Targets = append(p.Targets, targetLink{Name: o.t.Name, Label: o.t.Label, URL: path + s.targetQuery(o.t), Current: o == st})
		}
	}
	return p
}

// execute renders a page template into a blob.
func (s *Server) execute(name string, status int, data any) *blob {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		body := []byte("<!doctype html><title>Error</title><p>internal error: the page could not be rendered</p>\n")
		return &blob{status: http.StatusInternalServerError, ctype: ctypeHTML, body: body, etag: newBlobETag(body)}
	}
	body := buf.Bytes()
	return &blob{status: status, ctype: ctypeHTML, body: body, etag: newBlobETag(body)}
}

// messagePage is the data of the message template (errors, results of actions).
type messagePage struct {
	page
	Status   int
	Message  string
	Link     string
	LinkText string
}

func (s *Server) writeMessagePage(w http.ResponseWriter, r *http.Request, status int, title, msg, link, linkText string) {
	p := messagePage{page: s.basePage(nil, title, "", false), Status: status, Message: msg, Link: link, LinkText: linkText}
	serveBlob(w, r, s.execute("message", status, p))
}

// writePageError answers a page request with an error page.
func (s *Server) writePageError(w http.ResponseWriter, r *http.Request, e *httpError) {
	e = s.public(r, e)
	setRetryAfter(w, e)
	title := http.StatusText(e.status)
	if title == "" {
		title = "Error"
	}
	s.writeMessagePage(w, r, e.status, title, e.msg, "/", "Back to the forecast")
}

func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request) {
	s.writePageError(w, r, notFoundErr("There is no page at %s.", truncate(r.URL.Path, 100)))
}

// static serves the embedded assets by exact name.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	b := s.assets["static/"+r.PathValue("name")]
	if b == nil {
		s.pageNotFound(w, r)
		return
	}
	serveBlob(w, r, b)
}

// --- the dashboard ---

type spanLink struct {
	Label, Value string
	Current      bool
}

type dashboardPage struct {
	page
	// Heading names the target, for the page's title.
	Heading string
	// Lines are every target at a glance, the page's own marked.
	Lines      []targetLine
	Span       string
	Spans      []spanLink
	NoForecast string
	F          *ForecastResponse
	Chart      template.HTML
	// Summary, Quality and Freshness are plain-word sentences for a reader who is not a data
	// scientist.
	Summary   []string
	Quality   []string
	Freshness []string
	Observed  []HistoryDay // newest first
}

const defaultSpan = "120"

var spanLabels = map[string]string{"60": "2 months", "120": "4 months", "365": "1 year", "all": "everything"}

// targetLine is a target's line on the dashboard: its summary and the link to its page.
type targetLine struct {
	TargetSummary
	URL     string
	Current bool
}

// heading is a target's page title: its label, capitalised.
func heading(t prevoir.Target) string {
	if t.Label == "" {
		return t.Name
	}
	return strings.ToUpper(t.Label[:1]) + t.Label[1:]
}

// perDay is a target's unit in words ("deaths per day", "patients").
func perDay(t prevoir.Target) string { return strings.ReplaceAll(t.Unit, "/day", " per day") }

func (s *Server) dashboard(st *state, span string) *blob {
	p := dashboardPage{page: s.basePage(st, "Forecast: "+heading(st.t), "forecast", true), Heading: heading(st.t), Span: span, F: st.forecastResp}
	for _, o := range st.targets {
		p.Lines = append(p.Lines, targetLine{TargetSummary: o.summary, URL: "/" + s.targetQuery(o.t), Current: o == st})
	}
	for _, sp := range spans {
		p.Spans = append(p.Spans, spanLink{Label: spanLabels[sp], Value: sp, Current: sp == span})
	}
	n, _ := parseDays(span)
	from, to := st.lastDays(n)
	h := st.history(from, to)
	var fc *prevoir.Forecast
	if st.served != nil {
		fc = &st.served.Forecast
	}
	in := fanInput{ID: "forecast-chart", Target: st.target, Label: st.t.Label, Unit: perDay(st.t), Forecast: fc}
	for _, d := range h.Days {
		in.Dates = append(in.Dates, d.Date)
		in.Values = append(in.Values, float64(d.Value))
	}
	p.Chart = fanChart(in)
	for i := len(h.Days) - 1; i >= 0; i-- {
		p.Observed = append(p.Observed, h.Days[i])
	}
	switch {
	case st.forecastResp == nil && st.champion == nil:
		p.NoForecast = "No model trained yet, so there is no forecast to show. Once the models have been trained and the forecast flow has run, the next 14 days will appear here. The chart shows the observed numbers meanwhile."
	case st.forecastResp == nil:
		p.NoForecast = fmt.Sprintf("The model has been chosen (version %d, %s), and its first forecast is pending: it is queued after a training or promotion, or made by the next daily refresh, and the next 14 days will then appear here. The chart shows the observed numbers meanwhile.",
			st.champion.Version, st.champion.Family)
	default:
		p.Summary = forecastSentences(st)
	}
	p.Quality = qualitySentences(st)
	p.Freshness = freshnessSentences(st)
	return s.execute("dashboard", http.StatusOK, p)
}

// forecastSentences says what is forecast, in plain words.
func forecastSentences(st *state) []string {
	fr := st.forecastResp
	if len(fr.Days) == 0 {
		return nil
	}
	lo, hi, total := math.Inf(1), math.Inf(-1), 0.0
	for _, d := range fr.Days {
		lo, hi = min(lo, float64(d.Point)), max(hi, float64(d.Point))
		total += float64(d.Point)
	}
	first, last := fr.Days[0], fr.Days[len(fr.Days)-1]
	perDayUnit := perDay(st.t)
	perDay := "between " + fmtNum(lo, 0) + " and " + fmtNum(hi, 0)
	if fmtNum(lo, 0) == fmtNum(hi, 0) {
		perDay = "about " + fmtNum(lo, 0)
	}
	var out []string
	if st.t.Kind == prevoir.KindOccupancy {
		out = append(out, fmt.Sprintf("Over the %d days from %s to %s, prevoir expects %s %s each day (%s with COVID-19 in France, middle estimate), and about %s on %s.",
			len(fr.Days), first.Date, last.Date, perDay, perDayUnit, st.t.Label, fmtNum(float64(last.Point), 0), last.Date))
	} else {
		out = append(out, fmt.Sprintf("Over the %d days from %s to %s, prevoir expects %s %s from COVID-19 in France (%s, middle estimate), about %s in all.",
			len(fr.Days), first.Date, last.Date, perDay, perDayUnit, st.t.Label, fmtNum(total, 0)))
	}
	if last.Lower80.Valid() {
		out = append(out, fmt.Sprintf("The further ahead, the less certain: for %s there is an 80%% chance that the number will be between %s and %s, and a 95%% chance between %s and %s.",
			last.Date, fmtNum(float64(last.Lower80), 0), fmtNum(float64(last.Upper80), 0), fmtNum(float64(last.Lower95), 0), fmtNum(float64(last.Upper95), 0)))
	}
	made := fmt.Sprintf("This forecast was made on %s by model version %d (%s), from the data up to %s.", fr.MadeAt.UTC().Format("2 January 2006 at 15:04 UTC"), fr.Version, fr.Family, fr.Origin)
	if fr.Note != "" {
		made += fmt.Sprintf(" Version %d (%s) has since become the champion, and its forecast is pending: it is queued after a promotion or training, or made by the next daily refresh, and will replace this one.",
			st.champion.Version, st.champion.Family)
	}
	return append(out, made)
}

// qualitySentences say how good the forecasts have been.
func qualitySentences(st *state) []string {
	if st.champion == nil {
		return []string{"No model has been chosen yet, so there is no accuracy to report."}
	}
	var out []string
	if mae := st.championBacktestMAE(); mae.Valid() {
		out = append(out, fmt.Sprintf("Tested on past data as if it were forecasting then (a backtest), the current model (%s, version %d) was off by %s %s on average.",
			st.champion.Family, st.champion.Version, fmtNum(float64(mae), 1), perDay(st.t)))
	} else {
		out = append(out, fmt.Sprintf("The current model (%s, version %d) has no backtest result to show yet.", st.champion.Family, st.champion.Version))
	}
	if l := st.championLive(); l != nil {
		out = append(out, fmt.Sprintf("Checked against what really happened on its last %d forecast days (%s to %s), its forecasts were off by %s %s on average, and the real number fell inside the 80%% range %s of the time (ideally 80%%).",
			l.Days, l.From, l.To, fmtNum(float64(l.MAE), 1), perDay(st.t), fmtNum(100*float64(l.Coverage80), 0)+"%"))
	} else {
		out = append(out, "Its forecasts have not yet been checked against real numbers: that happens once the forecast days have been published.")
	}
	return out
}

// freshnessSentences say when the data and the forecast were last updated.
func freshnessSentences(st *state) []string {
	var out []string
	if d := st.dataLastDate(); d != 0 {
		age := int(prevoir.DateOf(st.at.UTC()) - d)
		out = append(out, fmt.Sprintf("The latest published day is %s (%d days ago).", d, age))
	} else {
		out = append(out, "No data has been fetched yet.")
	}
	var checked time.Time
	for _, f := range st.sources {
		if f.LastChecked.After(checked) {
			checked = f.LastChecked
		}
	}
	if !checked.IsZero() {
		out = append(out, fmt.Sprintf("The sources were last checked %s (%s).", ago(st.at, checked), checked.UTC().Format("2006-01-02 15:04 UTC")))
	}
	return out
}

func (s *Server) pageDashboard(w http.ResponseWriter, r *http.Request) {
	if s.current(w, r) == nil {
		return
	}
	q, err := parseQuery(r, "days", "target")
	if err != nil {
		s.writePageError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	span := q.Get("days")
	if span == "" {
		span = defaultSpan
	}
	if !slices.Contains(spans[:], span) {
		s.writePageError(w, r, badRequest("days %q: want 60, 120, 365 or all", truncate(span, 20)))
		return
	}
	respond(w, r, st, "page:dashboard:"+span, func() *blob { return s.dashboard(st, span) })
}

// --- models ---

type modelsPage struct {
	page
	Champion       *prevoir.ModelVersion
	ChampionSince  time.Time
	ChampionReason string
	Backtest       *Backtest
	BacktestMsg    string
	HorizonChart   template.HTML
	LiveChart      template.HTML
	Live           []LiveScore
	LiveWindow     int // days of a version's live error, up to its latest scored date (prevoir.LiveWindow)
	History        []*prevoir.AliasChange
	Versions       []VersionView
}

func (s *Server) modelsPage(st *state) *blob {
	p := modelsPage{page: s.basePage(st, "Models", "models", true), Champion: st.champion, Backtest: st.backtest, BacktestMsg: st.backtestMsg,
		Live: st.live, LiveWindow: prevoir.LiveWindow, History: st.aliasHistory, Versions: st.modelsView().Versions}
	for _, ch := range st.aliasHistory {
		if st.champion != nil && ch.Version == st.champion.Version {
			p.ChampionSince, p.ChampionReason = ch.At, ch.Reason
			break
		}
	}
	if st.backtest != nil {
		in := lineInput{ID: "horizon-chart", Title: "Backtest error by days ahead",
			Desc:   "Mean absolute error of each model's backtest forecasts, by how many days ahead they forecast",
			XLabel: "days ahead", YLabel: "mean error (" + st.t.Unit + ")"}
		for _, m := range st.backtest.Models {
			sr := lineSeries{Name: m.Name, Bold: m.Champion}
			for i, v := range m.MAEByHorizon {
				sr.X = append(sr.X, float64(i+1))
				sr.Y = append(sr.Y, float64(v))
			}
			in.Series = append(in.Series, sr)
		}
		p.HorizonChart = lineChart(in)
	}
	if len(st.liveDaily) > 0 {
		in := lineInput{ID: "live-chart", Title: "Live error over time", XDates: true,
			Desc:   "Mean absolute error of each model version's forecasts for each observed day",
			YLabel: "mean error (" + st.t.Unit + ")"}
		byVersion := map[int]*lineSeries{}
		var order []int
		for _, d := range st.liveDaily {
			sr := byVersion[d.Version]
			if sr == nil {
				name := "v" + strconv.Itoa(d.Version)
				sr = &lineSeries{Name: name, Bold: st.champion != nil && st.champion.Version == d.Version}
				byVersion[d.Version] = sr
				order = append(order, d.Version)
			}
			sr.X = append(sr.X, float64(d.Date))
			sr.Y = append(sr.Y, float64(d.MAE))
		}
		for _, v := range order {
			sr := byVersion[v]
			for _, vv := range st.versions {
				if vv.Version == v {
					sr.Name += " " + vv.Family
				}
			}
			in.Series = append(in.Series, *sr)
		}
		p.LiveChart = lineChart(in)
	}
	return s.execute("models", http.StatusOK, p)
}

func (s *Server) pageModels(w http.ResponseWriter, r *http.Request) {
	s.servePage(w, r, "page:models", s.modelsPage)
}

// --- runs ---

type runsPage struct {
	page
	Kind     string
	Kinds    []spanLink
	Runs     []*RunDetail
	Versions []VersionView
	Kept     int
}

func (s *Server) runsPage(st *state, kind string) *blob {
	p := runsPage{page: s.basePage(st, "Runs and model versions", "runs", true), Kind: kind, Versions: st.modelsView().Versions, Kept: s.cfg.RunsKept}
	p.Kinds = append(p.Kinds, spanLink{Label: "all", Value: "", Current: kind == ""})
	for _, k := range runKinds() {
		p.Kinds = append(p.Kinds, spanLink{Label: k, Value: k, Current: kind == k})
	}
	for _, d := range st.runs {
		if c := runTarget(d.Run); (kind == "" || string(d.Kind) == kind) && (c == "" || c == st.target) {
			p.Runs = append(p.Runs, d)
		}
	}
	return s.execute("runs", http.StatusOK, p)
}

func (s *Server) pageRuns(w http.ResponseWriter, r *http.Request) {
	if s.current(w, r) == nil {
		return
	}
	q, err := parseQuery(r, "kind", "target")
	if err != nil {
		s.writePageError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	kind := q.Get("kind")
	if kind != "" && !slices.Contains(runKinds(), kind) {
		s.writePageError(w, r, badRequest("kind %q: want one of %s", truncate(kind, 20), strings.Join(runKinds(), ", ")))
		return
	}
	respond(w, r, st, "page:runs:"+kind, func() *blob { return s.runsPage(st, kind) })
}

type keyValue struct{ Key, Value string }

type metricRow struct {
	Key   string
	Last  float64
	Steps int
}

type runPage struct {
	page
	Run       *RunDetail
	Params    []keyValue
	Tags      []keyValue
	Lineage   []keyValue
	Metrics   []metricRow
	Charts    []template.HTML
	Artifacts []prevoir.Artifact
}

// maxRunCharts bounds the metric curves drawn on a run's page.
const maxRunCharts = 6

func sortedPairs(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{k, v})
	}
	slices.SortFunc(out, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func (s *Server) runPage(d *RunDetail) *blob {
	p := runPage{page: s.basePage(nil, "Run "+truncate(d.ID, 13), "runs", false), Run: d, Params: sortedPairs(d.Params), Tags: sortedPairs(d.Tags), Artifacts: d.Artifacts}
	lin := map[string]string{"frame_sha256": d.FrameSHA256, "code_version": d.CodeVersion}
	for src, sha := range d.Snapshots {
		lin["snapshot "+src] = sha
	}
	for _, kv := range sortedPairs(lin) {
		if kv.Value != "" {
			p.Lineage = append(p.Lineage, kv)
		}
	}
	series := map[string]*lineSeries{}
	for _, m := range d.Metrics {
		n := len(p.Metrics)
		if n == 0 || p.Metrics[n-1].Key != m.Key {
			p.Metrics = append(p.Metrics, metricRow{Key: m.Key})
			n++
		}
		p.Metrics[n-1].Last = m.Value
		p.Metrics[n-1].Steps++
		sr := series[m.Key]
		if sr == nil {
			sr = &lineSeries{Name: m.Key}
			series[m.Key] = sr
		}
		sr.X = append(sr.X, float64(m.Step))
		sr.Y = append(sr.Y, m.Value)
	}
	for _, mr := range p.Metrics {
		if mr.Steps < 2 || len(p.Charts) == maxRunCharts {
			continue
		}
		p.Charts = append(p.Charts, lineChart(lineInput{ID: "metric-" + strconv.Itoa(len(p.Charts)), Title: mr.Key + " by step",
			Desc: "Values of the metric " + mr.Key + " logged by the run, by step", XLabel: "step", YLabel: mr.Key,
			Series: []lineSeries{*series[mr.Key]}, YFormat: func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }}))
	}
	return s.execute("run", http.StatusOK, p)
}

func (s *Server) pageRun(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	if _, err := parseQuery(r); err != nil {
		s.writePageError(w, r, statusOf(err))
		return
	}
	d, herr := s.findRun(st, r.PathValue("id"))
	if herr != nil {
		s.writePageError(w, r, herr)
		return
	}
	serveBlob(w, r, s.runPage(d))
}

// --- data ---

type dataPage struct {
	page
	Sources   []SourceFreshness
	Frame     *FrameSummary
	FrameErr  string
	Snapshots []*prevoir.Snapshot
}

func (s *Server) dataPage(st *state) *blob {
	dv := st.dataView()
	p := dataPage{page: s.basePage(st, "Data", "data", false), Sources: dv.Sources, Frame: dv.Frame, FrameErr: dv.FrameError, Snapshots: st.snapshots}
	return s.execute("data", http.StatusOK, p)
}

func (s *Server) pageData(w http.ResponseWriter, r *http.Request) {
	s.servePage(w, r, "page:data", s.dataPage)
}

// --- actions and jobs ---

type actionsPage struct {
	page
	Versions []VersionView
	Champion *prevoir.ModelVersion
}

func (s *Server) actionsPage(st *state) *blob {
	p := actionsPage{page: s.basePage(st, "Actions", "actions", true), Versions: st.modelsView().Versions, Champion: st.champion}
	return s.execute("actions", http.StatusOK, p)
}

func (s *Server) pageActions(w http.ResponseWriter, r *http.Request) {
	s.servePage(w, r, "page:actions", s.actionsPage)
}

type jobPage struct {
	page
	Job *prevoir.JobStatus
}

func (s *Server) pageJob(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r); err != nil {
		s.writePageError(w, r, statusOf(err))
		return
	}
	if !s.actionsEnabled() {
		s.writePageError(w, r, notFoundErr("Actions are disabled on this server, so there are no jobs to follow."))
		return
	}
	id, herr := parseJobID(r.PathValue("id"))
	if herr != nil {
		s.writePageError(w, r, herr)
		return
	}
	js, err := s.jobState(r.Context(), id)
	if err != nil {
		s.writePageError(w, r, statusOf(err))
		return
	}
	p := jobPage{page: s.basePage(nil, "Job "+strconv.FormatInt(id, 10), "actions", false), Job: js}
	p.Now = s.now()
	if !js.Done {
		p.AutoRefresh = 2
	}
	serveBlob(w, r, s.execute("job", http.StatusOK, p))
}

// renderPages pre-renders the pages for the common requests: every page of the default
// target, and the other targets' pages but their runs by kind (a page not pre-rendered is
// rendered on request, from the same snapshot).
func (s *Server) renderPages(st *state, put func(key string, b *blob)) {
	for _, sp := range spans {
		put("page:dashboard:"+sp, s.dashboard(st, sp))
	}
	put("page:models", s.modelsPage(st))
	put("page:runs:", s.runsPage(st, ""))
	for _, k := range runKinds() {
		if st == st.def {
			put("page:runs:"+k, s.runsPage(st, k))
		}
	}
	put("page:data", s.dataPage(st))
	put("page:actions", s.actionsPage(st))
}

// render fills the targets' pre-rendered answers; those the same for every target are
// rendered once, and those the same as in prev keep prev's compressed bytes.
func (s *Server) render(sh, prev *shared) error {
	prevBlobs := func(name string) map[string]*blob {
		if prev == nil {
			return nil
		}
		st, err := prev.target(name)
		if err != nil {
			return nil
		}
		return st.blobs
	}
	common := map[string]*blob{}
	renderSharedAPI(sh, putBlob(common, prevBlobs("")))
	for _, st := range sh.targets {
		st.blobs = maps.Clone(common)
		put := putBlob(st.blobs, prevBlobs(st.model))
		renderAPI(st, put)
		s.renderPages(st, put)
		for k, b := range st.blobs {
			if b.status == http.StatusInternalServerError && b.ctype == ctypeHTML {
				return fmt.Errorf("render %s of %s failed", k, st.model)
			}
		}
	}
	return nil
}

// putBlob returns a function that stores a pre-rendered answer in dst, compressed: an answer
// with the same bytes as prev's (most, from one refresh to the next) reuses prev's, so that a
// refresh compresses only what changed.
func putBlob(dst, prev map[string]*blob) func(key string, b *blob) {
	return func(key string, b *blob) {
		if p := prev[key]; p != nil && p.etag == b.etag && p.status == b.status && p.ctype == b.ctype {
			dst[key] = p
			return
		}
		dst[key] = withGzip(b)
	}
}

// servePage answers a page that takes no parameters with the blob build makes from the
// current state (cached under key).
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, key string, build func(*state) *blob) {
	if s.current(w, r) == nil {
		return
	}
	q, err := parseQuery(r, "target")
	if err != nil {
		s.writePageError(w, r, statusOf(err))
		return
	}
	st := s.currentTarget(w, r, q)
	if st == nil {
		return
	}
	respond(w, r, st, key, func() *blob { return build(st) })
}
