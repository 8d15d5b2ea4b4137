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

// state is one in-memory snapshot of everything the pages and the API show. It is built by
// load and render, then never modified: handlers read it without locks.
type state struct {
	at     time.Time
	model  string
	target string

	champion     *prevoir.ModelVersion
	versions     []*prevoir.ModelVersion // newest first
	aliases      map[string]int
	aliasHistory []*prevoir.AliasChange
	served       *prevoir.StoredForecast // prevoir.ForecastStore.ServedForecast
	forecasts    []*prevoir.StoredForecast
	scores       []prevoir.ForecastScore
	runs         []*RunDetail // newest first
	runByID      map[string]*RunDetail
	backtest     *Backtest
	backtestMsg  string
	backtestKey  string // the run and end time the backtest was read for
	sources      []SourceFreshness
	snapshots    []*prevoir.Snapshot
	frame        *prevoir.Frame
	frameKey     string // the current snapshots the frame was built from
	frameErr     string
	lastSuccess  map[prevoir.RunKind]time.Time
	runFailures  map[prevoir.RunKind]int
	jobFailures  map[string]int // nil when the actions cannot count them
	alerts       []monitor.Alert

	// Derived views.
	forecastResp *ForecastResponse
	past         []PastForecast
	live         []LiveScore
	liveDaily    []LiveDaily

	// Pre-rendered answers, by canonical request ("/api/v1/forecast?format=csv").
	blobs map[string]*blob
}

// kinds whose last success /metrics reports.
var successKinds = [...]prevoir.RunKind{prevoir.RunIngest, prevoir.RunTrain, prevoir.RunSelect, prevoir.RunBacktest, prevoir.RunForecast, prevoir.RunScore}

// notFound reports whether err says that the thing asked for does not exist (yet).
func notFound(err error) bool { return prevoir.ErrorCode(err) == prevoir.ENOTFOUND }

// load reads the stores into a new state, reusing from prev what cannot have changed: the
// frame when the current snapshots are the same, the backtest of the same run, the details
// of runs that had already ended.
func (s *Server) load(ctx context.Context, prev *state) (*state, error) {
	st := &state{at: s.now(), model: s.cfg.Model, target: prevoir.DefaultTarget, runByID: map[string]*RunDetail{},
		lastSuccess: map[prevoir.RunKind]time.Time{}, runFailures: map[prevoir.RunKind]int{}}
	reg, m := s.cfg.Registry, s.cfg.Model
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

	// Runs, with the details of the latest ones.
	if err := s.loadRuns(ctx, st, prev); err != nil {
		return nil, err
	}
	if err := s.loadBacktest(ctx, st, prev); err != nil {
		return nil, err
	}

	// Data: sources, snapshots, the frame.
	if err := s.loadData(ctx, st, prev); err != nil {
		return nil, err
	}

	if jc, ok := s.cfg.Actions.(JobFailureCounter); ok {
		if st.jobFailures, err = jc.JobFailures(ctx); err != nil {
			// The queue's count is a nicety of /metrics: it must not take the pages down.
			s.log.WarnContext(ctx, "count failed jobs", "err", err)
			st.jobFailures = nil
		}
	}

	// Alerts: computed from the same stores, so that every process shows the same ones.
	if st.alerts, err = monitor.Check(ctx, monitor.Stores{Registry: reg, Forecasts: s.cfg.Forecasts, Snapshots: s.cfg.Snapshots, Runs: s.cfg.Runs},
		s.cfg.Monitor); err != nil {
		s.log.WarnContext(ctx, "monitoring checks", "err", err)
		st.alerts = nil
	}

	// Derived views.
	if st.served != nil {
		st.forecastResp = forecastResponse(st.served, st.champion, st.target)
	}
	st.past = pastForecasts(st.forecasts, st.scores)
	st.live = liveScores(st.scores, champ)
	st.liveDaily = liveDaily(st.scores)
	return st, nil
}

func (s *Server) loadRuns(ctx context.Context, st, prev *state) error {
	runs, err := s.cfg.Runs.ListRuns(ctx, prevoir.RunFilter{Limit: s.cfg.RunsKept})
	if err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	// Runs the pages link to are kept even when older than the latest ones.
	want := map[string]bool{}
	for _, v := range st.versions {
		want[v.RunID] = true
	}
	if st.served != nil {
		want[st.served.RunID] = true
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
	versionsOf := map[string][]int{}
	for _, v := range st.versions {
		versionsOf[v.RunID] = append(versionsOf[v.RunID], v.Version)
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

// loadBacktest reads the backtest.json of the latest finished leaderboard run: a backtest run
// (prevoir backtest) or a champion selection (the training flow's leaderboard of its batch). A
// missing or unreadable artifact is shown as a message, not an error: the rest of the pages stay
// up.
func (s *Server) loadBacktest(ctx context.Context, st, prev *state) error {
	var runs []*prevoir.Run
	for _, kind := range []prevoir.RunKind{prevoir.RunBacktest, prevoir.RunSelect} {
		rs, err := s.cfg.Runs.ListRuns(ctx, prevoir.RunFilter{Kind: kind, Status: prevoir.RunFinished, Limit: 1})
		if err != nil {
			return fmt.Errorf("backtest runs: %w", err)
		}
		if len(rs) > 0 && (len(runs) == 0 || rs[0].StartedAt.After(runs[0].StartedAt)) {
			runs = rs
		}
	}
	if len(runs) == 0 {
		st.backtestMsg = "no backtest yet: the training flow has not finished a backtest run"
		return nil
	}
	r := runs[0]
	st.backtestKey = r.ID + "@" + r.EndedAt.String()
	if prev != nil && prev.backtestKey == st.backtestKey {
		st.backtest, st.backtestMsg = prev.backtest, prev.backtestMsg
		return nil
	}
	data, err := s.cfg.Artifacts.ReadArtifact(ctx, r.ID, prevoir.BacktestArtifact)
	if err == nil {
		st.backtest, err = parseBacktest(r.ID, r.EndedAt, data)
	}
	if err != nil {
		if code := prevoir.ErrorCode(err); code != prevoir.ENOTFOUND && code != prevoir.EINVALID {
			return fmt.Errorf("backtest of run %s: %w", r.ID, err)
		}
		id := s.logInternal(ctx, slog.LevelWarn, "backtest result unreadable", err, "run", r.ID)
		st.backtest = nil
		st.backtestMsg = withErrorID("no backtest to show: the latest backtest run's result cannot be read", id)
	}
	return nil
}

func (s *Server) loadData(ctx context.Context, st, prev *state) error {
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
	if st.frame != nil {
		st.target = st.frame.Target
	}
	return nil
}

// fetchError is the message st shows for a source's failed fetch, or "" (st may be nil).
func (st *state) fetchError(source string, fetchID int64) string {
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
		vals := st.frame.TargetValues()
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
func (st *state) lastDays(n int) (from, to prevoir.Date) {
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
func (st *state) dataLastDate() prevoir.Date {
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
