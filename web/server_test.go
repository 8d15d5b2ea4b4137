package web_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

// TestServeRefreshesAndShutsDown runs the server as `prevoir serve` will: it loads at start,
// picks up what the flows store afterwards without being asked, and stops cleanly.
func TestServeRefreshesAndShutsDown(t *testing.T) {
	env := seed.Open(t, testutil.SQLiteURL(t))
	srv, err := web.New(web.Config{Snapshots: env.Snapshots, Runs: env.Runs, Registry: env.Registry, Forecasts: env.Forecasts,
		Artifacts: env.Tracker, Frame: env.Frame, RefreshEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("readiness", func() bool { return get("/readyz") == 200 })
	if status := get("/api/v1/forecast"); status != 404 {
		t.Fatalf("forecast of an empty store: %d", status)
	}

	// The flows store a forecast: the server shows it within a refresh interval.
	env.Standard(t)
	waitFor("the new forecast", func() bool { return get("/api/v1/forecast") == 200 })
	resp, err := http.Get(base + "/api/v1/leaderboard")
	if err != nil {
		t.Fatal(err)
	}
	var lb web.LeaderboardResponse
	err = json.NewDecoder(resp.Body).Decode(&lb)
	resp.Body.Close()
	if err != nil || lb.Champion == nil || lb.Champion.Version != 2 {
		t.Errorf("leaderboard after the flows ran: %+v, %v", lb.Champion, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after its context ended", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

func TestNewHTTPServerHasTimeouts(t *testing.T) {
	s := web.NewHTTPServer(http.NotFoundHandler(), nil)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("server limits: %+v", s)
	}
}
