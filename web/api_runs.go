package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/prevoir/prevoir"
)

// The run endpoints: the tracked runs, filtered, and one run with its details.

var runIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// runFilter selects runs of the in-memory list.
type runFilter struct {
	kind, status, name string
	// column is the column of the target whose runs are kept, with the runs for no target in
	// particular (an ingest); "" keeps every run.
	column string
	limit  int
}

func (st *shared) filterRuns(f runFilter) []*prevoir.Run {
	out := []*prevoir.Run{}
	for _, d := range st.runs {
		if (f.kind != "" && string(d.Kind) != f.kind) || (f.status != "" && string(d.Status) != f.status) || (f.name != "" && d.Name != f.name) {
			continue
		}
		if c := runTarget(d.Run); f.column != "" && c != "" && c != f.column {
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

func runsBlob(st *shared, f runFilter, format string) *blob {
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

// runKinds and runStatuses are the values the run filters accept.
func runKinds() []string    { return prevoir.Names(prevoir.RunKinds()) }
func runStatuses() []string { return prevoir.Names(prevoir.RunStatuses()) }

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	q, err := parseQuery(r, "kind", "status", "name", "limit", "format", "target")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	f, format, err := s.parseRunFilter(st, q)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	key := ""
	if f == (runFilter{limit: defaultRunsLimit}) {
		key = "runs:" + format
	}
	respond(w, r, st.def, key, func() *blob { return runsBlob(st, f, format) })
}

// parseRunFilter reads the runs' filters; target (a target's name) keeps its runs and those
// for no target in particular.
func (s *Server) parseRunFilter(sh *shared, q url.Values) (runFilter, string, error) {
	format, err := parseFormat(q, true)
	if err != nil {
		return runFilter{}, "", err
	}
	f := runFilter{kind: q.Get("kind"), status: q.Get("status"), name: q.Get("name")}
	if q.Has("target") {
		st, err := sh.target(q.Get("target"))
		if err != nil {
			return runFilter{}, "", err
		}
		f.column = st.target
	}
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
func (s *Server) findRun(st *shared, id string) (*RunDetail, *httpError) {
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
