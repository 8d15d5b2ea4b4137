package web

import (
	"bytes"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prevoir/prevoir/monitor"
)

// The metrics are written in the Prometheus text exposition format (version 0.0.4) by hand:
// a few counters and gauges do not justify a client library and its dependencies.

// latencyBuckets are the upper bounds, in seconds, of the request latency histogram; the
// pre-rendered answers take well under a millisecond, so the low end is fine-grained.
var latencyBuckets = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// routeStats counts one route's requests: a latency histogram and answers by status class.
// Everything is atomic: recording a request takes no lock.
type routeStats struct {
	buckets [len(latencyBuckets) + 1]atomic.Uint64 // the last one is +Inf
	sumNs   atomic.Int64
	count   atomic.Uint64
	classes [6]atomic.Uint64 // 1xx..5xx by first digit; 0 unused
}

func (rs *routeStats) observe(d time.Duration, status int) {
	sec := d.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets[:], sec)
	rs.buckets[i].Add(1)
	rs.sumNs.Add(int64(d))
	rs.count.Add(1)
	if status == 0 {
		status = http.StatusOK
	}
	if c := status / 100; c >= 1 && c <= 5 {
		rs.classes[c].Add(1)
	}
}

// httpMetrics holds the stats of every route, registered when the routes are; the map is
// read-only once the server serves.
type httpMetrics struct {
	mu     sync.Mutex
	routes map[string]*routeStats
}

func newHTTPMetrics() *httpMetrics { return &httpMetrics{routes: map[string]*routeStats{}} }

func (m *httpMetrics) route(label string) *routeStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.routes[label]
	if rs == nil {
		rs = &routeStats{}
		m.routes[label] = rs
	}
	return rs
}

// promWriter writes metric families.
type promWriter struct{ b bytes.Buffer }

func (p *promWriter) family(name, typ, help string) {
	p.b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

// sample writes one sample; labels alternate names and values.
func (p *promWriter) sample(name string, v float64, labels ...string) {
	p.b.WriteString(name)
	if len(labels) > 0 {
		p.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.b.WriteByte(',')
			}
			p.b.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		p.b.WriteByte('}')
	}
	p.b.WriteByte(' ')
	p.b.WriteString(promFloat(v))
	p.b.WriteByte('\n')
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func promFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// metricsHandler serves /metrics.
func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	var p promWriter
	s.writeHTTPMetrics(&p)
	s.writeRefreshMetrics(&p)
	if st := s.state.Load(); st != nil {
		writeStateMetrics(&p, st)
	}
	w.Header().Set("Content-Type", ctypeText)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(p.b.Bytes())
}

func (s *Server) writeHTTPMetrics(p *promWriter) {
	s.metrics.mu.Lock()
	labels := make([]string, 0, len(s.metrics.routes))
	for l := range s.metrics.routes {
		labels = append(labels, l)
	}
	s.metrics.mu.Unlock()
	slices.Sort(labels)

	const h = "prevoir_http_request_duration_seconds"
	p.family(h, "histogram", "Time taken to answer HTTP requests, by route pattern.")
	for _, l := range labels {
		rs := s.metrics.route(l)
		if rs.count.Load() == 0 {
			continue // a route appears once it has answered
		}
		var cum uint64
		for i, ub := range latencyBuckets {
			cum += rs.buckets[i].Load()
			p.sample(h+"_bucket", float64(cum), "route", l, "le", promFloat(ub))
		}
		cum += rs.buckets[len(latencyBuckets)].Load()
		p.sample(h+"_bucket", float64(cum), "route", l, "le", "+Inf")
		p.sample(h+"_sum", float64(rs.sumNs.Load())/1e9, "route", l)
		p.sample(h+"_count", float64(cum), "route", l)
	}
	const c = "prevoir_http_requests_total"
	p.family(c, "counter", "HTTP requests answered, by route pattern and status class.")
	for _, l := range labels {
		rs := s.metrics.route(l)
		for k := 1; k <= 5; k++ {
			if n := rs.classes[k].Load(); n > 0 {
				p.sample(c, float64(n), "route", l, "code", strconv.Itoa(k)+"xx")
			}
		}
	}
}

func (s *Server) writeRefreshMetrics(p *promWriter) {
	if ok := s.refreshes.lastOK.Load(); ok != 0 {
		p.family("prevoir_web_snapshot_refresh_timestamp_seconds", "gauge", "When the server last rebuilt its in-memory snapshot of the stores.")
		p.sample("prevoir_web_snapshot_refresh_timestamp_seconds", float64(ok)/1e9)
		p.family("prevoir_web_snapshot_refresh_duration_seconds", "gauge", "How long the last successful rebuild took.")
		p.sample("prevoir_web_snapshot_refresh_duration_seconds", float64(s.refreshes.duration.Load())/1e9)
	}
	p.family("prevoir_web_snapshot_refresh_errors_total", "counter", "Failed rebuilds of the in-memory snapshot (the previous one was kept).")
	p.sample("prevoir_web_snapshot_refresh_errors_total", float64(s.refreshes.errors.Load()))
}

func writeStateMetrics(p *promWriter, st *shared) {
	kinds := monitor.Kinds()
	p.family("prevoir_alerts", "gauge", "Monitoring alerts raised, by kind ("+strings.Join(kinds, ", ")+").")
	counts := map[string]int{}
	for _, a := range st.alerts {
		counts[a.Kind]++
	}
	for _, k := range kinds {
		p.sample("prevoir_alerts", float64(counts[k]), "kind", k)
	}
	if len(st.alerts) > 0 {
		p.family("prevoir_alert", "gauge", "1 for each alert raised, with what it is about.")
		for _, a := range st.alerts {
			p.sample("prevoir_alert", 1, "kind", a.Kind, "subject", a.Subject)
		}
	}
	const ls = "prevoir_last_success_timestamp_seconds"
	p.family(ls, "gauge", "End time of the last successful run of each flow (ingest, train, backtest, forecast, score).")
	for _, k := range successKinds {
		if t, ok := st.lastSuccess[k]; ok && !t.IsZero() {
			p.sample(ls, unixSeconds(t), "flow", string(k))
		}
	}
	writeTargetMetrics(p, st.targets)
	p.family("prevoir_run_failures", "gauge", "Recorded runs that ended failed, by kind (a retried job's failed attempts count each).")
	for _, k := range successKinds {
		p.sample("prevoir_run_failures", float64(st.runFailures[k]), "kind", string(k))
	}
	if st.jobFailures != nil {
		p.family("prevoir_job_failures", "gauge", "Jobs discarded or cancelled for good among the queue's latest 1000, by kind.")
		kinds := make([]string, 0, len(st.jobFailures))
		for k := range st.jobFailures {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			p.sample("prevoir_job_failures", float64(st.jobFailures[k]), "kind", k)
		}
	}
	p.family("prevoir_source_last_date_timestamp_seconds", "gauge", "Last day of data in each source's current snapshot (midnight UTC).")
	for _, f := range st.sources {
		if f.Snapshot != nil {
			p.sample("prevoir_source_last_date_timestamp_seconds", unixSeconds(f.LastDate.Time()), "source", f.Source)
		}
	}
	p.family("prevoir_source_last_check_timestamp_seconds", "gauge", "Last fetch attempt of each source.")
	for _, f := range st.sources {
		if !f.LastChecked.IsZero() {
			p.sample("prevoir_source_last_check_timestamp_seconds", unixSeconds(f.LastChecked), "source", f.Source, "status", f.LastCheckStatus)
		}
	}
}

// writeTargetMetrics writes the served forecasts' and the champions' metrics, one sample per
// target's registered model; a family none has a sample of is left out.
func writeTargetMetrics(p *promWriter, targets []*state) {
	each := func(name, typ, help string, sample func(st *state) (v float64, labels []string, ok bool)) {
		header := false
		for _, st := range targets {
			v, labels, ok := sample(st)
			if !ok {
				continue
			}
			if !header {
				p.family(name, typ, help)
				header = true
			}
			p.sample(name, v, labels...)
		}
	}
	each("prevoir_forecast_made_timestamp_seconds", "gauge", "When the served forecast was made.", func(st *state) (float64, []string, bool) {
		if st.served == nil {
			return 0, nil, false
		}
		return unixSeconds(st.served.MadeAt), []string{"model", st.model}, true
	})
	// 0 while the champion's forecast is pending: a forecast job that never runs shows.
	each("prevoir_forecast_is_champion", "gauge", "1 when the served forecast is the champion's, 0 while the champion's own forecast is pending.", func(st *state) (float64, []string, bool) {
		if st.served == nil {
			return 0, nil, false
		}
		champ := 0.0
		if st.forecastResp.IsChampion {
			champ = 1
		}
		return champ, []string{"model", st.model}, true
	})
	each("prevoir_champion_version", "gauge", "The registered model version that is the champion.", func(st *state) (float64, []string, bool) {
		if st.champion == nil {
			return 0, nil, false
		}
		return float64(st.champion.Version), []string{"model", st.model, "family", st.champion.Family}, true
	})
	each("prevoir_champion_backtest_mae", "gauge", "The champion's mean absolute error in the latest backtest (in the target's unit).", func(st *state) (float64, []string, bool) {
		mae := st.championBacktestMAE()
		if !mae.Valid() {
			return 0, nil, false
		}
		return float64(mae), []string{"model", st.model, "version", strconv.Itoa(st.champion.Version)}, true
	})
	each("prevoir_champion_live_mae", "gauge", "The champion's mean absolute error over its last scored days (in the target's unit).", func(st *state) (float64, []string, bool) {
		l := st.championLive()
		if l == nil {
			return 0, nil, false
		}
		return float64(l.MAE), []string{"model", st.model, "version", strconv.Itoa(st.champion.Version)}, true
	})
	each("prevoir_champion_live_coverage_80", "gauge", "Fraction of the champion's last scored days inside its 80% range.", func(st *state) (float64, []string, bool) {
		l := st.championLive()
		if l == nil {
			return 0, nil, false
		}
		return float64(l.Coverage80), []string{"model", st.model, "version", strconv.Itoa(st.champion.Version)}, true
	})
}

// healthz answers while the process serves: liveness.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	serveBlob(w, r, jsonBlob(http.StatusOK, map[string]string{"status": "ok"}))
}

// readyz answers 200 once the in-memory snapshot is loaded, its last rebuild succeeded or is
// recent enough, and the daily frame could be built from the current snapshots; 503 otherwise,
// with the reason, so that a load balancer sends readers elsewhere. A home with no data yet, or
// no forecast yet, is ready: it serves what there is, and says so.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	type ready struct {
		Status      string    `json:"status"`
		Reason      string    `json:"reason,omitempty"`
		SnapshotAt  time.Time `json:"snapshot_at,omitzero"`
		LastError   string    `json:"last_error,omitempty"`
		HasFrame    bool      `json:"has_frame"`
		HasForecast bool      `json:"has_forecast"`
	}
	st := s.state.Load()
	out := ready{Status: "ready"}
	if e := s.refreshes.lastErr.Load(); e != nil {
		out.LastError = *e
	}
	status := http.StatusOK
	switch {
	case s.draining.Load():
		out.Status, status = "stopping", http.StatusServiceUnavailable
		out.Reason = "the server is shutting down"
	case st == nil:
		out.Status, status = "loading", http.StatusServiceUnavailable
		out.Reason = "the served data has not been loaded yet"
	case time.Since(time.Unix(0, s.refreshes.lastOK.Load())) > 3*max(s.cfg.RefreshEvery, time.Minute) && out.LastError != "":
		out.Status, status = "stale", http.StatusServiceUnavailable
		out.Reason = "the served data has not been rebuilt for a while: " + out.LastError
	case st.frame == nil && st.frameKey != "":
		// There are snapshots, yet the frame the history and the forecast's inputs come from
		// cannot be built: what is served does not match the data.
		out.Status, status = "no_frame", http.StatusServiceUnavailable
		out.Reason = st.frameErr
	}
	if st != nil {
		out.SnapshotAt, out.HasFrame, out.HasForecast = st.at.UTC(), st.frame != nil, st.def.served != nil
	}
	serveBlob(w, r, jsonBlob(status, out))
}
