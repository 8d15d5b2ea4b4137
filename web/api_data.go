package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/monitor"
)

// The data endpoints: the sources' freshness, the stored snapshots, the monitoring alerts.

func (st *shared) dataView() *DataResponse {
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

func snapshotsBlob(st *shared, source string, limit int, format string) *blob {
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

// jsonOnly checks the query of an endpoint answered in JSON only (format=json or none) and
// writes the error when it is bad.
func (s *Server) jsonOnly(w http.ResponseWriter, r *http.Request) bool {
	q, err := parseQuery(r, "format")
	if err == nil {
		_, err = parseFormat(q, false)
	}
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return false
	}
	return true
}

func (s *Server) apiData(w http.ResponseWriter, r *http.Request) {
	st := s.current(w, r)
	if st == nil {
		return
	}
	if !s.jsonOnly(w, r) {
		return
	}
	respond(w, r, st.def, "data:json", func() *blob { return jsonBlob(http.StatusOK, st.dataView()) })
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
	respond(w, r, st.def, key, func() *blob { return snapshotsBlob(st, source, limit, format) })
}

// apiAlerts lists the monitoring alerts (an empty list when all is well): every target's, or
// with target=NAME those about that target's model and those about no model.
func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	sh := s.current(w, r)
	if sh == nil {
		return
	}
	q, err := parseQuery(r, "target")
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	alerts := sh.alerts
	if q.Has("target") && q.Get("target") != prevoir.AllTargets {
		st, err := sh.target(q.Get("target"))
		if err != nil {
			s.writeAPIError(w, r, statusOf(err))
			return
		}
		alerts = sh.alertsOf(st.t)
	}
	if alerts == nil {
		alerts = []monitor.Alert{}
	}
	serveBlob(w, r, jsonBlob(http.StatusOK, map[string]any{"alerts": alerts}))
}

// targetsView sums up every served target.
func (sh *shared) targetsView() *TargetsResponse {
	out := &TargetsResponse{Default: sh.def.model, Targets: make([]TargetSummary, len(sh.targets))}
	for i, st := range sh.targets {
		out.Targets[i] = st.summary
	}
	return out
}

// apiTargets lists the served targets with their summaries.
func (s *Server) apiTargets(w http.ResponseWriter, r *http.Request) {
	sh := s.current(w, r)
	if sh == nil {
		return
	}
	if !s.jsonOnly(w, r) {
		return
	}
	respond(w, r, sh.def, "targets:json", func() *blob { return jsonBlob(http.StatusOK, sh.targetsView()) })
}
