package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prevoir/prevoir"
	"github.com/prevoir/prevoir/internal/testutil"
	"github.com/prevoir/prevoir/internal/testutil/seed"
	"github.com/prevoir/prevoir/web"
)

// testClock is a server clock the test moves forward.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(testNow.UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// clientFrom returns an HTTP client whose connections come from the local address ip (any
// 127.x.y.z reaches a server on 127.0.0.1 on Linux): another client, as the server sees it.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// logLine returns the server's log line whose error_id is id.
func logLine(t *testing.T, f *fixture, id string) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(f.log.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["error_id"] == id {
			return m
		}
	}
	t.Fatalf("no log line with error id %q in:\n%s", id, f.log.String())
	return nil
}

// errorIDIn returns the error id a message gives ("... (error id 0123abcd: ...").
func errorIDIn(t *testing.T, msg string) string {
	t.Helper()
	_, rest, ok := strings.Cut(msg, "(error id ")
	id, _, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || len(id) != 16 {
		t.Fatalf("no error id in %q", msg)
	}
	return id
}

// TestAdminTokenGuessingIsSlowedDown: after a few wrong tokens a client must wait, longer
// after each further failure, even with the right token; other clients are not affected; the
// right token once the delay is over works and forgets the failures.
func TestAdminTokenGuessingIsSlowedDown(t *testing.T) {
	clock := newTestClock()
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken, now: clock.now})
	attacker, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	refresh := func(client *http.Client, token string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, f.ts.URL+"/api/v1/actions/refresh", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		return send(t, client, req)
	}
	wantLimited := func(status int, h http.Header, body []byte, retryAfter string) {
		t.Helper()
		var e web.ErrorResponse
		if status != http.StatusTooManyRequests || h.Get("Retry-After") != retryAfter || json.Unmarshal(body, &e) != nil || e.Code != "rate_limited" ||
			!strings.Contains(e.Error, "try again in "+retryAfter+"s") {
			t.Fatalf("want 429 with Retry-After %s: %d %q %s", retryAfter, status, h.Get("Retry-After"), body)
		}
	}

	for i := range 5 {
		status, _, body := refresh(attacker, "guess-"+string(rune('a'+i)))
		if status != http.StatusForbidden {
			t.Fatalf("wrong token %d: %d %s", i+1, status, body)
		}
		if i == 4 && !strings.Contains(string(body), "must wait 1s") {
			t.Errorf("the failure that starts the delay does not say so: %s", body)
		}
	}
	status, h, body := refresh(attacker, "guess-f")
	wantLimited(status, h, body, "1")
	status, h, body = refresh(attacker, testToken)
	wantLimited(status, h, body, "1")
	form := url.Values{"token": {testToken}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, f.ts.URL+"/actions/refresh", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, h, body := send(t, attacker, req); status != http.StatusTooManyRequests || h.Get("Retry-After") != "1" {
		t.Errorf("form with the right token during the delay: %d %q %.200s", status, h.Get("Retry-After"), body)
	}
	if jobs, err := f.queue.Jobs(context.Background(), 10); err != nil || len(jobs) != 0 {
		t.Fatalf("the right token during the delay queued %d jobs (%v)", len(jobs), err)
	}

	// Another client is not affected: its wrong token is a plain 403, its right one works.
	if status, _, body := refresh(other, "nope"); status != http.StatusForbidden {
		t.Errorf("another client's wrong token: %d %s", status, body)
	}
	if status, _, body := refresh(other, testToken); status != http.StatusAccepted {
		t.Errorf("another client's right token: %d %s", status, body)
	}

	// Once the delay is over, one more failure doubles it.
	clock.advance(time.Second)
	if status, _, body := refresh(attacker, "guess-g"); status != http.StatusForbidden || !strings.Contains(string(body), "must wait 2s") {
		t.Errorf("a wrong token after the delay: %d %s", status, body)
	}
	status, h, body = refresh(attacker, testToken)
	wantLimited(status, h, body, "2")

	// After it, the right token works, and the count starts again.
	clock.advance(2 * time.Second)
	if status, _, body := refresh(attacker, testToken); status != http.StatusAccepted {
		t.Fatalf("the right token after the delay: %d %s", status, body)
	}
	for i := range 4 {
		if status, _, body := refresh(attacker, "typo"); status != http.StatusForbidden || strings.Contains(string(body), "must wait") {
			t.Errorf("wrong token %d after a success: %d %s", i+1, status, body)
		}
	}
	if strings.Contains(f.log.String(), testToken) {
		t.Errorf("the log holds the admin token")
	}
}

// TestHostHeaderCheck: only the names the server is known by are answered, on every route but
// the health checks; the refusal says which setting to change and shows no data.
func TestHostHeaderCheck(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken, allowedHosts: []string{"prevoir.example.org", "team.example:8443"}})
	_, port, _ := net.SplitHostPort(f.ts.Listener.Addr().String())
	request := func(method, host, path string, header map[string]string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, f.ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return f.do(t, req)
	}
	allowed := []string{"127.0.0.1:" + port, "127.0.0.1", "localhost:" + port, "localhost", "Localhost.", "[::1]:" + port, "[::1]",
		"prevoir.example.org", "prevoir.example.org:443", "team.example:8443"}
	refused := []string{"evil.example", "evil.example:" + port, "team.example", "team.example:" + port, "127.0.0.1.evil.example",
		"localhost.evil.example:" + port, "10.0.0.1:" + port}
	for _, path := range []string{"/", "/data", "/api/v1/forecast", "/api/v1/history?days=7", "/metrics", "/static/style.css"} {
		for _, host := range allowed {
			if status, _, body := request(http.MethodGet, host, path, nil); status != 200 {
				t.Errorf("GET %s with Host %q: %d %.200s", path, host, status, body)
			}
		}
		for _, host := range refused {
			status, h, body := request(http.MethodGet, host, path, nil)
			if status != http.StatusMisdirectedRequest || !bytes.Contains(body, []byte("--allowed-hosts")) || bytes.Contains(body, []byte("incid_dchosp")) {
				t.Errorf("GET %s with Host %q: %d %.300s", path, host, status, body)
			}
			if strings.HasPrefix(path, "/api/") {
				var e web.ErrorResponse
				if json.Unmarshal(body, &e) != nil || e.Code != "misdirected" {
					t.Errorf("GET %s with Host %q: not a JSON error: %s", path, host, body)
				}
			} else if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || h.Get("Content-Security-Policy") == "" {
				t.Errorf("GET %s with Host %q: content type %q, headers %v", path, host, ct, h)
			}
		}
	}
	// An action with the right token through another name does nothing.
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	if status, _, body := request(http.MethodPost, "evil.example:"+port, "/api/v1/actions/refresh", auth); status != http.StatusMisdirectedRequest {
		t.Errorf("action through another name: %d %s", status, body)
	}
	assertNothingChanged(t, f, 2)
	// Health checks answer whatever the name: load balancers probe by address.
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _, body := request(http.MethodGet, "10.0.0.1:"+port, path, nil); status != 200 {
			t.Errorf("GET %s with Host 10.0.0.1: %d %s", path, status, body)
		}
	}
	// The right name works for the action.
	if status, _, body := request(http.MethodPost, "prevoir.example.org", "/api/v1/actions/refresh", auth); status != http.StatusAccepted {
		t.Errorf("action through an allowed name: %d %s", status, body)
	}
}

// TestHostHeaderListenAddress: a serving server also answers the host of its listen address,
// which a bare handler (not serving) does not know.
func TestHostHeaderListenAddress(t *testing.T) {
	env := seed.Open(t, testutil.SQLiteURL(t))
	srv, err := web.New(storesConfig(env))
	if err != nil {
		t.Fatal(err)
	}
	// 127.0.0.2 is not among the loopback names every server answers.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	other := newTestServer(t, srv) // the same handler on 127.0.0.1, reached with Host 127.0.0.2
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	get := func(host string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, other.URL+"/api/v1/data", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Serve stores the listen address before it answers; wait until it does.
	for deadline := time.Now().Add(10 * time.Second); get(ln.Addr().String()) != 200; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Host %s still refused while serving on it", ln.Addr())
		}
	}
	if status := get("127.0.0.3"); status != http.StatusMisdirectedRequest {
		t.Errorf("Host 127.0.0.3: %d", status)
	}
}

func TestAllowedHostsValidated(t *testing.T) {
	env := seed.Open(t, testutil.SQLiteURL(t))
	for _, bad := range []string{"https://prevoir.example.org", "prevoir.example.org/", "prevoir.example.org:0", ""} {
		cfg := storesConfig(env)
		cfg.AllowedHosts = []string{bad}
		_, err := web.New(cfg)
		if prevoir.ErrorCode(err) != prevoir.EINVALID || !strings.Contains(err.Error(), "allowed hosts") || !strings.Contains(err.Error(), "want a host name") {
			t.Errorf("allowed host %q: %v", bad, err)
		}
	}
}

// TestInternalErrorsAreLoggedNotShown: an error of the stores reaches the caller as a generic
// message with an error id; the log has the id and the error.
func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard", token: testToken})
	// Every action now fails inside the stores.
	f.queue.Close()
	f.env.DB.Close()
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	for _, path := range []string{"/api/v1/actions/refresh", "/api/v1/actions/promote", "/api/v1/jobs/1"} {
		var status int
		var body []byte
		if strings.Contains(path, "/jobs/") {
			status, _, body = f.get(t, path)
		} else {
			status, _, body = f.post(t, path, "application/json", `{"version": 3}`, auth)
		}
		var e web.ErrorResponse
		if status < 500 || json.Unmarshal(body, &e) != nil || e.ErrorID == "" || e.Code != prevoir.EINTERNAL {
			t.Fatalf("%s with the database closed: %d %s", path, status, body)
		}
		line := logLine(t, f, e.ErrorID)
		cause, _ := line["err"].(string)
		if cause == "" || strings.Contains(string(body), cause) || !strings.Contains(e.Error, e.ErrorID) || !strings.HasPrefix(e.Error, "internal error") {
			t.Errorf("%s: answer %s, logged %q", path, body, cause)
		}
		if line["path"] != path || line["level"] != "ERROR" {
			t.Errorf("%s: log line %v", path, line)
		}
	}
	// The pages' forms too.
	form := url.Values{"token": {testToken}}.Encode()
	status, _, page := f.post(t, "/actions/refresh", "application/x-www-form-urlencoded", form, nil)
	if status != 500 {
		t.Fatalf("form refresh with the database closed: %d", status)
	}
	id := errorIDIn(t, string(page))
	if cause, _ := logLine(t, f, id)["err"].(string); cause == "" || strings.Contains(string(page), cause) {
		t.Errorf("the page shows the error %q", cause)
	}
}

// removeFiles removes the files under dir named name, and returns how many.
func removeFiles(t *testing.T, dir, name string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name {
			n++
			err = os.Remove(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNotReadyWithoutAFrame: a home whose current snapshots cannot build the frame (a release's
// bytes are gone from the artifact folder) is not ready, and says why; neither the answer nor
// the pages show the artifact folder, which the log has.
func TestNotReadyWithoutAFrame(t *testing.T) {
	var artifacts string
	f := newFixture(t, fixtureOpts{seed: "standard", prepare: func(t *testing.T, env *seed.Env) {
		artifacts = env.Blobs.String()
		cur, err := env.Snapshots.CurrentSnapshot(context.Background(), "sidep")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(artifacts, filepath.FromSlash(cur.BlobKey))); err != nil {
			t.Fatal(err)
		}
		// And the backtests' results: the leaderboard says it cannot read them.
		if removeFiles(t, artifacts, prevoir.BacktestArtifact) == 0 {
			t.Fatal("no backtest.json in the seeded artifacts")
		}
	}})
	var ready struct {
		Status      string `json:"status"`
		Reason      string `json:"reason"`
		HasFrame    bool   `json:"has_frame"`
		HasForecast bool   `json:"has_forecast"`
	}
	f.getJSON(t, "/readyz", 503, &ready)
	if ready.Status != "no_frame" || ready.HasFrame || !ready.HasForecast || !strings.Contains(ready.Reason, "frame cannot be built") {
		t.Fatalf("readyz: %+v", ready)
	}
	id := errorIDIn(t, ready.Reason)
	line := logLine(t, f, id)
	if cause, _ := line["err"].(string); !strings.Contains(cause, artifacts) || !strings.Contains(cause, "sidep") {
		t.Errorf("the log line of %s lacks the missing artifact: %v", id, line)
	}

	var data web.DataResponse
	f.getJSON(t, "/api/v1/data", 200, &data)
	if data.Frame != nil || data.FrameError != ready.Reason {
		t.Errorf("data: frame %+v, error %q", data.Frame, data.FrameError)
	}
	var lb web.LeaderboardResponse
	f.getJSON(t, "/api/v1/leaderboard", 200, &lb)
	if lb.Backtest != nil || !strings.Contains(lb.BacktestMessage, "cannot be read") {
		t.Errorf("leaderboard: %+v", lb)
	}
	if cause, _ := logLine(t, f, errorIDIn(t, lb.BacktestMessage))["err"].(string); !strings.Contains(cause, prevoir.BacktestArtifact) {
		t.Errorf("the backtest's log line lacks its error: %q", cause)
	}
	for _, p := range []string{"/readyz", "/api/v1/data", "/api/v1/leaderboard", "/data", "/models", "/"} {
		if _, _, body := f.get(t, p); bytes.Contains(body, []byte(artifacts)) {
			t.Errorf("GET %s shows the artifact folder %s", p, artifacts)
		}
	}
	// With no frame, the history is empty, and its span is not made up.
	_, _, body := f.get(t, "/api/v1/history?days=60")
	if !bytes.Contains(body, []byte(`"from":null,"to":null,"days":[]`)) {
		t.Errorf("history without a frame: %s", body)
	}
}

// TestFailedFetchReasonIsLogged: the reason a fetch failed (here with the resolver's address)
// is in the log, under the error id /api/v1/data gives.
func TestFailedFetchReasonIsLogged(t *testing.T) {
	const reason = `Get "https://www.data.gouv.fr/fr/datasets/r/x": dial tcp: lookup www.data.gouv.fr on 10.53.0.53:53: server misbehaving`
	f := newFixture(t, fixtureOpts{seed: "standard", prepare: func(t *testing.T, env *seed.Env) {
		err := env.Snapshots.RecordFetch(context.Background(), &prevoir.Fetch{Source: "sidep", URL: "https://www.data.gouv.fr/fr/datasets/r/x",
			StartedAt: testNow, Status: prevoir.FetchFailed, Error: reason}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}})
	var data web.DataResponse
	f.getJSON(t, "/api/v1/data", 200, &data)
	sidep := data.Sources[1]
	if sidep.Source != "sidep" || sidep.LastCheckStatus != "failed" || sidep.LastError == "" || strings.Contains(sidep.LastError, "10.53.0.53") {
		t.Fatalf("sidep: %+v", sidep)
	}
	if cause, _ := logLine(t, f, errorIDIn(t, sidep.LastError))["err"].(string); cause != reason {
		t.Errorf("logged %q", cause)
	}
	if _, _, page := f.get(t, "/data"); bytes.Contains(page, []byte("10.53.0.53")) || !bytes.Contains(page, []byte(errorIDIn(t, sidep.LastError))) {
		t.Errorf("the data page shows the resolver or lacks the error id")
	}
	// A refresh that reads the same failed fetch logs it once and shows the same id.
	if err := f.srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	var again web.DataResponse
	f.getJSON(t, "/api/v1/data", 200, &again)
	if again.Sources[1].LastError != sidep.LastError || strings.Count(f.log.String(), "server misbehaving") != 1 {
		t.Errorf("after a refresh: %q, logged %d times", again.Sources[1].LastError, strings.Count(f.log.String(), "server misbehaving"))
	}
}

// TestHistoryOfAnEmptySpan: a span with no observed day answers no days and the span asked
// for, never dates of 1970.
func TestHistoryOfAnEmptySpan(t *testing.T) {
	f := newFixture(t, fixtureOpts{seed: "standard"})
	for _, tc := range []struct{ query, from, to string }{
		{"from=2030-01-01&to=2030-01-31", `"2030-01-01"`, `"2030-01-31"`},
		{"from=2030-01-01", `"2030-01-01"`, `null`},
		{"to=2019-12-31", `null`, `"2019-12-31"`},
		{"from=2019-01-01&to=2019-12-31", `"2019-01-01"`, `"2019-12-31"`},
	} {
		status, _, body := f.get(t, "/api/v1/history?"+tc.query)
		want := `"from":` + tc.from + `,"to":` + tc.to + `,"days":[]`
		if status != 200 || !bytes.Contains(body, []byte(want)) || bytes.Contains(body, []byte("1970")) {
			t.Errorf("history?%s: %d %s; want %s", tc.query, status, body, want)
		}
		status, _, body = f.get(t, "/api/v1/history?format=csv&"+tc.query)
		if rows := readCSV(t, body); status != 200 || len(rows) != 1 {
			t.Errorf("history?format=csv&%s: %d %v", tc.query, status, rows)
		}
	}
	// Before any data: no days, no span.
	empty := newFixture(t, fixtureOpts{})
	for _, q := range []string{"", "?days=60", "?days=all"} {
		if _, _, body := empty.get(t, "/api/v1/history"+q); !bytes.Contains(body, []byte(`"from":null,"to":null,"days":[]`)) {
			t.Errorf("history%s of an empty home: %s", q, body)
		}
	}
}
