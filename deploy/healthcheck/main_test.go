package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	if err := check([]string{srv.URL + "/healthz"}, ""); err != nil {
		t.Error(err)
	}
	if err := check([]string{srv.URL + "/readyz"}, ""); err == nil {
		t.Error("a 503 passed the check")
	}
	if err := check(nil, "127.0.0.1:1"); err == nil {
		t.Error("a closed port passed the check")
	}
	for addr, want := range map[string]string{
		"":             "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9090": "http://127.0.0.1:9090/healthz",
		":8081":        "http://127.0.0.1:8081/healthz",
	} {
		if got := defaultURL(addr); got != want {
			t.Errorf("defaultURL(%q) = %s, want %s", addr, got, want)
		}
	}
}
