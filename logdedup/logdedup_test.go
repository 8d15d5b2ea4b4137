package logdedup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/logdedup"
)

var t0 = time.Date(2026, 3, 1, 19, 30, 0, 0, time.UTC)

// lines parses the JSON lines a handler wrote.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

func record(at time.Time, level slog.Level, msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

func TestRepeatsHeldBackThenCounted(t *testing.T) {
	var buf bytes.Buffer
	h := logdedup.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), 10*time.Second)
	ctx := context.Background()
	refused := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	send := func(at time.Duration, level slog.Level, msg string, attrs ...slog.Attr) {
		t.Helper()
		if err := h.Handle(ctx, record(t0.Add(at), level, msg, attrs...)); err != nil {
			t.Fatal(err)
		}
	}
	send(0, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused), slog.Int("attempt", 1))
	send(time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused), slog.Int("attempt", 2))
	send(2*time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused), slog.Int("attempt", 3))
	got := lines(t, &buf)
	if len(got) != 1 || got[0]["attempt"] != 1.0 || got[0]["repeated"] != nil {
		t.Fatalf("three repeats within the window: %v", got)
	}
	// Not repeats: another error, another level, another message.
	send(3*time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", errors.New("connection reset by peer")))
	send(3*time.Second, slog.LevelWarn, "job queue: fetch failed", slog.Any("err", refused))
	send(3*time.Second, slog.LevelError, "run heartbeat failed", slog.Any("err", refused))
	if got := lines(t, &buf); len(got) != 3 {
		t.Fatalf("distinct records: %d lines, want 3: %v", len(got), got)
	}
	// Info and debug pass, repeated or not.
	for range 3 {
		send(4*time.Second, slog.LevelInfo, "run started")
		send(4*time.Second, slog.LevelDebug, "poll")
	}
	if got := lines(t, &buf); len(got) != 6 {
		t.Fatalf("info and debug: %d lines, want 6", len(got))
	}
	// A warning without an error is repeated only with the same attributes.
	for _, remote := range []string{"192.0.2.1:4000", "192.0.2.2:4000", "192.0.2.2:4000"} {
		send(5*time.Second, slog.LevelWarn, "action refused", slog.String("remote", remote), slog.Int("status", 403))
	}
	if got := lines(t, &buf); len(got) != 2 || got[1]["remote"] != "192.0.2.2:4000" {
		t.Fatalf("warnings from two clients: %v", got)
	}
	// A record with an error id shown to a user always goes through.
	for _, id := range []string{"a1", "b2"} {
		send(5*time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused), slog.String("error_id", id))
	}
	if got := lines(t, &buf); len(got) != 2 || got[1]["error_id"] != "b2" {
		t.Fatalf("records with error ids: %v", got)
	}
	// After the window, the next repeat goes through with the count of those held back.
	send(10*time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused), slog.Int("attempt", 4))
	got = lines(t, &buf)
	if len(got) != 1 || got[0]["repeated"] != 2.0 || got[0]["attempt"] != 4.0 || got[0]["err"] != refused.Error() {
		t.Fatalf("after the window: %v", got)
	}
	send(11*time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused))
	send(25*time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused))
	send(40*time.Second, slog.LevelError, "job queue: fetch failed", slog.Any("err", refused))
	got = lines(t, &buf)
	if len(got) != 2 || got[0]["repeated"] != 1.0 || got[1]["repeated"] != nil {
		t.Fatalf("later windows: %v", got)
	}
}

// TestAttrsAndGroupsKept: records through derived handlers keep their attributes and groups,
// and two components' identical errors are not repeats of each other.
func TestAttrsAndGroupsKept(t *testing.T) {
	var buf bytes.Buffer
	h := logdedup.New(slog.NewJSONHandler(&buf, nil), time.Minute)
	ctx := context.Background()
	river := h.WithAttrs([]slog.Attr{slog.String("component", "river")}).WithGroup("job").WithAttrs([]slog.Attr{slog.Int("id", 7)})
	other := h.WithAttrs([]slog.Attr{slog.String("component", "web")})
	err := errors.New("connection refused")
	for i := range 2 {
		r := record(t0.Add(time.Duration(i)*time.Second), slog.LevelWarn, "retrying", slog.Any("err", err))
		if err := river.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := other.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := lines(t, &buf)
	if len(got) != 2 {
		t.Fatalf("%d lines, want one per component: %v", len(got), got)
	}
	job, _ := got[0]["job"].(map[string]any)
	if got[0]["component"] != "river" || job == nil || job["id"] != 7.0 || job["err"] != "connection refused" {
		t.Errorf("river's record lost its attributes or group: %v", got[0])
	}
	if got[1]["component"] != "web" || got[1]["err"] != "connection refused" {
		t.Errorf("web's record: %v", got[1])
	}
	// The count of a grouped record lands in its group, beside its other attributes.
	if err := river.Handle(ctx, record(t0.Add(2*time.Minute), slog.LevelWarn, "retrying", slog.Any("err", err))); err != nil {
		t.Fatal(err)
	}
	got = lines(t, &buf)
	if job, _ := got[0]["job"].(map[string]any); len(got) != 1 || job["repeated"] != 1.0 || job["id"] != 7.0 {
		t.Errorf("after the window: %v", got)
	}
	if !h.Enabled(ctx, slog.LevelInfo) || h.Enabled(ctx, slog.LevelDebug) {
		t.Error("Enabled does not follow the wrapped handler's level")
	}
}

// TestConcurrentRepeats: a burst of the same error from many goroutines comes out once; the
// next one after the window counts all the others.
func TestConcurrentRepeats(t *testing.T) {
	var buf bytes.Buffer // the JSON handler and those derived from it write one record at a time
	h := logdedup.New(slog.NewJSONHandler(&buf, nil), 10*time.Second)
	logger := slog.New(h)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := logger.With("worker", g)
			for range 100 {
				// Through the logger: the records' times are now, all within the window.
				logger.Error("database unreachable", "err", errors.New("connection refused"))
				l.Info("beat")
			}
		}()
	}
	wg.Wait()
	got := lines(t, &buf)
	errs := 0
	for _, l := range got {
		if l["msg"] == "database unreachable" {
			errs++
		}
	}
	if errs != 1 || len(got) != 801 {
		t.Fatalf("%d errors and %d lines, want 1 and 801", errs, len(got))
	}
	if err := h.Handle(context.Background(), record(time.Now().Add(time.Minute), slog.LevelError, "database unreachable", slog.Any("err", errors.New("connection refused")))); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, &buf); len(got) != 1 || got[0]["repeated"] != 799.0 {
		t.Errorf("after the burst: %v", got)
	}
}
