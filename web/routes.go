package web

import "net/http"

var (
	get  = []string{http.MethodGet}
	post = []string{http.MethodPost}
)

// routes returns the server's handler. Every route is registered without a method so that a
// wrong method gets a 405 in the route's own format; unknown paths get a 404 in JSON under
// /api/ and as a page elsewhere.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// API.
	s.handle(mux, "/api/v1/{$}", get, s.apiIndex)
	s.handle(mux, "/api/v1/targets", get, s.apiTargets)
	s.handle(mux, "/api/v1/forecast", get, s.apiForecast)
	s.handle(mux, "/api/v1/history", get, s.apiHistory)
	s.handle(mux, "/api/v1/forecasts", get, s.apiForecasts)
	s.handle(mux, "/api/v1/leaderboard", get, s.apiLeaderboard)
	s.handle(mux, "/api/v1/runs", get, s.apiRuns)
	s.handle(mux, "/api/v1/runs/{id}", get, s.apiRun)
	s.handle(mux, "/api/v1/models", get, s.apiModels)
	s.handle(mux, "/api/v1/models/{version}", get, s.apiModel)
	s.handle(mux, "/api/v1/data", get, s.apiData)
	s.handle(mux, "/api/v1/snapshots", get, s.apiSnapshots)
	s.handle(mux, "/api/v1/jobs/{id}", get, s.apiJob)
	s.handle(mux, "/api/v1/alerts", get, s.apiAlerts)
	s.handle(mux, "/api/v1/actions/{action}", post, s.apiAction)
	s.handle(mux, "/api/", nil, s.apiNotFound)

	// Operations.
	s.handle(mux, "/healthz", get, s.healthz)
	s.handle(mux, "/readyz", get, s.readyz)
	s.handle(mux, "/metrics", get, s.metricsHandler)

	// Pages.
	s.handle(mux, "/{$}", get, s.pageDashboard)
	s.handle(mux, "/models", get, s.pageModels)
	s.handle(mux, "/runs", get, s.pageRuns)
	s.handle(mux, "/runs/{id}", get, s.pageRun)
	s.handle(mux, "/data", get, s.pageData)
	s.handle(mux, "/actions", get, s.pageActions)
	s.handle(mux, "/actions/{action}", post, s.pageAction)
	s.handle(mux, "/jobs/{id}", get, s.pageJob)
	s.handle(mux, "/static/{name}", get, s.static)
	s.handle(mux, "/", nil, s.pageNotFound)

	return s.secure(s.checkHost(mux))
}
