package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/monitor"
)

// blob is a pre-rendered answer: its bytes, gzipped bytes when worth it, and an ETag.
type blob struct {
	status int
	ctype  string
	body   []byte
	gz     []byte
	etag   string
}

// newBlobETag is a strong ETag for body: a prefix of its SHA-256.
func newBlobETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// withGzip adds the compressed bytes to a pre-rendered answer when compression pays; it is done
// once per refresh, not per request.
func withGzip(b *blob) *blob {
	if len(b.body) < 1024 {
		return b
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b.body)
	zw.Close()
	if buf.Len() < len(b.body) {
		b.gz = buf.Bytes()
	}
	return b
}

// shared is one in-memory snapshot of everything the pages and the API show: what every target
// shares (the runs, the data, the alerts) and one state per served target. It is built by load
// and render, then never modified: handlers read it without locks.
type shared struct {
	at time.Time

	runs        []*RunDetail // newest first
	runByID     map[string]*RunDetail
	backtests   map[string]*backtestEntry // by run and end time: the artifacts already read
	sources     []SourceFreshness
	snapshots   []*prevoir.Snapshot
	frame       *prevoir.Frame
	frameKey    string // the current snapshots the frame was built from
	frameErr    string
	lastSuccess map[prevoir.RunKind]time.Time
	runFailures map[prevoir.RunKind]int
	jobFailures map[string]int // nil when the actions cannot count them
	alerts      []monitor.Alert

	// targets are the served targets' states, in the order of served (Config.Targets); def is
	// the one a request that names none gets.
	served  []prevoir.Target
	targets []*state
	def     *state
}

// state is what the pages and the API show of one target: its registered model (named after
// it), forecasts, scores and backtest, with the shared snapshot embedded.
type state struct {
	*shared
	t      prevoir.Target
	model  string // the registered model: t.Name
	target string // the frame column forecast: t.Column

	champion     *prevoir.ModelVersion
	versions     []*prevoir.ModelVersion // newest first
	aliases      map[string]int
	aliasHistory []*prevoir.AliasChange
	served       *prevoir.StoredForecast // prevoir.ForecastStore.ServedForecast
	forecasts    []*prevoir.StoredForecast
	scores       []prevoir.ForecastScore
	backtest     *Backtest
	backtestMsg  string

	// Derived views.
	forecastResp *ForecastResponse
	past         []PastForecast
	live         []LiveScore
	liveDaily    []LiveDaily
	summary      TargetSummary

	// Pre-rendered answers, by canonical request ("/api/v1/forecast?format=csv").
	blobs map[string]*blob
}

// backtestEntry is a backtest or selection run's leaderboard as read, or why it cannot be.
type backtestEntry struct {
	target string // the target it was for: its protocol's column's
	bt     *Backtest
	msg    string
}

// target returns the state of the target named name ("" for the default one), or the error to
// answer: an unknown name is a 400 listing the served targets.
func (sh *shared) target(name string) (*state, error) {
	if name == "" {
		return sh.def, nil
	}
	i, err := findTarget(sh.served, name)
	if err != nil {
		return nil, err
	}
	return sh.targets[i], nil
}

// servedTarget returns the served target named name (the default one when empty), or the error
// to answer.
func (s *Server) servedTarget(name string) (prevoir.Target, error) {
	if name == "" {
		name = s.defTarget
	}
	i, err := findTarget(s.targets, name)
	if err != nil {
		return prevoir.Target{}, err
	}
	return s.targets[i], nil
}

// findTarget returns the index of the target named name among served, or the error to answer:
// prevoir's own (listing every target) when all are served, else one listing the served ones.
func findTarget(served []prevoir.Target, name string) (int, error) {
	for i, t := range served {
		if t.Name == name {
			return i, nil
		}
	}
	if _, err := prevoir.LookupTarget(name); err != nil && len(served) == len(prevoir.Targets()) {
		return 0, err
	}
	names := make([]string, len(served))
	for i, t := range served {
		names[i] = t.Name
	}
	return 0, badRequest("unknown target %q: this server serves %s", truncate(name, 40), strings.Join(names, ", "))
}

// alertsOf returns the alerts about t's model and those about no model (the data, the flows).
func (sh *shared) alertsOf(t prevoir.Target) []monitor.Alert {
	out := []monitor.Alert{}
	for _, a := range sh.alerts {
		if a.Kind != monitor.KindModelDrift || strings.HasPrefix(a.Subject, t.Name+" ") {
			out = append(out, a)
		}
	}
	return out
}

// kinds whose last success /metrics reports.
var successKinds = [...]prevoir.RunKind{prevoir.RunIngest, prevoir.RunTrain, prevoir.RunSelect, prevoir.RunBacktest, prevoir.RunForecast, prevoir.RunScore}

// notFound reports whether err says that the thing asked for does not exist (yet).
func notFound(err error) bool { return prevoir.ErrorCode(err) == prevoir.ENOTFOUND }

// load reads the stores into a new snapshot, reusing from prev what cannot have changed: the
// frame when the current snapshots are the same, the backtests of the same runs, the details
// of runs that had already ended.
func (s *Server) load(ctx context.Context, prev *shared) (*shared, error) {
	sh := &shared{at: s.now(), served: s.targets, runByID: map[string]*RunDetail{}, backtests: map[string]*backtestEntry{},
		lastSuccess: map[prevoir.RunKind]time.Time{}, runFailures: map[prevoir.RunKind]int{}}
	for _, t := range s.targets {
		st, err := s.loadTarget(ctx, sh, t)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		sh.targets = append(sh.targets, st)
		if t.Name == s.defTarget {
			sh.def = st
		}
	}

	// Runs, with the details of the latest ones.
	if err := s.loadRuns(ctx, sh, prev); err != nil {
		return nil, err
	}
	if err := s.loadBacktests(ctx, sh, prev); err != nil {
		return nil, err
	}

	// Data: sources, snapshots, the frame.
	if err := s.loadData(ctx, sh, prev); err != nil {
		return nil, err
	}

	if jc, ok := s.cfg.Actions.(JobFailureCounter); ok {
		var err error
		if sh.jobFailures, err = jc.JobFailures(ctx); err != nil {
			// The queue's count is a nicety of /metrics: it must not take the pages down.
			s.log.WarnContext(ctx, "count failed jobs", "err", err)
			sh.jobFailures = nil
		}
	}

	// Alerts: computed from the same stores, so that every process shows the same ones: every
	// check for the default target, and the drift of the others' champions.
	stores := monitor.Stores{Registry: s.cfg.Registry, Forecasts: s.cfg.Forecasts, Snapshots: s.cfg.Snapshots, Runs: s.cfg.Runs}
	for _, st := range sh.targets {
		opts := s.cfg.Monitor
		opts.Model = st.model
		alerts, err := monitor.Check(ctx, stores, opts)
		if err != nil {
			s.log.WarnContext(ctx, "monitoring checks", "target", st.model, "err", err)
			continue
		}
		for _, a := range alerts {
			if st == sh.def || a.Kind == monitor.KindModelDrift {
				sh.alerts = append(sh.alerts, a)
			}
		}
	}
	slices.SortStableFunc(sh.alerts, func(a, b monitor.Alert) int { return strings.Compare(a.Kind, b.Kind) })

	// Derived views.
	for _, st := range sh.targets {
		champ := 0
		if st.champion != nil {
			champ = st.champion.Version
		}
		if st.served != nil {
			st.forecastResp = forecastResponse(st.served, st.champion, st.target)
		}
		st.past = pastForecasts(st.forecasts, st.scores)
		st.live = liveScores(st.scores, champ)
		st.liveDaily = liveDaily(st.scores)
		st.summary = st.targetSummary()
	}
	return sh, nil
}

// loadTarget reads t's registered model, forecasts and scores.
func (s *Server) loadTarget(ctx context.Context, sh *shared, t prevoir.Target) (*state, error) {
	st := &state{shared: sh, t: t, model: t.Name, target: t.Column}
	reg, m := s.cfg.Registry, t.Name
	var err error

	// Registry: champion, versions, aliases and the champion's history.
	if st.champion, err = reg.ResolveAlias(ctx, m, prevoir.AliasChampion); err != nil && !notFound(err) {
		return nil, fmt.Errorf("champion: %w", err)
	}
	if st.versions, err = reg.ListModelVersions(ctx, m); err != nil && !notFound(err) {
		return nil, fmt.Errorf("model versions: %w", err)
	}
	slices.SortFunc(st.versions, func(a, b *prevoir.ModelVersion) int { return b.Version - a.Version })
	models, err := reg.ListModels(ctx)
	if err != nil {
		return nil, fmt.Errorf("registered models: %w", err)
	}
	st.aliases = map[string]int{}
	for _, rm := range models {
		if rm.Name == m {
			maps.Copy(st.aliases, rm.Aliases)
		}
	}
	if st.aliasHistory, err = reg.AliasHistory(ctx, m, prevoir.AliasChampion); err != nil && !notFound(err) {
		return nil, fmt.Errorf("champion history: %w", err)
	}

	// Forecasts and their scores.
	champ := 0
	if st.champion != nil {
		champ = st.champion.Version
	}
	if st.served, err = s.cfg.Forecasts.ServedForecast(ctx, m, champ); err != nil && !notFound(err) {
		return nil, fmt.Errorf("served forecast: %w", err)
	}
	if st.forecasts, err = s.cfg.Forecasts.ListForecasts(ctx, prevoir.ForecastFilter{Model: m, Limit: maxForecastsLimit}); err != nil {
		return nil, fmt.Errorf("forecasts: %w", err)
	}
	var since prevoir.Date
	for _, f := range st.forecasts {
		if since == 0 || f.Origin < since {
			since = f.Origin
		}
	}
	if st.scores, err = s.cfg.Forecasts.Scores(ctx, m, since); err != nil {
		return nil, fmt.Errorf("forecast scores: %w", err)
	}
	return st, nil
}

func (s *Server) loadRuns(ctx context.Context, st, prev *shared) error {
	runs, err := s.cfg.Runs.ListRuns(ctx, prevoir.RunFilter{Limit: s.cfg.RunsKept})
	if err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	// Runs the pages link to are kept even when older than the latest ones.
	want := map[string]bool{}
	versionsOf := map[string][]int{}
	for _, t := range st.targets {
		for _, v := range t.versions {
			want[v.RunID] = true
			versionsOf[v.RunID] = append(versionsOf[v.RunID], v.Version)
		}
		if t.served != nil {
			want[t.served.RunID] = true
		}
	}
	for _, r := range runs {
		delete(want, r.ID)
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if id == "" {
			continue
		}
		r, err := s.cfg.Runs.FindRun(ctx, id)
		if notFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		runs = append(runs, r)
	}
	for _, r := range runs {
		var d *RunDetail
		if prev != nil {
			// A run that had ended when last read keeps its metrics and artifacts.
			if p := prev.runByID[r.ID]; p != nil && p.Status != prevoir.RunRunning && p.Status == r.Status {
				cp := *p
				d = &cp
			}
		}
		if d == nil {
			if d, err = s.runDetail(ctx, r.ID); err != nil {
				return err
			}
		}
		d.ModelVersions = slices.Sorted(slices.Values(versionsOf[r.ID]))
		st.runs = append(st.runs, d)
		st.runByID[r.ID] = d
	}
	slices.SortStableFunc(st.runs, func(a, b *RunDetail) int { return b.StartedAt.Compare(a.StartedAt) })

	for _, k := range successKinds {
		last, err := s.cfg.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: k, Status: prevoir.RunFinished, Limit: 1})
		if err != nil {
			return fmt.Errorf("last %s run: %w", k, err)
		}
		if len(last) > 0 {
			st.lastSuccess[k] = last[0].EndedAt
		}
	}
	failed, err := s.cfg.Runs.ListRuns(ctx, prevoir.RunFilter{Status: prevoir.RunFailed})
	if err != nil {
		return fmt.Errorf("failed runs: %w", err)
	}
	for _, r := range failed {
		st.runFailures[r.Kind]++
	}
	return nil
}

func (s *Server) runDetail(ctx context.Context, id string) (*RunDetail, error) {
	r, err := s.cfg.Runs.FindRun(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	d := &RunDetail{Run: r}
	if d.Metrics, err = s.cfg.Runs.Metrics(ctx, id, ""); err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", id, err)
	}
	if d.Artifacts, err = s.cfg.Runs.Artifacts(ctx, id); err != nil {
		return nil, fmt.Errorf("artifacts of run %s: %w", id, err)
	}
	return d, nil
}

// backtestRuns is how many of the latest finished backtest and selection runs are looked at
// for the targets' latest leaderboards.
const backtestRuns = 50

// loadBacktests finds each target's latest finished leaderboard run, a backtest run (prevoir
// backtest) or a champion selection (the training flow's leaderboard of its batch), and reads
// its backtest.json. The target a leaderboard is for is its protocol's (the column it
// forecast; the default target's when the artifact names none). A missing or unreadable
// artifact is shown as a message, not an error: the rest of the pages stay up.
func (s *Server) loadBacktests(ctx context.Context, sh, prev *shared) error {
	var runs []*prevoir.Run
	for _, kind := range []prevoir.RunKind{prevoir.RunBacktest, prevoir.RunSelect} {
		rs, err := s.cfg.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: kind, Status: prevoir.RunFinished, Limit: backtestRuns})
		if err != nil {
			return fmt.Errorf("backtest runs: %w", err)
		}
		runs = append(runs, rs...)
	}
	slices.SortStableFunc(runs, func(a, b *prevoir.Run) int { return b.StartedAt.Compare(a.StartedAt) })
	left := len(sh.targets)
	for _, r := range runs {
		if left == 0 {
			break
		}
		key := r.ID + "@" + r.EndedAt.String()
		e := (*backtestEntry)(nil)
		if prev != nil {
			e = prev.backtests[key]
		}
		if e == nil {
			var err error
			if e, err = s.readBacktest(ctx, r); err != nil {
				return err
			}
		}
		sh.backtests[key] = e
		for _, st := range sh.targets {
			if st.backtest == nil && st.backtestMsg == "" && e.target == st.target {
				st.backtest, st.backtestMsg = e.bt, e.msg
				left--
			}
		}
	}
	for _, st := range sh.targets {
		if st.backtest == nil && st.backtestMsg == "" {
			st.backtestMsg = "no backtest yet: the training flow has not finished a backtest run of " + st.model
		}
	}
	return nil
}

// readBacktest reads the leaderboard of a finished backtest or selection run.
func (s *Server) readBacktest(ctx context.Context, r *prevoir.Run) (*backtestEntry, error) {
	e := &backtestEntry{target: runTarget(r)}
	data, err := s.cfg.Artifacts.ReadArtifact(ctx, r.ID, prevoir.BacktestArtifact)
	if err == nil {
		var column string
		e.bt, column, err = parseBacktest(r.ID, r.EndedAt, data)
		if column != "" {
			e.target = column
		}
	}
	if err != nil {
		if code := prevoir.ErrorCode(err); code != prevoir.ENOTFOUND && code != prevoir.EINVALID {
			return nil, fmt.Errorf("backtest of run %s: %w", r.ID, err)
		}
		id := s.logInternal(ctx, slog.LevelWarn, "backtest result unreadable", err, "run", r.ID)
		e.bt = nil
		e.msg = withErrorID("no backtest to show: the latest backtest run's result cannot be read", id)
	}
	if e.target == "" {
		e.target = prevoir.DefaultTarget // made before targets: the deaths' (whose column is its name)
	}
	return e, nil
}

// runTarget is the column of the target a run was for, "" for a run for every target (an
// ingest).
func runTarget(r *prevoir.Run) string {
	t, err := prevoir.LookupTarget(r.Target)
	if err != nil {
		return ""
	}
	return t.Column
}

func (s *Server) loadData(ctx context.Context, st, prev *shared) error {
	var err error
	if st.snapshots, err = s.cfg.Snapshots.ListSnapshots(ctx, prevoir.SnapshotFilter{Limit: maxSnapshotsLimit}); err != nil {
		return fmt.Errorf("snapshots: %w", err)
	}
	var key []string
	for _, src := range s.cfg.Sources {
		f := SourceFreshness{Source: src.Name, Title: src.Title}
		cur, err := s.cfg.Snapshots.CurrentSnapshot(ctx, src.Name)
		switch {
		case err == nil:
			f.Snapshot = &SnapshotSummary{ID: cur.ID, SHA256: cur.SHA256, FetchedAt: cur.FetchedAt, Rows: cur.Rows, FirstDate: cur.FirstDate, LastDate: cur.LastDate}
			f.LastDate = cur.LastDate
			age := int(prevoir.DateOf(st.at.UTC()) - cur.LastDate)
			f.AgeDays = &age
			key = append(key, src.Name+"="+strconv.FormatInt(cur.ID, 10))
		case !notFound(err):
			return fmt.Errorf("current snapshot of %s: %w", src.Name, err)
		}
		last, err := s.cfg.Snapshots.LastFetch(ctx, src.Name)
		switch {
		case err == nil:
			f.LastChecked, f.LastCheckStatus = last.StartedAt, string(last.Status)
			if last.Error != "" {
				f.lastFetch, f.LastError = last.ID, prev.fetchError(src.Name, last.ID)
				if f.LastError == "" {
					id := s.logInternal(ctx, slog.LevelWarn, "the last fetch of a source failed", errors.New(last.Error), "source", src.Name, "fetch", last.ID)
					f.LastError = withErrorID("the download or its validation failed", id)
				}
			}
		case !notFound(err):
			return fmt.Errorf("last fetch of %s: %w", src.Name, err)
		}
		changed, err := s.cfg.Snapshots.LastFetch(ctx, src.Name, prevoir.FetchNew, prevoir.FetchRevised)
		switch {
		case err == nil:
			f.LastChanged = changed.StartedAt
		case !notFound(err):
			return fmt.Errorf("last change of %s: %w", src.Name, err)
		}
		st.sources = append(st.sources, f)
	}
	st.frameKey = strings.Join(key, ",")
	if prev != nil && prev.frameKey == st.frameKey && (prev.frame != nil || prev.frameErr != "") {
		st.frame, st.frameErr = prev.frame, prev.frameErr
	} else if len(key) == 0 {
		st.frameErr = "no data yet: no source has been fetched"
	} else {
		st.frame, err = s.cfg.Frame(ctx)
		if err != nil {
			if code := prevoir.ErrorCode(err); code != prevoir.EINVALID && code != prevoir.ENOTFOUND {
				return fmt.Errorf("frame: %w", err)
			}
			id := s.logInternal(ctx, slog.LevelWarn, "the frame cannot be built from the current snapshots", err, "snapshots", st.frameKey)
			st.frameErr = withErrorID("the daily frame cannot be built from the current snapshots", id)
			st.frame = nil
		}
	}
	return nil
}

// fetchError is the message st shows for a source's failed fetch, or "" (st may be nil).
func (st *shared) fetchError(source string, fetchID int64) string {
	if st == nil {
		return ""
	}
	for _, f := range st.sources {
		if f.Source == source && f.lastFetch == fetchID {
			return f.LastError
		}
	}
	return ""
}

// history returns the target's observed days within [from, to] (inclusive; zero means open).
func (st *state) history(from, to prevoir.Date) *HistoryResponse {
	h := &HistoryResponse{Target: st.target, Days: []HistoryDay{}, Sources: []prevoir.FrameSource{}}
	if st.frame != nil && st.frame.Len() > 0 {
		h.Sources = st.frame.Sources
		vals := st.frame.Column(st.target)
		for i, d := range st.frame.Dates {
			if (from != 0 && d < from) || (to != 0 && d > to) {
				continue
			}
			h.Days = append(h.Days, HistoryDay{Date: d, Value: prevoir.Number(vals[i])})
		}
	}
	if len(h.Days) > 0 {
		from, to = h.Days[0].Date, h.Days[len(h.Days)-1].Date
	}
	if from != 0 {
		h.From = &from
	}
	if to != 0 {
		h.To = &to
	}
	return h
}

// lastDays returns the span of the last n days of the frame (all of it when n <= 0).
func (st *shared) lastDays(n int) (from, to prevoir.Date) {
	if st.frame == nil || st.frame.Len() == 0 || n <= 0 {
		return 0, 0
	}
	last := st.frame.Dates[st.frame.Len()-1]
	return last - prevoir.Date(n-1), last
}

// versionLive returns the live score of a version, or nil.
func (st *state) versionLive(v int) *LiveScore {
	for i := range st.live {
		if st.live[i].Version == v {
			return &st.live[i]
		}
	}
	return nil
}

// championBacktestMAE is the champion's MAE in the latest backtest (its family's line), or its
// version's recorded "mae" metric when the backtest has no such line.
func (st *state) championBacktestMAE() prevoir.Number {
	if st.champion == nil {
		return prevoir.NaN()
	}
	if st.backtest != nil {
		for _, m := range st.backtest.Models {
			if m.Name == st.champion.Family {
				return m.MAE
			}
		}
	}
	if v, ok := st.champion.Metrics["mae"]; ok {
		return prevoir.Number(v)
	}
	return prevoir.NaN()
}

// championLive is the champion's live score, or nil.
func (st *state) championLive() *LiveScore {
	if st.champion == nil {
		return nil
	}
	return st.versionLive(st.champion.Version)
}

// dataLastDate is the last day of the frame (the data the next forecast will see).
func (st *shared) dataLastDate() prevoir.Date {
	if st.frame == nil || st.frame.Len() == 0 {
		return 0
	}
	return st.frame.Dates[st.frame.Len()-1]
}

// serveBlob writes a pre-rendered answer, compressed when the client accepts it, and answers
// a conditional request whose ETag matches with 304.
func serveBlob(w http.ResponseWriter, r *http.Request, b *blob) {
	h := w.Header()
	h.Set("Content-Type", b.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	if b.status == http.StatusOK {
		h.Set("ETag", b.etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, b.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	body := b.body
	if b.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = b.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(b.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		p := strings.TrimSpace(part)
		if p == etag || p == "*" || strings.TrimPrefix(p, "W/") == etag {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" {
			q = strings.TrimSpace(q)
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
