package web

import (
	"net/http"
	"time"

	"github.com/prevoir/prevoir"
)

// drainRetryAfter is how long a client refused an action while the server stops should wait:
// long enough for a restart.
const drainRetryAfter = 10 * time.Second

// Drain puts the server in its last state, while its process stops and hands its running jobs
// on: actions answer 503 with Retry-After, and /readyz answers 503 so that a load balancer
// sends requests elsewhere, but the pages and the API still answer from memory until the HTTP
// server is shut down.
func (s *Server) Drain() { s.draining.Store(true) }

// refuseDraining refuses an action, with 503 and Retry-After, while the server drains; it
// reports whether it did.
func (s *Server) refuseDraining(w http.ResponseWriter, r *http.Request, name string) bool {
	if !s.draining.Load() {
		return false
	}
	s.writeError(w, r, &httpError{status: http.StatusServiceUnavailable, code: prevoir.EUNAVAILABLE, retryAfter: drainRetryAfter,
		msg: "the server is shutting down: action " + name + " was not done; try again in a few seconds, once it has restarted (or on another server)"})
	return true
}
