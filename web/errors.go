package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/logdedup"
)

// Internal errors (an unreachable database, a missing artifact, a resolver that does not
// answer) may carry details that are nobody's business but the operator's: folders, addresses,
// SQL. The server logs them under a random error id and shows the id with a generic message, so
// that an operator handed the answer finds the log line.

// newErrorID returns a new random error id.
func newErrorID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// logInternal logs err at level under a new error id, with attrs, and returns the id.
func (s *Server) logInternal(ctx context.Context, level slog.Level, msg string, err error, attrs ...any) string {
	id := newErrorID()
	s.log.Log(ctx, level, msg, append([]any{logdedup.IDKey, id, "err", err}, attrs...)...)
	return id
}

// withErrorID is what a caller reads instead of an internal error.
func withErrorID(what, id string) string {
	return what + " (error id " + id + ": the server's log has the details)"
}

// public returns the answer to give for e: e itself when it was written for the caller, or,
// when it was made from an internal error, a copy with a generic message and the id its cause
// is logged under.
func (s *Server) public(r *http.Request, e *httpError) *httpError {
	if e.cause == nil { // written for the caller, or already logged: public's answer has no cause
		return e
	}
	level := slog.LevelError
	if e.status == http.StatusServiceUnavailable {
		level = slog.LevelWarn // an outage of a store, not a bug
	}
	id := s.logInternal(r.Context(), level, "request failed", e.cause, "method", r.Method, "path", r.URL.Path, "status", e.status)
	return &httpError{status: e.status, code: e.code, msg: withErrorID(e.msg, id), id: id, retryAfter: e.retryAfter}
}

// setRetryAfter tells a client refused for a while (429, 503) when to come back, in whole
// seconds.
func setRetryAfter(w http.ResponseWriter, e *httpError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(retrySeconds(e.retryAfter)/time.Second), 10))
	}
}

// writeError answers e as a JSON error under /api/ and as an error page elsewhere.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *httpError) {
	if isAPI(r.URL.Path) {
		s.writeAPIError(w, r, e)
	} else {
		s.writePageError(w, r, e)
	}
}
