// Package logdedup keeps a failing process's log readable: during an outage every loop of
// every component reports the same error, several times a second. Its slog.Handler lets the
// first warning or error with a given level, message and error text through, drops the same
// record again within a window, and lets the next one after the window through with a
// repeated=N attribute counting the ones it dropped. A warning without an error is the same
// record only with the same attributes: "action refused" from two clients are two events.
// Info and debug records pass untouched, and so does a record with an error_id attribute:
// someone was handed that id to look it up.
package logdedup

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultWindow is how long a repeated warning or error is held back.
const DefaultWindow = 10 * time.Second

// maxKeys bounds the records remembered; beyond, the ones older than the window are forgotten
// (they would pass anyway; only their count of dropped repeats is lost).
const maxKeys = 1024

// Handler wraps another slog.Handler. It is safe for concurrent use, and the handlers derived
// from it (WithAttrs, WithGroup) share its memory of what was logged.
type Handler struct {
	next slog.Handler
	// scope tells apart the same message from two loggers with different attributes (two
	// components): they are not repeats of each other.
	scope string
	state *state
}

type state struct {
	window time.Duration
	mu     sync.Mutex
	seen   map[key]*entry
}

type key struct {
	scope string
	level slog.Level
	msg   string
	err   string // the record's error text; its attributes when it has no error
}

type entry struct {
	passed  time.Time // when the last record went through
	dropped int       // repeats dropped since
}

// New returns a handler that passes records to next, holding back repeated warnings and errors
// for window (DefaultWindow when zero or less).
func New(next slog.Handler, window time.Duration) *Handler {
	if window <= 0 {
		window = DefaultWindow
	}
	return &Handler{next: next, state: &state{window: window, seen: map[key]*entry{}}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	var b strings.Builder
	b.WriteString(h.scope)
	for _, a := range attrs {
		b.WriteString(" " + a.String())
	}
	return &Handler{next: h.next.WithAttrs(attrs), scope: b.String(), state: h.state}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{next: h.next.WithGroup(name), scope: h.scope + " " + name + "{", state: h.state}
}

// Handle implements slog.Handler. A record's own time decides whether it falls in the window
// of the previous one.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn || hasAttr(r, IDKey) {
		return h.next.Handle(ctx, r)
	}
	at := r.Time
	if at.IsZero() {
		at = time.Now()
	}
	what := errorText(r)
	if what == "" {
		what = attrsText(r)
	}
	dropped, pass := h.state.admit(key{scope: h.scope, level: r.Level, msg: r.Message, err: what}, at)
	if !pass {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", dropped))
	}
	return h.next.Handle(ctx, r)
}

// admit records a record of key k at time at, and tells whether it goes through and how many
// repeats were dropped before it.
func (s *state) admit(k key, at time.Time) (dropped int, pass bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.seen[k]
	if e == nil {
		if len(s.seen) >= maxKeys {
			for old, oe := range s.seen {
				if at.Sub(oe.passed) >= s.window {
					delete(s.seen, old)
				}
			}
		}
		s.seen[k] = &entry{passed: at}
		return 0, true
	}
	if at.Sub(e.passed) < s.window {
		e.dropped++
		return 0, false
	}
	dropped = e.dropped
	e.passed, e.dropped = at, 0
	return dropped, true
}

// IDKey is the attribute of a record that must not be held back: the id of an error shown to a
// user, who may ask an operator to find it in the log.
const IDKey = "error_id"

func hasAttr(r slog.Record, k string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == k
		return !found
	})
	return found
}

// errorText joins the texts of a record's errors: attributes whose value is an error, or a
// string under the key err or error, groups included.
func errorText(r slog.Record) string {
	var b strings.Builder
	var visit func(a slog.Attr)
	visit = func(a slog.Attr) {
		v := a.Value.Resolve()
		switch {
		case v.Kind() == slog.KindGroup:
			for _, g := range v.Group() {
				visit(g)
			}
		case v.Kind() == slog.KindAny:
			if err, ok := v.Any().(error); ok {
				b.WriteString(a.Key + "=" + err.Error() + ";")
			}
		case v.Kind() == slog.KindString && (a.Key == "err" || a.Key == "error"):
			b.WriteString(a.Key + "=" + v.String() + ";")
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		visit(a)
		return true
	})
	return b.String()
}

// attrsText renders a record's attributes.
func attrsText(r slog.Record) string {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(a.String() + ";")
		return true
	})
	return b.String()
}
