package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/internal/testutil"
)

// TestHealthcheckCommand: prevoir healthcheck exits 0 when the URL answers 200 and 1 otherwise
// (an error status, nothing listening), and by default checks /healthz on 127.0.0.1 at the
// port of PREVOIR_ADDR, the address the server was given.
func TestHealthcheckCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	if code, _, errs := c.run("healthcheck", srv.URL+"/healthz"); code != exitOK {
		t.Errorf("healthy server: exit %d: %s", code, errs)
	}
	if code, _, errs := c.run("healthcheck", srv.URL+"/readyz"); code != exitFailure || !strings.Contains(errs, "503") {
		t.Errorf("503: exit %d, %q; want 1 and the status", code, errs)
	}
	free := testutil.FreeAddr(t)
	_, freePort, err := net.SplitHostPort(free)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := c.run("healthcheck", "http://"+free+"/healthz"); code != exitFailure {
		t.Errorf("nothing listening: exit %d; want 1", code)
	}
	if code, _, _ := c.run("healthcheck", "a", "b"); code != exitUsage {
		t.Errorf("two URLs: exit %d; want %d", code, exitUsage)
	}

	c.env["PREVOIR_ADDR"] = "0.0.0.0:" + port // as the container sets it for prevoir serve
	if code, _, errs := c.run("healthcheck"); code != exitOK {
		t.Errorf("default URL from PREVOIR_ADDR 0.0.0.0:%s: exit %d: %s", port, code, errs)
	}
	c.env["PREVOIR_ADDR"] = "0.0.0.0:" + freePort
	if code, _, _ := c.run("healthcheck"); code != exitFailure {
		t.Error("default URL: a port nothing listens on passed the check")
	}

	for addr, want := range map[string]string{
		"":             "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9090": "http://127.0.0.1:9090/healthz",
		":8081":        "http://127.0.0.1:8081/healthz",
	} {
		if got := healthzURL(addr); got != want {
			t.Errorf("healthzURL(%q) = %s, want %s", addr, got, want)
		}
	}
}
