package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
)

// Actions are the operations that change things: queue a data refresh or a retraining, move
// the champion alias, and follow a queued job. The server calls them only for a caller who
// gave the admin token.
type Actions interface {
	// Refresh queues the ingest flow (which queues the forecast and the score) and returns
	// the job's ID; an identical job already waiting is returned instead of a new one.
	Refresh(ctx context.Context) (jobID int64, err error)
	// Retrain queues a training of the configured models of the target named target, or of
	// every target the workers are configured for when target is "".
	Retrain(ctx context.Context, target string) (jobID int64, err error)
	// Promote makes version the champion of model, recording reason. It refuses (ECONFLICT)
	// a version that fails the gate of the champion rule (backtest.CheckPromotion) unless
	// force, and with force records what is overridden in the alias change's reason.
	Promote(ctx context.Context, model string, version int, reason string, force bool) (*prevoir.AliasChange, error)
	// Forecast queues the forecast flow of the target named target after champion became its
	// champion, so that the served forecast becomes its own; a job queued for another champion
	// does not stand for it.
	Forecast(ctx context.Context, target string, champion int) (jobID int64, err error)
	// JobState returns a job's state, or an ENOTFOUND error.
	JobState(ctx context.Context, id int64) (*prevoir.JobStatus, error)
}

// JobFailureCounter is implemented by Actions that can count the jobs that failed for good,
// by kind; /metrics reports them.
type JobFailureCounter interface {
	JobFailures(ctx context.Context) (map[string]int, error)
}

// JobQueue is the job queue as the actions use it, in plain types, so that web depends on no
// queue library: *jobs.Queue implements it.
type JobQueue interface {
	// InsertIngest, InsertTrain and InsertForecast queue a flow and return the job's ID (an
	// identical job still unfinished is returned instead of a new one); trigger says why. The
	// training and the forecast are of target ("" for the default one); an unknown target
	// is an EINVALID error.
	InsertIngest(ctx context.Context, trigger string) (int64, error)
	InsertTrain(ctx context.Context, trigger, target string) (int64, error)
	InsertForecast(ctx context.Context, trigger, target string, champion int) (int64, error)
	// Status returns a job's state, or an ENOTFOUND error.
	Status(ctx context.Context, id int64) (*prevoir.JobStatus, error)
	// FailedJobs counts by kind the jobs that failed for good among the latest n.
	FailedJobs(ctx context.Context, n int) (map[string]int, error)
}

// QueueActions performs the actions on the job queue and the model registry.
type QueueActions struct {
	Queue    JobQueue
	Registry prevoir.Registry
	// MinCoverage80 is the champion rule's lowest 80% interval coverage, as training applies
	// it (backtest.ChampionOptions).
	MinCoverage80 float64
}

var (
	_ Actions           = (*QueueActions)(nil)
	_ JobFailureCounter = (*QueueActions)(nil)
)

// Refresh implements Actions.
func (a *QueueActions) Refresh(ctx context.Context) (int64, error) {
	return a.Queue.InsertIngest(ctx, "manual")
}

// Retrain implements Actions.
func (a *QueueActions) Retrain(ctx context.Context, target string) (int64, error) {
	return a.Queue.InsertTrain(ctx, "manual", target)
}

// Promote implements Actions.
func (a *QueueActions) Promote(ctx context.Context, model string, version int, reason string, force bool) (*prevoir.AliasChange, error) {
	v, err := a.Registry.FindModelVersion(ctx, model, version)
	if err != nil {
		return nil, err
	}
	override, err := backtest.CheckPromotion(v, backtest.ChampionOptions{MinCoverage80: a.MinCoverage80}, force)
	if err != nil {
		return nil, fmt.Errorf(`%w ("force": true promotes it anyway)`, err)
	}
	if override != "" {
		reason += "; " + override
	}
	return a.Registry.SetAlias(ctx, model, prevoir.AliasChampion, version, reason)
}

// Forecast implements Actions.
func (a *QueueActions) Forecast(ctx context.Context, target string, champion int) (int64, error) {
	return a.Queue.InsertForecast(ctx, "promotion", target, champion)
}

// JobState implements Actions.
func (a *QueueActions) JobState(ctx context.Context, id int64) (*prevoir.JobStatus, error) {
	return a.Queue.Status(ctx, id)
}

// failedJobsWindow is how many of the latest jobs JobFailures looks at.
const failedJobsWindow = 1000

// JobFailures implements JobFailureCounter: discarded and cancelled jobs among the latest
// failedJobsWindow.
func (a *QueueActions) JobFailures(ctx context.Context) (map[string]int, error) {
	return a.Queue.FailedJobs(ctx, failedJobsWindow)
}

// action names.
const (
	actRefresh = "refresh"
	actRetrain = "retrain"
	actPromote = "promote"
)

// maxReason bounds a promotion's reason, which is stored in the registry forever.
const maxReason = 500

// actionRequest is what a caller asked for.
type actionRequest struct {
	name    string
	target  string // the target's name; "" for the default one
	version int
	reason  string
	force   bool // promote a version the champion rule refuses
}

// authorize checks that actions are enabled and that the caller gave the admin token, from
// the Authorization header or, for the pages' forms, the "token" form field. A client that
// gave wrong tokens too often is refused without a check until its delay is over.
func (s *Server) authorize(r *http.Request, formToken string) *httpError {
	if !s.actionsEnabled() {
		return &httpError{status: http.StatusForbidden, code: "disabled", msg: "actions are disabled on this server: it was started without an admin token (PREVOIR_ADMIN_TOKEN)"}
	}
	token := formToken
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return &httpError{status: http.StatusUnauthorized, code: "unauthorized", msg: "Authorization header: want Bearer TOKEN"}
		}
		token = strings.TrimSpace(t)
	}
	if token == "" {
		return &httpError{status: http.StatusUnauthorized, code: "unauthorized", msg: "this action needs the admin token"}
	}
	client, now := clientOf(r.RemoteAddr), s.now()
	if d := s.auth.wait(client, now); d > 0 {
		return tooManyAttempts(d)
	}
	// Hashing first makes the comparison constant-time whatever the lengths.
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) != 1 {
		he := &httpError{status: http.StatusForbidden, code: "forbidden", msg: "wrong admin token"}
		if d := s.auth.fail(client, now); d > 0 {
			he.msg += fmt.Sprintf("; after %d wrong tokens, this client must wait %s before the next attempt", authFreeFailures, retrySeconds(d))
		}
		return he
	}
	s.auth.succeed(client)
	return nil
}

// tooManyAttempts is the answer to a client that must wait d before its next attempt.
func tooManyAttempts(d time.Duration) *httpError {
	return &httpError{status: http.StatusTooManyRequests, code: "rate_limited", retryAfter: d,
		msg: fmt.Sprintf("too many wrong admin tokens from this client: try again in %s", retrySeconds(d))}
}

// retrySeconds is d rounded up to whole seconds, the unit of Retry-After.
func retrySeconds(d time.Duration) time.Duration { return (d + time.Second - 1).Truncate(time.Second) }

// parseActionRequest reads an action's parameters from a JSON or form body.
func parseActionRequest(r *http.Request, name string) (actionRequest, string, *httpError) {
	req := actionRequest{name: name}
	var version, token string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var body struct {
			Target  string      `json:"target"`
			Version json.Number `json:"version"`
			Reason  string      `json:"reason"`
			Force   bool        `json:"force"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return req, "", &httpError{status: http.StatusRequestEntityTooLarge, code: prevoir.EINVALID, msg: "request body larger than " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
			}
			return req, "", badRequest("JSON body: %v", err)
		}
		version, req.reason, req.force, req.target = body.Version.String(), body.Reason, body.Force, body.Target
	case "", "application/x-www-form-urlencoded", "multipart/form-data":
		parse := r.ParseForm
		if ct == "multipart/form-data" {
			parse = func() error { return r.ParseMultipartForm(maxBodyBytes) }
		}
		if err := parse(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return req, "", &httpError{status: http.StatusRequestEntityTooLarge, code: prevoir.EINVALID, msg: "request body larger than " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
			}
			return req, "", badRequest("form: %v", err)
		}
		version, req.reason, token, req.target = r.PostForm.Get("version"), r.PostForm.Get("reason"), r.PostForm.Get("token"), r.PostForm.Get("target")
		switch f := r.PostForm.Get("force"); f {
		case "", "false", "off":
		case "true", "on", "1":
			req.force = true
		default:
			return req, token, badRequest("force %q: want true or false", truncate(f, 40))
		}
	default:
		return req, "", &httpError{status: http.StatusUnsupportedMediaType, code: prevoir.EINVALID, msg: "content type " + ct + ": want application/json or a form"}
	}
	if q := r.URL.Query(); q.Has("target") {
		if req.target != "" && req.target != q.Get("target") {
			return req, token, badRequest("target %q in the query and %q in the body: give one", truncate(q.Get("target"), 40), truncate(req.target, 40))
		}
		req.target = q.Get("target")
	}
	if name == actPromote {
		v, herr := parseVersion(version)
		if herr != nil {
			return req, token, herr
		}
		req.version = v
		req.reason = strings.TrimSpace(req.reason)
		if !utf8.ValidString(req.reason) || utf8.RuneCountInString(req.reason) > maxReason {
			return req, token, badRequest("reason: want valid text of at most %d characters", maxReason)
		}
	}
	return req, token, nil
}

// do performs an authorized action. The promotion queues the new champion's forecast, and is
// followed by a refresh of the snapshot, so the pages show the new champion at once (and its
// forecast as pending until the job has run).
func (s *Server) do(ctx context.Context, req actionRequest) (*ActionResponse, error) {
	if req.name == actRetrain && req.target == prevoir.AllTargets {
		// The weekly retrain, by hand: every target the workers train.
		id, err := s.cfg.Actions.Retrain(ctx, "")
		if err != nil {
			return nil, err
		}
		return &ActionResponse{Action: req.name, Message: fmt.Sprintf("retraining of every target queued as job %d", id), JobID: id,
			StatusURL: "/api/v1/jobs/" + strconv.FormatInt(id, 10)}, nil
	}
	t, err := s.servedTarget(req.target)
	if err != nil {
		return nil, err
	}
	switch req.name {
	case actRefresh, actRetrain:
		run, what := s.cfg.Actions.Refresh, "data refresh (ingest, then forecast and score)"
		if req.name == actRetrain {
			run = func(ctx context.Context) (int64, error) { return s.cfg.Actions.Retrain(ctx, t.Name) }
			what = "retraining of " + t.Name
		}
		id, err := run(ctx)
		if err != nil {
			return nil, err
		}
		return &ActionResponse{Action: req.name, Message: fmt.Sprintf("%s queued as job %d", what, id), JobID: id,
			StatusURL: "/api/v1/jobs/" + strconv.FormatInt(id, 10)}, nil
	case actPromote:
		reason := "promoted by hand from the dashboard"
		if req.reason != "" {
			reason += ": " + req.reason
		}
		ch, err := s.cfg.Actions.Promote(ctx, t.Name, req.version, reason, req.force)
		if err != nil {
			return nil, err
		}
		resp := &ActionResponse{Action: req.name, Message: fmt.Sprintf("version %d of %s is now the champion", req.version, t.Name), Change: ch}
		id, qerr := s.cfg.Actions.Forecast(ctx, t.Name, req.version)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		s.Refresh(rctx) // a failure is logged; the next refresh shows the new champion
		// What is served now: the champion's own forecast if it had already made one from the
		// latest origin, else the previous one (if any) until the queued job has run.
		if req.force {
			resp.Message += " (forced; recorded reason: " + ch.Reason + ")"
		}
		var st *state
		if sh := s.state.Load(); sh != nil {
			st, _ = sh.target(t.Name)
		}
		own := st != nil && st.forecastResp != nil && st.forecastResp.IsChampion && st.forecastResp.Version == req.version
		eid := ""
		if qerr != nil {
			// The promotion stands: its forecast waits for the next refresh.
			eid = s.logInternal(ctx, slog.LevelError, "queue the new champion's forecast", qerr, "version", req.version)
		}
		switch {
		case own:
			resp.Message += "; it had already forecast from the latest origin, and that forecast is served"
			if qerr == nil {
				resp.Message += fmt.Sprintf(" (job %d forecasts again if the data changed since)", id)
			}
		case qerr != nil:
			resp.Message += "; " + withErrorID("its forecast could not be queued: the next refresh makes it, and until then the previous forecast, if any, is served marked as not the champion's", eid)
		default:
			resp.Message += fmt.Sprintf("; its forecast is queued as job %d: until that job has run, the previous forecast, if any, is served marked as not the champion's", id)
		}
		if qerr == nil {
			resp.JobID, resp.StatusURL = id, "/api/v1/jobs/"+strconv.FormatInt(id, 10)
		}
		return resp, nil
	}
	return nil, notFoundErr("no action %q", req.name)
}

func knownAction(name string) bool {
	return name == actRefresh || name == actRetrain || name == actPromote
}

// apiAction handles POST /api/v1/actions/{action}.
func (s *Server) apiAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("action")
	if !knownAction(name) {
		s.writeAPIError(w, r, notFoundErr("no action %q: want refresh, retrain or promote", truncate(name, 40)))
		return
	}
	if s.refuseDraining(w, r, name) {
		return
	}
	// The body is read first (bounded by the middleware) because a form may carry the token.
	req, formToken, herr := parseActionRequest(r, name)
	if aerr := s.authorize(r, formToken); aerr != nil {
		s.refuse(w, r, name, aerr)
		return
	}
	if herr != nil {
		s.writeAPIError(w, r, herr)
		return
	}
	resp, err := s.do(r.Context(), req)
	if err != nil {
		he := statusOf(err)
		s.logActionError(r, name, err, he)
		s.writeAPIError(w, r, he)
		return
	}
	s.log.InfoContext(r.Context(), "action", "action", name, "remote", r.RemoteAddr, "job", resp.JobID, "version", req.version)
	status := http.StatusOK
	if resp.queued() {
		status = http.StatusAccepted
		w.Header().Set("Location", resp.StatusURL)
	}
	serveBlob(w, r, jsonBlob(status, resp))
}

// refuse answers a refused action and logs it (without the token).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, name string, he *httpError) {
	level := slog.LevelWarn
	if he.status == http.StatusTooManyRequests {
		level = slog.LevelDebug // the failure that started the delay was logged; the rest would flood the log
	}
	s.log.Log(r.Context(), level, "action refused", "action", name, "remote", r.RemoteAddr, "status", he.status, "reason", he.msg)
	if he.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="prevoir"`)
	}
	s.writeError(w, r, he)
}

// logActionError logs an action the stores rejected; a failure (5xx) is logged, with its error
// id, when its answer is written.
func (s *Server) logActionError(r *http.Request, name string, err error, he *httpError) {
	if he.status < 500 {
		s.log.InfoContext(r.Context(), "action rejected", "action", name, "err", err)
	}
}

// pageAction handles the pages' forms: POST /actions/{action}.
func (s *Server) pageAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("action")
	if !knownAction(name) {
		s.writePageError(w, r, notFoundErr("no action %q", truncate(name, 40)))
		return
	}
	if s.refuseDraining(w, r, name) {
		return
	}
	req, formToken, herr := parseActionRequest(r, name)
	if aerr := s.authorize(r, formToken); aerr != nil {
		s.refuse(w, r, name, aerr)
		return
	}
	if herr != nil {
		s.writePageError(w, r, herr)
		return
	}
	resp, err := s.do(r.Context(), req)
	if err != nil {
		he := statusOf(err)
		s.logActionError(r, name, err, he)
		s.writePageError(w, r, he)
		return
	}
	s.log.InfoContext(r.Context(), "action", "action", name, "remote", r.RemoteAddr, "job", resp.JobID, "version", req.version)
	if resp.queued() {
		http.Redirect(w, r, "/jobs/"+strconv.FormatInt(resp.JobID, 10), http.StatusSeeOther)
		return
	}
	if resp.JobID != 0 {
		s.writeMessagePage(w, r, http.StatusOK, "Done", resp.Message, "/jobs/"+strconv.FormatInt(resp.JobID, 10), "Follow the forecast job")
		return
	}
	t, _ := s.servedTarget(req.target) // served: do checked it
	s.writeMessagePage(w, r, http.StatusOK, "Done", resp.Message, "/models"+s.targetQuery(t), "See the models")
}

// jobCache keeps job states for a second and bounds concurrent lookups, so that a page
// refreshing itself, or many of them, cost the queue a handful of queries.
type jobCache struct {
	mu       sync.Mutex
	entries  map[int64]jobEntry
	notified map[int64]bool
	sem      chan struct{}
}

type jobEntry struct {
	js  *prevoir.JobStatus
	err error
	at  time.Time
}

const (
	jobCacheTTL  = time.Second
	jobCacheSize = 256
)

// jobState returns a job's state through the cache, and asks for a refresh of the snapshot
// once a job is seen completed: its results are then in the stores.
func (s *Server) jobState(ctx context.Context, id int64) (*prevoir.JobStatus, error) {
	c := &s.jobs
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && time.Since(e.at) < jobCacheTTL {
		c.mu.Unlock()
		return e.js, e.err
	}
	c.mu.Unlock()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	js, err := s.cfg.Actions.JobState(ctx, id)
	<-c.sem
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= jobCacheSize {
		c.entries = map[int64]jobEntry{}
	}
	if c.notified == nil || len(c.notified) >= jobCacheSize {
		c.notified = map[int64]bool{}
	}
	if err == nil || notFound(err) {
		c.entries[id] = jobEntry{js, err, time.Now()}
	}
	if err == nil && js.Done && !c.notified[id] {
		c.notified[id] = true
		s.requestRefresh()
	}
	return js, err
}

func parseJobID(s string) (int64, *httpError) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("job id %q: want a positive whole number", truncate(s, 40))
	}
	return id, nil
}

// apiJob handles GET /api/v1/jobs/{id}.
func (s *Server) apiJob(w http.ResponseWriter, r *http.Request) {
	if _, err := parseQuery(r); err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	if !s.actionsEnabled() {
		s.writeAPIError(w, r, &httpError{status: http.StatusNotFound, code: "disabled", msg: "actions are disabled on this server, so there are no jobs to follow"})
		return
	}
	id, herr := parseJobID(r.PathValue("id"))
	if herr != nil {
		s.writeAPIError(w, r, herr)
		return
	}
	js, err := s.jobState(r.Context(), id)
	if err != nil {
		s.writeAPIError(w, r, statusOf(err))
		return
	}
	serveBlob(w, r, jsonBlob(http.StatusOK, js))
}
