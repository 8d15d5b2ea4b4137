package web_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/loadgen"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

// serveSeeded serves the standard seed, with a second target's history and a forecast of
// every other target, on a real loopback port until the benchmark ends.
func serveSeeded(b *testing.B) string {
	b.Helper()
	env := seed.Open(b, testutil.SQLiteURL(b))
	s, _ := env.StandardTargets(b)
	env.EveryTarget(b, s.Frame)
	cfg := storesConfig(env)
	cfg.AdminToken = "load-bench-admin-token"
	srv, err := web.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PREVOIR_LOAD_PORT"))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// BenchmarkOpenLoop measures the latency of the forecast endpoint (the default target's, and
// every target's in turn: ?target=NAME) and of the dashboard at a fixed rate (1,000 requests/s over 64 connections for 10 s by default; PREVOIR_LOAD_RATE,
// PREVOIR_LOAD_CONNS and PREVOIR_LOAD_SECONDS change them) with an open-loop generator in this
// process. Run it once, while something else keeps the CPUs busy:
//
//	go test -run '^$' -bench OpenLoop -benchtime 1x ./web/
//
// With PREVOIR_LOAD_HOLD=60s it only serves, for that long, on PREVOIR_LOAD_PORT, so that an
// outside tool (wrk, cmd/loadgen) can be pointed at it.
func BenchmarkOpenLoop(b *testing.B) {
	base := serveSeeded(b)
	if hold, err := time.ParseDuration(os.Getenv("PREVOIR_LOAD_HOLD")); err == nil {
		b.Logf("serving the seeded server at %s for %s", base, hold)
		time.Sleep(hold)
		return
	}
	env := func(name string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
			return v
		}
		return def
	}
	for _, tc := range []struct {
		name    string
		path    string
		targets []string
		gzip    bool
	}{
		{"forecast", "/api/v1/forecast", nil, false},
		{"forecast-5-targets", "/api/v1/forecast", []string{prevoir.AllTargets}, false},
		{"dashboard", "/", nil, false},
		{"dashboard-gzip", "/", nil, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			urls, err := loadgen.WithTargets([]string{base + tc.path}, tc.targets)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				r, err := loadgen.Run(context.Background(), loadgen.Config{URLs: urls, Rate: env("PREVOIR_LOAD_RATE", 1000),
					Conns: env("PREVOIR_LOAD_CONNS", 64), Duration: time.Duration(env("PREVOIR_LOAD_SECONDS", 10)) * time.Second, Warmup: time.Second, Gzip: tc.gzip})
				if err != nil {
					b.Fatal(err)
				}
				if r.Errors > 0 || r.Statuses[200] != r.Sent {
					b.Errorf("%s: %s", tc.path, r)
				}
				b.Logf("%s: %s", tc.path, r)
				b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(r.Achieved, "req/s")
			}
		})
	}
}

// BenchmarkForecastHandler measures the server's own work for one forecast request, without
// the network or a load generator (which make the open-loop benchmark's numbers depend on the
// machine's other work): the default target's forecast, and every target's in turn.
//
//	go test -run '^$' -bench ForecastHandler -benchmem ./web/
func BenchmarkForecastHandler(b *testing.B) {
	env := seed.Open(b, testutil.SQLiteURL(b))
	s, _ := env.StandardTargets(b)
	env.EveryTarget(b, s.Frame)
	srv, err := web.New(storesConfig(env))
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, tc := range []struct {
		name    string
		targets []string
	}{{"default", nil}, {"5-targets", []string{prevoir.AllTargets}}} {
		b.Run(tc.name, func(b *testing.B) {
			urls, err := loadgen.WithTargets([]string{"http://127.0.0.1/api/v1/forecast"}, tc.targets)
			if err != nil {
				b.Fatal(err)
			}
			reqs := make([]*http.Request, len(urls))
			for i, u := range urls {
				reqs[i] = httptest.NewRequest(http.MethodGet, u, nil)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, reqs[i%len(reqs)])
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", reqs[i%len(reqs)].URL, w.Code, w.Body)
				}
				i++
			}
		})
	}
}

// BenchmarkRefresh measures a rebuild of the in-memory snapshot (what the refresh loop does
// every RefreshEvery) on the five-target seed, serving one target or all five.
//
//	go test -run '^$' -bench Refresh -benchtime 5x ./web/
func BenchmarkRefresh(b *testing.B) {
	env := seed.Open(b, testutil.SQLiteURL(b))
	s, _ := env.StandardTargets(b)
	env.EveryTarget(b, s.Frame)
	for _, tc := range []struct {
		name    string
		targets []prevoir.Target
	}{{"default", prevoir.Targets()[:1]}, {"5-targets", nil}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := storesConfig(env)
			cfg.Targets = tc.targets
			srv, err := web.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := srv.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
