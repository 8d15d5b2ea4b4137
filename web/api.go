package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
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

// renderSharedAPI pre-renders with put the API's answers to its default requests that are the
// same for every target.
func renderSharedAPI(sh *shared, put func(key string, b *blob)) {
	for _, f := range []string{"json", "csv"} {
		put("runs:"+f, runsBlob(sh, runFilter{limit: defaultRunsLimit}, f))
		put("snapshots:"+f, snapshotsBlob(sh, "", defaultSnapshotsLimit, f))
	}
	put("data:json", jsonBlob(http.StatusOK, sh.dataView()))
	put("targets:json", jsonBlob(http.StatusOK, sh.targetsView()))
}

// renderAPI pre-renders with put the API's answers to its default requests about st's target.
func renderAPI(st *state, put func(key string, b *blob)) {
	for _, f := range []string{"json", "csv"} {
		put("forecast:"+f, forecastBlob(st, f))
		put("forecasts:"+f, forecastsBlob(st, defaultForecastsLimit, 0, f))
		put("leaderboard:"+f+":backtest", leaderboardBlob(st, f, "backtest"))
		put("models:"+f, modelsBlob(st, f))
		for _, sp := range spans {
			n, _ := parseDays(sp)
			from, to := st.lastDays(n)
			put("history:"+sp+":"+f, historyBlob(st, from, to, f))
		}
	}
	put("leaderboard:csv:live", leaderboardBlob(st, "csv", "live"))
}

// current returns the snapshot, or answers 503 while none has loaded yet.
func (s *Server) current(w http.ResponseWriter, r *http.Request) *shared {
	st := s.state.Load()
	if st == nil {
		e := &httpError{status: http.StatusServiceUnavailable, code: prevoir.EUNAVAILABLE, msg: "starting up: the data has not been loaded yet", retryAfter: unavailableRetry}
		s.writeError(w, r, e)
	}
	return st
}

// currentTarget returns the snapshot's state of the target q names (?target=, the default
// one when absent), or answers 503 while none has loaded yet, or 400 for an unknown target.
func (s *Server) currentTarget(w http.ResponseWriter, r *http.Request, q url.Values) *state {
	sh := s.current(w, r)
	if sh == nil {
		return nil
	}
	st, err := sh.target(q.Get("target"))
	if err != nil {
		s.writeError(w, r, statusOf(err))
		return nil
	}
	return st
}

// respond serves the pre-rendered answer key of st's target when there is one, else builds
// it from memory.
func respond(w http.ResponseWriter, r *http.Request, st *state, key string, build func() *blob) {
	if b, ok := st.blobs[key]; ok && key != "" {
		serveBlob(w, r, b)
		return
	}
	serveBlob(w, r, build())
}

// apiNotFound answers unknown API routes.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeAPIError(w, r, notFoundErr("no such endpoint: %s %s (see /api/v1/)", r.Method, truncate(r.URL.Path, 100)))
}

// apiIndex lists the endpoints, for a person exploring the API.
func (s *Server) apiIndex(w http.ResponseWriter, r *http.Request) {
	serveBlob(w, r, s.assets["api-index"])
}
