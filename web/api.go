package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/monitor"
)

// Limits of the list endpoints.
const (
	defaultForecastsLimit = 20
	maxForecastsLimit     = 100
	defaultRunsLimit      = 50
	defaultSnapshotsLimit = 50
	maxSnapshotsLimit     = 100
	maxHistoryDays        = 100_000
)

// spans are the history spans the dashboard offers, pre-rendered for the API too.
var spans = [...]string{"60", "120", "365", "all"}

const (
	ctypeJSON = "application/json; charset=utf-8"
	ctypeCSV  = "text/csv; charset=utf-8"
	ctypeHTML = "text/html; charset=utf-8"
	ctypeText = "text/plain; version=0.0.4; charset=utf-8"
)

// httpError is an error with the HTTP status and code to answer it with. Its msg is what the
// caller reads; cause, when set, is the internal error it was made from, which only the log
// sees (see Server.public).
type httpError struct {
	status int
	code   string
	msg    string
	cause  error
	// id is the error id the cause was logged under (empty until logged).
	id string
	// retryAfter is how long a refused client must wait (429 and 503 answers); it is sent as
	// Retry-After.
	retryAfter time.Duration
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, code: prevoir.EINVALID, msg: fmt.Sprintf(format, args...)}
}

func notFoundErr(format string, args ...any) *httpError {
	return &httpError{status: http.StatusNotFound, code: prevoir.ENOTFOUND, msg: fmt.Sprintf(format, args...)}
}

// unavailableRetry is the Retry-After of a 503: an outage of a store lasts seconds to minutes,
// and a client that retries sooner only adds load.
const unavailableRetry = 5 * time.Second

// statusOf maps a domain error to an HTTP answer. Not-found, invalid and conflict errors are
// messages prevoir wrote for the caller; a transient failure (prevoir.Transient: a store that
// does not answer) is a 503 the client may retry; any other error may carry internal details
// (a resolver's address, a folder, an SQL error), so it keeps them as the cause, for the log
// only.
func statusOf(err error) *httpError {
	if he, ok := err.(*httpError); ok {
		return he
	}
	if prevoir.Transient(err) {
		return &httpError{status: http.StatusServiceUnavailable, code: prevoir.EUNAVAILABLE, retryAfter: unavailableRetry,
			msg: "the database or the artifact store is unreachable; retry shortly", cause: err}
	}
	switch code := prevoir.ErrorCode(err); code {
	case prevoir.ENOTFOUND:
		return &httpError{status: http.StatusNotFound, code: code, msg: err.Error()}
	case prevoir.EINVALID:
		return &httpError{status: http.StatusBadRequest, code: code, msg: err.Error()}
	case prevoir.ECONFLICT:
		return &httpError{status: http.StatusConflict, code: code, msg: err.Error()}
	default:
		return &httpError{status: http.StatusInternalServerError, code: prevoir.EINTERNAL, msg: "internal error", cause: err}
	}
}

// jsonBlob renders v as compact JSON.
func jsonBlob(status int, v any) *blob {
	body, err := json.Marshal(v)
	if err != nil {
		body, _ = json.Marshal(ErrorResponse{Error: "encode answer: " + err.Error(), Code: prevoir.EINTERNAL})
		status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	return &blob{status: status, ctype: ctypeJSON, body: body, etag: newBlobETag(body)}
}

func errorBlob(e *httpError) *blob {
	return jsonBlob(e.status, ErrorResponse{Error: e.msg, Code: e.code, ErrorID: e.id})
}

// writeAPIError answers an API request with a JSON error: the one place API errors are
// written, so the one place internal details are kept from the caller.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, e *httpError) {
	e = s.public(r, e)
	setRetryAfter(w, e)
	serveBlob(w, r, errorBlob(e))
}

// csvBlob renders a table as CSV; missing numbers are empty fields.
func csvBlob(header []string, rows [][]string) *blob {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(header)
	cw.WriteAll(rows)
	body := buf.Bytes()
	return &blob{status: http.StatusOK, ctype: ctypeCSV, body: body, etag: newBlobETag(body)}
}

// csvNum formats a number for CSV: full precision, empty when missing.
func csvNum[T ~float64](v T) string {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// parseQuery returns the request's parameters, refusing unknown and repeated ones: a typo in
// a parameter name is an error, not a silently ignored filter.
func parseQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query: %v", err)
	}
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return nil, badRequest("unknown parameter %q: this endpoint takes none", k)
			}
			return nil, badRequest("unknown parameter %q: want one of %s", k, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, badRequest("parameter %q given %d times", k, len(vs))
		}
	}
	return q, nil
}

// parseFormatQuery reads a query that may hold the allowed parameters and "format" (json or
// csv): the preamble of every list endpoint.
func parseFormatQuery(r *http.Request, allowed ...string) (url.Values, string, error) {
	q, err := parseQuery(r, append(allowed, "format")...)
	if err != nil {
		return nil, "", err
	}
	format, err := parseFormat(q, true)
	return q, format, err
}

// parseFormat reads format=json|csv (json by default); csv only where a table makes sense.
func parseFormat(q url.Values, csvOK bool) (string, error) {
	switch f := q.Get("format"); f {
	case "", "json":
		return "json", nil
	case "csv":
		if csvOK {
			return "csv", nil
		}
		return "", badRequest("format %q: this endpoint answers json only", f)
	default:
		if csvOK {
			return "", badRequest("format %q: want json or csv", f)
		}
		return "", badRequest("format %q: this endpoint answers json only", f)
	}
}

// parseLimit reads a positive limit no larger than max.
func parseLimit(q url.Values, def, maxN int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxN {
		return 0, badRequest("limit %q: want a whole number from 1 to %d", v, maxN)
	}
	return n, nil
}

// parseDays reads a history span: a number of days or "all" (0).
func parseDays(v string) (int, error) {
	if v == "all" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxHistoryDays {
		return 0, badRequest("days %q: want a whole number from 1 to %d, or all", v, maxHistoryDays)
	}
	return n, nil
}

func parseDateParam(q url.Values, name string) (prevoir.Date, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	d, err := prevoir.ParseDate(v)
	if err != nil {
		return 0, badRequest("%s: %v", name, err)
	}
	return d, nil
}

var runIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// --- builders: each renders one answer from a state ---

func forecastBlob(st *state, format string) *blob {
	if st.forecastResp == nil {
		return errorBlob(notFoundErr("%s", prevoir.NoForecastNote(st.model, st.champion)))
	}
	fr := st.forecastResp
	if format == "json" {
		return jsonBlob(http.StatusOK, fr)
	}
	header := []string{"date", "horizon", "point", "lower_50", "upper_50", "lower_80", "upper_80", "lower_95", "upper_95"}
	for _, q := range fr.QuantileLevels {
		header = append(header, "q"+strconv.FormatFloat(q, 'g', -1, 64))
	}
	var rows [][]string
	for _, d := range fr.Days {
		row := []string{d.Date.String(), strconv.Itoa(d.Horizon), csvNum(d.Point), csvNum(d.Lower50), csvNum(d.Upper50),
			csvNum(d.Lower80), csvNum(d.Upper80), csvNum(d.Lower95), csvNum(d.Upper95)}
		for _, v := range d.Quantiles {
			row = append(row, csvNum(v))
		}
		rows = append(rows, row)
	}
	return csvBlob(header, rows)
}

func historyBlob(st *state, from, to prevoir.Date, format string) *blob {
	h := st.history(from, to)
	if format == "json" {
		return jsonBlob(http.StatusOK, h)
	}
	rows := make([][]string, len(h.Days))
	for i, d := range h.Days {
		rows[i] = []string{d.Date.String(), csvNum(d.Value)}
	}
	return csvBlob([]string{"date", h.Target}, rows)
}

func forecastsBlob(st *state, limit, version int, format string) *blob {
	out := ForecastsResponse{RegisteredModel: st.model, Forecasts: []PastForecast{}}
	for _, pf := range st.past {
		if version != 0 && pf.Version != version {
			continue
		}
		if len(out.Forecasts) == limit {
			break
		}
		out.Forecasts = append(out.Forecasts, pf)
	}
	if format == "json" {
		return jsonBlob(http.StatusOK, out)
	}
	var rows [][]string
	for _, pf := range out.Forecasts {
		for _, d := range pf.Days {
			rows = append(rows, []string{strconv.FormatInt(pf.ID, 10), strconv.Itoa(pf.Version), pf.Family, pf.Origin.String(), csvTime(pf.MadeAt),
				d.Date.String(), strconv.Itoa(d.Horizon), csvNum(d.Point), csvNum(d.Lower80), csvNum(d.Upper80), csvNum(d.Lower95), csvNum(d.Upper95),
				csvNum(d.Actual), csvNum(d.AbsError)})
		}
	}
	return csvBlob([]string{"forecast_id", "version", "family", "origin", "made_at", "date", "horizon", "point",
		"lower_80", "upper_80", "lower_95", "upper_95", "actual", "abs_error"}, rows)
}

func (st *state) leaderboard() *LeaderboardResponse {
	lb := &LeaderboardResponse{RegisteredModel: st.model, Champion: st.champion, Backtest: st.backtest, BacktestMessage: st.backtestMsg,
		LiveWindowDays: LiveWindowDays, Live: st.live, LiveDaily: st.liveDaily, ChampionHistory: st.aliasHistory}
	if lb.Live == nil {
		lb.Live = []LiveScore{}
	}
	if lb.LiveDaily == nil {
		lb.LiveDaily = []LiveDaily{}
	}
	if lb.ChampionHistory == nil {
		lb.ChampionHistory = []*prevoir.AliasChange{}
	}
	return lb
}

func leaderboardBlob(st *state, format, table string) *blob {
	lb := st.leaderboard()
	if format == "json" {
		return jsonBlob(http.StatusOK, lb)
	}
	if table == "live" {
		var rows [][]string
		for _, l := range lb.Live {
			rows = append(rows, []string{strconv.Itoa(l.Version), l.Family, strconv.FormatBool(l.Champion), l.From.String(), l.To.String(),
				strconv.Itoa(l.Days), strconv.Itoa(l.Points), csvNum(l.MAE), csvNum(l.Coverage80), csvNum(l.Coverage95)})
		}
		return csvBlob([]string{"version", "family", "champion", "from", "to", "days", "points", "mae", "coverage_80", "coverage_95"}, rows)
	}
	header := []string{"name", "champion", "mae", "rmse", "mase", "wis", "coverage_80", "coverage_95", "fit_seconds"}
	h := 0
	if lb.Backtest != nil {
		for _, m := range lb.Backtest.Models {
			h = max(h, len(m.MAEByHorizon))
		}
	}
	for i := 1; i <= h; i++ {
		header = append(header, "mae_h"+strconv.Itoa(i))
	}
	var rows [][]string
	if lb.Backtest != nil {
		for _, m := range lb.Backtest.Models {
			row := []string{m.Name, strconv.FormatBool(m.Champion), csvNum(m.MAE), csvNum(m.RMSE), csvNum(m.MASE), csvNum(m.WIS),
				csvNum(m.Coverage80), csvNum(m.Coverage95), csvNum(m.FitSeconds)}
			for i := range h {
				v := NaN()
				if i < len(m.MAEByHorizon) {
					v = m.MAEByHorizon[i]
				}
				row = append(row, csvNum(v))
			}
			rows = append(rows, row)
		}
	}
	return csvBlob(header, rows)
}

// runFilter selects runs of the in-memory list.
type runFilter struct {
	kind, status, name string
	limit              int
}

func (st *state) filterRuns(f runFilter) []*prevoir.Run {
	out := []*prevoir.Run{}
	for _, d := range st.runs {
		if (f.kind != "" && string(d.Kind) != f.kind) || (f.status != "" && string(d.Status) != f.status) || (f.name != "" && d.Name != f.name) {
			continue
		}
		if len(out) == f.limit {
			break
		}
		r := *d.Run
		r.Config = "" // big, and in the run's own answer
		out = append(out, &r)
	}
	return out
}

func runsBlob(st *state, f runFilter, format string) *blob {
	runs := st.filterRuns(f)
	if format == "json" {
		return jsonBlob(http.StatusOK, RunsResponse{Runs: runs})
	}
	rows := make([][]string, len(runs))
	for i, r := range runs {
		dur := ""
		if !r.EndedAt.IsZero() {
			dur = csvNum(r.EndedAt.Sub(r.StartedAt).Seconds())
		}
		rows[i] = []string{r.ID, string(r.Kind), r.Name, string(r.Status), csvTime(r.StartedAt), csvTime(r.EndedAt), dur, r.Error}
	}
	return csvBlob([]string{"id", "kind", "name", "status", "started_at", "ended_at", "seconds", "error"}, rows)
}

func (st *state) modelsView() *ModelsResponse {
	out := &ModelsResponse{RegisteredModel: st.model, Aliases: st.aliases, Versions: []VersionView{}, ChampionHistory: st.aliasHistory}
	if out.ChampionHistory == nil {
		out.ChampionHistory = []*prevoir.AliasChange{}
	}
	for _, v := range st.versions {
		out.Versions = append(out.Versions, st.versionView(v))
	}
	return out
}

func (st *state) versionView(v *prevoir.ModelVersion) VersionView {
	vv := VersionView{ModelVersion: v, Aliases: []string{}, Live: st.versionLive(v.Version)}
	for a, n := range st.aliases {
		if n == v.Version {
			vv.Aliases = append(vv.Aliases, a)
		}
	}
	slices.Sort(vv.Aliases)
	return vv
}

func modelsBlob(st *state, format string) *blob {
	mv := st.modelsView()
	if format == "json" {
		return jsonBlob(http.StatusOK, mv)
	}
	var rows [][]string
	for _, v := range mv.Versions {
		mae, cov := NaN(), NaN()
		if v.Live != nil {
			mae, cov = v.Live.MAE, v.Live.Coverage80
		}
		bt := NaN()
		if x, ok := v.Metrics["mae"]; ok {
			bt = Number(x)
		}
		rows = append(rows, []string{strconv.Itoa(v.Version), v.Family, strings.Join(v.Aliases, " "), v.RunID, csvTime(v.CreatedAt),
			csvNum(bt), csvNum(mae), csvNum(cov)})
	}
	return csvBlob([]string{"version", "family", "aliases", "run_id", "created_at", "mae", "live_mae", "live_coverage_80"}, rows)
}

func (st *state) dataView() *DataResponse {
	d := &DataResponse{Now: st.at.UTC(), Sources: st.sources, FrameError: st.frameErr}
	if d.Sources == nil {
		d.Sources = []SourceFreshness{}
	}
	if f := st.frame; f != nil && f.Len() > 0 {
		d.Frame = &FrameSummary{Target: f.Target, FirstDate: f.Dates[0], LastDate: f.Dates[f.Len()-1], Rows: f.Len(),
			Columns: f.Names(), Sources: f.Sources, Decisions: f.Decisions}
	}
	return d
}

func snapshotsBlob(st *state, source string, limit int, format string) *blob {
	out := SnapshotsResponse{Snapshots: []*prevoir.Snapshot{}}
	for _, sn := range st.snapshots {
		if source != "" && sn.Source != source {
			continue
		}
		if len(out.Snapshots) == limit {
			break
		}
		out.Snapshots = append(out.Snapshots, sn)
	}
	if format == "json" {
		return jsonBlob(http.StatusOK, out)
	}
	var rows [][]string
	for _, sn := range out.Snapshots {
		var added, changedDates, changedCells string
		if rv := sn.Revision; rv != nil {
			added, changedDates, changedCells = strconv.Itoa(rv.AddedDates), strconv.Itoa(rv.ChangedDates), strconv.Itoa(rv.ChangedCells)
		}
		rows = append(rows, []string{strconv.FormatInt(sn.ID, 10), sn.Source, sn.SHA256, csvTime(sn.FetchedAt), strconv.Itoa(sn.Rows),
			sn.FirstDate.String(), sn.LastDate.String(), added, changedDates, changedCells, string(sn.State)})
	}
	return csvBlob([]string{"id", "source", "sha256", "fetched_at", "rows", "first_date", "last_date", "added_dates", "changed_dates", "changed_cells", "state"}, rows)
}

// renderAPI pre-renders the API's answers to its default requests.
func renderAPI(st *state) {
	put := func(key string, b *blob) { st.blobs[key] = withGzip(b) }
	for _, f := range []string{"json", "csv"} {
		put("forecast:"+f, forecastBlob(st, f))
		put("forecasts:"+f, forecastsBlob(st, defaultForecastsLimit, 0, f))
		put("leaderboard:"+f+":backtest", leaderboardBlob(st, f, "backtest"))
		put("runs:"+f, runsBlob(st, runFilter{limit: defaultRunsLimit}, f))
		put("models:"+f, modelsBlob(st, f))
		put("snapshots:"+f, snapshotsBlob(st, "", defaultSnapshotsLimit, f))
		for _, sp := range spans {
			n, _ := parseDays(sp)
			from, to := st.lastDays(n)
			put("history:"+sp+":"+f, historyBlob(st, from, to, f))
		}
	}
	put("leaderboard:csv:live", leaderboardBlob(st, "csv", "live"))
	put("data:json", jsonBlob(http.StatusOK, st.dataView()))
}

// --- handlers ---

// current returns the snapshot, or answers 503 while none has loaded yet.
func (s *Server) current(w http.ResponseWriter, r *http.Request) *state {
	st := s.state.Load()
	if st == nil {
		e := &httpError{status: http.StatusServiceUnavailable, code: prevoir.EUNAVAILABLE, msg: "starting up: the data has not been loaded yet", retryAfter: unavailableRetry}
		s.writeError(w, r, e)
	}
	return st
}

// respond serves the pre-rendered answer key when there is one, else builds it from memory.
func respond(w http.ResponseWriter, r *http.Request, st *state, key string, build func() *blob) {
	if b, ok := st.blobs[key]; ok && key != "" {
		serveBlob(w, r, b)
		return
	}
	serveBlob(w, r, build())
}

func (s *Server) apiForecast(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	_, format, err := parseFormatQuery(r)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	respond(w, r, st, "forecast:"+format, func() *blob { return forecastBlob(st, format) })
}

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "days", "from", "to")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	from, err := parseDateParam(q, "from")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	to, err := parseDateParam(q, "to")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	days := q.Get("days")
	switch {
	case days != "" && (from != 0 || to != 0):
		s.writeAPIError(w, r, badRequest("give either days or from/to, not both"))
		return
	case from != 0 && to != 0 && to < from:
		s.writeAPIError(w, r, badRequest("to %s is before from %s", to, from))
		return
	case days == "" && from == 0 && to == 0:
		days = "all"
	}
	key := ""
	if days != "" {
		n, err := parseDays(days)
		if err != nil {
			s.writeAPIError(w, r, statusOf(err))
			return
		}
		if slices.Contains(spans[:], days) {
			key = "history:" + days + ":" + format
		}
		from, to = st.lastDays(n)
	}
	respond(w, r, st, key, func() *blob { return historyBlob(st, from, to, format) })
}

func (s *Server) apiForecasts(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "limit", "version")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	limit, err := parseLimit(q, defaultForecastsLimit, maxForecastsLimit)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	version := 0
	if v := q.Get("version"); v != "" {
		if version, err = strconv.Atoi(v); err != nil || version < 1 {
			s.writeAPIError(w, r, badRequest("version %q: want a positive whole number", v))
			return
		}
	}
	key := ""
	if limit == defaultForecastsLimit && version == 0 {
		key = "forecasts:" + format
	}
	respond(w, r, st, key, func() *blob { return forecastsBlob(st, limit, version, format) })
}

func (s *Server) apiLeaderboard(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "table")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	table := q.Get("table")
	switch {
	case table == "":
		table = "backtest"
	case table != "backtest" && table != "live":
		s.writeAPIError(w, r, badRequest("table %q: want backtest or live", table))
		return
	case format != "csv":
		s.writeAPIError(w, r, badRequest("table applies to format=csv only (the JSON answer has both tables)"))
		return
	}
	if format == "json" {
		respond(w, r, st, "leaderboard:json:backtest", func() *blob { return leaderboardBlob(st, format, table) })
		return
	}
	respond(w, r, st, "leaderboard:csv:"+table, func() *blob { return leaderboardBlob(st, format, table) })
}

// runKinds and runStatuses are the values the run filters accept.
func runKinds() []string    { return prevoir.Names(prevoir.RunKinds()) }
func runStatuses() []string { return prevoir.Names(prevoir.RunStatuses()) }

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	q, err := parseQuery(r, "kind", "status", "name", "limit", "format")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	f, format, err := s.parseRunFilter(q)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	key := ""
	if f == (runFilter{limit: defaultRunsLimit}) {
		key = "runs:" + format
	}
	respond(w, r, st, key, func() *blob { return runsBlob(st, f, format) })
}

func (s *Server) parseRunFilter(q url.Values) (runFilter, string, error) {
	format, err := parseFormat(q, true)
	if err != nil {
		return runFilter{}, "", err
	}
	f := runFilter{kind: q.Get("kind"), status: q.Get("status"), name: q.Get("name")}
	if f.kind != "" && !slices.Contains(runKinds(), f.kind) {
		return runFilter{}, "", badRequest("kind %q: want one of %s", f.kind, strings.Join(runKinds(), ", "))
	}
	if f.status != "" && !slices.Contains(runStatuses(), f.status) {
		return runFilter{}, "", badRequest("status %q: want one of %s", f.status, strings.Join(runStatuses(), ", "))
	}
	if len(f.name) > 200 {
		return runFilter{}, "", badRequest("name: longer than 200 characters")
	}
	if f.limit, err = parseLimit(q, min(defaultRunsLimit, s.cfg.RunsKept), s.cfg.RunsKept); err != nil {
		return runFilter{}, "", err
	}
	return f, format, nil
}

// findRun returns a run of the snapshot by its ID, or the error to answer.
func (s *Server) findRun(st *state, id string) (*RunDetail, *httpError) {
	if !runIDPattern.MatchString(id) {
		return nil, badRequest("run id %q: want 32 lowercase hexadecimal digits", truncate(id, 40))
	}
	d := st.runByID[id]
	if d == nil {
		return nil, notFoundErr("no run %s among the latest %d runs and those of the model versions", id, s.cfg.RunsKept)
	}
	return d, nil
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	if _, err := parseQuery(r); err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	d, herr := s.findRun(st, r.PathValue("id"))
	if herr != nil {
		s.writeAPIError(w, r, herr)
		return
	}
	out := *d
	out.Metrics = prevoir.FiniteMetrics(out.Metrics) // a NaN would fail the whole answer
	if out.Artifacts == nil {
		out.Artifacts = []prevoir.Artifact{}
	}
	if out.ModelVersions == nil {
		out.ModelVersions = []int{}
	}
	serveBlob(w, r, jsonBlob(http.StatusOK, out))
}

func (s *Server) apiModels(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	_, format, err := parseFormatQuery(r)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	respond(w, r, st, "models:"+format, func() *blob { return modelsBlob(st, format) })
}

// parseVersion reads a model version number from the path.
func parseVersion(s string) (int, *httpError) {
	v, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || v < 1 || v > 1_000_000_000 {
		return 0, badRequest("version %q: want a positive whole number", truncate(s, 40))
	}
	return v, nil
}

func (s *Server) apiModel(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	if _, err := parseQuery(r); err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	v, herr := parseVersion(r.PathValue("version"))
	if herr != nil {
		s.writeAPIError(w, r, herr)
		return
	}
	for _, mv := range st.versions {
		if mv.Version == v {
			serveBlob(w, r, jsonBlob(http.StatusOK, st.versionView(mv)))
			return
		}
	}
	s.writeAPIError(w, r, notFoundErr("model %s has no version %d", st.model, v))
}

func (s *Server) apiData(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	q, err := parseQuery(r, "format")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	if _, err := parseFormat(q, false); err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	respond(w, r, st, "data:json", func() *blob { return jsonBlob(http.StatusOK, st.dataView()) })
}

func (s *Server) apiSnapshots(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	q, format, err := parseFormatQuery(r, "source", "limit")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	limit, err := parseLimit(q, defaultSnapshotsLimit, maxSnapshotsLimit)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	source := q.Get("source")
	if source != "" && !slices.ContainsFunc(s.cfg.Sources, func(src prevoir.Source) bool { return src.Name == source }) {
		var names []string
		for _, src := range s.cfg.Sources {
			names = append(names, src.Name)
		}
		s.writeAPIError(w, r, badRequest("source %q: want one of %s", truncate(source, 40), strings.Join(names, ", ")))
		return
	}
	key := ""
	if source == "" && limit == defaultSnapshotsLimit {
		key = "snapshots:" + format
	}
	respond(w, r, st, key, func() *blob { return snapshotsBlob(st, source, limit, format) })
}

// apiNotFound answers unknown API routes.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeAPIError(w, r, notFoundErr("no such endpoint: %s %s (see /api/v1/)", r.Method, truncate(r.URL.Path, 100)))
}

// apiIndex lists the endpoints, for a person exploring the API.
func (s *Server) apiIndex(w http.ResponseWriter, r *http.Request) {
	serveBlob(w, r, s.assets["api-index"])
}

// apiAlerts lists the monitoring alerts (an empty list when all is well).
func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	if _, err := parseQuery(r); err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	alerts := st.alerts
	if alerts == nil {
		alerts = []monitor.Alert{}
	}
	respond(w, r, st, "alerts:json", func() *blob { return jsonBlob(http.StatusOK, map[string]any{"alerts": alerts}) })
}
