package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/prevoir/prevoir"
)

// contentSecurityPolicy allows nothing but this server's own stylesheet, images and form
// targets: the pages have no script at all (the charts are SVG), so script-src is 'none', and
// no inline style, so style-src is 'self'. frame-ancestors 'none' forbids framing (clickjacking
// on the action forms).
const contentSecurityPolicy = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders are set on every answer. The values are shared slices assigned to the header
// map directly: no allocation per request.
var securityHeaders = [...]struct {
	key string
	val []string
}{
	{"Content-Security-Policy", []string{contentSecurityPolicy}},
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Referrer-Policy", []string{"no-referrer"}},
	{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
	{"Cross-Origin-Resource-Policy", []string{"same-origin"}},
	{"Permissions-Policy", []string{"camera=(), microphone=(), geolocation=(), payment=()"}},
}

// secure sets the security headers, caps request bodies and turns a panic in a handler into a
// logged 500 instead of a dropped connection.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, sh := range securityHeaders {
			h[sh.key] = sh.val
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				id := s.logInternal(r.Context(), slog.LevelError, "handler panic", fmt.Errorf("panic: %v", v),
					"method", r.Method, "path", r.URL.Path, "stack", string(debug.Stack()))
				e := &httpError{status: http.StatusInternalServerError, code: prevoir.EINTERNAL, msg: withErrorID("internal error", id), id: id}
				s.writeError(w, r, e)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status a handler wrote, for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handle registers a route: pattern (without a method, so that a wrong method gets our own
// 405 answer, JSON on the API), the methods it accepts (GET implies HEAD), and the route's
// label in the latency metrics. Nil methods accept any method (the not-found routes).
func (s *Server) handle(mux *http.ServeMux, pattern string, methods []string, h http.HandlerFunc) {
	label := strings.TrimSuffix(pattern, "{$}")
	if anyMethod := methods == nil; anyMethod {
		label = "unmatched " + pattern
	}
	stats := s.metrics.route(label)
	allow := strings.Join(methods, ", ")
	anyMethod := methods == nil
	if slices.Contains(methods, http.MethodGet) {
		methods = append(slices.Clone(methods), http.MethodHead)
		allow += ", HEAD"
	}
	mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if !anyMethod && !slices.Contains(methods, r.Method) {
			sw.Header().Set("Allow", allow)
			e := &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: fmt.Sprintf("method %s not allowed: want %s", truncate(r.Method, 20), allow)}
			s.writeError(sw, r, e)
		} else {
			h(sw, r)
		}
		stats.observe(time.Since(start), sw.status)
	}))
}
