package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/backtest"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/jobs"
	"github.com/prevoir/prevoir/web"
)

// testToken is the admin token of the fixtures that enable actions.
const testToken = "s3cret-admin-token-for-tests"

// testNow pins the servers' clock, so ages in the pages are stable.
var testNow = time.Date(2023, 1, 4, 12, 0, 0, 0, time.UTC)

type fixtureOpts struct {
	dbURL string
	// seed is what to store before the server loads: "standard" (everything), "targets"
	// (everything, and a second target: seed.StandardTargets), "data" (only the ingested data:
	// no model), or "" (nothing).
	seed string
	// targets are the served targets (Config.Targets: every target when nil).
	targets []prevoir.Target
	// token enables actions with this admin token (on the real job queue and registry).
	token string
	// noActions leaves the Actions nil even with a token.
	noActions bool
	// now is the server's clock (testNow when nil).
	now func() time.Time
	// allowedHosts is Config.AllowedHosts.
	allowedHosts []string
	// prepare, when set, changes the home after seeding, before the server loads it.
	prepare func(t *testing.T, env *seed.Env)
}

type fixture struct {
	env    *seed.Env
	seeded *seed.Seeded
	second *seed.TargetSeeded // the second target's, with seed "targets"
	srv    *web.Server
	ts     *httptest.Server
	queue  *jobs.Queue
	log    *testutil.LogBuffer // the server's log, as JSON lines
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	if o.dbURL == "" {
		o.dbURL = testutil.SQLiteURL(t)
	}
	f := &fixture{env: seed.Open(t, o.dbURL)}
	switch o.seed {
	case "standard":
		f.seeded = f.env.Standard(t)
	case "targets":
		f.seeded, f.second = f.env.StandardTargets(t)
	case "data":
		f.env.Ingest(t)
	}
	if o.prepare != nil {
		o.prepare(t, f.env)
	}
	if o.now == nil {
		o.now = func() time.Time { return testNow }
	}
	f.log = &testutil.LogBuffer{}
	cfg := storesConfig(f.env)
	cfg.Sources, cfg.AdminToken, cfg.Now, cfg.AllowedHosts, cfg.Targets = f.env.Sources, o.token, o.now, o.allowedHosts, o.targets
	cfg.Logger = slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.token != "" && !o.noActions {
		// The real queue on the same database; no worker: the tests check what was queued.
		q, err := jobs.Open(context.Background(), f.env.DB, nil, jobs.DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(q.Close)
		f.queue = q
		cfg.Actions = &web.QueueActions{Queue: q, Registry: f.env.Registry}
	}
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = newTestServer(t, srv)
	return f
}

// storesConfig is the smallest valid Config: env's stores, everything else defaulted.
func storesConfig(env *seed.Env) web.Config {
	return web.Config{Snapshots: env.Snapshots, Runs: env.Runs, Registry: env.Registry, Forecasts: env.Forecasts,
		Artifacts: env.Tracker, Frame: env.Frame}
}

// newTestServer serves srv on 127.0.0.1 until the test ends.
func newTestServer(t *testing.T, srv *web.Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// do sends a request and returns the status, headers and body.
func (f *fixture) do(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	return send(t, f.ts.Client(), req)
}

// send sends a request with client and returns the status, headers and body.
func send(t *testing.T, client *http.Client, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func (f *fixture) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, req)
}

// getJSON GETs path, checks the status and the content type, and decodes the body into v.
func (f *fixture) getJSON(t *testing.T, path string, wantStatus int, v any) {
	t.Helper()
	status, h, body := f.get(t, path)
	if status != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", path, status, wantStatus, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q", path, ct)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
}

func (f *fixture) post(t *testing.T, path, contentType, body string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return f.do(t, req)
}

// weeklyBacktest is a backtest result as package backtest writes it, with relative and weekly
// scores, whose models are stored out of the leaderboard's order: theta, then lin (the lowest
// MAE, but it failed at 2 origins: not ranked), then ets (the champion).
func weeklyBacktest() *backtest.Result {
	nan := prevoir.NaN()
	horizon := func(base float64) prevoir.Series { return prevoir.Series{base, base + 1, base + 2} }
	weekly := func(rae, rwis, c50, c95 prevoir.Number) backtest.WeeklyScore {
		return backtest.WeeklyScore{MAE: 70, WIS: 50, RelativeAE: rae, RelativeWIS: rwis, Coverage50: c50, Coverage95: c95, Weeks: 40}
	}
	return &backtest.Result{
		Champion:  "ets",
		Protocol:  backtest.Protocol{Target: prevoir.DefaultTarget, Horizon: 3},
		Reference: backtest.Reference{Daily: "snaive", Weekly: "naive_weekly"},
		Models: []backtest.ModelScore{
			{Name: "theta", MAE: 12.25, RMSE: 16.1, MASE: 0.87, SMAPE: 20, WIS: 8.4, Coverage50: 0.45, Coverage80: 0.74, Coverage95: 0.91,
				RelativeWIS: 0.91, Weekly: weekly(0.83, 0.79, 0.42, 0.88), MAEByHorizon: horizon(11), FitSeconds: 0.12, Origins: 20, Points: 60},
			{Name: "lin", MAE: 9, RMSE: 12, MASE: 0.7, SMAPE: 18, WIS: 6, Coverage50: nan, Coverage80: nan, Coverage95: nan,
				RelativeWIS: 0.7, MAEByHorizon: horizon(8), FitSeconds: 0.05, Origins: 18, Points: 54, Failures: 2, Error: "singular matrix"},
			{Name: "ets", MAE: 11.5, RMSE: 15.2, MASE: 0.82, SMAPE: 19, WIS: 7.9, Coverage50: 0.48, Coverage80: 0.78, Coverage95: 0.93,
				RelativeWIS: 0.8, Weekly: weekly(0.71, 0.64, 0.5, 0.9), MAEByHorizon: horizon(10), FitSeconds: 0.84, Origins: 20, Points: 60},
		},
	}
}

// logBacktest records a finished backtest run whose backtest.json is res, written by
// backtest.WriteJSON as the training flow writes it.
func logBacktest(t *testing.T, env *seed.Env, res *backtest.Result) {
	t.Helper()
	ctx := context.Background()
	var data bytes.Buffer
	if err := backtest.WriteJSON(&data, res); err != nil {
		t.Fatal(err)
	}
	r, err := env.Tracker.Start(ctx, &prevoir.Run{Kind: prevoir.RunBacktest, Name: "backtest"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LogArtifact(ctx, prevoir.BacktestArtifact, data.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := r.End(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
