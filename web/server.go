package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/monitor"
)

// ArtifactReader reads a run's artifact, verified against its recorded hash;
// *tracking.Tracker implements it.
type ArtifactReader interface {
	ReadArtifact(ctx context.Context, runID, path string) ([]byte, error)
}

// Config holds a Server's dependencies and settings.
type Config struct {
	Snapshots prevoir.SnapshotStore
	Runs      prevoir.RunStore
	Registry  prevoir.Registry
	Forecasts prevoir.ForecastStore
	// Artifacts reads the backtest.json artifact of backtest runs (a *tracking.Tracker).
	Artifacts ArtifactReader
	// Frame builds the current daily frame, e.g. ingest.Service.Frame on the configured
	// sources and frame options. It is called only when a source's current snapshot changed.
	Frame func(ctx context.Context) (*prevoir.Frame, error)
	// Sources are the data sources whose freshness is shown (prevoir.DefaultSources() when
	// empty).
	Sources []prevoir.Source
	// Actions performs the actions; nil disables them, as does an empty AdminToken. A token
	// shorter than MinAdminTokenLen is refused.
	Actions    Actions
	AdminToken string
	// AllowedHosts are the names (or addresses), each with an optional :port, that requests
	// may give in their Host header besides the listen address's host, localhost, 127.0.0.1
	// and [::1]; other requests get a 421 (a defence against DNS rebinding, see hosts.go).
	AllowedHosts []string
	Logger       *slog.Logger
	// Targets are the targets whose forecasts are served, each its own registered model
	// (prevoir.Targets() when empty). A request names one with ?target=; one that names none
	// gets prevoir.DefaultTarget, or the first of Targets when it is not among them.
	Targets []prevoir.Target
	// RefreshEvery is how often the in-memory snapshot is rebuilt (30 s when zero).
	RefreshEvery time.Duration
	// RunsKept is how many of the latest runs are kept in memory and listed (200 when zero).
	RunsKept int
	// Now returns the current time (time.Now when nil); tests pin it.
	Now func() time.Time
	// Monitor sets the thresholds of the alerts shown on every page and in /metrics.
	Monitor monitor.Options
}

// Defaults.
const (
	DefaultRefreshEvery = 30 * time.Second
	DefaultRunsKept     = 200
	// maxBodyBytes caps request bodies: actions take a token, a version and a reason.
	maxBodyBytes = 64 << 10
)

// Server is prevoir's HTTP server: API, pages, health, metrics and actions.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	state   atomic.Pointer[shared]
	targets []prevoir.Target
	// defTarget is the name of the target served when a request names none.
	defTarget string
	handler   http.Handler
	pages     map[string]*template.Template
	assets    map[string]*blob
	metrics   *httpMetrics

	refreshMu sync.Mutex    // one rebuild at a time
	kick      chan struct{} // asks the refresh loop for a rebuild now
	refreshes refreshStats
	jobs      jobCache
	auth      *authThrottle
	tokenHash [sha256.Size]byte          // of cfg.AdminToken, hashed once: authorize compares hashes
	hosts     atomic.Pointer[hostPolicy] // grows by the listen address when serving
	draining  atomic.Bool                // see Drain
}

// refreshStats are the rebuilds' outcomes, for /metrics and /readyz.
type refreshStats struct {
	lastOK   atomic.Int64 // unix nanoseconds of the last successful rebuild
	lastErr  atomic.Pointer[string]
	errors   atomic.Int64
	duration atomic.Int64 // nanoseconds of the last successful rebuild
}

// New returns a server on the given stores. It loads nothing yet: call Refresh (Run does).
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Snapshots == nil, cfg.Runs == nil, cfg.Registry == nil, cfg.Forecasts == nil:
		return nil, prevoir.Errorf(prevoir.EINVALID, "web: the snapshot, run, registry and forecast stores are required")
	case cfg.Artifacts == nil:
		return nil, prevoir.Errorf(prevoir.EINVALID, "web: an artifact reader is required")
	case cfg.Frame == nil:
		return nil, prevoir.Errorf(prevoir.EINVALID, "web: a frame loader is required")
	case cfg.RefreshEvery < 0:
		return nil, prevoir.Errorf(prevoir.EINVALID, "web: refresh interval %s: want > 0", cfg.RefreshEvery)
	}
	if err := CheckAdminToken(cfg.AdminToken); err != nil {
		return nil, err
	}
	targets := cfg.Targets
	if len(targets) == 0 {
		targets = prevoir.Targets()
	}
	seen := map[string]bool{}
	for _, t := range targets {
		if _, err := prevoir.LookupTarget(t.Name); err != nil {
			return nil, fmt.Errorf("web: served targets: %w", err)
		}
		if seen[t.Name] {
			return nil, prevoir.Errorf(prevoir.EINVALID, "web: served targets: %s given twice", t.Name)
		}
		seen[t.Name] = true
	}
	if cfg.RefreshEvery == 0 {
		cfg.RefreshEvery = DefaultRefreshEvery
	}
	if cfg.RunsKept <= 0 {
		cfg.RunsKept = DefaultRunsKept
	}
	if len(cfg.Sources) == 0 {
		cfg.Sources = prevoir.DefaultSources()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, kick: make(chan struct{}, 1), targets: targets, defTarget: targets[0].Name}
	if seen[prevoir.DefaultTarget] {
		s.defTarget = prevoir.DefaultTarget
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	s.metrics = newHTTPMetrics()
	s.jobs.sem = make(chan struct{}, 2)
	s.auth = newAuthThrottle(authMaxClients)
	s.tokenHash = sha256.Sum256([]byte(cfg.AdminToken))
	hosts, err := newHostPolicy(cfg.AllowedHosts)
	if err != nil {
		return nil, err
	}
	s.hosts.Store(hosts)
	s.handler = s.routes()
	return s, nil
}

// actionsEnabled reports whether actions can be performed: they need both an implementation
// and a token to check callers against.
func (s *Server) actionsEnabled() bool { return s.cfg.Actions != nil && s.cfg.AdminToken != "" }

// Handler returns the server's HTTP handler, with its middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on addr and serves until ctx is done, then shuts down gracefully. It loads the
// in-memory snapshot first (a failure is logged and retried by the refresh loop: the server
// answers "not ready" meanwhile) and keeps it fresh while it runs.
func (s *Server) Run(ctx context.Context, addr string) error {
	s.allowListen(addr) // the name it was given, which the listener's address resolves
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests listen on 127.0.0.1:0).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if p := s.allowListen(ln.Addr().String()); p.everywhere && len(s.cfg.AllowedHosts) == 0 {
		s.log.WarnContext(ctx, "listening on every interface, but no host name is allowed: requests must name the server localhost, 127.0.0.1 or [::1]; "+
			"list the names it is reached by with --allowed-hosts (PREVOIR_ALLOWED_HOSTS)", "addr", ln.Addr().String())
	}
	if err := s.Refresh(ctx); err != nil {
		s.log.ErrorContext(ctx, "initial refresh failed; serving 'not ready' until a refresh succeeds")
	}
	loopCtx, stopLoop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.refreshLoop(loopCtx) })
	defer func() {
		stopLoop()
		wg.Wait()
	}()

	srv := NewHTTPServer(s.Handler(), s.log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "targets", len(s.targets), "actions", s.actionsEnabled())
	select {
	case err := <-errc:
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: serve: %w", err)
	}
	s.log.InfoContext(ctx, "server stopped")
	return nil
}

// NewHTTPServer returns an http.Server for h with the timeouts and limits a public server
// needs: a slow or stalled client cannot hold a connection or a goroutine for long. Its
// connection errors go to logger (discarded when nil).
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// refreshLoop rebuilds the snapshot every RefreshEvery and whenever kicked.
func (s *Server) refreshLoop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.RefreshEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
		}
		rctx, cancel := context.WithTimeout(ctx, max(2*s.cfg.RefreshEvery, time.Minute))
		s.Refresh(rctx) // a failure is logged by Refresh and shown by /readyz
		cancel()
	}
}

// requestRefresh asks the refresh loop for a rebuild soon, without waiting for it.
func (s *Server) requestRefresh() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Refresh rebuilds the in-memory snapshot from the stores now. On failure the previous
// snapshot stays in place, and the failure is logged.
func (s *Server) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	start := time.Now()
	prev := s.state.Load()
	st, err := s.load(ctx, prev)
	if err == nil {
		err = s.render(st, prev)
	}
	if err != nil {
		// /readyz shows the failure to anyone: the details go to the log only.
		s.refreshes.errors.Add(1)
		id := s.logInternal(ctx, slog.LevelWarn, "refresh failed; serving the previous snapshot", err)
		msg := withErrorID("the last rebuild of the served data failed", id)
		s.refreshes.lastErr.Store(&msg)
		return fmt.Errorf("web: refresh (error id %s): %w", id, err)
	}
	s.state.Store(st)
	s.refreshes.lastErr.Store(nil)
	s.refreshes.lastOK.Store(time.Now().UnixNano())
	s.refreshes.duration.Store(int64(time.Since(start)))
	s.log.DebugContext(ctx, "snapshot refreshed", "took", time.Since(start))
	return nil
}

// isAPI reports whether a path belongs to the JSON API (errors there are JSON).
func isAPI(path string) bool { return strings.HasPrefix(path, "/api/") }
