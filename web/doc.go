// Package web serves prevoir's forecast to people and programs: a JSON and CSV API under
// /api/v1, server-rendered HTML pages (the dashboard, the models, the runs, the data),
// health checks, Prometheus metrics, and a few token-protected actions (refresh the data,
// retrain, promote a model version) that queue jobs for the workers.
//
// # Reads come from memory
//
// Readers never touch the database, the artifact store or the training work: a Server keeps
// an in-memory snapshot of everything its pages and endpoints show (the latest forecast, the
// history of the target, past forecasts and their scores, the leaderboard, runs, model
// versions, data freshness), with the answers to the common requests pre-rendered as bytes
// (and pre-compressed). The snapshot is rebuilt every RefreshEvery (30 s by default), and at
// once after an action, by one goroutine; a failed rebuild keeps the previous snapshot and
// is reported in /metrics and /readyz. A burst of readers therefore costs memory copies, not
// queries, and the numbers on the pages and in the API always come from the same snapshot.
// Requests with other parameters (a history span of 42 days, a filtered run list) are
// computed from the in-memory snapshot too.
//
// # Charts are SVG drawn by the server
//
// The charts are inline SVG written by this package (charts.go, on internal/svgplot, the
// plotting engine the backtest report shares), not a JavaScript library:
// nothing to vendor or audit, a Content-Security-Policy that allows no script at all, pages
// that show every number with JavaScript off, and hover values through SVG <title> elements
// (the browser's own tooltip). Every chart has the same numbers in a table next to it.
//
// # Actions
//
// Actions change things, so they are POST only and need the admin token (an
// "Authorization: Bearer" header for the API, a form field on the pages); a server started
// without a token has them disabled. A client (an IP address, an IPv6 /64) that gave 5 wrong
// tokens must wait before its next attempt, 1 s doubling up to 15 min (429 with Retry-After;
// throttle.go). They go through the Actions interface, which QueueActions implements on a
// JobQueue (the job queue in plain types: *jobs.Queue, which web does not import, so that no
// queue library is linked into it) and the model registry; a queued job's progress is at
// /api/v1/jobs/{id} and /jobs/{id}.
//
// # Trust
//
// The server answers only requests whose Host header names it: the host of its listen
// address, localhost, 127.0.0.1, [::1], and Config.AllowedHosts; others get 421, so that a
// page of another site cannot read it through DNS rebinding (hosts.go). /healthz and /readyz
// answer any Host, for load balancers. An internal error (a store's, a missing artifact, a
// failed fetch) is logged with a random error id, and readers get a generic message with the
// id, never the error itself, which may name folders, addresses or SQL (errors.go).
//
// # Wiring
//
// The serve command opens the stores and hands them over:
//
//	srv, err := web.New(web.Config{
//		Snapshots: sqlstore.NewSnapshotStore(db), Runs: sqlstore.NewRunStore(db),
//		Registry: sqlstore.NewRegistry(db), Forecasts: sqlstore.NewForecastStore(db),
//		Artifacts: tracker, // *tracking.Tracker: reads backtest.json, verified
//		Frame: func(ctx context.Context) (*prevoir.Frame, error) {
//			return ingester.Frame(ctx, sources, frameOptions)
//		},
//		Sources:    sources,
//		Actions:    &web.QueueActions{Queue: queue /* *jobs.Queue */, Registry: registry},
//		AdminToken: os.Getenv("PREVOIR_ADMIN_TOKEN"), // empty: actions disabled
//		Logger:     logger, Targets: prevoir.Targets(), RefreshEvery: 30 * time.Second,
//	})
//	...
//	err = srv.Run(ctx, ":8080") // returns once ctx is done and the server has shut down
//
// # Targets
//
// The server serves every target of Config.Targets (prevoir.Targets() by default), each its own
// registered model: the snapshot holds what every target shares (runs, data, alerts) once and
// one state per target (champion, versions, forecasts, scores, backtest, pre-rendered answers),
// rebuilt together. A request names its target with ?target=NAME; without it, it gets
// prevoir.DefaultTarget (or the first served target when that one is not served). An unknown or
// unserved name is a 400 {"error": "unknown target \"x\": want one of incid_dchosp, ...",
// "code": "invalid"}. A backtest's target is the column its backtest.json's protocol forecast
// (the default target's when it names none).
//
// # Endpoints
//
// JSON (and CSV with format=csv where the answer is a table), versioned under /api/v1:
// targets (every served target: name, column, label, unit, kind, with its last observed value
// and date, champion, next week's forecast, days 1-7 of the served forecast, as a total for a
// daily count and a mean for an occupancy, the same over the past observed week and the trend,
// up/down beyond TrendThreshold, flat within), and, each taking target: forecast, history
// (days=N|all or from/to), forecasts (past forecasts and their realised errors), leaderboard
// (backtest and live metrics, the champion and its history), models and models/{version};
// runs (every target's runs unless target is given) and runs/{id}, data (freshness),
// snapshots, alerts (every target's unless target=NAME: then that target's model's with those
// about no model), jobs/{id}, and POST actions/{refresh,retrain,promote}, retrain and promote
// taking "target" in their body (or ?target=) for the default target when absent (retrain
// also "all": every target the workers train, as the weekly schedule does). A history span with no observed day has no days, and
// from/to as asked (null when open or unknown). Errors are JSON objects {"error": ...,
// "code": ...}, with "error_id" for an internal error: 400 for a bad or unknown parameter,
// 404 for an unknown route or thing, and 404 "no forecast yet" for the forecast before the
// champion has made one (with "no model trained yet" when there is no champion). The forecast
// served is the champion's from the latest origin; right after a promotion, which queues the
// champion's forecast, it is the previous one with is_champion false and a note. /healthz, /readyz (503 with the reason while loading, when stale,
// when the current snapshots cannot build the frame, or while the server shuts down) and
// /metrics (Prometheus text format) serve operations. /api/v1/ lists the endpoints. While the
// server shuts down (Drain), actions answer 503 with Retry-After and the rest answers as before.
package web
