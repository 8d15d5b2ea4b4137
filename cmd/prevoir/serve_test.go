package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prevoir/prevoir/internal/testutil"
)

// TestServe: prevoir serve answers the API from a home with a trained champion, refuses an
// action without the token, queues one with it, and stops cleanly on SIGTERM.
func TestServe(t *testing.T) {
	c := newCLI(t)
	data := testutil.DataDir(t)
	c.ok("run", "ingest", "--source-dir", data)
	c.ok("run", "train", "--source-dir", data, "--models", "snaive,ets", "--train-origins", "3")
	c.ok("run", "forecast", "--source-dir", data)

	bin := buildBinary(t)
	addr := testutil.FreeAddr(t)
	cmd := exec.Command(bin, "--home", c.home, "--log-format", "json", "serve", "--addr", addr, "--source-dir", data)
	cmd.Env = append(os.Environ(), "PREVOIR_ADMIN_TOKEN=s3cret-admin-token")
	logf, _ := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r, err := http.Get(base + "/readyz"); err == nil && r.StatusCode == 200 {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("serve not ready:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r, err := http.Get(base + "/api/v1/forecast")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Origin string `json:"origin"`
		Days   []struct {
			Date  string  `json:"date"`
			Point float64 `json:"point"`
		} `json:"days"`
	}
	json.NewDecoder(r.Body).Decode(&fc)
	r.Body.Close()
	if r.StatusCode != 200 || fc.Origin != "2022-12-31" || len(fc.Days) != 14 || fc.Days[0].Date != "2023-01-01" {
		t.Errorf("forecast: %d %+v", r.StatusCode, fc)
	}
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/actions/refresh", strings.NewReader(""))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Errorf("refresh without token: %d", code)
	}
	if code := post("s3cret-admin-token"); code != http.StatusAccepted {
		t.Errorf("refresh with token: %d", code)
	}
	// The embedded worker runs the refresh (ingest, then forecast and score).
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(c.ok("jobs"), "completed") {
		if time.Now().After(deadline) {
			t.Fatalf("the refresh job did not complete:\n%s", c.ok("jobs"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(logf.Name())
			t.Errorf("serve exited with %v:\n%s", err, b)
		}
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop on SIGTERM")
	}
}

// TestServeAllowedHosts: serve answers the names of --allowed-hosts (here from
// PREVOIR_ALLOWED_HOSTS) and loopback, refuses others with a 421 that names the setting, and
// refuses to start on an entry that is not a host.
func TestServeAllowedHosts(t *testing.T) {
	c := newCLI(t)
	code, _, errs := c.run("serve", "--no-worker", "--addr", testutil.FreeAddr(t), "--allowed-hosts", "https://prevoir.example.org")
	if code == 0 || !strings.Contains(errs, `allowed hosts: entry "https://prevoir.example.org"`) {
		t.Fatalf("serve with a URL as allowed host: exit %d\n%s", code, errs)
	}

	addr := testutil.FreeAddr(t)
	c.env["PREVOIR_ALLOWED_HOSTS"] = "prevoir.example.org,team.example:8443"
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		args := []string{"--home", c.home, "--log-level", "warn", "serve", "--no-worker", "--addr", addr}
		done <- run(ctx, args, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return c.env[k] })
	}()
	get := func(host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/data", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if status, _ := get("localhost"); status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("serve did not answer:\n%s", stderr.String())
		}
	}
	for host, want := range map[string]int{"prevoir.example.org": 200, "team.example:8443": 200, addr: 200, "[::1]": 200,
		"evil.example": 421, "team.example": 421} {
		if status, body := get(host); status != want || status == 421 && !strings.Contains(body, "--allowed-hosts") {
			t.Errorf("Host %s: %d, want %d: %s", host, status, want, body)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited with %d:\n%s", code, stderr.String())
	}
}
